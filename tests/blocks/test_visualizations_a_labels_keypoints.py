"""Label texts, adaptive text size, and keypoints put back in their skeleton slots."""

from __future__ import annotations

import numpy as np
import pytest
import supervision as sv

from visionflow.blocks.base import BlockContext
from visionflow.blocks.visualizations.keypoints import (
    COCO_KEYPOINT_NAMES,
    KeypointVisualizationBlock,
    detections_to_keypoints,
    keypoints_in_slots,
)
from visionflow.blocks.visualizations.labels import adaptive_text_scale, detection_labels
from visionflow.data.image import Image


def _detections(count: int = 2, **data) -> sv.Detections:
    return sv.Detections(
        xyxy=np.array([[0.0, 0.0, 10.0, 20.0], [5.0, 5.0, 45.5, 25.0]][:count]).reshape(-1, 4),
        confidence=np.array([0.875, 0.5][:count]),
        class_id=np.array([1, 2][:count]),
        tracker_id=data.pop("tracker_id", None),
        data={"class_name": np.array(["dog", "cat"][:count]), **data},
    )


@pytest.mark.parametrize(
    ("text", "detections", "expected"),
    [
        ("Class", _detections(0), []),
        ("Class", _detections(), ["dog", "cat"]),
        ("Confidence", _detections(), ["0.88", "0.50"]),
        ("Class and Confidence", _detections(), ["dog 0.88", "cat 0.50"]),
        ("Index", _detections(), ["0", "1"]),
        ("Dimensions", _detections(), ["5, 10 10x20", "25, 15 40x20"]),
        ("Area", _detections(), ["200", "810"]),
        ("Area (mask)", _detections(), ["Area (mask): N/A", "Area (mask): N/A"]),
        (
            "Area (mask)",
            _detections(area_px=np.array([12.345, None], dtype=object)),
            ["Area (mask): 12.35", "Area (mask): N/A"],
        ),
        (
            "Area (converted)",
            _detections(area_converted=np.array([1.0, 2.5])),
            ["Area (conv): 1.00", "Area (conv): 2.50"],
        ),
        ("Tracker Id", _detections(), ["No Tracker ID", "No Tracker ID"]),
        ("Tracker Id", _detections(tracker_id=np.array([4, 9])), ["4", "9"]),
        ("Time In Zone", _detections(), ["In zone: N/A", "In zone: N/A"]),
        (
            "Time In Zone",
            _detections(time_in_zone=np.array([1.234, 0.0])),
            ["In zone: 1.23s", "In zone: N/A"],
        ),
        ("plate", _detections(plate=np.array(["AB-12", ""])), ["AB-12", ""]),
    ],
)
def test_detection_labels(text, detections, expected) -> None:
    assert detection_labels(detections, text) == expected


def test_unknown_label_text_names_the_choices() -> None:
    with pytest.raises(ValueError, match=r"invalid label text 'Colour'.*class_name"):
        detection_labels(_detections(), "Colour")


@pytest.mark.parametrize(
    ("height", "width", "scale", "mode", "expected"),
    [
        (1080, 1920, 1.0, "Manual", 1.0),
        (540, 960, 1.0, "Manual", 1.0),
        (540, 960, 1.0, "Automatic", 0.5),
        (2160, 3840, 0.7, "Automatic", 1.4),
        (100, 100, 1.0, "Automatic", 0.3),
        (10_000, 20_000, 1.0, "Automatic", 5.0),
    ],
)
def test_adaptive_text_scale(height, width, scale, mode, expected) -> None:
    assert adaptive_text_scale(height, width, scale, mode) == pytest.approx(expected)


# ---------------------------------------------------------------------------------------------
# keypoints
# ---------------------------------------------------------------------------------------------
def _keypoints(ids: list[list[int]], names: list[list[str]] | None = None) -> sv.Detections:
    count, width = len(ids), max((len(row) for row in ids), default=0)
    xy = np.zeros((count, width, 2), dtype=np.float32)
    class_ids = np.zeros((count, width), dtype=int)
    class_names = np.full((count, width), "", dtype=object)
    for i, row in enumerate(ids):
        for k, class_id in enumerate(row):
            xy[i, k] = (10 + class_id, 20 + class_id)
            class_ids[i, k] = class_id
            class_names[i, k] = names[i][k] if names else f"k{class_id}"
    detections = sv.Detections(
        xyxy=np.array([[0.0, 0.0, 50.0, 50.0]] * count).reshape(-1, 4),
        class_id=np.zeros(count, dtype=int),
    )
    detections.data.update(
        keypoints_xy=xy,
        keypoints_confidence=np.full((count, width), 0.9, dtype=np.float32),
        keypoints_class_id=class_ids,
        keypoints_class_name=class_names,
    )
    return detections


@pytest.mark.parametrize(
    ("ids", "names", "expected_names"),
    [
        ([[]], None, [[]]),
        ([[0, 1, 2]], None, [["k0", "k1", "k2"]]),
        # a missing keypoint (id 1) leaves its slot empty instead of shifting the others left
        ([[0, 2], [1, 2]], None, [["k0", "", "k2"], ["", "k1", "k2"]]),
        # negative ids cannot be slots: kept as stored
        ([[0, -3]], None, [["k0", "k-3"]]),
        # ids beyond the slot limit: kept as stored
        ([[0, 5000]], None, [["k0", "k5000"]]),
    ],
)
def test_keypoints_in_slots(ids, names, expected_names) -> None:
    xy, confidence, slotted = keypoints_in_slots(_keypoints(ids, names))
    assert slotted.tolist() == expected_names
    assert xy.shape[:2] == slotted.shape == confidence.shape
    for i, row in enumerate(expected_names):
        for k, name in enumerate(row):
            if name == "":
                assert xy[i, k].tolist() == [0.0, 0.0] and confidence[i, k] == 0.0


def test_coco_skeleton_is_widened_to_17_slots() -> None:
    ids = [[0, 5, 6]]
    names = [[COCO_KEYPOINT_NAMES[i] for i in ids[0]]]
    _, _, slotted = keypoints_in_slots(_keypoints(ids, names))
    assert slotted.shape == (1, 17)
    assert slotted[0, 5] == "left_shoulder" and slotted[0, 1] == ""


def test_coco_names_in_another_order_are_not_widened() -> None:
    _, _, slotted = keypoints_in_slots(_keypoints([[0, 1]], [["left_eye", "nose"]]))
    assert slotted.shape == (1, 2)


def test_predictions_without_keypoints_fail_clearly() -> None:
    detections = sv.Detections(xyxy=np.array([[0.0, 0.0, 5.0, 5.0]]), class_id=np.array([0]))
    with pytest.raises(ValueError, match="carry no keypoints"):
        detections_to_keypoints(detections)
    assert len(detections_to_keypoints(sv.Detections.empty())) == 0


def test_edges_are_one_based_as_in_supervision() -> None:
    block = KeypointVisualizationBlock(BlockContext("k", "KeypointVisualization"))
    image = Image(np.zeros((60, 60, 3), dtype=np.uint8), parent_id="image")
    params = dict(
        copy_image=True,
        annotator_type="edge",
        color="#A351FB",
        text_color="black",
        text_scale=0.5,
        text_thickness=1,
        text_padding=10,
        thickness=2,
        radius=10,
    )
    detections = _keypoints([[0, 1]])
    drawn = block.run(image, detections, edges=[[1, 2]], **params)["image"].numpy_image
    assert drawn[20:22, 10:12].any()
    with pytest.raises(ValueError, match="1-based"):
        block.run(image, detections, edges=[[0, 1]], **params)
