"""Turn runtime input values (Python objects or JSON) into workflow values.

Input images get the reference's ids: ``"<input name>"`` for a single value and
``"<input name>.[<i>]"`` for element ``i`` of a list (``"<name>.[i].[j]"`` deeper), unless
the value names its own ``parent_id``. Errors are ``RuntimeInputError`` with ``loc`` such as
``inputs.image[0]``.

>>> import numpy as np
>>> load_image(np.zeros((2, 3, 3), dtype=np.uint8), input_name="image", index=0).parent_id
'image.[0]'
>>> deserialize_by_kind([1, 2.5], ["point"], input_name="p")
(1, 2.5)
"""

from __future__ import annotations

import base64
import binascii
import io
import os
import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np

from visionflow.data._detections_wire import deserialize_detections
from visionflow.data._inputs import (
    PLAIN_KIND_PARSERS,
    describe,
    input_identifier,
    input_loc,
    parse_origin,
)
from visionflow.data.classification import CLASSIFICATION_PREDICTION_TYPE
from visionflow.data.detections import (
    INFERENCE_ID_KEY,
    PARENT_ID_KEY,
    PARENT_ORIGIN_KEY,
    PREDICTION_TYPE_KEY,
    ROOT_PARENT_ID_KEY,
    ROOT_PARENT_ORIGIN_KEY,
)
from visionflow.data.image import (
    Image,
    ImageDecodeError,
    VideoMetadata,
    decode_image_bytes,
    normalise_array,
)
from visionflow.errors import RuntimeInputError

#: Cap on bytes read from a URL or a file when the caller sets none.
DEFAULT_MAX_IMAGE_BYTES = 64 * 1024 * 1024

_IMAGE_TYPES = ("base64", "numpy_object", "numpy", "file", "url", "pil", "multipart")

DETECTION_KINDS = frozenset(
    {
        "object_detection_prediction",
        "instance_segmentation_prediction",
        "keypoint_detection_prediction",
        "qr_code_detection",
        "bar_code_detection",
    }
)


# -- images -----------------------------------------------------------------------------------
def load_image(
    value: Any,
    *,
    input_name: str,
    index: int | Sequence[int] | None = None,
    allow_url: bool = False,
    allow_file: bool = False,
    url_timeout_s: float = 10,
    max_bytes: int | None = None,
) -> Image:
    """Load one runtime image value into an ``Image``, decoding it now.

    Accepts an ndarray (HxWx3 BGR, grey, BGRA), an ``Image`` (returned as is), raw encoded
    bytes, a PIL image, a base64 string, or ``{"type": ..., "value": ...}`` with type
    ``base64``, ``numpy_object``/``numpy`` (an array, or ``np.save`` bytes; never a pickle),
    ``file``, ``url``, ``pil`` or ``multipart``, plus optional ``video_metadata``,
    ``parent_id``, ``parent_origin``, ``root_parent_id``, ``root_parent_origin``. URLs and
    local paths are refused unless ``allow_url``/``allow_file``. Any problem raises
    ``RuntimeInputError`` naming the input and index.
    """
    if isinstance(value, Image):
        return value
    if _is_plain_bgr(value):
        # the in-process hot path (video frames, arrays): nothing to decode or check
        return Image(value, parent_id=input_identifier(input_name, index))
    loc = input_loc(input_name, index)
    identifier = input_identifier(input_name, index)
    fields: dict[str, Any] = {}
    declared = None
    payload = value
    if isinstance(value, dict):
        if "value" not in value:
            raise _image_error(loc, "a dict with keys 'type' and 'value'", value)
        declared = value.get("type")
        payload = value["value"]
        fields = _lineage_fields(value, identifier, loc)
    try:
        array, encoded_b64 = _pixels(
            payload,
            declared,
            loc=loc,
            allow_url=allow_url,
            allow_file=allow_file,
            url_timeout_s=url_timeout_s,
            max_bytes=max_bytes,
        )
    except ImageDecodeError as error:
        raise _image_error(loc, "a decodable image", payload, str(error)) from error
    if array.size == 0:
        raise _image_error(loc, "an image with pixels", payload, "it has no pixels")
    return Image(
        array,
        parent_id=fields.get("parent_id", identifier),
        base64_value=encoded_b64,
        origin=fields.get("origin"),
        root_id=fields.get("root_id"),
        root_origin=fields.get("root_origin"),
        video_metadata=fields.get("video_metadata"),
    )


def _is_plain_bgr(value: Any) -> bool:
    return (
        type(value) is np.ndarray
        and value.ndim == 3
        and value.dtype == np.uint8
        and value.shape[2] == 3
        and value.size > 0
    )


def _image_error(loc: str, expected: str, received: Any, detail: str = "") -> RuntimeInputError:
    extra = f" ({detail})" if detail else ""
    return RuntimeInputError(
        f"expected {expected}, got {describe(received)}{extra}. Images are ndarrays, raw bytes, "
        f"or dicts {{'type': one of {list(_IMAGE_TYPES)}, 'value': ...}}",
        code="input.invalid_image",
        loc=loc,
    )


def _lineage_fields(value: dict[str, Any], identifier: str, loc: str) -> dict[str, Any]:
    fields: dict[str, Any] = {"parent_id": str(value.get(PARENT_ID_KEY) or identifier)}
    if value.get(PARENT_ORIGIN_KEY):
        fields["origin"] = parse_origin(
            value[PARENT_ORIGIN_KEY], loc, PARENT_ORIGIN_KEY, code="input.invalid_image"
        )
    if value.get(ROOT_PARENT_ID_KEY):
        fields["root_id"] = str(value[ROOT_PARENT_ID_KEY])
        if value.get(ROOT_PARENT_ORIGIN_KEY):
            fields["root_origin"] = parse_origin(
                value[ROOT_PARENT_ORIGIN_KEY],
                loc,
                ROOT_PARENT_ORIGIN_KEY,
                code="input.invalid_image",
            )
    metadata = value.get("video_metadata")
    if metadata is not None:
        fields["video_metadata"] = deserialize_video_metadata(metadata, loc=f"{loc}.video_metadata")
    return fields


def _pixels(
    payload: Any,
    declared: str | None,
    *,
    loc: str,
    allow_url: bool,
    allow_file: bool,
    url_timeout_s: float,
    max_bytes: int | None,
) -> tuple[np.ndarray, str | None]:
    """Decode a payload into (BGR array, base64 text worth keeping for serialization)."""
    if isinstance(payload, np.ndarray):
        return normalise_array(payload), None
    if declared in ("numpy_object", "numpy"):
        return _numpy_payload(payload, loc), None
    if declared == "pil" or _is_pil(payload):
        return _from_pil(payload), None
    if isinstance(payload, (bytes, bytearray, memoryview)):
        data = bytes(payload)
        if declared == "base64":
            return _from_base64(data.decode("ascii", errors="replace"), max_bytes)
        _check_size(len(data), max_bytes)
        return decode_image_bytes(data), None
    if not isinstance(payload, str):
        raise ImageDecodeError(f"cannot read an image from {describe(payload)}")
    if declared == "url" or (declared is None and payload.startswith(("http://", "https://"))):
        return _from_url(payload, loc, allow_url, url_timeout_s, max_bytes), None
    if declared == "file":
        return _from_file(payload, loc, allow_file, max_bytes), None
    if declared is None and allow_file and os.path.isfile(payload):
        return _from_file(payload, loc, allow_file, max_bytes), None
    try:
        return _from_base64(payload, max_bytes)
    except ImageDecodeError:
        if declared is None and _looks_like_path(payload) and not allow_file:
            raise _refused(loc, "a local file", "allow_file=True") from None
        raise


def _from_base64(text: str, max_bytes: int | None) -> tuple[np.ndarray, str]:
    if text.startswith("data:"):
        text = text.split(",", 1)[-1]
    text = text.strip()
    _check_size(len(text) * 3 // 4, max_bytes)
    try:
        data = base64.b64decode(text, validate=False)
    except (binascii.Error, ValueError) as error:
        raise ImageDecodeError(f"not valid base64: {error}") from error
    return decode_image_bytes(data), text


def _numpy_payload(payload: Any, loc: str) -> np.ndarray:
    if isinstance(payload, np.ndarray):
        return normalise_array(payload)
    if isinstance(payload, (bytes, bytearray, memoryview)):
        try:
            # allow_pickle=False: serialized arrays from a client must never run code.
            array = np.load(io.BytesIO(bytes(payload)), allow_pickle=False)
        except (ValueError, OSError, EOFError) as error:
            raise ImageDecodeError(
                f"numpy bytes must be in np.save format without pickles: {error}"
            ) from error
        return normalise_array(array)
    if isinstance(payload, list):
        array = np.asarray(payload)
        if array.dtype.kind in "iu" and array.size and (array.min() < 0 or array.max() > 255):
            raise ImageDecodeError("pixel values must be in 0..255")
        return normalise_array(array.astype(np.uint8) if array.dtype.kind in "iu" else array)
    raise ImageDecodeError(f"numpy image value must be an ndarray, got {describe(payload)}")


def _is_pil(value: Any) -> bool:
    return type(value).__module__.startswith("PIL.")


def _from_pil(value: Any) -> np.ndarray:
    if not _is_pil(value):
        raise ImageDecodeError(f"expected a PIL image, got {describe(value)}")
    rgb = np.asarray(value.convert("RGB"))
    return np.ascontiguousarray(rgb[:, :, ::-1])


def _looks_like_path(text: str) -> bool:
    lowered = text.lower()
    return (
        text.startswith(("/", "./", "../", "~"))
        or "\\" in text
        or lowered.endswith((".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"))
    )


def _refused(loc: str, what: str, flag: str) -> RuntimeInputError:
    return RuntimeInputError(
        f"reading images from {what} is turned off here. Send the image as base64 "
        f"({{'type': 'base64', 'value': ...}}), or enable it ({flag} in Python, "
        f"--allow-{'urls' if 'url' in flag else 'local-files'} on the server)",
        code="input.source_refused",
        loc=loc,
    )


def _check_size(size: int, max_bytes: int | None) -> None:
    if max_bytes is not None and size > max_bytes:
        raise ImageDecodeError(f"image of {size} bytes exceeds the limit of {max_bytes} bytes")


def _from_file(path: str, loc: str, allow_file: bool, max_bytes: int | None) -> np.ndarray:
    if not allow_file:
        raise _refused(loc, "a local file", "allow_file=True")
    limit = DEFAULT_MAX_IMAGE_BYTES if max_bytes is None else max_bytes
    try:
        size = os.path.getsize(path)
        _check_size(size, limit)
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise ImageDecodeError(f"cannot read file {path!r}: {error.strerror or error}") from error
    return decode_image_bytes(data)


def _from_url(
    url: str, loc: str, allow_url: bool, timeout_s: float, max_bytes: int | None
) -> np.ndarray:
    if not allow_url:
        raise _refused(loc, "URLs", "allow_url=True")
    if not url.startswith(("http://", "https://")):
        raise ImageDecodeError(f"only http(s) URLs are supported, got {url[:40]!r}")
    import urllib.error
    import urllib.request

    limit = DEFAULT_MAX_IMAGE_BYTES if max_bytes is None else max_bytes
    request = urllib.request.Request(url, headers={"User-Agent": "visionflow"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            data = response.read(limit + 1)
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise ImageDecodeError(f"could not download {url[:80]!r}: {error}") from error
    _check_size(len(data), limit)
    return decode_image_bytes(data)


# -- video metadata ---------------------------------------------------------------------------
def deserialize_video_metadata(value: Any, *, loc: str) -> VideoMetadata:
    """A ``VideoMetadata`` from itself or its dict form."""
    if isinstance(value, VideoMetadata):
        return value
    if not isinstance(value, dict) or "video_identifier" not in value:
        raise RuntimeInputError(
            f"expected video metadata as a dict with 'video_identifier' and 'frame_number', "
            f"got {describe(value)}",
            code="input.invalid_value",
            loc=loc,
        )
    try:
        return VideoMetadata.from_dict(value)
    except (TypeError, ValueError) as error:
        raise RuntimeInputError(
            f"malformed video metadata: {error}", code="input.invalid_value", loc=loc
        ) from error


# -- classification and dispatch by kind ----------------------------------------------------------
def deserialize_classification(
    value: Any, *, input_name: str, index: int | Sequence[int] | None = None
) -> dict[str, Any]:
    """Validate a classification prediction dict; returns a copy with lineage defaults set."""
    loc = input_loc(input_name, index)
    identifier = input_identifier(input_name, index)
    if not isinstance(value, dict) or "predictions" not in value:
        raise RuntimeInputError(
            f"expected a classification prediction dict with 'predictions' and 'top' (or "
            f"'predicted_classes'), got {describe(value)}",
            code="input.invalid_classification",
            loc=loc,
        )
    if "predicted_classes" not in value and ("top" not in value or "confidence" not in value):
        raise RuntimeInputError(
            "classification prediction needs 'top' and 'confidence' (single-label) or "
            "'predicted_classes' (multi-label)",
            code="input.invalid_classification",
            loc=loc,
        )
    result = dict(value)
    result.setdefault("image", {"width": None, "height": None})
    result.setdefault(PREDICTION_TYPE_KEY, CLASSIFICATION_PREDICTION_TYPE)
    result.setdefault(INFERENCE_ID_KEY, str(uuid.uuid4()))
    result.setdefault(PARENT_ID_KEY, identifier)
    result.setdefault(ROOT_PARENT_ID_KEY, identifier)
    return result


def deserialize_by_kind(
    value: Any,
    kinds: Sequence[str] | None,
    *,
    input_name: str,
    index: int | Sequence[int] | None = None,
    allow_url: bool = False,
    allow_file: bool = False,
    max_bytes: int | None = None,
) -> Any:
    """Deserialize one runtime input element according to the input's declared kinds.

    Like the reference, the first kind that accepts the value wins; when none does, the
    error lists why each refused. ``None`` and values of kinds without a parser (``*``,
    unknown kinds) pass through unchanged.
    """
    if value is None or not kinds:
        return value
    loc = input_loc(input_name, index)
    errors: list[RuntimeInputError] = []
    tried = 0
    for kind in kinds:
        parse = _parser_for(kind)
        if parse is None:
            continue
        tried += 1
        try:
            if kind == "image":
                return load_image(
                    value,
                    input_name=input_name,
                    index=index,
                    allow_url=allow_url,
                    allow_file=allow_file,
                    max_bytes=max_bytes,
                )
            if kind in DETECTION_KINDS:
                return deserialize_detections(value, input_name=input_name, index=index)
            if kind == "classification_prediction":
                return deserialize_classification(value, input_name=input_name, index=index)
            if kind == "video_metadata":
                return deserialize_video_metadata(value, loc=loc)
            return parse(value, loc)
        except RuntimeInputError as error:
            if error.code == "input.source_refused":
                raise
            errors.append(error)
    if tried == 0:
        return value
    if len(errors) == 1:
        raise errors[0]
    reasons = "; ".join(
        f"as {k}: {e.message}" for k, e in zip(_parsed_kinds(kinds), errors, strict=False)
    )
    raise RuntimeInputError(
        f"value fits none of the declared kinds {list(kinds)} ({reasons})",
        code=errors[0].code,
        loc=loc,
    )


_STRUCTURED_KINDS = DETECTION_KINDS | {"image", "classification_prediction", "video_metadata"}


def _parser_for(kind: str) -> Any:
    if kind in _STRUCTURED_KINDS:
        return kind
    return PLAIN_KIND_PARSERS.get(kind)


def _parsed_kinds(kinds: Sequence[str]) -> list[str]:
    return [kind for kind in kinds if _parser_for(kind) is not None]


__all__ = [
    "DEFAULT_MAX_IMAGE_BYTES",
    "DETECTION_KINDS",
    "deserialize_by_kind",
    "deserialize_classification",
    "deserialize_detections",
    "deserialize_video_metadata",
    "input_identifier",
    "input_loc",
    "load_image",
]
