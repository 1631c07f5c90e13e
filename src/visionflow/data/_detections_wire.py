"""Reading detections in the inference wire format into ``supervision.Detections``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from visionflow.data._inputs import describe, input_identifier, input_loc, parse_origin
from visionflow.data.detections import (
    CLASS_NAME_KEY,
    DETECTION_ID_KEY,
    IMAGE_DIMENSIONS_KEY,
    INFERENCE_ID_KEY,
    KEYPOINT_PADDING_CLASS_NAME,
    KEYPOINTS_CLASS_ID_KEY_IN_SV_DETECTIONS,
    KEYPOINTS_CLASS_NAME_KEY_IN_SV_DETECTIONS,
    KEYPOINTS_CONFIDENCE_KEY_IN_SV_DETECTIONS,
    KEYPOINTS_KEY_IN_INFERENCE_RESPONSE,
    KEYPOINTS_XY_KEY_IN_SV_DETECTIONS,
    PARENT_COORDINATES_KEY,
    PARENT_DIMENSIONS_KEY,
    PARENT_ID_KEY,
    PARENT_ORIGIN_KEY,
    PREDICTION_TYPE_KEY,
    ROOT_PARENT_COORDINATES_KEY,
    ROOT_PARENT_DIMENSIONS_KEY,
    ROOT_PARENT_ID_KEY,
    ROOT_PARENT_ORIGIN_KEY,
)
from visionflow.errors import RuntimeInputError

if TYPE_CHECKING:
    import supervision as sv

#: Cap on keypoint slots (boxes x keypoints) so one payload cannot allocate without bound.
MAX_KEYPOINT_CELLS = 1_000_000

#: Per-box wire keys copied into ``detections.data`` under the same name.
_OPTIONAL_PREDICTION_KEYS = (
    "path_deviation",
    "time_in_zone",
    "polygon",
    "angle",
    "rect",
    "data",
    "speed",
    "smoothed_speed",
    "smoothed_velocity",
    "velocity",
    "area_px",
    "area_converted",
    "nearest_target_distance",
)
# The bounding-rect block writes ``width``/``height`` columns that shadow the box size on the
# wire; they are only restored when its ``rect`` and ``angle`` come along.
_BOUNDING_RECT_SIZE_KEYS = ("width", "height")


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, (int, float, np.number))


def _detections_error(loc: str, message: str) -> RuntimeInputError:
    return RuntimeInputError(message, code="input.invalid_detections", loc=loc)


def deserialize_detections(
    value: Any, *, input_name: str, index: int | Sequence[int] | None = None
) -> sv.Detections:
    """``sv.Detections`` from the inference wire format or a bare list of its predictions.

    Boxes come as centre ``x, y`` with ``width, height``; ``points`` polygons become masks
    rasterized at the image size (predictions with fewer than 3 points are dropped, as the
    reference does); ``keypoints`` become the padded keypoint columns; lineage columns and
    ``metadata`` default to this input (``parent_id`` = the input's id, offsets 0).
    """
    import supervision as sv

    if isinstance(value, sv.Detections):
        return value
    loc = input_loc(input_name, index)
    identifier = input_identifier(input_name, index)
    if isinstance(value, list):
        value = {"predictions": value}
    if not isinstance(value, dict) or not isinstance(value.get("predictions"), list):
        raise _detections_error(
            loc,
            "expected detections as {'image': {'width', 'height'}, 'predictions': [...]} or a "
            f"list of predictions, got {describe(value)}",
        )
    try:
        return _parse(value, identifier, loc)
    except (KeyError, TypeError, ValueError) as error:
        # Malformed nested parts (a point without "y", a non-numeric class_id...).
        raise _detections_error(loc, f"malformed detections payload: {error!r}") from error


def _parse(value: dict[str, Any], identifier: str, loc: str) -> sv.Detections:
    import supervision as sv

    raw = [p for p in value["predictions"] if not _is_short_polygon(p)]
    for i, prediction in enumerate(raw):
        _check_prediction(prediction, f"{loc}.predictions[{i}]")
    size = _image_size(value.get("image"), raw, loc)
    n = len(raw)
    xyxy = np.array(
        [
            [
                p["x"] - p["width"] / 2,
                p["y"] - p["height"] / 2,
                p["x"] + p["width"] / 2,
                p["y"] + p["height"] / 2,
            ]
            for p in raw
        ],
        dtype=float,
    ).reshape(n, 4)
    class_id = np.array([int(p.get("class_id", 0)) for p in raw], dtype=int)
    data: dict[str, Any] = {
        CLASS_NAME_KEY: np.array([str(p.get("class", p.get("class_id"))) for p in raw], dtype=str),
        DETECTION_ID_KEY: np.array(
            [str(p.get(DETECTION_ID_KEY) or uuid.uuid4()) for p in raw], dtype=str
        ),
    }
    tracker = None
    if n and all(p.get("tracker_id") is not None for p in raw):
        tracker = np.array([int(p["tracker_id"]) for p in raw], dtype=int)
    detections = sv.Detections(
        xyxy=xyxy,
        confidence=np.array([float(p.get("confidence", 1.0)) for p in raw], dtype=float),
        class_id=class_id,
        mask=_masks(raw, size),
        tracker_id=tracker,
        data=data,
    )
    _attach_lineage(detections, raw, value, identifier, size, loc)
    _attach_optional_columns(detections, raw)
    if n and any(KEYPOINTS_KEY_IN_INFERENCE_RESPONSE in p for p in raw):
        _attach_keypoints(detections, raw, loc)
    return detections


def _is_short_polygon(prediction: Any) -> bool:
    points = prediction.get("points") if isinstance(prediction, dict) else None
    return isinstance(points, (list, tuple)) and len(points) < 3


def _check_prediction(prediction: Any, loc: str) -> None:
    if not isinstance(prediction, dict):
        raise _detections_error(loc, f"expected a prediction dict, got {describe(prediction)}")
    missing = [k for k in ("x", "y", "width", "height") if not _is_number(prediction.get(k))]
    if missing:
        raise _detections_error(
            loc, f"prediction needs numbers for 'x', 'y', 'width', 'height'; missing {missing}"
        )
    if "class" not in prediction and "class_id" not in prediction:
        raise _detections_error(loc, "prediction needs 'class' or 'class_id'")


def _image_size(image: Any, raw: list[dict[str, Any]], loc: str) -> tuple[int, int]:
    """(height, width) from the payload, else the smallest canvas that holds every box."""
    if isinstance(image, dict) and image.get("width") is not None:
        try:
            return int(image["height"]), int(image["width"])
        except (KeyError, TypeError, ValueError) as error:
            raise _detections_error(
                f"{loc}.image", f"expected integer 'width' and 'height', got {image!r}"
            ) from error
    right = max((p["x"] + p["width"] / 2 for p in raw), default=0)
    bottom = max((p["y"] + p["height"] / 2 for p in raw), default=0)
    for p in raw:
        for point in p.get("points") or ():
            right, bottom = max(right, point["x"]), max(bottom, point["y"])
    return int(np.ceil(bottom)), int(np.ceil(right))


def _masks(raw: list[dict[str, Any]], size: tuple[int, int]) -> np.ndarray | None:
    # All or nothing, like supervision: a mask column must line up with every box.
    if not raw or not all(p.get("points") for p in raw):
        return None
    import supervision as sv

    height, width = size
    masks = np.zeros((len(raw), height, width), dtype=bool)
    for i, p in enumerate(raw):
        polygon = np.round([[pt["x"], pt["y"]] for pt in p["points"]]).astype(np.int32)
        masks[i] = sv.polygon_to_mask(polygon, resolution_wh=(width, height)).astype(bool)
    return masks


def _attach_lineage(
    detections: sv.Detections,
    raw: list[dict[str, Any]],
    value: dict[str, Any],
    identifier: str,
    size: tuple[int, int],
    loc: str,
) -> None:
    n = len(raw)
    height, width = size
    default_id = str(value.get(PARENT_ID_KEY) or identifier)
    # As the reference: a box without a stated parent or root belongs to the input itself.
    parent_ids = [str(p.get(PARENT_ID_KEY) or default_id) for p in raw]
    root_ids = [str(p.get(ROOT_PARENT_ID_KEY) or default_id) for p in raw]
    parent = [_box_origin(p, PARENT_ORIGIN_KEY, size, loc) for p in raw]
    root = [_box_origin(p, ROOT_PARENT_ORIGIN_KEY, size, loc) for p in raw]
    data = detections.data
    data[IMAGE_DIMENSIONS_KEY] = np.array([[height, width]] * n, dtype=int).reshape(n, 2)
    data[PARENT_ID_KEY] = np.array(parent_ids, dtype=str)
    data[ROOT_PARENT_ID_KEY] = np.array(root_ids, dtype=str)
    # Coordinates columns only when every box states its origin (the reference's contract:
    # their presence is what makes a box "made on a crop" when serialized and mapped).
    for key, origins, coordinates_key, dimensions_key in (
        (PARENT_ORIGIN_KEY, parent, PARENT_COORDINATES_KEY, PARENT_DIMENSIONS_KEY),
        (ROOT_PARENT_ORIGIN_KEY, root, ROOT_PARENT_COORDINATES_KEY, ROOT_PARENT_DIMENSIONS_KEY),
    ):
        if n and all(p.get(key) for p in raw):
            data[coordinates_key] = np.array([o[0] for o in origins], dtype=int).reshape(n, 2)
            data[dimensions_key] = np.array([o[1] for o in origins], dtype=int).reshape(n, 2)
    first_parent = parent[0] if parent else ([0, 0], [height, width])
    first_root = root[0] if root else ([0, 0], [height, width])
    detections.metadata.update(
        {
            IMAGE_DIMENSIONS_KEY: [height, width],
            PARENT_ID_KEY: parent_ids[0] if n else default_id,
            PARENT_COORDINATES_KEY: first_parent[0],
            PARENT_DIMENSIONS_KEY: first_parent[1],
            ROOT_PARENT_ID_KEY: root_ids[0]
            if n
            else str(value.get(ROOT_PARENT_ID_KEY) or default_id),
            ROOT_PARENT_COORDINATES_KEY: first_root[0],
            ROOT_PARENT_DIMENSIONS_KEY: first_root[1],
        }
    )
    for key in (PREDICTION_TYPE_KEY, INFERENCE_ID_KEY):
        if isinstance(value.get(key), str):
            data[key] = np.array([value[key]] * n, dtype=str)
            if key == PREDICTION_TYPE_KEY:
                detections.metadata[key] = value[key]


def _box_origin(
    prediction: dict[str, Any], key: str, size: tuple[int, int], loc: str
) -> tuple[list[int], list[int]]:
    """([x, y], [h, w]) of a box's parent or root; the image itself when not stated."""
    origin = prediction.get(key)
    if not origin:
        return [0, 0], [size[0], size[1]]
    parsed = parse_origin(origin, loc, key, code="input.invalid_detections")
    return [parsed.offset_x, parsed.offset_y], [parsed.height, parsed.width]


def _attach_optional_columns(detections: sv.Detections, raw: list[dict[str, Any]]) -> None:
    if not raw:
        return
    keys = [k for k in _OPTIONAL_PREDICTION_KEYS if all(k in p for p in raw)]
    if "rect" in keys and "angle" in keys:
        keys += [k for k in _BOUNDING_RECT_SIZE_KEYS if all(k in p for p in raw)]
    for key in keys:
        column = [p[key] for p in raw]
        try:
            array = np.array(column)
        except ValueError:  # ragged per-box lists (polygons of different lengths)
            array = np.empty(len(column), dtype=object)
            array[:] = [np.asarray(c) for c in column]
        if array.ndim == 0 or len(array) != len(raw):
            array = np.empty(len(column), dtype=object)
            array[:] = column
        detections.data[key] = array


def _attach_keypoints(detections: sv.Detections, raw: list[dict[str, Any]], loc: str) -> None:
    per_box = [p.get(KEYPOINTS_KEY_IN_INFERENCE_RESPONSE) or [] for p in raw]
    n, width = len(raw), max(len(k) for k in per_box)
    if n * width > MAX_KEYPOINT_CELLS:
        raise _detections_error(loc, f"too many keypoints ({n} boxes x {width})")
    xy = np.zeros((n, width, 2), dtype=np.float32)
    confidence = np.zeros((n, width), dtype=np.float32)
    class_id = np.zeros((n, width), dtype=int)
    class_name = np.full((n, width), KEYPOINT_PADDING_CLASS_NAME, dtype=object)
    for i, keypoints in enumerate(per_box):
        for k, point in enumerate(keypoints):
            try:
                xy[i, k] = (float(point["x"]), float(point["y"]))
                confidence[i, k] = float(point.get("confidence", 1.0))
                class_id[i, k] = int(point.get("class_id", k))
                class_name[i, k] = str(point.get("class", point.get("class_id", k)))
            except (KeyError, TypeError, ValueError) as error:
                raise _detections_error(
                    f"{loc}.predictions[{i}].keypoints[{k}]",
                    f"expected a keypoint {{'x', 'y', 'confidence', 'class', 'class_id'}}, "
                    f"got {point!r}",
                ) from error
    detections.data[KEYPOINTS_XY_KEY_IN_SV_DETECTIONS] = xy
    detections.data[KEYPOINTS_CONFIDENCE_KEY_IN_SV_DETECTIONS] = confidence
    detections.data[KEYPOINTS_CLASS_ID_KEY_IN_SV_DETECTIONS] = class_id
    detections.data[KEYPOINTS_CLASS_NAME_KEY_IN_SV_DETECTIONS] = class_name
