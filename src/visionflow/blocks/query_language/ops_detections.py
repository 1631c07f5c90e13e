"""UQL operations on detections (``supervision.Detections``) and on single detections.

A single detection (kind ``detection``) is the 6-tuple that iterating ``sv.Detections`` yields:
``(xyxy, mask, confidence, class_id, tracker_id, data)``. ``DetectionsFilter`` builds those
tuples itself with a lazy ``data`` view, so that testing a detection does not copy every column.

supervision is never imported here: a value can only be an ``sv.Detections`` if supervision
was imported already, so the type check reads it from ``sys.modules``.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from visionflow.blocks.query_language import entities as e
from visionflow.blocks.query_language._common import OperationFunction, failed, wrong_type
from visionflow.blocks.query_language.enums import (
    DetectionsProperty,
    DetectionsSelectionMode,
    DetectionsSortProperties,
)
from visionflow.blocks.query_language.errors import UndeclaredSymbolError

_DETECTIONS = "detections (object detection, instance segmentation or keypoints prediction)"


def is_detections(value: Any) -> bool:
    """True for an ``sv.Detections`` (without importing supervision)."""
    supervision = sys.modules.get("supervision")
    return supervision is not None and isinstance(value, supervision.Detections)


def _python(value: Any) -> Any:
    """numpy scalars and arrays as plain Python values (JSON-friendly, comparable)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _column_to_list(column: Any) -> list[Any]:
    return column.tolist() if isinstance(column, np.ndarray) else list(column)


def _fresh(detections: Any, **changes: Any) -> Any:
    """A new Detections sharing the (never mutated) arrays, with its own data/metadata dicts."""
    result = copy.copy(detections)
    result.data = dict(detections.data)
    result.metadata = dict(detections.metadata)
    for name, value in changes.items():
        setattr(result, name, value)
    return result


# --- single detections -----------------------------------------------------------------------
class _RowData(Mapping[str, Any]):
    """The ``data`` of one detection: reads ``column[index]`` on access instead of copying."""

    __slots__ = ("_columns", "_index")

    def __init__(self, columns: Mapping[str, Any], index: int) -> None:
        self._columns = columns
        self._index = index

    def __getitem__(self, key: str) -> Any:
        return self._columns[key][self._index]

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)

    def __repr__(self) -> str:
        return repr(dict(self))


def iterate_detections(detections: Any) -> Iterator[tuple[Any, ...]]:
    """Yield the 6-tuple of every detection, like ``iter(sv.Detections)`` but without copies."""
    xyxy, mask, data = detections.xyxy, detections.mask, detections.data
    confidence, class_id, tracker_id = (
        detections.confidence,
        detections.class_id,
        detections.tracker_id,
    )
    for index in range(len(xyxy)):
        yield (
            xyxy[index],
            mask[index] if mask is not None else None,
            confidence[index] if confidence is not None else None,
            class_id[index] if class_id is not None else None,
            tracker_id[index] if tracker_id is not None else None,
            _RowData(data, index),
        )


def _box(row: tuple[Any, ...], column: int) -> Any:
    return _python(row[0][column])


def _tracker_id(row: tuple[Any, ...]) -> Any:
    # The reference reads only data["tracker_id"], which trackers never fill (they set the
    # native field); fall back to the native field so tracked detections report their id.
    value = row[5].get("tracker_id")
    return _python(value if value is not None else row[4])


def _center(row: tuple[Any, ...]) -> tuple[float, float]:
    x_min, y_min, x_max, y_max = (float(v) for v in row[0][:4])
    return (x_min + (x_max - x_min) / 2, y_min + (y_max - y_min) / 2)


def _data_getter(key: str) -> Callable[[tuple[Any, ...]], Any]:
    return lambda row: _python(row[5].get(key))


_DETECTION_PROPERTIES: dict[DetectionsProperty, Callable[[tuple[Any, ...]], Any]] = {
    DetectionsProperty.X_MIN: lambda row: _box(row, 0),
    DetectionsProperty.Y_MIN: lambda row: _box(row, 1),
    DetectionsProperty.X_MAX: lambda row: _box(row, 2),
    DetectionsProperty.Y_MAX: lambda row: _box(row, 3),
    DetectionsProperty.CONFIDENCE: lambda row: _python(row[2]),
    DetectionsProperty.CLASS_ID: lambda row: _python(row[3]),
    DetectionsProperty.CLASS_NAME: _data_getter("class_name"),
    DetectionsProperty.SIZE: lambda row: _python((row[0][3] - row[0][1]) * (row[0][2] - row[0][0])),
    DetectionsProperty.CENTER: _center,
    DetectionsProperty.TOP_LEFT: lambda row: (_box(row, 0), _box(row, 1)),
    DetectionsProperty.TOP_RIGHT: lambda row: (_box(row, 2), _box(row, 1)),
    DetectionsProperty.BOTTOM_LEFT: lambda row: (_box(row, 0), _box(row, 3)),
    DetectionsProperty.BOTTOM_RIGHT: lambda row: (_box(row, 2), _box(row, 3)),
    DetectionsProperty.TRACKER_ID: _tracker_id,
}
for _property in DetectionsProperty:  # every other property is a column of `data`
    _DETECTION_PROPERTIES.setdefault(_property, _data_getter(_property.value))


def build_extract_detection_property(
    definition: e.ExtractDetectionProperty, context: str
) -> OperationFunction:
    extract = _DETECTION_PROPERTIES[definition.property_name]

    def extract_detection_property(value: Any, _: Mapping[str, Any]) -> Any:
        if not isinstance(value, tuple) or len(value) != 6 or not isinstance(value[5], Mapping):
            raise wrong_type(
                "ExtractDetectionProperty",
                context,
                "a single detection (the 6-tuple of iterating detections)",
                value,
            )
        try:
            return extract(value)
        except (TypeError, ValueError, IndexError, KeyError) as error:
            raise failed("ExtractDetectionProperty", context, error) from error

    return extract_detection_property


# --- whole detections ------------------------------------------------------------------------
def _anchors(detections: Any, x_columns: tuple[int, ...], y_columns: tuple[int, ...]) -> list:
    xyxy = detections.xyxy
    x = xyxy[:, x_columns].mean(axis=1) if len(x_columns) > 1 else xyxy[:, x_columns[0]]
    y = xyxy[:, y_columns].mean(axis=1) if len(y_columns) > 1 else xyxy[:, y_columns[0]]
    return np.stack([x, y], axis=1).round().astype(int).tolist()


def _required(attribute: str) -> Callable[[Any], list]:
    def read(detections: Any) -> list:
        column = getattr(detections, attribute)
        if column is None:
            raise LookupError(attribute)
        return column.tolist()

    return read


_DETECTIONS_PROPERTIES: dict[DetectionsProperty, Callable[[Any], list]] = {
    DetectionsProperty.CONFIDENCE: _required("confidence"),
    DetectionsProperty.CLASS_ID: _required("class_id"),
    # Reached only when there is no class_name column: the reference answers [] then.
    DetectionsProperty.CLASS_NAME: lambda detections: [],
    DetectionsProperty.X_MIN: lambda detections: detections.xyxy[:, 0].tolist(),
    DetectionsProperty.Y_MIN: lambda detections: detections.xyxy[:, 1].tolist(),
    DetectionsProperty.X_MAX: lambda detections: detections.xyxy[:, 2].tolist(),
    DetectionsProperty.Y_MAX: lambda detections: detections.xyxy[:, 3].tolist(),
    DetectionsProperty.SIZE: lambda detections: detections.box_area.tolist(),
    DetectionsProperty.CENTER: lambda detections: _anchors(detections, (0, 2), (1, 3)),
    DetectionsProperty.TOP_LEFT: lambda detections: _anchors(detections, (0,), (1,)),
    DetectionsProperty.TOP_RIGHT: lambda detections: _anchors(detections, (2,), (1,)),
    DetectionsProperty.BOTTOM_LEFT: lambda detections: _anchors(detections, (0,), (3,)),
    DetectionsProperty.BOTTOM_RIGHT: lambda detections: _anchors(detections, (2,), (3,)),
}


def build_detections_property_extract(
    definition: e.DetectionsPropertyExtract, context: str
) -> OperationFunction:
    prop = definition.property_name
    extract = _DETECTIONS_PROPERTIES.get(prop)

    def missing() -> Exception:
        return failed(
            "DetectionsPropertyExtract",
            context,
            f"property `{prop.value}` is not available on these detections; connect an "
            "upstream block that supplies it before extracting it",
        )

    def detections_property_extract(value: Any, _: Mapping[str, Any]) -> list[Any]:
        if not is_detections(value):
            raise wrong_type("DetectionsPropertyExtract", context, _DETECTIONS, value)
        if len(value) == 0:
            return []
        if prop is DetectionsProperty.TRACKER_ID and value.tracker_id is not None:
            return value.tracker_id.tolist()
        # A data column wins over the computed property, as in the reference.
        if prop.value in value.data:
            return _column_to_list(value.data[prop.value])
        if extract is None:
            raise missing()
        try:
            return extract(value)
        except LookupError as error:
            raise missing() from error

    return detections_property_extract


def filter_detections(
    detections: Any,
    keep: Callable[[Mapping[str, Any]], bool],
    global_parameters: Mapping[str, Any],
    operand_name: str = e.DEFAULT_OPERAND_NAME,
) -> Any:
    """Detections for which ``keep({..global_parameters, "_": detection})`` is true."""
    local_parameters = dict(global_parameters)
    mask = np.zeros(len(detections), dtype=bool)
    for index, row in enumerate(iterate_detections(detections)):
        local_parameters[operand_name] = row
        mask[index] = bool(keep(local_parameters))
    return detections[mask]


def build_detections_offset(definition: e.DetectionsOffset, context: str) -> OperationFunction:
    delta = np.array(
        [-definition.offset_x / 2, -definition.offset_y / 2, definition.offset_x / 2,
         definition.offset_y / 2]
    )  # fmt: skip

    def detections_offset(value: Any, _: Mapping[str, Any]) -> Any:
        if not is_detections(value):
            raise wrong_type("DetectionsOffset", context, _DETECTIONS, value)
        return _fresh(value, xyxy=value.xyxy + delta)

    return detections_offset


def build_detections_shift(definition: e.DetectionsShift, context: str) -> OperationFunction:
    delta = np.array([definition.shift_x, definition.shift_y] * 2, dtype=float)

    def detections_shift(value: Any, _: Mapping[str, Any]) -> Any:
        if not is_detections(value):
            raise wrong_type("DetectionsShift", context, _DETECTIONS, value)
        return _fresh(value, xyxy=value.xyxy + delta)

    return detections_shift


def _center_x(detections: Any) -> np.ndarray:
    return (detections.xyxy[:, 0] + detections.xyxy[:, 2]) * 0.5


def _center_y(detections: Any) -> np.ndarray:
    return (detections.xyxy[:, 1] + detections.xyxy[:, 3]) * 0.5


def _pick(index_of: Callable[[Any], int]) -> Callable[[Any], Any]:
    return lambda detections: detections[int(index_of(detections))]


def _top_confidence(detections: Any) -> int:
    if detections.confidence is None:
        raise LookupError("confidence")
    return int(np.argmax(detections.confidence))  # first of the best, as in the reference


_SELECTORS: dict[DetectionsSelectionMode, Callable[[Any], Any]] = {
    DetectionsSelectionMode.FIRST: _pick(lambda detections: 0),
    DetectionsSelectionMode.LAST: _pick(lambda detections: len(detections) - 1),
    DetectionsSelectionMode.LEFT_MOST: _pick(
        lambda detections: int(np.argmin(_center_x(detections)))
    ),
    DetectionsSelectionMode.RIGHT_MOST: _pick(
        lambda detections: int(np.argmax(_center_x(detections)))
    ),
    DetectionsSelectionMode.TOP_CONFIDENCE: _pick(_top_confidence),
}


def build_detections_selection(
    definition: e.DetectionsSelection, context: str
) -> OperationFunction:
    select = _SELECTORS[definition.mode]

    def detections_selection(value: Any, _: Mapping[str, Any]) -> Any:
        if not is_detections(value):
            raise wrong_type("DetectionsSelection", context, _DETECTIONS, value)
        if len(value) == 0:
            return value[[]]  # a fresh empty copy that keeps the image metadata
        try:
            return select(value)
        except LookupError as error:
            raise failed("DetectionsSelection", context, f"detections carry no {error}") from error

    return detections_selection


_SORT_KEYS: dict[DetectionsSortProperties, Callable[[Any], Any]] = {
    DetectionsSortProperties.CONFIDENCE: lambda detections: detections.confidence,
    DetectionsSortProperties.X_MIN: lambda detections: detections.xyxy[:, 0],
    DetectionsSortProperties.X_MAX: lambda detections: detections.xyxy[:, 2],
    DetectionsSortProperties.Y_MIN: lambda detections: detections.xyxy[:, 1],
    DetectionsSortProperties.Y_MAX: lambda detections: detections.xyxy[:, 3],
    DetectionsSortProperties.SIZE: lambda detections: detections.box_area,
    DetectionsSortProperties.CENTER_X: _center_x,
    DetectionsSortProperties.CENTER_Y: _center_y,
}


def build_sort_detections(definition: e.SortDetections, context: str) -> OperationFunction:
    key, ascending = _SORT_KEYS[definition.mode], definition.ascending

    def sort_detections(value: Any, _: Mapping[str, Any]) -> Any:
        if not is_detections(value):
            raise wrong_type("SortDetections", context, _DETECTIONS, value)
        if len(value) == 0:
            return value
        keys = key(value)
        if keys is None:  # e.g. no confidence: the order stays, as in the reference
            return value
        # Same (unstable) argsort as the reference, so ties come out in the same order.
        order = np.argsort(keys)
        return value[order if ascending else order[::-1]]

    return sort_detections


def _parameter(name: str, global_parameters: Mapping[str, Any], what: str) -> Any:
    if name not in global_parameters:
        raise UndeclaredSymbolError(
            f"operation DetectionsRename refers to parameter `{name}` for its {what}, "
            f"but no such parameter was given (known: {sorted(global_parameters)})"
        )
    return global_parameters[name]


def _strict_class_ids(names: list[Any], class_map: Mapping[str, str], context: str) -> dict:
    for name in names:
        if name not in class_map:
            raise failed(
                "DetectionsRename", context, f"class '{name}' not found in class_map (strict)"
            )
    return {name: class_id for class_id, name in enumerate(sorted(set(class_map.values())))}


def _lenient_class_ids(
    names: list[Any], ids: list[int], class_map: Mapping[str, str], offset: int
) -> dict:
    mapping = dict(zip(names, ids, strict=False))
    # Target classes unknown to these detections get fresh ids from `offset`, sorted by name.
    new_targets = sorted({target for target in class_map.values() if target not in mapping})
    mapping.update({target: offset + position for position, target in enumerate(new_targets)})
    return mapping


def build_detections_rename(definition: e.DetectionsRename, context: str) -> OperationFunction:
    static_map, static_strict = definition.class_map, definition.strict
    offset = definition.new_classes_id_offset

    def detections_rename(value: Any, global_parameters: Mapping[str, Any]) -> Any:
        if not is_detections(value):
            raise wrong_type("DetectionsRename", context, _DETECTIONS, value)
        # A string names a parameter that carries the map (or the flag) at run time.
        class_map = static_map
        if isinstance(class_map, str):
            class_map = _parameter(class_map, global_parameters, "class_map")
        if not isinstance(class_map, dict):
            raise wrong_type("DetectionsRename", context, "a dict as class_map", class_map)
        strict = static_strict
        if isinstance(strict, str):
            strict = _parameter(strict, global_parameters, "strict flag")
        if not isinstance(strict, bool):
            raise wrong_type("DetectionsRename", context, "a boolean as strict flag", strict)
        result = _fresh(value)
        if "class_name" not in value.data:
            if strict and len(value) > 0:
                raise failed(
                    "DetectionsRename",
                    context,
                    "strict=True but the detections carry no class_name to check against class_map",
                )
            return result
        names = _column_to_list(value.data["class_name"])
        if value.class_id is None:
            raise failed("DetectionsRename", context, "the detections carry no class_id")
        ids = value.class_id.tolist()
        if strict:
            new_ids = _strict_class_ids(names, class_map, context)
        else:
            new_ids = _lenient_class_ids(names, ids, class_map, offset)
        new_names = [class_map.get(name, name) for name in names]
        result.data["class_name"] = np.array(new_names, dtype=object)
        result.class_id = np.array([new_ids[name] for name in new_names], dtype=int)
        return result

    return detections_rename


def build_pick_detections_by_parent_class(
    definition: e.PickDetectionsByParentClass, context: str
) -> OperationFunction:
    parent_class = definition.parent_class

    def pick_detections_by_parent_class(value: Any, _: Mapping[str, Any]) -> Any:
        if not is_detections(value):
            raise wrong_type("PickDetectionsByParentClass", context, _DETECTIONS, value)
        class_names = value.data.get("class_name")
        if class_names is None or len(class_names) == 0:
            # The reference answers sv.Detections.empty(); slicing keeps the image metadata.
            return value[np.zeros(len(value), dtype=bool)]
        is_parent = np.asarray(class_names) == parent_class
        parent_boxes = value.xyxy[is_parent]
        if len(parent_boxes) == 0:
            return value[np.zeros(len(value), dtype=bool)]
        dependents = np.flatnonzero(~is_parent)
        boxes = value.xyxy[dependents]
        centers_x = ((boxes[:, 0] + boxes[:, 2]) / 2)[:, None]
        centers_y = ((boxes[:, 1] + boxes[:, 3]) / 2)[:, None]
        inside_any_parent = (
            (parent_boxes[None, :, 0] <= centers_x)
            & (centers_x <= parent_boxes[None, :, 2])
            & (parent_boxes[None, :, 1] <= centers_y)
            & (centers_y <= parent_boxes[None, :, 3])
        ).any(axis=1)
        # Parents first, then the dependents inside any parent: the reference's merge order.
        order = np.concatenate([np.flatnonzero(is_parent), dependents[inside_any_parent]])
        return value[order]

    return pick_detections_by_parent_class


def build_detections_to_dictionary(
    definition: e.DetectionsToDictionary, context: str
) -> OperationFunction:
    def detections_to_dictionary(value: Any, _: Mapping[str, Any]) -> dict:
        if not is_detections(value):
            raise wrong_type("DetectionsToDictionary", context, _DETECTIONS, value)
        # Local import: the serializer imports supervision, which a caller holding detections
        # has imported already.
        from visionflow.data.serializers import serialize_detections

        try:
            return serialize_detections(value)
        except Exception as error:
            raise failed("DetectionsToDictionary", context, error) from error

    return detections_to_dictionary


BUILDERS: dict[str, Callable[[Any, str], OperationFunction]] = {
    "ExtractDetectionProperty": build_extract_detection_property,
    "DetectionsPropertyExtract": build_detections_property_extract,
    "DetectionsOffset": build_detections_offset,
    "DetectionsShift": build_detections_shift,
    "DetectionsSelection": build_detections_selection,
    "SortDetections": build_sort_detections,
    "DetectionsRename": build_detections_rename,
    "PickDetectionsByParentClass": build_pick_detections_by_parent_class,
    "DetectionsToDictionary": build_detections_to_dictionary,
}
