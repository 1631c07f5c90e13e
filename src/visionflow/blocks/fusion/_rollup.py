"""Roll detections made on crops back into the image the crops were cut from.

Each child set belongs to one parent box (the crop); its boxes, masks and keypoints are moved
by the crop's top-left corner, then overlapping results of the same class are merged: boxes and
masks that overlap (or reach ``overlap_threshold`` IoU) join one group, keypoint detections
whose keypoints lie within ``keypoint_merge_threshold`` pixels on average do.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import supervision as sv

from visionflow.data.detections import (
    CLASS_NAME_KEY,
    DETECTION_ID_KEY,
    IMAGE_DIMENSIONS_KEY,
    INFERENCE_ID_KEY,
    KEYPOINTS_CLASS_ID_KEY_IN_SV_DETECTIONS,
    KEYPOINTS_CLASS_NAME_KEY_IN_SV_DETECTIONS,
    KEYPOINTS_CONFIDENCE_KEY_IN_SV_DETECTIONS,
    KEYPOINTS_XY_KEY_IN_SV_DETECTIONS,
    PARENT_COORDINATES_KEY,
    PARENT_DIMENSIONS_KEY,
    PARENT_ID_KEY,
    PREDICTION_TYPE_KEY,
    ROOT_PARENT_COORDINATES_KEY,
    ROOT_PARENT_DIMENSIONS_KEY,
    ROOT_PARENT_ID_KEY,
)

KEYPOINT_KEYS = (
    KEYPOINTS_XY_KEY_IN_SV_DETECTIONS,
    KEYPOINTS_CLASS_NAME_KEY_IN_SV_DETECTIONS,
    KEYPOINTS_CLASS_ID_KEY_IN_SV_DETECTIONS,
    KEYPOINTS_CONFIDENCE_KEY_IN_SV_DETECTIONS,
)
_PER_BOX_KEYS = (DETECTION_ID_KEY, PARENT_ID_KEY, INFERENCE_ID_KEY, *KEYPOINT_KEYS)
_STRING_KEYS = (
    CLASS_NAME_KEY,
    PREDICTION_TYPE_KEY,
    DETECTION_ID_KEY,
    PARENT_ID_KEY,
    INFERENCE_ID_KEY,
    ROOT_PARENT_ID_KEY,
)
_SHAPE_KEYS = (ROOT_PARENT_DIMENSIONS_KEY, PARENT_DIMENSIONS_KEY, IMAGE_DIMENSIONS_KEY)
_COORDINATE_KEYS = (ROOT_PARENT_COORDINATES_KEY, PARENT_COORDINATES_KEY)

Item = dict[str, Any]


def crop_zones(parents: sv.Detections) -> list[list[tuple[float, float]]]:
    """Each parent box as its four corners (clockwise from the top-left)."""
    return [
        [
            (float(x1), float(y1)),
            (float(x2), float(y1)),
            (float(x2), float(y2)),
            (float(x1), float(y2)),
        ]
        for x1, y1, x2, y2 in parents.xyxy
    ]


def roll_up(
    parents: sv.Detections,
    children: Sequence[sv.Detections],
    confidence_strategy: str = "max",
    overlap_threshold: float = 0.0,
    keypoint_merge_threshold: float = 10.0,
) -> sv.Detections:
    """The children's detections in the parents' image, overlapping ones merged per class."""
    if len(parents) != len(children):
        raise ValueError(
            f"{len(parents)} parent detections but {len(children)} sets of child detections; "
            "connect the crops' predictions collapsed per image (Dimension Collapse)"
        )
    shape = _image_shape(parents)
    has_masks = any(c.mask is not None and len(c.mask) > 0 for c in children)
    keypoints = any(_is_keypoint_detection(c) for c in children)
    by_class: dict[Any, list[Item]] = {}
    for box, child in zip(parents.xyxy, children, strict=True):
        offset = (int(box[0]), int(box[1]))
        for j in range(len(child)):
            item = _moved_item(child, j, offset, shape, has_masks, keypoints)
            by_class.setdefault(item["class_id"], []).append(item)
    merged: list[Item] = []
    for items in by_class.values():
        if keypoints:
            merged += merge_keypoint_items(items, confidence_strategy, keypoint_merge_threshold)
        elif has_masks:
            merged += merge_mask_items(items, confidence_strategy, overlap_threshold)
        else:
            merged += merge_box_items(items, confidence_strategy, overlap_threshold)
    if not merged:
        return cast(sv.Detections, parents[np.zeros(len(parents), dtype=bool)])
    return _assemble(merged, children, shape, has_masks, keypoints)


def _image_shape(parents: sv.Detections) -> list[int]:
    column = parents.data.get(ROOT_PARENT_DIMENSIONS_KEY)
    if column is not None and len(column):
        return [int(v) for v in column[0]]
    known = parents.metadata.get(ROOT_PARENT_DIMENSIONS_KEY)
    if known is not None:
        return [int(v) for v in known]
    raise ValueError(
        f"the parent detections lack '{ROOT_PARENT_DIMENSIONS_KEY}', so the size of the image "
        "is unknown; connect a model's predictions"
    )


def _class_ids(detections: sv.Detections) -> np.ndarray:
    if detections.class_id is None:
        return np.zeros(len(detections), dtype=int)
    return detections.class_id


def _is_keypoint_detection(child: sv.Detections) -> bool:
    kind = child.data.get(PREDICTION_TYPE_KEY)
    if isinstance(kind, np.ndarray):
        return len(kind) > 0 and kind[0] == "keypoint-detection"
    return kind == "keypoint-detection"


def _moved_item(
    child: sv.Detections,
    j: int,
    offset: tuple[int, int],
    shape: list[int],
    has_masks: bool,
    keypoints: bool,
) -> Item:
    dx, dy = offset
    x1, y1, x2, y2 = child.xyxy[j]
    item: Item = {
        "bbox": np.array([x1 + dx, y1 + dy, x2 + dx, y2 + dy]),
        "confidence": child.confidence[j] if child.confidence is not None else 0.0,
        "class_id": _class_ids(child)[j],
        "mask": None,
        "keypoint_data": _moved_keypoints(child, j, offset) if keypoints else {},
        "detection_data": {
            key: values[j]
            for key, values in child.data.items()
            if key not in _PER_BOX_KEYS and j < len(values)
        },
    }
    if has_masks and child.mask is not None:
        item["mask"] = _paste(np.asarray(child.mask[j]), dx, dy, shape)
    return item


def _moved_keypoints(child: sv.Detections, j: int, offset: tuple[int, int]) -> dict[str, Any]:
    data = child.data
    if KEYPOINTS_XY_KEY_IN_SV_DETECTIONS not in data:
        return {}
    points = np.array(data[KEYPOINTS_XY_KEY_IN_SV_DETECTIONS][j], dtype=np.float64)
    moved: dict[str, Any] = {
        KEYPOINTS_XY_KEY_IN_SV_DETECTIONS: []
        if points.size == 0
        else (points.reshape(-1, 2) + np.array(offset, dtype=np.float64)).tolist()
    }
    for key in KEYPOINT_KEYS[1:]:
        if key in data:
            moved[key] = data[key][j]
    return moved


def _paste(mask: np.ndarray, dx: int, dy: int, shape: list[int]) -> np.ndarray:
    height, width = shape
    canvas = np.zeros((height, width), dtype=bool)
    crop_h, crop_w = mask.shape
    x0, y0 = max(0, dx), max(0, dy)
    x1, y1 = min(width, dx + crop_w), min(height, dy + crop_h)
    if x1 > x0 and y1 > y0:
        canvas[y0:y1, x0:x1] = mask[y0 - dy : y1 - dy, x0 - dx : x1 - dx]
    return canvas


def _combine(confidences: list[Any], strategy: str) -> Any:
    if strategy == "mean":
        return np.mean(confidences)
    if strategy == "min":
        return min(confidences)
    return max(confidences)


def _groups(n: int, overlaps: Any) -> list[list[int]]:
    """Connected components (in order of their first member) of the pairs ``overlaps`` yields."""
    root = list(range(n))

    def find(x: int) -> int:
        while root[x] != x:
            root[x] = root[root[x]]
            x = root[x]
        return x

    for i, j in overlaps:
        ri, rj = find(i), find(j)
        if ri != rj:
            root[ri] = rj
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    return list(groups.values())


def _box_pairs(boxes: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    width = np.clip(
        np.minimum(boxes[:, None, 2], boxes[None, :, 2])
        - np.maximum(boxes[:, None, 0], boxes[None, :, 0]),
        0,
        None,
    )
    height = np.clip(
        np.minimum(boxes[:, None, 3], boxes[None, :, 3])
        - np.maximum(boxes[:, None, 1], boxes[None, :, 1]),
        0,
        None,
    )
    intersection = width * height
    if threshold <= 0.0:
        linked = intersection > 0
    else:
        union = areas[:, None] + areas[None, :] - intersection
        iou = np.divide(intersection, union, out=np.zeros_like(intersection), where=union > 0)
        linked = iou >= threshold
    i, j = np.nonzero(np.triu(linked, k=1))
    return list(zip(i.tolist(), j.tolist(), strict=True))


def merge_box_items(items: list[Item], strategy: str, threshold: float) -> list[Item]:
    """Overlapping boxes of one class as their enclosing box."""
    if not items:
        return []
    boxes = np.array([item["bbox"] for item in items], dtype=np.float64)
    merged = []
    for group in _groups(len(items), _box_pairs(boxes, threshold)):
        members = boxes[group]
        merged.append(
            {
                "bbox": np.array(
                    [
                        members[:, 0].min(),
                        members[:, 1].min(),
                        members[:, 2].max(),
                        members[:, 3].max(),
                    ]
                ),
                "confidence": _combine([items[k]["confidence"] for k in group], strategy),
                "class_id": items[group[0]]["class_id"],
                "detection_data": items[group[0]]["detection_data"],
            }
        )
    return merged


def _mask_pairs(items: list[Item], threshold: float) -> list[tuple[int, int]]:
    masks = [item["mask"] for item in items]
    boxes = np.array([item["bbox"] for item in items], dtype=np.float64)
    areas = [int(np.count_nonzero(m)) for m in masks]
    pairs = []
    for i in range(len(items)):
        for j in range(i + 1, len(items)):
            a, b = boxes[i], boxes[j]
            if a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]:
                continue  # boxes apart: the masks cannot touch
            common = int(np.count_nonzero(masks[i] & masks[j]))
            if threshold <= 0.0:
                linked = common > 0
            else:
                union = areas[i] + areas[j] - common
                linked = (common / union if union > 0 else 0.0) >= threshold
            if linked:
                pairs.append((i, j))
    return pairs


def merge_mask_items(items: list[Item], strategy: str, threshold: float) -> list[Item]:
    """Overlapping masks of one class as their union (empty unions are dropped)."""
    if not items:
        return []
    merged = []
    for group in _groups(len(items), _mask_pairs(items, threshold)):
        union = np.logical_or.reduce([items[k]["mask"] for k in group])
        if union.any():
            merged.append(
                {
                    "mask": union,
                    "confidence": _combine([items[k]["confidence"] for k in group], strategy),
                    "class_id": items[group[0]]["class_id"],
                    "detection_data": items[group[0]]["detection_data"],
                }
            )
    return merged


def merge_keypoint_items(items: list[Item], strategy: str, threshold: float) -> list[Item]:
    """Detections whose keypoints lie close together (mean distance) as one detection."""
    with_points = [i for i in items if KEYPOINTS_XY_KEY_IN_SV_DETECTIONS in i["keypoint_data"]]
    without = [i for i in items if KEYPOINTS_XY_KEY_IN_SV_DETECTIONS not in i["keypoint_data"]]
    if not with_points:
        return items
    merged: list[Item] = []
    used: set[int] = set()
    for i, first in enumerate(with_points):
        if i in used:
            continue
        used.add(i)
        group = [first]
        points = np.array(first["keypoint_data"][KEYPOINTS_XY_KEY_IN_SV_DETECTIONS])
        for j in range(i + 1, len(with_points)):
            other = np.array(with_points[j]["keypoint_data"][KEYPOINTS_XY_KEY_IN_SV_DETECTIONS])
            if j in used or len(points) != len(other):
                continue
            if np.mean(np.linalg.norm(points - other, axis=1)) < threshold:
                group.append(with_points[j])
                used.add(j)
        merged.append(group[0] if len(group) == 1 else _merge_keypoint_group(group, strategy))
    return merged + without


def _merge_keypoint_group(group: list[Item], strategy: str) -> Item:
    confidences = [p["confidence"] for p in group]
    if strategy == "max":
        confidence = confidences[int(np.argmax(confidences))]
    elif strategy == "mean":
        confidence = np.mean(confidences)
    else:
        confidence = np.min(confidences)
    first = group[0]["keypoint_data"]
    data: dict[str, Any] = {
        KEYPOINTS_XY_KEY_IN_SV_DETECTIONS: np.mean(
            [np.array(p["keypoint_data"][KEYPOINTS_XY_KEY_IN_SV_DETECTIONS]) for p in group],
            axis=0,
        ).tolist(),
        KEYPOINTS_CLASS_NAME_KEY_IN_SV_DETECTIONS: first.get(
            KEYPOINTS_CLASS_NAME_KEY_IN_SV_DETECTIONS
        ),
        KEYPOINTS_CLASS_ID_KEY_IN_SV_DETECTIONS: first.get(KEYPOINTS_CLASS_ID_KEY_IN_SV_DETECTIONS),
    }
    if KEYPOINTS_CONFIDENCE_KEY_IN_SV_DETECTIONS in first:
        data[KEYPOINTS_CONFIDENCE_KEY_IN_SV_DETECTIONS] = np.mean(
            [
                np.array(p["keypoint_data"][KEYPOINTS_CONFIDENCE_KEY_IN_SV_DETECTIONS])
                for p in group
            ],
            axis=0,
        ).tolist()
    return {
        "bbox": np.mean([p["bbox"] for p in group], axis=0),
        "confidence": confidence,
        "class_id": group[0]["class_id"],
        "mask": None,
        "keypoint_data": data,
        "detection_data": group[0].get("detection_data", {}),
    }


def _assemble(
    merged: list[Item],
    children: Sequence[sv.Detections],
    shape: list[int],
    has_masks: bool,
    keypoints: bool,
) -> sv.Detections:
    class_ids = np.array([p["class_id"] for p in merged], dtype=int)
    confidences = np.array([p["confidence"] for p in merged], dtype=np.float32)
    if has_masks:
        masks = np.stack([p["mask"] for p in merged])
        result = sv.Detections(
            xyxy=np.array([_mask_box(m) for m in masks], dtype=np.float32),
            mask=masks,
            confidence=confidences,
            class_id=class_ids,
        )
    else:
        result = sv.Detections(
            xyxy=np.array([p["bbox"] for p in merged], dtype=np.float32).reshape(-1, 4),
            confidence=confidences,
            class_id=class_ids,
        )
    for key, values in _data_columns(merged, children, shape).items():
        if key in _STRING_KEYS:
            result.data[key] = np.array(values, dtype=str)
        elif key in _SHAPE_KEYS or key in _COORDINATE_KEYS:
            result.data[key] = np.array(values, dtype=int)
        else:
            result.data[key] = np.array(values)
    if keypoints:
        for key in KEYPOINT_KEYS:
            values = [p.get("keypoint_data", {}).get(key) for p in merged if p.get("keypoint_data")]
            if values:
                column = np.empty(len(values), dtype=object)
                column[:] = values
                result.data[key] = column
    return result


def _mask_box(mask: np.ndarray) -> list[int]:
    rows, cols = np.nonzero(mask)
    if len(rows) == 0:
        return [0, 0, 0, 0]
    return [cols.min(), rows.min(), cols.max() + 1, rows.max() + 1]


def _data_columns(
    merged: list[Item], children: Sequence[sv.Detections], shape: list[int]
) -> dict[str, list[Any]]:
    """Per-box columns of the merged detections, following the reference's choices."""
    keys = [k for k in dict.fromkeys(k for c in children for k in c.data) if k not in KEYPOINT_KEYS]
    first_of_class: dict[Any, dict[str, Any]] = {}
    for child in children:
        for i in range(len(child)):
            first_of_class.setdefault(
                _class_ids(child)[i],
                {
                    key: values[i]
                    for key, values in child.data.items()
                    if key not in _PER_BOX_KEYS and i < len(values)
                },
            )
    sample = children[0] if children and len(children[0]) else None
    sample_parent = _sample(sample, PARENT_ID_KEY)
    sample_inference = _sample(sample, INFERENCE_ID_KEY)
    columns: dict[str, list[Any]] = {key: [] for key in keys}
    for item in merged:
        known = first_of_class.get(item["class_id"], {})
        for key in keys:
            columns[key].append(
                _column_value(key, item, known, shape, sample_parent, sample_inference)
            )
    return columns


def _sample(child: sv.Detections | None, key: str) -> Any:
    if child is None or key not in child.data:
        return None
    return child.data[key][0]


def _column_value(
    key: str,
    item: Item,
    known: dict[str, Any],
    shape: list[int],
    sample_parent: Any,
    sample_inference: Any,
) -> Any:
    if key == DETECTION_ID_KEY:
        return str(uuid.uuid4())
    if key == PARENT_ID_KEY:
        return sample_parent if sample_parent else str(uuid.uuid4())
    if key == INFERENCE_ID_KEY:
        return sample_inference if sample_inference else str(uuid.uuid4())
    if key in _SHAPE_KEYS:
        return list(shape)
    if key in _COORDINATE_KEYS:
        # The merged boxes are already in the image's coordinates. (The reference copies the
        # first crop's offset here, so its default "parent" output shifts them a second time.)
        return [0, 0]
    if key == ROOT_PARENT_ID_KEY:
        return known.get(key, "image")
    if key == PREDICTION_TYPE_KEY:
        return "instance-segmentation"
    if key in item.get("detection_data", {}):
        return item["detection_data"][key]
    return known.get(key)


__all__ = [
    "crop_zones",
    "merge_box_items",
    "merge_keypoint_items",
    "merge_mask_items",
    "roll_up",
]
