"""Shared pieces of input deserialization: element ids and locations, origins, simple kinds.

Each ``as_<kind>`` function takes the value and its location and returns the value in the form blocks
expect, or raises ``RuntimeInputError`` (code ``input.invalid_value``). The rules follow the
reference's deserializers, so the same runtime inputs are accepted.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import numpy as np

from visionflow.data.image import Origin
from visionflow.errors import RuntimeInputError


# -- naming of input elements ------------------------------------------------------------------
def input_identifier(input_name: str, index: int | Sequence[int] | None) -> str:
    """The reference's id of an input element: ``name``, ``name.[i]``, ``name.[i].[j]``."""
    if index is None:
        return input_name
    if type(index) is int:
        return f"{input_name}.[{index}]"
    indices = [index] if isinstance(index, int) else list(index)
    return input_name + "".join(f".[{i}]" for i in indices)


def input_loc(input_name: str, index: int | Sequence[int] | None) -> str:
    """JSON-path-like location of an input element: ``inputs.image[0]``."""
    if index is None:
        return f"inputs.{input_name}"
    indices = [index] if isinstance(index, int) else list(index)
    return f"inputs.{input_name}" + "".join(f"[{i}]" for i in indices)


def describe(value: Any) -> str:
    """A short description of a received value for error messages."""
    if isinstance(value, np.ndarray):
        return f"ndarray of shape {tuple(value.shape)} and dtype {value.dtype}"
    if isinstance(value, dict):
        return f"dict with keys {sorted(map(str, value))[:8]}"
    if isinstance(value, str):
        return f"string of {len(value)} characters ({value[:24]!r}...)"
    if isinstance(value, (bytes, bytearray)):
        return f"{len(value)} bytes"
    return type(value).__name__


def parse_origin(value: Any, loc: str, key: str, code: str = "input.invalid_value") -> Origin:
    """An ``Origin`` from ``{"offset_x", "offset_y", "width", "height"}``."""
    try:
        origin = Origin(
            int(value["offset_x"]),
            int(value["offset_y"]),
            int(value["width"]),
            int(value["height"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise RuntimeInputError(
            f"expected {key} as {{'offset_x', 'offset_y', 'width', 'height'}} integers, "
            f"got {value!r}",
            code=code,
            loc=f"{loc}.{key}",
        ) from error
    if origin.width <= 0 or origin.height <= 0:
        raise RuntimeInputError(
            f"{key} width and height must be positive, got {value!r}",
            code=code,
            loc=f"{loc}.{key}",
        )
    return origin


# -- plain kinds -------------------------------------------------------------------------------


def _error(loc: str, expected: str, value: Any) -> RuntimeInputError:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return RuntimeInputError(
        f"expected {expected}, got {type(value).__name__} {shown}",
        code="input.invalid_value",
        loc=loc,
    )


def _is_number(value: Any) -> bool:
    # The reference counts bools as numbers (bool subclasses int); keep accepting them.
    return isinstance(value, (int, float))


def as_string(value: Any, loc: str) -> str:
    if not isinstance(value, str):
        raise _error(loc, "a string", value)
    return value


def as_optional_string(value: Any, loc: str) -> str | None:
    return None if value is None else as_string(value, loc)


def as_float(value: Any, loc: str) -> float:
    if not _is_number(value):
        raise _error(loc, "a number", value)
    return float(value)


def as_float_zero_to_one(value: Any, loc: str) -> float:
    number = as_float(value, loc)
    if not 0.0 <= number <= 1.0:
        raise _error(loc, "a number between 0.0 and 1.0", value)
    return number


def as_integer(value: Any, loc: str) -> int:
    if not isinstance(value, int):
        raise _error(loc, "an integer", value)
    return value


def as_boolean(value: Any, loc: str) -> bool:
    if not isinstance(value, bool):
        raise _error(loc, "true or false", value)
    return value


def as_list(value: Any, loc: str) -> list[Any]:
    if not isinstance(value, (list, tuple)):
        raise _error(loc, "a list", value)
    return list(value)


def as_dictionary(value: Any, loc: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _error(loc, "a dict", value)
    return value


def as_point(value: Any, loc: str) -> tuple[Any, Any]:
    if not isinstance(value, (list, tuple)) or len(value) < 2:
        raise _error(loc, "a point [x, y]", value)
    if not (_is_number(value[0]) and _is_number(value[1])):
        raise _error(loc, "a point [x, y] of numbers", value)
    return value[0], value[1]


def as_zone(value: Any, loc: str) -> list[Any]:
    if not isinstance(value, list) or len(value) < 3:
        raise _error(loc, "a zone: a list of at least 3 points [x, y]", value)
    for i, point in enumerate(value):
        if (
            not isinstance(point, (list, tuple))
            or len(point) != 2
            or not (_is_number(point[0]) and _is_number(point[1]))
        ):
            raise _error(f"{loc}[{i}]", "a point [x, y] of numbers", point)
    return value


def as_rgb_color(value: Any, loc: str) -> str | tuple[Any, ...]:
    if isinstance(value, str):
        return value
    if not isinstance(value, (list, tuple)) or len(value) < 3:
        raise _error(loc, "a colour: a name, '#RRGGBB' or [r, g, b]", value)
    return tuple(value[:3])


def as_bytes(value: Any, loc: str) -> bytes:
    if isinstance(value, bytes):
        return value
    if not isinstance(value, str):
        raise _error(loc, "bytes or a base64 string", value)
    try:
        return base64.b64decode(value)
    except (binascii.Error, ValueError):
        raise _error(loc, "a base64 string", value) from None


def as_timestamp(value: Any, loc: str) -> datetime:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise _error(loc, "an ISO-8601 timestamp", value)
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _error(loc, "an ISO-8601 timestamp", value) from None


def as_numpy_array(value: Any, loc: str) -> np.ndarray:
    if isinstance(value, np.ndarray):
        return value
    if not isinstance(value, list):
        raise _error(loc, "a numpy array or a (nested) list", value)
    return np.array(value)


PLAIN_KIND_PARSERS: dict[str, Callable[[Any, str], Any]] = {
    "string": as_string,
    "top_class": as_string,
    "roboflow_model_id": as_string,
    "roboflow_project": as_string,
    "language_model_output": as_string,
    "prediction_type": as_string,
    "parent_id": as_string,
    "inference_id": as_string,
    "roboflow_api_key": as_optional_string,
    "float": as_float,
    "float_zero_to_one": as_float_zero_to_one,
    "integer": as_integer,
    "boolean": as_boolean,
    "list_of_values": as_list,
    "dictionary": as_dictionary,
    "point": as_point,
    "zone": as_zone,
    "rgb_color": as_rgb_color,
    "bytes": as_bytes,
    "timestamp": as_timestamp,
    "numpy_array": as_numpy_array,
}
