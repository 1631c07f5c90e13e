"""detections_combine, detections_merge, bounding_rect and per_class_confidence_filter."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import supervision as sv

import visionflow
from visionflow.blocks.base import Batch, BlockContext
from visionflow.blocks.registry import default_registry
from visionflow.blocks.transformations.detections_tools import (
    BoundingRectBlock,
    DetectionsCombineBlock,
    DetectionsMergeBlock,
    PerClassConfidenceFilterBlock,
    bounding_rectangles,
    filter_by_class_confidence,
    merge_into_one,
)
from visionflow.data.detections import make_detections
from visionflow.data.image import Image
from visionflow.data.serializers import serialize_detections

IMAGE = Image(np.zeros((100, 200, 3), dtype=np.uint8), parent_id="image")


def _detections(
    boxes: list[list[float]],
    classes: list[str] | None = None,
    confidence: list[float] | None = None,
    mask: np.ndarray | None = None,
) -> sv.Detections:
    classes = classes if classes is not None else ["dog"] * len(boxes)
    names = sorted(set(classes)) or ["dog"]
    return make_detections(
        np.array(boxes, dtype=float).reshape(-1, 4),
        confidence if confidence is not None else [0.5 + 0.1 * i for i in range(len(boxes))],
        [names.index(c) for c in classes],
        names,
        IMAGE,
        mask=mask,
        data={"class_name": np.array(classes, dtype=str)},
    )


def _polygon_mask(points: list[tuple[int, int]]) -> np.ndarray:
    return sv.polygon_to_mask(np.array(points, dtype=np.int32), resolution_wh=(200, 100)).astype(
        bool
    )


# ---------------------------------------------------------------------------------------------
# detections_combine
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("first", "second", "expected_boxes"),
    [
        ([], [], []),
        ([[0, 0, 10, 10]], [], [[0, 0, 10, 10]]),
        ([], [[5, 5, 20, 20]], [[5, 5, 20, 20]]),
        (
            [[0, 0, 10, 10]],
            [[5, 5, 20, 20], [1, 1, 2, 2]],
            [[0, 0, 10, 10], [5, 5, 20, 20], [1, 1, 2, 2]],
        ),
    ],
)
def test_detections_combine(first: list, second: list, expected_boxes: list) -> None:
    block = DetectionsCombineBlock(BlockContext("c", "roboflow_core/detections_combine@v1"))
    combined = block.run(_detections(first), _detections(second))["predictions"]
    assert combined.xyxy.tolist() == expected_boxes
    assert combined.metadata["image_dimensions"] == [100, 200]


def test_detections_combine_keeps_masks() -> None:
    mask = np.zeros((1, 100, 200), dtype=bool)
    mask[0, 10:20, 10:20] = True
    one = _detections([[10, 10, 20, 20]], mask=mask)
    two = _detections([[10, 10, 20, 20]], mask=mask.copy())
    block = DetectionsCombineBlock(BlockContext("c", "roboflow_core/detections_combine@v1"))
    combined = block.run(one, two)["predictions"]
    assert combined.mask is not None and combined.mask.shape == (2, 100, 200)


# ---------------------------------------------------------------------------------------------
# detections_merge
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("boxes", "confidence", "expected_box", "expected_confidence"),
    [
        ([], [], None, None),
        ([[10, 20, 30, 40]], [0.7], [10, 20, 30, 40], 0.7),
        (
            [[10, 20, 30, 40], [0, 30, 25, 90], [50, 5, 60, 10]],
            [0.9, 0.3, 0.6],
            [0, 5, 60, 90],
            0.3,
        ),
    ],
)
def test_detections_merge(
    boxes: list, confidence: list, expected_box: Any, expected_confidence: Any
) -> None:
    detections = _detections(boxes, confidence=confidence)
    block = DetectionsMergeBlock(BlockContext("m", "roboflow_core/detections_merge@v1"))
    merged = block.run(detections, "group")["predictions"]
    if expected_box is None:
        assert len(merged) == 0
        # the empty result still knows its image
        assert serialize_detections(merged)["image"] == {"width": 200, "height": 100}
        return
    assert merged.xyxy.tolist() == [expected_box]
    assert merged.confidence.tolist() == pytest.approx([expected_confidence])
    assert merged.class_id.tolist() == [0]
    assert merged.data["class_name"].tolist() == ["group"]
    assert merged.data["detection_id"][0] not in detections.data["detection_id"].tolist()
    # as in the reference, lineage does not survive the merge
    assert "parent_id" not in merged.data


def test_detections_merge_without_confidence() -> None:
    detections = sv.Detections(xyxy=np.array([[0.0, 0.0, 1.0, 1.0], [2.0, 2.0, 3.0, 3.0]]))
    merged = merge_into_one(detections, "merged_detection")
    assert merged.confidence is None
    assert merged.xyxy.tolist() == [[0.0, 0.0, 3.0, 3.0]]


# ---------------------------------------------------------------------------------------------
# bounding_rect
# ---------------------------------------------------------------------------------------------
DIAMOND = [(100, 10), (140, 50), (100, 90), (60, 50)]


@pytest.mark.parametrize(
    ("polygons", "expected"),
    [
        ([], []),
        # an axis-aligned rectangle: OpenCV 4's convention reports 90 degrees
        ([[(20, 10), (80, 10), (80, 40), (20, 40)]], [((20, 10, 80, 40), 90.0)]),
        # a square turned by 45 degrees
        ([DIAMOND], [((60, 10, 140, 90), 45.0)]),
    ],
)
def test_bounding_rectangles(polygons: list, expected: list) -> None:
    masks = np.array([_polygon_mask(p) for p in polygons], dtype=bool).reshape(-1, 100, 200)
    boxes = [list(sv.polygon_to_xyxy(np.array(p))) for p in polygons]
    result = bounding_rectangles(_detections(boxes, mask=masks))
    assert len(result) == len(expected)
    for i, (box, angle) in enumerate(expected):
        assert result.xyxy[i].tolist() == pytest.approx(list(box), abs=1)
        assert float(result.data["angle"][i]) == pytest.approx(angle, abs=0.5)
        assert result.data["rect"][i].shape == (4, 2)
        assert result.data["rect"].dtype == np.float16
    assert result.mask is not None and result.mask.shape == (len(expected), 100, 200)


def test_bounding_rect_mask_becomes_the_rectangle() -> None:
    # an L shape: its rectangle also covers the missing corner
    l_shape = [(20, 10), (80, 10), (80, 30), (40, 30), (40, 60), (20, 60)]
    result = bounding_rectangles(_detections([[20, 10, 80, 60]], mask=_polygon_mask(l_shape)[None]))
    assert not _polygon_mask(l_shape)[50, 70]
    assert result.mask[0, 50, 70]
    assert not result.mask[0, 80, 150]
    assert sorted((float(result.data["width"][0]), float(result.data["height"][0]))) == [50.0, 60.0]
    wire = serialize_detections(result)["predictions"][0]
    assert {"rect", "angle", "width", "height"} <= set(wire)
    assert wire["angle"] == 90.0


def test_bounding_rect_of_an_empty_mask_is_its_box() -> None:
    mask = np.zeros((1, 100, 200), dtype=bool)
    result = bounding_rectangles(_detections([[10, 10, 50, 30]], mask=mask))
    assert result.xyxy.tolist() == [[10.0, 10.0, 50.0, 30.0]]
    assert result.mask[0, 20, 30] and not result.mask[0, 50, 100]


def test_bounding_rect_needs_masks() -> None:
    block = BoundingRectBlock(BlockContext("r", "roboflow_core/bounding_rect@v1"))
    with pytest.raises(ValueError, match="instance segmentation"):
        block.run(_detections([[0, 0, 10, 10]]))


# ---------------------------------------------------------------------------------------------
# per_class_confidence_filter
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("classes", "confidence", "thresholds", "default", "expected_kept"),
    [
        ([], [], {"dog": 0.5}, 0.3, []),
        (["dog", "cat"], [0.5, 0.5], {}, 0.3, [0, 1]),
        (["dog", "cat"], [0.5, 0.5], {"dog": 0.6}, 0.3, [1]),
        # the threshold itself passes
        (["dog", "cat", "cat"], [0.6, 0.2, 0.9], {"dog": 0.6}, 0.5, [0, 2]),
        (["dog", "cat"], [0.99, 0.99], {"dog": 1.0, "cat": 1.0}, 0.0, []),
    ],
)
def test_per_class_confidence_filter(
    classes: list, confidence: list, thresholds: dict, default: float, expected_kept: list
) -> None:
    detections = _detections(
        [[i, i, i + 5, i + 5] for i in range(len(classes))], classes, confidence
    )
    block = PerClassConfidenceFilterBlock(
        BlockContext("f", "roboflow_core/per_class_confidence_filter@v1")
    )
    [result] = block.run(Batch([detections], [(0,)]), thresholds, default)
    kept = result["predictions"]
    assert kept.xyxy[:, 0].astype(int).tolist() == expected_kept
    assert kept.metadata["image_dimensions"] == [100, 200]


def test_per_class_filter_without_confidence_keeps_everything() -> None:
    detections = sv.Detections(xyxy=np.array([[0.0, 0.0, 1.0, 1.0]]))
    assert filter_by_class_confidence(detections, {"dog": 0.9}, 0.9) is detections


def test_per_class_filter_without_class_names_uses_the_default() -> None:
    detections = sv.Detections(
        xyxy=np.array([[0.0, 0.0, 1.0, 1.0], [1.0, 1.0, 2.0, 2.0]]),
        confidence=np.array([0.2, 0.8]),
    )
    assert len(filter_by_class_confidence(detections, {"dog": 0.1}, 0.5)) == 1


# ---------------------------------------------------------------------------------------------
# manifests and the engine
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("step", "field", "expected"),
    [
        (
            {"type": "roboflow_core/detections_merge@v1", "predictions": "$inputs.p"},
            "class_name",
            "merged_detection",
        ),
        (
            {
                "type": "roboflow_core/per_class_confidence_filter@v1",
                "predictions": "$inputs.p",
                "class_thresholds": {"dog": 0.5},
            },
            "default_threshold",
            0.3,
        ),
        (
            {
                "type": "roboflow_core/per_class_confidence_filter@v1",
                "predictions": "$inputs.p",
                "class_thresholds": "$inputs.thresholds",
            },
            "class_thresholds",
            "$inputs.thresholds",
        ),
        (
            {
                "type": "roboflow_core/detections_combine@v1",
                "prediction_one": "$inputs.p",
                "prediction_two": "$inputs.q",
            },
            "prediction_two",
            "$inputs.q",
        ),
        (
            {"type": "roboflow_core/bounding_rect@v1", "predictions": "$inputs.p"},
            "predictions",
            "$inputs.p",
        ),
    ],
)
def test_manifests(step: dict, field: str, expected: Any) -> None:
    manifest = default_registry.get(step["type"]).manifest.model_validate({"name": "s", **step})
    assert getattr(manifest, field) == expected


FILTER_AND_MERGE = {
    "version": "1.0",
    "inputs": [
        {"type": "WorkflowBatchInput", "name": "p", "kind": ["object_detection_prediction"]},
        {"type": "WorkflowParameter", "name": "thresholds"},
    ],
    "steps": [
        {
            "type": "roboflow_core/per_class_confidence_filter@v1",
            "name": "f",
            "predictions": "$inputs.p",
            "class_thresholds": "$inputs.thresholds",
        },
        {
            "type": "roboflow_core/detections_merge@v1",
            "name": "m",
            "predictions": "$steps.f.predictions",
        },
    ],
    "outputs": [{"type": "JsonField", "name": "merged", "selector": "$steps.m.predictions"}],
}


def test_filter_then_merge_through_the_engine() -> None:
    def wire(boxes: list) -> dict:
        return {
            "image": {"width": 200, "height": 100},
            "predictions": [
                {
                    "x": x,
                    "y": y,
                    "width": 10,
                    "height": 10,
                    "confidence": c,
                    "class": k,
                    "class_id": 0,
                }
                for x, y, c, k in boxes
            ],
        }

    workflow = visionflow.Workflow.load(FILTER_AND_MERGE)
    results = workflow.run(
        p=[wire([(20, 20, 0.9, "dog"), (50, 60, 0.4, "dog"), (80, 30, 0.4, "cat")]), wire([])],
        thresholds={"dog": 0.5},
        serialize=True,
    )
    merged = [r["merged"]["predictions"] for r in results]
    assert [[(p["x"], p["y"], p["width"], p["height"]) for p in m] for m in merged] == [
        [(50.0, 25.0, 70.0, 20.0)],
        [],
    ]
    assert merged[0][0]["class"] == "merged_detection"
    assert merged[0][0]["confidence"] == pytest.approx(0.4)
