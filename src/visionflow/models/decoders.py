"""Raw network outputs to predictions in each image's pixels.

Layouts (``model.json`` ``output_layout``):

- ``yolov8``: ``(B, 4 + C, N)``, rows cx, cy, w, h (input pixels) then class scores, as
  ultralytics exports YOLOv8/YOLO11 detection (the transposed ``(B, N, 4 + C)`` is read too);
- ``yolov5``: ``(B, N, 5 + C)``, cx, cy, w, h, objectness, class scores; score = obj * class;
- ``yolov8-seg``: ``(B, 4 + C + M, N)`` plus prototypes ``(B, M, H/4, W/4)``;
- ``yolov8-pose``: ``(B, 4 + C + K * D, N)`` (C is 1 for the usual single-class export,
  D is 3 (x, y, confidence) or 2 (x, y));
- ``logits`` / ``probabilities``: ``(B, C)`` (trailing 1-sized dimensions are dropped).

Selection follows ultralytics' ``non_max_suppression``: best class per box, score strictly
above ``confidence``, optional class filter, the ``max_candidates`` best kept, greedy NMS per
class (or across classes), the ``max_detections`` best returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from visionflow.errors import ModelError
from visionflow.models.base import ClassScores, DetectionParams, RawDetections
from visionflow.models.preprocessing import ImageTransform


@dataclass
class Candidates:
    """Detections of one image kept by :func:`select`, still in input pixels."""

    xyxy: np.ndarray  # (N, 4) float32
    confidence: np.ndarray  # (N,) float32
    class_id: np.ndarray  # (N,) int64
    extra: np.ndarray  # (N, E) float32: mask coefficients or keypoints


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box of ``a`` (N, 4) with every box of ``b`` (M, 4), xyxy: ``(N, M)``."""
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(bottom_right - top_left, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def non_max_suppression(
    xyxy: np.ndarray,
    scores: np.ndarray,
    class_id: np.ndarray | None = None,
    *,
    iou_threshold: float,
    class_agnostic: bool = False,
) -> np.ndarray:
    """Indices of the boxes kept by greedy NMS, best score first.

    A box is dropped when its IoU with a better kept box is above ``iou_threshold`` (as
    ``torchvision.ops.nms``). Class-aware NMS shifts each class to its own region of the plane
    (ultralytics' trick), so boxes of different classes never overlap. Ties keep input order.
    """
    if len(xyxy) == 0:
        return np.zeros(0, dtype=np.int64)
    boxes = np.asarray(xyxy, dtype=np.float64)
    if not class_agnostic and class_id is not None:
        span = float(np.abs(boxes).max()) * 2 + 1
        boxes = boxes + (np.asarray(class_id, dtype=np.float64) * span)[:, None]
    order = np.argsort(-np.asarray(scores), kind="stable")
    areas = np.prod(boxes[:, 2:] - boxes[:, :2], axis=1)
    keep = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(best)
        top_left = np.maximum(boxes[best, :2], boxes[rest, :2])
        bottom_right = np.minimum(boxes[best, 2:], boxes[rest, 2:])
        inter = np.prod(np.clip(bottom_right - top_left, 0, None), axis=1)
        union = areas[best] + areas[rest] - inter
        iou = np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def class_ids_for(
    class_filter: Sequence[str] | None, class_names: Sequence[str]
) -> np.ndarray | None:
    """Ids of the named classes (None: no filter). Unknown names match nothing, as in Roboflow."""
    if class_filter is None:
        return None
    wanted = set(class_filter)
    return np.array([i for i, name in enumerate(class_names) if name in wanted], dtype=np.int64)


def xywh_to_xyxy(xywh: np.ndarray) -> np.ndarray:
    half = xywh[..., 2:4] / 2
    return np.concatenate([xywh[..., :2] - half, xywh[..., :2] + half], axis=-1)


def select(
    xywh: np.ndarray,
    class_scores: np.ndarray,
    extra: np.ndarray,
    params: DetectionParams,
    class_names: Sequence[str],
) -> Candidates:
    """Confidence filter, class filter, top-k, NMS and ``max_detections`` for one image."""
    if class_scores.shape[1] == 0 or len(xywh) == 0:
        return _no_candidates(extra.shape[1])
    class_id = class_scores.argmax(axis=1)
    confidence = np.take_along_axis(class_scores, class_id[:, None], axis=1)[:, 0]
    mask = confidence > params.confidence
    allowed = class_ids_for(params.class_filter, class_names)
    if allowed is not None:
        mask &= np.isin(class_id, allowed)
    index = np.flatnonzero(mask)
    if index.size > params.max_candidates:
        best = np.argsort(-confidence[index], kind="stable")[: params.max_candidates]
        index = np.sort(index[best])
    xyxy = xywh_to_xyxy(xywh[index].astype(np.float32))
    kept = non_max_suppression(
        xyxy,
        confidence[index],
        class_id[index],
        iou_threshold=params.iou_threshold,
        class_agnostic=params.class_agnostic_nms,
    )[: params.max_detections]
    chosen = index[kept]
    return Candidates(
        xyxy=xyxy[kept],
        confidence=confidence[chosen].astype(np.float32),
        class_id=class_id[chosen].astype(np.int64),
        extra=extra[chosen].astype(np.float32),
    )


def decode_detections(
    output: np.ndarray,
    transforms: Sequence[ImageTransform],
    params: DetectionParams,
    class_names: Sequence[str],
    layout: Literal["yolov8", "yolov5"] = "yolov8",
) -> list[RawDetections]:
    """Boxes of a detection network, one :class:`RawDetections` per image (original pixels)."""
    results = []
    for rows, transform in zip(_rows(output, layout, class_names), transforms, strict=True):
        if layout == "yolov5":
            xywh, scores = rows[:, :4], rows[:, 5:] * rows[:, 4:5]
        else:
            xywh, scores = rows[:, :4], rows[:, 4:]
        found = select(xywh, scores, np.zeros((len(rows), 0), np.float32), params, class_names)
        results.append(_to_original(found, transform))
    return results


def decode_segmentation(
    output: np.ndarray,
    protos: np.ndarray,
    transforms: Sequence[ImageTransform],
    params: DetectionParams,
    class_names: Sequence[str],
) -> list[RawDetections]:
    """Boxes and masks of a YOLOv8/YOLO11-seg network; masks are bool at image resolution.

    ``mask = sigmoid(coefficients @ prototypes)`` is mapped from the prototype grid (1/4 of
    the letterboxed input) straight to the original pixels with one bilinear warp, then
    thresholded at 0.5 and cut to the detection's box.
    """
    if protos.ndim != 4 or protos.shape[0] != output.shape[0]:
        raise _mismatch(f"prototypes of shape (B, M, H/4, W/4); got {protos.shape}")
    num_masks = protos.shape[1]
    results = []
    rows_per_image = _rows(output, "yolov8", class_names, extra=num_masks)
    for rows, proto, transform in zip(rows_per_image, protos, transforms, strict=True):
        scores = rows[:, 4 : rows.shape[1] - num_masks]
        found = select(
            rows[:, :4], scores, rows[:, rows.shape[1] - num_masks :], params, class_names
        )
        detections = _to_original(found, transform)
        detections.masks = assemble_masks(found.extra, proto, detections.xyxy, transform)
        results.append(detections)
    return results


def assemble_masks(
    coefficients: np.ndarray, protos: np.ndarray, xyxy: np.ndarray, transform: ImageTransform
) -> np.ndarray:
    """``(N, H, W)`` bool masks in original pixels from coefficients ``(N, M)`` and protos ``(M, h, w)``.

    All mask planes come from one matrix product; each is then warped only over its own box
    (pixel centres inside ``[x1, x2) x [y1, y2)``), so the cost follows the boxes' area, not
    the number of masks times the image size.
    """
    width, height = transform.original_size
    masks = np.zeros((len(coefficients), height, width), dtype=bool)
    if not len(coefficients):
        return masks
    num, proto_h, proto_w = protos.shape
    logits = coefficients.astype(np.float32) @ protos.reshape(num, -1).astype(np.float32)
    planes = (1.0 / (1.0 + np.exp(-logits))).reshape(-1, proto_h, proto_w)
    matrix = transform.input_to_original_matrix(source_scale=transform.input_size[0] / proto_w)
    limits = np.ceil(np.asarray(xyxy, dtype=np.float64) - 0.5).astype(np.int64)
    limits = np.clip(limits, 0, [width, height, width, height])
    for index, (x1, y1, x2, y2) in enumerate(limits.tolist()):
        if x2 <= x1 or y2 <= y1:
            continue
        shifted = matrix.copy()
        shifted[:, 2] += matrix[:, :2] @ np.array([x1, y1], dtype=np.float64)
        warped = cv2.warpAffine(
            planes[index],
            shifted,
            (x2 - x1, y2 - y1),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REPLICATE,  # as interpolate(align_corners=False)
        )
        masks[index, y1:y2, x1:x2] = warped > 0.5
    return masks


def decode_pose(
    output: np.ndarray,
    transforms: Sequence[ImageTransform],
    params: DetectionParams,
    class_names: Sequence[str],
    num_keypoints: int | None = None,
) -> list[RawDetections]:
    """Boxes and keypoints of a YOLOv8/YOLO11-pose network (keypoints in original pixels).

    Keypoints whose confidence is below ``params.keypoint_confidence`` get confidence 0 and
    coordinates (0, 0), the convention of ``supervision.KeyPoints`` for missing points.
    """
    num_classes = max(1, len(class_names))
    if np.ndim(output) != 3:
        raise _mismatch(
            f"a 3-dimensional output (batch, channels, N); got shape {np.shape(output)}"
        )
    channels = output.shape[1]
    if num_keypoints:
        sizes = {4 + num_classes + num_keypoints * dims for dims in (2, 3)}
        if channels not in sizes and output.shape[2] in sizes:
            channels = output.shape[2]  # a transposed (B, N, channels) export
    points = channels - 4 - num_classes
    count, dims = _keypoint_shape(points, num_keypoints)
    rows_per_image = _rows(output, "yolov8", class_names, extra=points, num_classes=num_classes)
    results = []
    for rows, transform in zip(rows_per_image, transforms, strict=True):
        found = select(
            rows[:, :4],
            rows[:, 4 : 4 + num_classes],
            rows[:, 4 + num_classes :],
            params,
            class_names,
        )
        detections = _to_original(found, transform)
        keypoints = found.extra.reshape(len(found.extra), count, dims)
        xy = transform.points_to_original(keypoints[..., :2])
        confidence = (
            keypoints[..., 2].astype(np.float32)
            if dims == 3
            else np.ones(xy.shape[:2], dtype=np.float32)
        )
        dropped = confidence < params.keypoint_confidence
        xy[dropped] = 0.0
        confidence = np.where(dropped, np.float32(0.0), confidence)
        detections.keypoints_xy = xy.astype(np.float32)
        detections.keypoints_confidence = confidence.astype(np.float32)
        results.append(detections)
    return results


def decode_classification(
    output: np.ndarray,
    activation: Literal["softmax", "sigmoid"] | None,
    class_names: Sequence[str] = (),
) -> list[ClassScores]:
    """Scores of every class per image: ``softmax``/``sigmoid`` of logits, or as given (None)."""
    array = np.asarray(output, dtype=np.float32)
    if array.ndim < 2:
        raise _mismatch(f"scores shaped (batch, classes); got shape {array.shape}")
    scores: np.ndarray = array.reshape(array.shape[0], int(np.prod(array.shape[1:])))
    if class_names and scores.shape[1] != len(class_names):
        raise _mismatch(f"{len(class_names)} class scores per image; got shape {output.shape}")
    if activation == "softmax":
        shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
        scores = shifted / shifted.sum(axis=1, keepdims=True)
    elif activation == "sigmoid":
        scores = 1.0 / (1.0 + np.exp(-scores))
    return [ClassScores(scores=row.astype(np.float32)) for row in scores]


def _rows(
    output: np.ndarray,
    layout: Literal["yolov8", "yolov5"],
    class_names: Sequence[str],
    *,
    extra: int = 0,
    num_classes: int | None = None,
) -> np.ndarray:
    """``(B, N, channels)`` rows whatever the export's orientation; checks the class count."""
    array = np.asarray(output, dtype=np.float32)
    if array.ndim != 3:
        raise _mismatch(f"a 3-dimensional output (batch, ..., ...); got shape {array.shape}")
    fixed = 5 if layout == "yolov5" else 4
    classes = num_classes or len(class_names)
    if layout == "yolov5":
        rows = array
    elif classes:
        expected = fixed + classes + extra
        if array.shape[1] == expected:
            rows = array.transpose(0, 2, 1)
        elif array.shape[2] == expected:
            rows = array
        else:
            raise _mismatch(
                f"{expected} channels ({fixed} box values, {classes} classes, {extra} more); "
                f"got shape {array.shape}"
            )
    else:
        rows = array.transpose(0, 2, 1)
    if classes and rows.shape[2] != fixed + classes + extra:
        raise _mismatch(
            f"{fixed + classes + extra} values per candidate ({classes} classes); got shape "
            f"{array.shape}"
        )
    if rows.shape[2] < fixed + extra:
        raise _mismatch(f"at least {fixed + extra} values per candidate; got shape {array.shape}")
    return rows


def _keypoint_shape(points: int, num_keypoints: int | None) -> tuple[int, int]:
    if num_keypoints:
        if points <= 0 or points % num_keypoints or points // num_keypoints not in (2, 3):
            raise _mismatch(f"{num_keypoints} keypoints of 2 or 3 values; got {points} values")
        return num_keypoints, points // num_keypoints
    if points > 0 and points % 3 == 0:
        return points // 3, 3
    if points > 0 and points % 2 == 0:
        return points // 2, 2
    raise _mismatch(f"keypoints of 3 values (x, y, confidence); got {points} values per candidate")


def _to_original(found: Candidates, transform: ImageTransform) -> RawDetections:
    if not len(found.xyxy):
        return RawDetections.empty()
    return RawDetections(
        xyxy=transform.boxes_to_original(found.xyxy),
        confidence=found.confidence,
        class_id=found.class_id.astype(int),
    )


def _no_candidates(extra: int) -> Candidates:
    return Candidates(
        xyxy=np.zeros((0, 4), np.float32),
        confidence=np.zeros(0, np.float32),
        class_id=np.zeros(0, np.int64),
        extra=np.zeros((0, extra), np.float32),
    )


def _mismatch(what: str) -> ModelError:
    return ModelError(
        f"the network's output does not match its package: expected {what}. Check "
        "output_layout and class_names in model.json",
        code="model.output_mismatch",
    )


__all__ = [
    "Candidates",
    "assemble_masks",
    "box_iou",
    "class_ids_for",
    "decode_classification",
    "decode_detections",
    "decode_pose",
    "decode_segmentation",
    "non_max_suppression",
    "select",
    "xywh_to_xyxy",
]
