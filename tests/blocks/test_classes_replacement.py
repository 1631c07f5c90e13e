"""detections_classes_replacement: crop classifications relabel their boxes."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pytest

from visionflow.blocks.base import Batch, BlockContext
from visionflow.blocks.fusion.classes_replacement import (
    DetectionsClassesReplacementBlock,
    DetectionsClassesReplacementManifest,
    leading_class,
    replace_classes,
)
from visionflow.blocks.registry import default_registry
from visionflow.data.detections import make_detections
from visionflow.data.image import Image

IMAGE = Image(np.zeros((100, 200, 3), dtype=np.uint8), parent_id="image")


def _boxes(n: int = 3):
    return make_detections(
        [[10 * i, 0, 10 * i + 5, 5] for i in range(n)],
        [0.5] * n,
        [0] * n,
        ["thing"],
        IMAGE,
        data={"detection_id": np.array([f"d{i}" for i in range(n)])},
    )


def _single(top: str, class_id: int, confidence: float, parent: str) -> dict[str, Any]:
    return {
        "predictions": [{"class": top, "class_id": class_id, "confidence": confidence}],
        "top": top,
        "confidence": confidence,
        "parent_id": parent,
    }


def _multi(scores: dict[str, float], parent: str) -> dict[str, Any]:
    return {
        "predictions": {
            name: {"confidence": s, "class_id": i} for i, (name, s) in enumerate(scores.items())
        },
        "predicted_classes": [name for name, s in scores.items() if s >= 0.4],
        "parent_id": parent,
    }


def test_alias_and_dimensionality() -> None:
    entry = default_registry.get("DetectionsClassesReplacement")
    assert entry.identifier == "roboflow_core/detections_classes_replacement@v1"
    assert DetectionsClassesReplacementManifest.input_dimensionality_offsets == {
        "classification_predictions": 1
    }
    assert DetectionsClassesReplacementManifest.accepts_empty_values


@pytest.mark.parametrize(
    ("classifications", "fallback", "expected"),
    [
        # no crops at all: nothing is left
        ([], None, []),
        # matched by parent id, in the boxes' order
        (
            [_single("cat", 4, 0.9, "d2"), _single("dog", 1, 0.8, "d0")],
            None,
            [("dog", 1, 0.8), ("cat", 4, 0.9)],
        ),
        # an empty classification takes the fallback; a box without one is dropped
        (
            [{"predictions": [], "top": "", "parent_id": "d1"}, _single("dog", 1, 0.8, "d0")],
            ("unknown", 7),
            [("dog", 1, 0.8), ("unknown", 7, 0.0)],
        ),
        # multi-label: the most confident class
        ([_multi({"a": 0.5, "b": 0.7}, "d1")], None, [("b", 1, 0.7)]),
        # only empty classifications: nothing is left
        ([{"predictions": [], "top": "", "parent_id": "d0"}, None], ("x", None), []),
        # strings by position; a missing one falls back with id maxsize
        (
            ["one", ["two"], None],
            ("other", -1),
            [("one", 0, 1.0), ("two", 0, 1.0), ("other", sys.maxsize, 0.0)],
        ),
        # fewer labels than boxes and no fallback: the rest are dropped
        (["one"], None, [("one", 0, 1.0)]),
    ],
)
def test_replace_classes(classifications: list, fallback: Any, expected: list) -> None:
    name, class_id = fallback or (None, None)
    result = replace_classes(
        _boxes(), classifications, fallback_class_name=name, fallback_class_id=class_id
    )
    got = list(
        zip(
            result.data["class_name"].tolist(),
            result.class_id.tolist() if len(result) else [],
            result.confidence.tolist() if len(result) else [],
            strict=True,
        )
    )
    assert got == expected
    # fresh ids for relabelled boxes, and the image is still known when nothing is left
    assert not set(result.data["detection_id"].tolist()) & {"d0", "d1", "d2"}
    assert result.metadata["image_dimensions"] == [100, 200]


def test_block_run_missing_detections_and_batch() -> None:
    block = DetectionsClassesReplacementBlock(BlockContext("r", "DetectionsClassesReplacement"))
    assert block.run(object_detection_predictions=None, classification_predictions=None) == {
        "predictions": None
    }
    batch = Batch([_single("dog", 1, 0.8, "d0")], [(0, 0)])
    result = block.run(object_detection_predictions=_boxes(), classification_predictions=batch)
    assert result["predictions"].data["class_name"].tolist() == ["dog"]
    assert result["predictions"].xyxy.tolist() == [[0.0, 0.0, 5.0, 5.0]]


@pytest.mark.parametrize(
    ("prediction", "expected"),
    [
        ([], None),
        ([3], None),
        (_multi({"a": 0.0}, "p"), None),
        (_multi({"a": 0.3, "b": 0.2}, "p") | {"predicted_classes": ["a"]}, ("a", 0, 0.3)),
    ],
)
def test_leading_class(prediction: Any, expected: Any) -> None:
    assert leading_class(prediction) == expected


def test_ambiguous_top_class_is_an_error() -> None:
    prediction = _single("dog", 1, 0.8, "d0")
    prediction["predictions"].append({"class": "dog", "class_id": 2, "confidence": 0.1})
    with pytest.raises(ValueError, match="ambiguous"):
        leading_class(prediction)


def test_classification_without_parent_is_an_error() -> None:
    with pytest.raises(ValueError, match="parent_id"):
        replace_classes(_boxes(), [{"predictions": [], "top": "x"}])
