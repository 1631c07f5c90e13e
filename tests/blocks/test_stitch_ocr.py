"""stitch_ocr_detections v1 and v2: text back in reading order."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

import visionflow
from visionflow.blocks.base import Batch, BlockContext
from visionflow.blocks.registry import default_registry
from visionflow.blocks.transformations._ocr_grouping import otsu_threshold
from visionflow.blocks.transformations.stitch_ocr_detections import (
    StitchOCRDetectionsV1Block,
    StitchOCRDetectionsV1Manifest,
    StitchOCRDetectionsV2Block,
    StitchOCRDetectionsV2Manifest,
    stitch_detections,
)
from visionflow.data.detections import make_detections
from visionflow.data.image import Image

IMAGE = Image(np.zeros((300, 400, 3), dtype=np.uint8), parent_id="image")


def _ocr(items: list[tuple[str, float, float, float, float]]):
    """Detections whose class names are texts; items are (text, x1, y1, x2, y2)."""
    texts = [t for t, *_ in items]
    boxes = np.array([box for _, *box in items], dtype=float).reshape(-1, 4)
    return make_detections(
        boxes,
        [0.9] * len(items),
        [0] * len(items),
        None,
        IMAGE,
        data={"class_name": np.array(texts, dtype=str)},
    )


def _characters(text: str, x: float, y: float, width=10, height=14, gap=2, word_gap=12):
    """One box per character, words separated by wider gaps."""
    items = []
    for character in text:
        if character == " ":
            x += word_gap
            continue
        items.append((character, x, y, x + width, y + height))
        x += width + gap
    return items


TWO_LINES = [
    ("world", 70, 11, 120, 25),
    ("hello", 10, 10, 60, 24),
    ("line", 80, 52, 120, 66),
    ("second", 10, 50, 70, 64),
]
COLUMNS = [
    ("b", 10, 40, 20, 70),
    ("a", 10, 0, 20, 30),
    ("d", 50, 40, 60, 70),
    ("c", 50, 0, 60, 30),
]


# ---------------------------------------------------------------------------------------------
# manifests
# ---------------------------------------------------------------------------------------------
def test_v1_manifest() -> None:
    manifest = StitchOCRDetectionsV1Manifest.model_validate(
        {
            "type": "roboflow_core/stitch_ocr_detections@v1",
            "name": "s",
            "predictions": "$steps.ocr.predictions",
            "reading_direction": "auto",
        }
    )
    assert (manifest.tolerance, manifest.delimiter) == (10, "")
    assert default_registry.get("roboflow_core/stitch_ocr_detections@v1").aliases == ()


def test_v2_manifest() -> None:
    manifest = StitchOCRDetectionsV2Manifest.model_validate(
        {
            "type": "roboflow_core/stitch_ocr_detections@v2",
            "name": "s",
            "predictions": "$steps.ocr.predictions",
            "reading_direction": "left_to_right",
            "stitching_algorithm": "otsu",
        }
    )
    assert manifest.otsu_threshold_multiplier == 1.0
    assert manifest.collimate_tolerance == 10


@pytest.mark.parametrize(
    ("manifest", "fields"),
    [
        (StitchOCRDetectionsV1Manifest, {"reading_direction": "auto", "tolerance": 0}),
        (StitchOCRDetectionsV1Manifest, {}),  # reading_direction is required
        (StitchOCRDetectionsV1Manifest, {"reading_direction": "diagonal"}),
        (StitchOCRDetectionsV2Manifest, {"reading_direction": "auto"}),  # algorithm required
        (
            StitchOCRDetectionsV2Manifest,
            {"reading_direction": "auto", "stitching_algorithm": "tolerance", "tolerance": -1},
        ),
    ],
)
def test_invalid_manifests_are_refused(manifest: Any, fields: dict) -> None:
    identifier = manifest.identifier()
    with pytest.raises(ValidationError):
        manifest.model_validate(
            {"type": identifier, "name": "s", "predictions": "$steps.ocr.predictions", **fields}
        )


# ---------------------------------------------------------------------------------------------
# stitching
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("items", "direction", "kwargs", "expected"),
    [
        ([], "auto", {}, ""),
        (TWO_LINES, "left_to_right", {"delimiter": " "}, "hello world \n second line"),
        (TWO_LINES, "right_to_left", {"delimiter": " "}, "world hello \n line second"),
        (TWO_LINES, "auto", {}, "helloworld\nsecondline"),
        (TWO_LINES, "left_to_right", {"tolerance": 200}, "hellosecondworldline"),  # one line
        (COLUMNS, "vertical_top_to_bottom", {}, "ab cd"),
        (COLUMNS, "vertical_bottom_to_top", {}, "dc ba"),
        (COLUMNS, "auto", {"delimiter": "-"}, "a-b- -c-d"),
        (
            _characters("HELLO WORLD", 10, 10),
            "left_to_right",
            {"algorithm": "otsu"},
            "HELLO WORLD",
        ),
        (
            _characters("HELLO WORLD", 10, 10),
            "left_to_right",
            {"algorithm": "otsu", "otsu_threshold_multiplier": 20.0},
            "HELLOWORLD",
        ),
        (
            _characters("AB CD", 10, 10) + _characters("EF", 10, 60),
            "right_to_left",
            {"algorithm": "otsu", "delimiter": "."},
            "D.C.B.A\nF.E",
        ),
        (_characters("AB", 10, 10), "left_to_right", {"algorithm": "otsu"}, "AB"),
        # a slanted line stays one line when followed box to box
        (
            [("a", 0, 0, 10, 10), ("b", 12, 6, 22, 16), ("c", 24, 12, 34, 22)],
            "left_to_right",
            {"algorithm": "collimate"},
            "abc",
        ),
        (
            [("a", 0, 0, 10, 10), ("b", 12, 6, 22, 16), ("c", 24, 12, 34, 22)],
            "left_to_right",
            {"algorithm": "tolerance"},
            "a\nbc",  # top edges 0, 6, 12 round to lines 0, 10, 10
        ),
        (COLUMNS, "vertical_bottom_to_top", {"algorithm": "collimate"}, "dc ba"),
        (
            TWO_LINES,
            "right_to_left",
            {"algorithm": "collimate", "delimiter": " "},
            "world hello\nline second",
        ),
    ],
)
def test_stitch_detections(items: list, direction: str, kwargs: dict, expected: str) -> None:
    assert stitch_detections(_ocr(items), direction, **kwargs) == expected


def test_stitch_without_texts_is_refused() -> None:
    detections = _ocr(TWO_LINES)
    del detections.data["class_name"]
    with pytest.raises(ValueError, match="class_name"):
        stitch_detections(detections, "left_to_right")


def test_tolerance_must_be_positive_at_run_time() -> None:
    with pytest.raises(ValueError, match="greater than zero"):
        stitch_detections(_ocr(TWO_LINES), "left_to_right", tolerance=0)


@pytest.mark.parametrize(
    ("gaps", "expected_two_groups"),
    [
        ([], False),
        ([0.1], False),
        ([0.1, 0.12, 0.09, 0.11], False),  # uniform spacing: one word
        ([0.1, 0.1, 1.2, 0.1, 1.1, 0.1], True),  # character and word gaps
    ],
)
def test_otsu_threshold(gaps: list, expected_two_groups: bool) -> None:
    threshold, two_groups = otsu_threshold(np.array(gaps))
    assert two_groups is expected_two_groups
    if two_groups:
        assert 0.1 < threshold < 1.1


# ---------------------------------------------------------------------------------------------
# blocks
# ---------------------------------------------------------------------------------------------
def test_blocks_decide_auto_per_image() -> None:
    predictions = Batch([_ocr([]), _ocr(TWO_LINES), _ocr(COLUMNS)], [(0,), (1,), (2,)])
    v1 = StitchOCRDetectionsV1Block(BlockContext("s", "roboflow_core/stitch_ocr_detections@v1"))
    v2 = StitchOCRDetectionsV2Block(BlockContext("s", "roboflow_core/stitch_ocr_detections@v2"))
    expected = [{"ocr_text": ""}, {"ocr_text": "helloworld\nsecondline"}, {"ocr_text": "ab cd"}]
    assert v1.run(predictions, "auto", 10, "") == expected
    assert v2.run(predictions, "tolerance", "auto", 10, "", 1.0, 10) == expected


def test_through_the_engine() -> None:
    workflow = visionflow.Workflow.load(
        {
            "version": "1.0",
            "inputs": [
                {
                    "type": "WorkflowBatchInput",
                    "name": "ocr",
                    "kind": ["object_detection_prediction"],
                }
            ],
            "steps": [
                {
                    "type": "roboflow_core/stitch_ocr_detections@v2",
                    "name": "stitch",
                    "predictions": "$inputs.ocr",
                    "reading_direction": "left_to_right",
                    "stitching_algorithm": "collimate",
                    "delimiter": " ",
                }
            ],
            "outputs": [
                {"type": "JsonField", "name": "text", "selector": "$steps.stitch.ocr_text"}
            ],
        }
    )
    wire = {
        "image": {"width": 400, "height": 300},
        "predictions": [
            {
                "x": (x1 + x2) / 2,
                "y": (y1 + y2) / 2,
                "width": x2 - x1,
                "height": y2 - y1,
                "confidence": 0.9,
                "class": text,
                "class_id": 0,
                "detection_id": text,
            }
            for text, x1, y1, x2, y2 in TWO_LINES
        ],
    }
    assert workflow.run(ocr=[wire]) == [{"text": "hello world\nsecond line"}]
