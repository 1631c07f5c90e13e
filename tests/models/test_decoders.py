"""Decoders: YOLO layouts, NMS, filters, masks, keypoints, classification scores."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from onnx_graphs import yolov5_output, yolov8_output

from visionflow.errors import ModelError
from visionflow.models.base import DetectionParams
from visionflow.models.decoders import (
    box_iou,
    decode_classification,
    decode_detections,
    decode_pose,
    decode_segmentation,
    non_max_suppression,
)
from visionflow.models.preprocessing import ImageTransform

NAMES = ["person", "dog", "cat"]
#: a 64x64 input showing the whole image at its own size
IDENTITY = ImageTransform((64, 64), (64, 64), (1.0, 1.0), (0.0, 0.0))
#: ultralytics' letterbox of a 200x100 (landscape) and a 100x200 (portrait) image into 64x64
LANDSCAPE = ImageTransform((200, 100), (64, 64), (0.32, 0.32), (0, 16))
PORTRAIT = ImageTransform((100, 200), (64, 64), (0.32, 0.32), (16, 0))

BOX_A = (20.0, 20.0, 20.0, 20.0)  # cx, cy, w, h: (10, 10, 30, 30)
BOX_B = (22.0, 22.0, 20.0, 20.0)  # overlaps A with IoU 324 / 476 = 0.68
BOX_C = (50.0, 50.0, 10.0, 10.0)  # far from both


def classes(found: Any) -> list[int]:
    return [int(c) for c in found.class_id]


@pytest.mark.parametrize(
    ("rows", "params", "expected_classes", "expected_scores"),
    [
        # nothing above the threshold
        ([(*BOX_A, 0, 0.3), (*BOX_C, 1, 0.4)], DetectionParams(confidence=0.4), [], []),
        # the same class overlapping: the better box stays
        ([(*BOX_A, 1, 0.8), (*BOX_B, 1, 0.9)], DetectionParams(), [1], [0.9]),
        # different classes overlapping: class-aware NMS keeps both ...
        ([(*BOX_A, 1, 0.8), (*BOX_B, 2, 0.9)], DetectionParams(), [2, 1], [0.9, 0.8]),
        # ... class-agnostic NMS keeps the best
        (
            [(*BOX_A, 1, 0.8), (*BOX_B, 2, 0.9)],
            DetectionParams(class_agnostic_nms=True),
            [2],
            [0.9],
        ),
        # IoU 0.68 is not above a 0.7 threshold: both kept
        (
            [(*BOX_A, 1, 0.8), (*BOX_B, 1, 0.9)],
            DetectionParams(iou_threshold=0.7),
            [1, 1],
            [0.9, 0.8],
        ),
        # class filter by name; unknown names match nothing
        (
            [(*BOX_A, 0, 0.8), (*BOX_C, 1, 0.9)],
            DetectionParams(class_filter=("person",)),
            [0],
            [0.8],
        ),
        ([(*BOX_A, 0, 0.8)], DetectionParams(class_filter=("unicorn",)), [], []),
        # max_detections keeps the best after NMS
        ([(*BOX_A, 0, 0.8), (*BOX_C, 1, 0.9)], DetectionParams(max_detections=1), [1], [0.9]),
        # max_candidates keeps the best before NMS
        ([(*BOX_A, 0, 0.8), (*BOX_C, 1, 0.9)], DetectionParams(max_candidates=1), [1], [0.9]),
        # the score must be above the threshold, as in ultralytics
        ([(*BOX_A, 0, 0.5)], DetectionParams(confidence=0.5), [], []),
    ],
)
def test_yolov8_selection(
    rows: list[tuple[Any, ...]],
    params: DetectionParams,
    expected_classes: list[int],
    expected_scores: list[float],
) -> None:
    (found,) = decode_detections(yolov8_output(rows, 3), [IDENTITY], params, NAMES)
    assert classes(found) == expected_classes
    np.testing.assert_allclose(found.confidence, expected_scores, rtol=1e-6)
    assert found.xyxy.dtype == np.float32 and found.confidence.dtype == np.float32
    assert found.xyxy.shape == (len(expected_classes), 4)


def test_yolov8_boxes_are_xyxy_in_input_pixels() -> None:
    (found,) = decode_detections(
        yolov8_output([(*BOX_A, 0, 0.9)], 3), [IDENTITY], DetectionParams(), NAMES
    )
    np.testing.assert_allclose(found.xyxy, [[10, 10, 30, 30]])


@pytest.mark.parametrize(
    ("transform", "expected"),
    [
        # (input box 10, 20, 30, 40) - padding, / 0.32, clipped to the image
        (LANDSCAPE, [31.25, 12.5, 93.75, 75.0]),
        (PORTRAIT, [0.0, 62.5, 43.75, 125.0]),
        (IDENTITY, [10.0, 20.0, 30.0, 40.0]),
    ],
)
def test_boxes_back_in_original_pixels(transform: ImageTransform, expected: list[float]) -> None:
    output = yolov8_output([(20.0, 30.0, 20.0, 20.0, 1, 0.9)], 3)
    (found,) = decode_detections(output, [transform], DetectionParams(), NAMES)
    np.testing.assert_allclose(found.xyxy, [expected], atol=1e-4)


def test_batches_decode_per_image() -> None:
    first = yolov8_output([(*BOX_A, 0, 0.9)], 3)
    second = yolov8_output([(*BOX_A, 0, 0.1)], 3)
    results = decode_detections(
        np.concatenate([second, first]), [IDENTITY, IDENTITY], DetectionParams(), NAMES
    )
    assert [len(r) for r in results] == [0, 1]


def test_transposed_yolov8_export_is_read() -> None:
    output = yolov8_output([(*BOX_A, 2, 0.9), (*BOX_C, 1, 0.8)], 3).transpose(0, 2, 1)
    (found,) = decode_detections(output, [IDENTITY], DetectionParams(), NAMES)
    assert classes(found) == [2, 1]


@pytest.mark.parametrize(
    ("rows", "expected_classes", "expected_scores"),
    [
        ([], [], []),
        # score = objectness * class score: 0.5 * 0.9 = 0.45 kept, 0.5 * 0.7 = 0.35 dropped
        ([(*BOX_A, 0.5, 1, 0.9), (*BOX_C, 0.5, 2, 0.7)], [1], [0.45]),
        ([(*BOX_A, 1.0, 1, 0.8), (*BOX_B, 0.95, 1, 0.9)], [1], [0.855]),
    ],
)
def test_yolov5_layout(
    rows: list[tuple[Any, ...]], expected_classes: list[int], expected_scores: list[float]
) -> None:
    output = yolov5_output(rows, 3) if rows else np.zeros((1, 0, 8), np.float32)
    (found,) = decode_detections(output, [IDENTITY], DetectionParams(), NAMES, "yolov5")
    assert classes(found) == expected_classes
    np.testing.assert_allclose(found.confidence, expected_scores, rtol=1e-5)


@pytest.mark.parametrize(
    ("shape", "layout"),
    [((1, 4 + 5, 10), "yolov8"), ((1, 10, 5 + 5), "yolov5"), ((1, 7), "yolov8")],
)
def test_outputs_that_do_not_match_the_classes(shape: tuple[int, ...], layout: Any) -> None:
    with pytest.raises(ModelError) as caught:
        decode_detections(np.zeros(shape, np.float32), [IDENTITY], DetectionParams(), NAMES, layout)
    assert caught.value.code == "model.output_mismatch"


def reference_nms(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> list[int]:
    """torchvision.ops.nms, written as plainly as possible."""
    iou = box_iou(boxes, boxes)
    order = sorted(range(len(boxes)), key=lambda i: -scores[i])
    keep: list[int] = []
    for i in order:
        if all(iou[i, k] <= threshold for k in keep):
            keep.append(i)
    return keep


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.7])
def test_nms_matches_torchvision_semantics(seed: int, threshold: float) -> None:
    rng = np.random.default_rng(seed)
    corner = rng.uniform(0, 100, (60, 2))
    boxes = np.concatenate([corner, corner + rng.uniform(5, 40, (60, 2))], axis=1)
    scores = rng.uniform(0, 1, 60)
    kept = non_max_suppression(boxes, scores, iou_threshold=threshold, class_agnostic=True)
    assert kept.tolist() == reference_nms(boxes, scores, threshold)


def test_nms_is_empty_and_stable() -> None:
    assert non_max_suppression(np.zeros((0, 4)), np.zeros(0), iou_threshold=0.5).size == 0
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]], np.float32)
    # equal scores: the first of the identical boxes wins, every time
    kept = non_max_suppression(boxes, np.ones(3), np.zeros(3), iou_threshold=0.5)
    assert kept.tolist() == [0]


def test_box_iou_values() -> None:
    a = np.array([[0, 0, 10, 10], [0, 0, 0, 0]], np.float32)
    b = np.array([[5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 10, 10]], np.float32)
    np.testing.assert_allclose(box_iou(a, b), [[1 / 3, 0, 1], [0, 0, 0]], atol=1e-6)


def segmentation_protos(size: int = 16) -> np.ndarray:
    """One prototype: +10 on the left half of the input, -10 on the right half."""
    protos = np.full((1, 1, size, size), -10.0, np.float32)
    protos[..., : size // 2] = 10.0
    return protos


@pytest.mark.parametrize(
    ("rows", "coefficients", "expected"),
    [
        ([], [], []),
        # the left half of a landscape image (x < 100) inside the box
        ([(32.0, 32.0, 64.0, 32.0, 1, 0.9)], [[1.0]], [(0, 0, 100, 100)]),
        # a negative coefficient selects the right half; masks never leave their box
        (
            [(32.0, 32.0, 64.0, 32.0, 1, 0.9), (8.0, 24.0, 8.0, 8.0, 0, 0.8)],
            [[-1.0], [1.0]],
            [(100, 0, 200, 100), (12, 12, 37, 37)],
        ),
    ],
)
def test_segmentation_masks_at_image_resolution(
    rows: list[tuple[Any, ...]],
    coefficients: list[list[float]],
    expected: list[tuple[int, int, int, int]],
) -> None:
    output = (
        yolov8_output(rows, 3, coefficients) if rows else np.zeros((1, 4 + 3 + 1, 0), np.float32)
    )
    (found,) = decode_segmentation(
        output, segmentation_protos(), [LANDSCAPE], DetectionParams(), NAMES
    )
    assert found.masks is not None
    assert found.masks.shape == (len(expected), 100, 200) and found.masks.dtype == bool
    for mask, (x1, y1, x2, y2) in zip(found.masks, expected, strict=True):
        wanted = np.zeros((100, 200), bool)
        wanted[y1:y2, x1:x2] = True
        assert (mask != wanted).sum() == 0, (x1, y1, x2, y2)


def test_segmentation_portrait_image() -> None:
    # portrait: the image occupies input x 16..48; the left half of the input is x < 32,
    # i.e. original x < 50
    output = yolov8_output([(32.0, 32.0, 64.0, 64.0, 0, 0.9)], 3, [[1.0]])
    (found,) = decode_segmentation(
        output, segmentation_protos(), [PORTRAIT], DetectionParams(), NAMES
    )
    assert found.masks is not None and found.masks.shape == (1, 200, 100)
    columns = found.masks[0].any(axis=0)
    assert columns[:50].all() and not columns[50:].any()
    assert found.masks[0].all(axis=1).sum() == 0 and found.masks[0][:, :50].all()


def test_segmentation_prototype_mismatch() -> None:
    output = yolov8_output([(*BOX_A, 0, 0.9)], 3, [[1.0, 1.0]])
    with pytest.raises(ModelError) as caught:
        decode_segmentation(output, segmentation_protos(), [IDENTITY], DetectionParams(), NAMES)
    assert caught.value.code == "model.output_mismatch"


def pose_output(rows: list[tuple[Any, ...]], keypoints: list[list[float]]) -> np.ndarray:
    return yolov8_output(rows, 1, keypoints)


@pytest.mark.parametrize(
    ("rows", "keypoints", "threshold", "expected_xy", "expected_conf"),
    [
        ([], [], 0.0, np.zeros((0, 2, 2)), np.zeros((0, 2))),
        (
            [(32.0, 32.0, 20.0, 20.0, 0, 0.9)],
            [[10.0, 20.0, 0.9, 32.0, 36.0, 0.2]],
            0.0,
            [[[31.25, 12.5], [100.0, 62.5]]],
            [[0.9, 0.2]],
        ),
        # a keypoint under keypoint_confidence is dropped: (0, 0) and confidence 0
        (
            [(32.0, 32.0, 20.0, 20.0, 0, 0.9)],
            [[10.0, 20.0, 0.9, 32.0, 36.0, 0.2]],
            0.5,
            [[[31.25, 12.5], [0.0, 0.0]]],
            [[0.9, 0.0]],
        ),
    ],
)
def test_pose_keypoints_in_original_pixels(
    rows: list[tuple[Any, ...]],
    keypoints: list[list[float]],
    threshold: float,
    expected_xy: Any,
    expected_conf: Any,
) -> None:
    output = pose_output(rows, keypoints) if rows else np.zeros((1, 4 + 1 + 6, 0), np.float32)
    params = DetectionParams(keypoint_confidence=threshold)
    (found,) = decode_pose(output, [LANDSCAPE], params, ["person"], 2)
    assert found.keypoints_xy is not None and found.keypoints_confidence is not None
    np.testing.assert_allclose(found.keypoints_xy, expected_xy, atol=1e-4)
    np.testing.assert_allclose(found.keypoints_confidence, expected_conf, atol=1e-6)
    assert found.keypoints_xy.dtype == np.float32


@pytest.mark.parametrize(
    ("width", "count", "dims"),
    [(4 + 1 + 17 * 3, None, 3), (4 + 1 + 17 * 2, 17, 2), (4 + 1 + 4 * 3, 4, 3)],
)
def test_pose_keypoint_shapes(width: int, count: int | None, dims: int) -> None:
    output = np.zeros((1, width, 3), np.float32)
    output[0, 4, 0] = 0.9
    (found,) = decode_pose(output, [IDENTITY], DetectionParams(), ["person"], count)
    assert found.keypoints_xy is not None and found.keypoints_confidence is not None
    assert found.keypoints_xy.shape == (1, (width - 5) // dims, 2)
    expected = 0.0 if dims == 3 else 1.0  # no confidence row: every keypoint is certain
    np.testing.assert_allclose(found.keypoints_confidence, expected)


def test_pose_wrong_keypoint_count() -> None:
    with pytest.raises(ModelError) as caught:
        decode_pose(np.zeros((1, 4 + 1 + 10, 3)), [IDENTITY], DetectionParams(), ["person"], 17)
    assert caught.value.code == "model.output_mismatch"


@pytest.mark.parametrize(
    ("output", "activation", "expected"),
    [
        (np.zeros((0, 3)), "softmax", []),
        ([[0.0, 0.0, np.log(2.0)]], "softmax", [[0.25, 0.25, 0.5]]),
        ([[1000.0, 1000.0, 0.0]], "softmax", [[0.5, 0.5, 0.0]]),  # no overflow
        ([[0.0, 2.0, -2.0]], "sigmoid", [[0.5, 0.880797, 0.119203]]),
        ([[0.1, 0.7, 0.2], [0.3, 0.3, 0.4]], None, [[0.1, 0.7, 0.2], [0.3, 0.3, 0.4]]),
        (np.array([[0.1, 0.7, 0.2]]).reshape(1, 3, 1, 1), None, [[0.1, 0.7, 0.2]]),
    ],
)
def test_classification_scores(output: Any, activation: Any, expected: list[list[float]]) -> None:
    scores = decode_classification(np.asarray(output, np.float32), activation, NAMES)
    assert len(scores) == len(expected)
    for got, want in zip(scores, expected, strict=True):
        assert got.scores.dtype == np.float32
        np.testing.assert_allclose(got.scores, want, atol=1e-6)


def test_classification_class_count_mismatch() -> None:
    with pytest.raises(ModelError) as caught:
        decode_classification(np.zeros((1, 5), np.float32), "softmax", NAMES)
    assert caught.value.code == "model.output_mismatch"
