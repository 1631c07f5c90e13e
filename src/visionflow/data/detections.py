"""Helpers for detections: ``supervision.Detections`` with the lineage columns workflows need.

Every box carries, in ``detections.data``, the reference's columns (``class_name``,
``detection_id``, ``parent_id``, ``parent_coordinates`` [x, y], ``parent_dimensions`` [h, w],
``root_parent_id``, ``root_parent_coordinates``, ``root_parent_dimensions``,
``image_dimensions`` [h, w], ``prediction_type``, ``inference_id``). The image-level facts
are also kept in ``detections.metadata`` under the same keys (as plain lists and strings), so
an empty result still knows the image it was made on.

>>> import numpy as np
>>> from visionflow.data.image import Image
>>> image = Image(np.zeros((100, 200, 3), dtype=np.uint8), parent_id="image")
>>> crop = image.crop(50, 10, 150, 60, crop_id="c1")
>>> det = make_detections([[0, 0, 10, 10]], [0.9], [0], ["dog"], crop)
>>> det.data["parent_id"].tolist(), det.metadata["root_parent_coordinates"]
(['c1'], [50, 10])
>>> detections_to_root_coordinates(det).xyxy.tolist()
[[50.0, 10.0, 60.0, 20.0]]
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import supervision as sv

    from visionflow.data.image import Image

logger = logging.getLogger(__name__)

# -- keys in ``detections.data`` (and ``metadata``): the reference's exact names ------------------
CLASS_NAME_KEY = "class_name"
DETECTION_ID_KEY = "detection_id"
PARENT_ID_KEY = "parent_id"
PARENT_COORDINATES_KEY = "parent_coordinates"
PARENT_DIMENSIONS_KEY = "parent_dimensions"
ROOT_PARENT_ID_KEY = "root_parent_id"
ROOT_PARENT_COORDINATES_KEY = "root_parent_coordinates"
ROOT_PARENT_DIMENSIONS_KEY = "root_parent_dimensions"
IMAGE_DIMENSIONS_KEY = "image_dimensions"
PREDICTION_TYPE_KEY = "prediction_type"
INFERENCE_ID_KEY = "inference_id"
KEYPOINTS_XY_KEY_IN_SV_DETECTIONS = "keypoints_xy"
KEYPOINTS_CONFIDENCE_KEY_IN_SV_DETECTIONS = "keypoints_confidence"
KEYPOINTS_CLASS_NAME_KEY_IN_SV_DETECTIONS = "keypoints_class_name"
KEYPOINTS_CLASS_ID_KEY_IN_SV_DETECTIONS = "keypoints_class_id"
POLYGON_KEY_IN_SV_DETECTIONS = "polygon"
ORIENTED_BOX_COORDINATES_KEY = "xyxyxyxy"  # supervision.config.ORIENTED_BOX_COORDINATES
TIME_IN_ZONE_KEY = "time_in_zone"
PATH_DEVIATION_KEY = "path_deviation"
DETECTED_CODE_KEY = "data"
VELOCITY_KEY = "velocity"
SPEED_KEY = "speed"
SMOOTHED_VELOCITY_KEY = "smoothed_velocity"
SMOOTHED_SPEED_KEY = "smoothed_speed"
AREA_KEY = "area_px"
AREA_CONVERTED_KEY = "area_converted"
NEAREST_TARGET_DISTANCE_KEY = "nearest_target_distance"
RLE_MASK_KEY = "rle_mask"
BOUNDING_RECT_RECT_KEY = "rect"
BOUNDING_RECT_WIDTH_KEY = "width"
BOUNDING_RECT_HEIGHT_KEY = "height"
BOUNDING_RECT_ANGLE_KEY = "angle"

# -- keys of the wire format (inference responses) -----------------------------------------------
PARENT_ORIGIN_KEY = "parent_origin"
ROOT_PARENT_ORIGIN_KEY = "root_parent_origin"
KEYPOINTS_KEY_IN_INFERENCE_RESPONSE = "keypoints"
POLYGON_KEY_IN_INFERENCE_RESPONSE = "points"

#: Class name of the padding slots that make per-box keypoint arrays rectangular.
KEYPOINT_PADDING_CLASS_NAME = ""

#: Image-level keys copied into ``detections.metadata``.
IMAGE_METADATA_KEYS = (
    IMAGE_DIMENSIONS_KEY,
    PARENT_ID_KEY,
    PARENT_COORDINATES_KEY,
    PARENT_DIMENSIONS_KEY,
    ROOT_PARENT_ID_KEY,
    ROOT_PARENT_COORDINATES_KEY,
    ROOT_PARENT_DIMENSIONS_KEY,
    PREDICTION_TYPE_KEY,
)

_ROOT_KEYS = (ROOT_PARENT_ID_KEY, ROOT_PARENT_COORDINATES_KEY, ROOT_PARENT_DIMENSIONS_KEY)


def image_lineage(image: Image) -> dict[str, Any]:
    """The image-level facts of ``image`` as the metadata dict of detections made on it."""
    height, width = image.numpy_image.shape[:2]
    origin = image.origin
    if origin is None:
        parent_coordinates, parent_dimensions = [0, 0], [height, width]
    else:
        parent_coordinates = [origin.offset_x, origin.offset_y]
        parent_dimensions = [origin.height, origin.width]
    root_x, root_y = image.root_offset()
    root_w, root_h = image.root_size()
    return {
        IMAGE_DIMENSIONS_KEY: [height, width],
        PARENT_ID_KEY: image.parent_id,
        PARENT_COORDINATES_KEY: parent_coordinates,
        PARENT_DIMENSIONS_KEY: parent_dimensions,
        ROOT_PARENT_ID_KEY: image.root_id,
        ROOT_PARENT_COORDINATES_KEY: [root_x, root_y],
        ROOT_PARENT_DIMENSIONS_KEY: [root_h, root_w],
    }


def _set_lineage(detections: sv.Detections, lineage: Mapping[str, Any]) -> None:
    """Write image-level facts both as per-box columns and into metadata."""
    n = len(detections)
    for key, value in lineage.items():
        detections.metadata[key] = value
        if isinstance(value, list):
            detections.data[key] = np.tile(np.asarray(value, dtype=int), (n, 1)).reshape(n, 2)
        else:
            detections.data[key] = np.array([value] * n) if n else np.empty(0, dtype=str)


def attach_image_metadata(
    detections: sv.Detections,
    image: Image,
    prediction_type: str | None = None,
    inference_id: str | None = None,
) -> sv.Detections:
    """Stamp lineage of ``image`` onto ``detections`` (in place; also returned).

    Missing ``detection_id`` values are generated (uuid4). Works for zero boxes: the facts
    then live only in ``metadata``.
    """
    lineage = image_lineage(image)
    if prediction_type is not None:
        lineage[PREDICTION_TYPE_KEY] = prediction_type
    _set_lineage(detections, lineage)
    n = len(detections)
    if inference_id is not None:
        detections.data[INFERENCE_ID_KEY] = np.array([inference_id] * n, dtype=str)
    ids = detections.data.get(DETECTION_ID_KEY)
    if ids is None or len(ids) != n:
        detections.data[DETECTION_ID_KEY] = new_detection_ids(n)
    if CLASS_NAME_KEY not in detections.data:
        class_ids = detections.class_id if detections.class_id is not None else np.zeros(n, int)
        detections.data[CLASS_NAME_KEY] = np.array([str(c) for c in class_ids], dtype=str)
    return detections


def new_detection_ids(n: int) -> np.ndarray:
    """``n`` fresh uuid4 strings."""
    return np.array([str(uuid.uuid4()) for _ in range(n)]) if n else np.empty(0, dtype=str)


def make_detections(
    xyxy: Any,
    confidence: Any,
    class_id: Any,
    class_names: Sequence[str] | Mapping[int, str] | None,
    image: Image,
    *,
    mask: np.ndarray | None = None,
    tracker_id: Any = None,
    data: Mapping[str, Any] | None = None,
    prediction_type: str = "object-detection",
    inference_id: str | None = None,
) -> sv.Detections:
    """Build detections made on ``image``, with every lineage column set.

    ``class_names`` is the model's vocabulary, looked up by ``class_id`` (an id outside it
    becomes its own string); pass per-box names in ``data["class_name"]`` to override.

    >>> import numpy as np
    >>> from visionflow.data.image import Image
    >>> image = Image(np.zeros((10, 20, 3), dtype=np.uint8), parent_id="image")
    >>> make_detections(np.empty((0, 4)), [], [], ["a"], image).metadata["image_dimensions"]
    [10, 20]
    """
    import supervision as sv

    boxes = np.asarray(xyxy, dtype=float).reshape(-1, 4)
    ids = np.asarray(class_id, dtype=int).reshape(-1)
    columns: dict[str, Any] = {key: np.asarray(value) for key, value in (data or {}).items()}
    if CLASS_NAME_KEY not in columns:
        columns[CLASS_NAME_KEY] = np.array(
            [_class_name(class_names, int(c)) for c in ids], dtype=str
        )
    detections = sv.Detections(
        xyxy=boxes,
        confidence=np.asarray(confidence, dtype=float).reshape(-1),
        class_id=ids,
        mask=mask,
        tracker_id=None if tracker_id is None else np.asarray(tracker_id, dtype=int),
        data=columns,
    )
    return attach_image_metadata(detections, image, prediction_type, inference_id)


def _class_name(class_names: Sequence[str] | Mapping[int, str] | None, class_id: int) -> str:
    if class_names is None:
        return str(class_id)
    if isinstance(class_names, Mapping):
        return str(class_names.get(class_id, class_id))
    if 0 <= class_id < len(class_names):
        return str(class_names[class_id])
    return str(class_id)


def image_size_of(detections: sv.Detections) -> tuple[int, int] | None:
    """(width, height) of the image the boxes are relative to, or None when unknown."""
    dims = detections.data.get(IMAGE_DIMENSIONS_KEY)
    if dims is not None and len(dims) > 0:
        return int(dims[0][1]), int(dims[0][0])
    dims = detections.metadata.get(IMAGE_DIMENSIONS_KEY)
    if dims is not None:
        return int(dims[1]), int(dims[0])
    return None


def copy_detections(detections: sv.Detections) -> sv.Detections:
    """A copy whose arrays can be changed without touching the original."""
    import supervision as sv

    mask = detections.mask
    return sv.Detections(
        xyxy=detections.xyxy.copy(),
        mask=mask.copy() if isinstance(mask, np.ndarray) else mask,
        confidence=None if detections.confidence is None else detections.confidence.copy(),
        class_id=None if detections.class_id is None else detections.class_id.copy(),
        tracker_id=None if detections.tracker_id is None else detections.tracker_id.copy(),
        data={key: _copy_column(value) for key, value in detections.data.items()},
        metadata={key: _copy_column(value) for key, value in detections.metadata.items()},
    )


def _copy_column(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            # Ragged columns (polygons, per-box lists) hold arrays that are shifted in place.
            return np.array(
                [v.copy() if isinstance(v, np.ndarray) else v for v in value], dtype=object
            ).reshape(value.shape)
        return value.copy()
    if isinstance(value, list):
        return list(value)
    return value


def _shift_geometry(detections: sv.Detections, shift: np.ndarray) -> None:
    """Add per-box (dx, dy) offsets to boxes, keypoints, polygons and oriented boxes, in place."""
    detections.xyxy = detections.xyxy + np.tile(shift, 2)
    data = detections.data
    keypoints = data.get(KEYPOINTS_XY_KEY_IN_SV_DETECTIONS)
    if keypoints is not None and len(keypoints):
        data[KEYPOINTS_XY_KEY_IN_SV_DETECTIONS] = _add_points(keypoints, shift)
    for key in (POLYGON_KEY_IN_SV_DETECTIONS, ORIENTED_BOX_COORDINATES_KEY):
        if key in data and len(data[key]):
            data[key] = _add_points(data[key], shift)


def _add_points(points: Any, shift: np.ndarray) -> np.ndarray:
    points = np.asarray(points)
    if points.dtype != object:
        # Rectangular N x K x 2: broadcast one (dx, dy) per box.
        return points + shift.reshape((len(shift),) + (1,) * (points.ndim - 2) + (2,)).astype(
            points.dtype if np.issubdtype(points.dtype, np.floating) else float
        )
    shifted = np.empty(len(points), dtype=object)
    for i, row in enumerate(points):
        row = np.asarray(row, dtype=float)
        shifted[i] = row + shift[i] if row.size else row
    return shifted


def shift_detections(detections: sv.Detections, dx: int, dy: int) -> sv.Detections:
    """A copy moved by (dx, dy): boxes, keypoints, polygons, oriented boxes and masks.

    Masks keep their canvas size; pixels moved outside it are dropped.
    """
    shifted = copy_detections(detections)
    n = len(shifted)
    if n == 0:
        return shifted
    _shift_geometry(shifted, np.tile(np.array([dx, dy], dtype=float), (n, 1)))
    if shifted.mask is not None:
        masks = _dense_masks(shifted.mask)
        height, width = masks.shape[1:]
        moved = np.zeros_like(masks)
        _paste(moved, masks, np.array([[dx, dy]] * n), height, width)
        shifted.mask = moved
    return shifted


def _dense_masks(mask: Any) -> np.ndarray:
    if isinstance(mask, np.ndarray):
        return mask
    if hasattr(mask, "to_dense"):  # supervision's CompactMask
        return mask.to_dense()
    return np.asarray(mask)


def _paste(
    target: np.ndarray, masks: np.ndarray, shifts: np.ndarray, height: int, width: int
) -> None:
    """Copy each mask into ``target`` at its (dx, dy), clipped to (height, width)."""
    for i, (mask, (dx, dy)) in enumerate(zip(masks, shifts.astype(int), strict=True)):
        mask_h, mask_w = mask.shape
        x0, y0 = max(dx, 0), max(dy, 0)
        x1, y1 = min(dx + mask_w, width), min(dy + mask_h, height)
        if x1 <= x0 or y1 <= y0:
            continue
        target[i, y0:y1, x0:x1] = mask[y0 - dy : y1 - dy, x0 - dx : x1 - dx]


def needs_root_conversion(detections: sv.Detections) -> bool:
    """True when the boxes are not already in root-image coordinates (the reference's rule).

    Boxes made on a crop carry a non-zero root offset or an image size that differs from the
    root's; boxes made on the input image itself are left exactly as they are.
    """
    if len(detections) == 0:
        return ROOT_PARENT_DIMENSIONS_KEY in detections.metadata
    data = detections.data
    root_coordinates = data.get(ROOT_PARENT_COORDINATES_KEY)
    if root_coordinates is None:
        return False
    if np.any(np.asarray(root_coordinates) != 0):
        return True
    root_dimensions = data.get(ROOT_PARENT_DIMENSIONS_KEY)
    image_dimensions = data.get(IMAGE_DIMENSIONS_KEY)
    return (
        root_dimensions is not None
        and image_dimensions is not None
        and not np.array_equal(np.asarray(root_dimensions), np.asarray(image_dimensions))
    )


def detections_to_root_coordinates(detections: sv.Detections) -> sv.Detections:
    """A copy expressed in the coordinates of the root (input) image.

    Boxes, keypoints, polygons and oriented boxes are shifted by ``root_parent_coordinates``;
    masks are pasted into canvases of the root image size; ``parent_id`` becomes
    ``root_parent_id`` and every coordinate column points at the root with offset (0, 0).
    Empty detections are mapped through their metadata. Detections without root columns are
    returned copied and unchanged (with a warning), as the reference does.
    """
    result = copy_detections(detections)
    n = len(result)
    if n == 0:
        root_dims = result.metadata.get(ROOT_PARENT_DIMENSIONS_KEY)
        if root_dims is not None:
            root_id = result.metadata.get(ROOT_PARENT_ID_KEY, result.metadata.get(PARENT_ID_KEY))
            _set_lineage(result, _root_lineage(root_id, [int(v) for v in root_dims]))
        return result
    if any(key not in result.data for key in _ROOT_KEYS):
        logger.warning(
            "detections_to_root_coordinates(): detections lack %s; returned unchanged",
            ", ".join(key for key in _ROOT_KEYS if key not in result.data),
        )
        return result
    shifts = np.asarray(result.data[ROOT_PARENT_COORDINATES_KEY], dtype=float).reshape(n, 2)
    root_dims = [int(v) for v in np.asarray(result.data[ROOT_PARENT_DIMENSIONS_KEY])[0]]
    root_ids = result.data[ROOT_PARENT_ID_KEY]
    _shift_geometry(result, shifts)
    if result.mask is not None:
        result.mask = _masks_to_root(result.mask, shifts.astype(int), root_dims)
    lineage = _root_lineage(str(root_ids[0]), root_dims)
    _set_lineage(result, lineage)
    # Rows may come from different roots once merged; keep each row's own root id.
    result.data[PARENT_ID_KEY] = np.asarray(root_ids).copy()
    result.data[ROOT_PARENT_ID_KEY] = np.asarray(root_ids).copy()
    return result


def _root_lineage(root_id: Any, root_dims: list[int]) -> dict[str, Any]:
    return {
        IMAGE_DIMENSIONS_KEY: list(root_dims),
        PARENT_ID_KEY: root_id,
        PARENT_COORDINATES_KEY: [0, 0],
        PARENT_DIMENSIONS_KEY: list(root_dims),
        ROOT_PARENT_ID_KEY: root_id,
        ROOT_PARENT_COORDINATES_KEY: [0, 0],
        ROOT_PARENT_DIMENSIONS_KEY: list(root_dims),
    }


def _masks_to_root(mask: Any, shifts: np.ndarray, root_dims: list[int]) -> Any:
    height, width = root_dims
    uniform = bool((shifts == shifts[0]).all())
    if not isinstance(mask, np.ndarray) and hasattr(mask, "with_offset") and uniform:
        # CompactMask relocates without building (N, H, W) dense arrays.
        return mask.with_offset(int(shifts[0][0]), int(shifts[0][1]), (height, width))
    dense = _dense_masks(mask)
    target = np.zeros((len(dense), height, width), dtype=bool)
    _paste(target, dense, shifts, height, width)
    return target


def merge_detections(detections_list: Sequence[sv.Detections]) -> sv.Detections:
    """``sv.Detections.merge`` that drops metadata keys the inputs disagree on.

    Detections of different images carry different image-level metadata, which makes
    supervision's strict merge raise; per-box columns keep every row's facts anyway.
    """
    import supervision as sv

    non_empty = [d for d in detections_list if len(d) > 0]
    if not non_empty:
        return copy_detections(detections_list[0]) if detections_list else sv.Detections.empty()
    common = _agreeing_metadata([d.metadata for d in non_empty])
    stripped = []
    for d in non_empty:
        clone = copy_detections(d)
        clone.metadata = dict(common)
        stripped.append(clone)
    return sv.Detections.merge(stripped)


def _agreeing_metadata(metadata_list: list[dict[str, Any]]) -> dict[str, Any]:
    first = metadata_list[0]
    agreed = {}
    for key, value in first.items():
        if all(key in other and _same(other[key], value) for other in metadata_list[1:]):
            agreed[key] = value
    return agreed


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(np.array_equal(np.asarray(a), np.asarray(b)))
    except (TypeError, ValueError):
        return False


def real_keypoints_count(class_names: Sequence[Any] | None, total: int) -> int:
    """How many leading keypoint slots of one box are real (padding slots have class "")."""
    if class_names is None:
        return total
    count = 0
    for name in class_names[:total]:
        if name == KEYPOINT_PADDING_CLASS_NAME:
            break
        count += 1
    return count


__all__ = [
    "CLASS_NAME_KEY",
    "DETECTED_CODE_KEY",
    "DETECTION_ID_KEY",
    "IMAGE_DIMENSIONS_KEY",
    "IMAGE_METADATA_KEYS",
    "INFERENCE_ID_KEY",
    "KEYPOINTS_CLASS_ID_KEY_IN_SV_DETECTIONS",
    "KEYPOINTS_CLASS_NAME_KEY_IN_SV_DETECTIONS",
    "KEYPOINTS_CONFIDENCE_KEY_IN_SV_DETECTIONS",
    "KEYPOINTS_KEY_IN_INFERENCE_RESPONSE",
    "KEYPOINTS_XY_KEY_IN_SV_DETECTIONS",
    "KEYPOINT_PADDING_CLASS_NAME",
    "ORIENTED_BOX_COORDINATES_KEY",
    "PARENT_COORDINATES_KEY",
    "PARENT_DIMENSIONS_KEY",
    "PARENT_ID_KEY",
    "PARENT_ORIGIN_KEY",
    "POLYGON_KEY_IN_INFERENCE_RESPONSE",
    "POLYGON_KEY_IN_SV_DETECTIONS",
    "PREDICTION_TYPE_KEY",
    "ROOT_PARENT_COORDINATES_KEY",
    "ROOT_PARENT_DIMENSIONS_KEY",
    "ROOT_PARENT_ID_KEY",
    "ROOT_PARENT_ORIGIN_KEY",
    "TIME_IN_ZONE_KEY",
    "attach_image_metadata",
    "copy_detections",
    "detections_to_root_coordinates",
    "image_lineage",
    "image_size_of",
    "make_detections",
    "merge_detections",
    "needs_root_conversion",
    "new_detection_ids",
    "real_keypoints_count",
    "shift_detections",
]
