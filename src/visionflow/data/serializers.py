"""Turn workflow values into JSON-ready values, in the wire format of the reference.

>>> serialize_value({"count": np.int64(3), "scores": np.array([0.5, 1.0])})
{'count': 3, 'scores': [0.5, 1.0]}
>>> serialize_value("hunter22", kinds=["secret"])
'hu********22'
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from visionflow.data.detections import (
    AREA_CONVERTED_KEY,
    AREA_KEY,
    BOUNDING_RECT_ANGLE_KEY,
    BOUNDING_RECT_HEIGHT_KEY,
    BOUNDING_RECT_RECT_KEY,
    BOUNDING_RECT_WIDTH_KEY,
    CLASS_NAME_KEY,
    DETECTED_CODE_KEY,
    DETECTION_ID_KEY,
    IMAGE_DIMENSIONS_KEY,
    KEYPOINTS_CLASS_ID_KEY_IN_SV_DETECTIONS,
    KEYPOINTS_CLASS_NAME_KEY_IN_SV_DETECTIONS,
    KEYPOINTS_CONFIDENCE_KEY_IN_SV_DETECTIONS,
    KEYPOINTS_KEY_IN_INFERENCE_RESPONSE,
    KEYPOINTS_XY_KEY_IN_SV_DETECTIONS,
    NEAREST_TARGET_DISTANCE_KEY,
    PARENT_COORDINATES_KEY,
    PARENT_DIMENSIONS_KEY,
    PARENT_ID_KEY,
    PARENT_ORIGIN_KEY,
    PATH_DEVIATION_KEY,
    POLYGON_KEY_IN_INFERENCE_RESPONSE,
    POLYGON_KEY_IN_SV_DETECTIONS,
    ROOT_PARENT_COORDINATES_KEY,
    ROOT_PARENT_DIMENSIONS_KEY,
    ROOT_PARENT_ID_KEY,
    ROOT_PARENT_ORIGIN_KEY,
    SMOOTHED_SPEED_KEY,
    SMOOTHED_VELOCITY_KEY,
    SPEED_KEY,
    TIME_IN_ZONE_KEY,
    VELOCITY_KEY,
    real_keypoints_count,
)
from visionflow.data.image import Image, Origin, VideoMetadata

if TYPE_CHECKING:
    import supervision as sv

logger = logging.getLogger(__name__)

MIN_SECRET_LENGTH_TO_REVEAL_PREFIX = 8
MIN_POLYGON_POINT_COUNT = 3
_PLAIN_TYPES = (str, int, float, bool, type(None))

#: Extra per-box columns copied to the wire under the same name, in the reference's order.
_EARLY_KEYS = (PATH_DEVIATION_KEY, TIME_IN_ZONE_KEY)
_LATE_KEYS = (
    DETECTED_CODE_KEY,
    VELOCITY_KEY,
    SPEED_KEY,
    SMOOTHED_VELOCITY_KEY,
    SMOOTHED_SPEED_KEY,
)
_FLOAT_KEYS = (AREA_KEY, AREA_CONVERTED_KEY, NEAREST_TARGET_DISTANCE_KEY)
_BOUNDING_RECT_KEYS = (
    BOUNDING_RECT_ANGLE_KEY,
    BOUNDING_RECT_RECT_KEY,
    BOUNDING_RECT_HEIGHT_KEY,
    BOUNDING_RECT_WIDTH_KEY,
)
_KEYPOINT_KEYS = (
    KEYPOINTS_XY_KEY_IN_SV_DETECTIONS,
    KEYPOINTS_CONFIDENCE_KEY_IN_SV_DETECTIONS,
    KEYPOINTS_CLASS_NAME_KEY_IN_SV_DETECTIONS,
    KEYPOINTS_CLASS_ID_KEY_IN_SV_DETECTIONS,
)


def to_json_value(value: Any) -> Any:
    """numpy scalars and arrays, tuples, datetimes and bytes as plain JSON values."""
    if isinstance(value, _PLAIN_TYPES):
        return value
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [to_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def mask_to_polygon(mask: np.ndarray) -> np.ndarray | None:
    """The largest outer contour of a mask as K x 2 points (K >= 3), or None if it is empty."""
    import cv2

    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    if len(contours) > 1:
        # Speckles or holes: the wire format has room for one polygon, keep the biggest.
        logger.debug("mask has %d contours; serializing the largest", len(contours))
    contour: np.ndarray = max(contours, key=cv2.contourArea).reshape(-1, 2)
    missing = MIN_POLYGON_POINT_COUNT - len(contour)
    if missing > 0:
        contour = np.concatenate([contour, np.repeat(contour[-1:], missing, axis=0)])
    return contour


def _origin_dict(coordinates: Any, dimensions: Any) -> dict[str, int]:
    x, y = (round(float(v)) for v in coordinates[:2])
    height, width = (round(float(v)) for v in dimensions[:2])
    return {"offset_x": x, "offset_y": y, "width": width, "height": height}


def serialize_detections(detections: sv.Detections) -> dict[str, Any]:
    """``{"image": {"width", "height"}, "predictions": [...]}``, the classic inference format.

    Boxes are written as centre ``x, y`` and ``width, height``; masks as their largest
    polygon under ``points`` (an instance whose mask is empty is left out, as the reference
    does); crop lineage (``parent_origin``, ``root_parent_id``, ``root_parent_origin``) only
    when a box's parent differs from its root.
    """
    n = len(detections)
    data = detections.data
    xyxy = np.asarray(detections.xyxy, dtype=float).tolist()
    confidence = (
        detections.confidence.astype(float).tolist()
        if detections.confidence is not None
        else [0.0] * n
    )
    class_id = (
        detections.class_id.astype(int).tolist() if detections.class_id is not None else [0] * n
    )
    tracker_id = detections.tracker_id.tolist() if detections.tracker_id is not None else None
    class_name = data.get(CLASS_NAME_KEY)
    detection_id = data.get(DETECTION_ID_KEY)
    parent_id = data.get(PARENT_ID_KEY)
    root_parent_id = data.get(ROOT_PARENT_ID_KEY)
    polygons = data.get(POLYGON_KEY_IN_SV_DETECTIONS)
    has_keypoints = all(key in data for key in _KEYPOINT_KEYS)
    has_bounding_rect = all(key in data for key in _BOUNDING_RECT_KEYS)
    early = [key for key in _EARLY_KEYS if key in data]
    late = [key for key in _LATE_KEYS if key in data]
    floats = [key for key in _FLOAT_KEYS if key in data]
    predictions = []
    for i in range(n):
        x1, y1, x2, y2 = xyxy[i]
        width, height = abs(x2 - x1), abs(y2 - y1)
        item: dict[str, Any] = {
            "width": width,
            "height": height,
            "x": x1 + width / 2,
            "y": y1 + height / 2,
            "confidence": float(confidence[i]),
            "class_id": int(class_id[i]),
        }
        if detections.mask is not None:
            points = _polygon_of(detections.mask[i], None if polygons is None else polygons[i])
            if points is None:
                continue
            item[POLYGON_KEY_IN_INFERENCE_RESPONSE] = [
                {"x": float(px), "y": float(py)} for px, py in points
            ]
        if tracker_id is not None:
            item["tracker_id"] = int(tracker_id[i])
        item["class"] = str(class_name[i]) if class_name is not None else str(class_id[i])
        if detection_id is not None:
            item[DETECTION_ID_KEY] = str(detection_id[i])
        for key in early:
            item[key] = to_json_value(data[key][i])
        if polygons is not None:
            item[POLYGON_KEY_IN_SV_DETECTIONS] = (
                np.asarray(polygons[i], dtype=float).round().astype(int).tolist()
            )
        if has_bounding_rect:
            for key in _BOUNDING_RECT_KEYS:
                item[key] = to_json_value(data[key][i])
        if parent_id is not None:
            item[PARENT_ID_KEY] = str(parent_id[i])
            if root_parent_id is not None and str(parent_id[i]) != str(root_parent_id[i]):
                _attach_origins(item, data, i, str(root_parent_id[i]))
        if has_keypoints:
            item[KEYPOINTS_KEY_IN_INFERENCE_RESPONSE] = _keypoints_of(data, i)
        for key in late:
            item[key] = to_json_value(data[key][i])
        for key in floats:
            value = data[key][i]
            item[key] = None if value is None else float(value)
        predictions.append(item)
    return {"image": _image_size_dict(detections), "predictions": predictions}


def _polygon_of(mask: np.ndarray, polygon: Any) -> np.ndarray | None:
    if polygon is not None and len(polygon) >= MIN_POLYGON_POINT_COUNT:
        return np.asarray(polygon)
    return mask_to_polygon(np.asarray(mask))


def _attach_origins(item: dict[str, Any], data: dict[str, Any], i: int, root_id: str) -> None:
    if PARENT_COORDINATES_KEY in data and PARENT_DIMENSIONS_KEY in data:
        item[PARENT_ORIGIN_KEY] = _origin_dict(
            data[PARENT_COORDINATES_KEY][i], data[PARENT_DIMENSIONS_KEY][i]
        )
    item[ROOT_PARENT_ID_KEY] = root_id
    if ROOT_PARENT_COORDINATES_KEY in data and ROOT_PARENT_DIMENSIONS_KEY in data:
        item[ROOT_PARENT_ORIGIN_KEY] = _origin_dict(
            data[ROOT_PARENT_COORDINATES_KEY][i], data[ROOT_PARENT_DIMENSIONS_KEY][i]
        )


def _keypoints_of(data: dict[str, Any], i: int) -> list[dict[str, Any]]:
    xy = data[KEYPOINTS_XY_KEY_IN_SV_DETECTIONS][i]
    names = data[KEYPOINTS_CLASS_NAME_KEY_IN_SV_DETECTIONS][i]
    count = real_keypoints_count(names, total=len(xy))
    ids = data[KEYPOINTS_CLASS_ID_KEY_IN_SV_DETECTIONS][i]
    confidences = data[KEYPOINTS_CONFIDENCE_KEY_IN_SV_DETECTIONS][i]
    return [
        {
            "class_id": int(ids[k]),
            "class": str(names[k]),
            "confidence": float(confidences[k]),
            "x": float(xy[k][0]),
            "y": float(xy[k][1]),
        }
        for k in range(count)
    ]


def _image_size_dict(detections: sv.Detections) -> dict[str, int | None]:
    dims = detections.data.get(IMAGE_DIMENSIONS_KEY)
    if dims is not None and len(dims) > 0:
        dims = dims[-1]  # the reference reads the last box's
    else:
        dims = detections.metadata.get(IMAGE_DIMENSIONS_KEY)
    if dims is None:
        return {"width": None, "height": None}
    return {"width": int(dims[1]), "height": int(dims[0])}


def serialize_image(image: Image) -> dict[str, Any]:
    """``{"type": "base64", "value": <JPEG base64>, "video_metadata": {...} | None}``.

    Crops (an image whose id differs from its root's) also carry ``parent_id``,
    ``parent_origin``, ``root_parent_id`` and ``root_parent_origin``.
    """
    result: dict[str, Any] = {
        "type": "base64",
        "value": image.base64_image,
        "video_metadata": (
            image.video_metadata or VideoMetadata.default_for(image.parent_id)
        ).to_dict(),
    }
    if image.parent_id != image.root_id:
        own = None
        if image.origin is None or image.root_origin is None:
            own = Origin(0, 0, image.width, image.height)
        result[PARENT_ID_KEY] = image.parent_id
        result[PARENT_ORIGIN_KEY] = (image.origin or own).to_dict()  # type: ignore[union-attr]
        result[ROOT_PARENT_ID_KEY] = image.root_id
        result[ROOT_PARENT_ORIGIN_KEY] = (image.root_origin or own).to_dict()  # type: ignore[union-attr]
    return result


def serialize_secret(secret: str) -> str:
    """Mask a secret, revealing two characters at each end of long ones (as the reference)."""
    if len(secret) < MIN_SECRET_LENGTH_TO_REVEAL_PREFIX:
        return "*" * MIN_SECRET_LENGTH_TO_REVEAL_PREFIX
    return f"{secret[:2]}{'*' * MIN_SECRET_LENGTH_TO_REVEAL_PREFIX}{secret[-2:]}"


def serialize_value(value: Any, kinds: Sequence[str] | None = None) -> Any:
    """A JSON-ready form of any workflow value; ``kinds`` are the output's declared kinds.

    Images become base64 dicts, detections the inference format, numpy values lists and
    numbers, datetimes ISO strings, bytes base64 strings, and ``secret`` values are masked.
    Dicts and lists are walked recursively; classification dicts are already wire-shaped.
    """
    if isinstance(value, _PLAIN_TYPES):
        if kinds and isinstance(value, str) and "secret" in kinds:
            return serialize_secret(value)
        return value
    if kinds and "secret" in kinds:
        return _serialize_secrets(value)
    return _serialize_any(value)


def _serialize_secrets(value: Any) -> Any:
    if isinstance(value, str):
        return serialize_secret(value)
    if isinstance(value, list):
        return [_serialize_secrets(v) for v in value]
    return _serialize_any(value)


def _serialize_any(value: Any) -> Any:
    if isinstance(value, _PLAIN_TYPES):
        return value
    if isinstance(value, dict):
        return {key: _serialize_any(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_serialize_any(item) for item in value]
    if isinstance(value, Image):
        return serialize_image(value)
    if isinstance(value, VideoMetadata):
        return value.to_dict()
    if _is_sv_detections(value):
        return serialize_detections(value)
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return [_serialize_any(item) for item in value]
        return value.tolist()
    return to_json_value(value)


def _is_sv_detections(value: Any) -> bool:
    # Avoid importing supervision just to answer "no" for values that cannot be detections.
    cls = type(value)
    return cls.__name__ == "Detections" and cls.__module__.startswith("supervision")


#: The reference's name, for code ported from it.
serialise_sv_detections = serialize_detections

__all__ = [
    "mask_to_polygon",
    "serialise_sv_detections",
    "serialize_detections",
    "serialize_image",
    "serialize_secret",
    "serialize_value",
    "to_json_value",
]
