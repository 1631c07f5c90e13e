"""Checks the server makes on runtime image inputs before the engine sees them.

The number of images per request, the decoded size of every image (read from the file header
when the format allows, so a decompression bomb is refused before it is decoded), URL inputs
(refused, or downloaded here under ``urls.fetch_url``'s rules and handed to the engine as bytes)
and ``file`` inputs (always refused).
"""

from __future__ import annotations

import base64
import binascii
import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from visionflow.compiler import InputNode, Plan
from visionflow.errors import RuntimeInputError

_IMAGE_INPUT_TYPES = frozenset({"WorkflowImage", "InferenceImage"})


@dataclass(frozen=True)
class ImageLimits:
    max_images: int
    max_pixels: int
    allow_url: bool
    #: downloads a URL (``urls.fetch_url`` bound to the operator's policy)
    fetch: Callable[[str, str], bytes] | None = None


def image_inputs(plan: Plan) -> list[InputNode]:
    """The declared inputs whose values are images."""
    return [
        node
        for node in plan.inputs.values()
        if node.is_batch and (node.type in _IMAGE_INPUT_TYPES or "image" in node.kinds)
    ]


def prepare_image_inputs(plan: Plan, inputs: dict[str, Any], limits: ImageLimits) -> dict[str, Any]:
    """Check (and, for URLs, download) every image; returns the inputs to run with."""
    nodes = [n for n in image_inputs(plan) if inputs.get(n.name) is not None]
    if not nodes:
        return inputs
    count = sum(_count(inputs[n.name], n.dimensionality) for n in nodes)
    if count > limits.max_images:
        raise RuntimeInputError(
            f"the request holds {count} images; this server accepts at most "
            f"{limits.max_images} per request (setting max_images_per_request)",
            code="input.too_many_images",
            loc="inputs",
        )
    prepared = dict(inputs)
    for node in nodes:
        prepared[node.name] = _walk(
            inputs[node.name], node.dimensionality, f"inputs.{node.name}", limits
        )
    return prepared


def _count(value: Any, depth: int) -> int:
    if isinstance(value, list) and depth > 0:
        return sum(_count(v, depth - 1) for v in value)
    return 1


def _walk(value: Any, depth: int, loc: str, limits: ImageLimits) -> Any:
    if isinstance(value, list) and depth > 0:
        return [_walk(v, depth - 1, f"{loc}[{i}]", limits) for i, v in enumerate(value)]
    return _check_image(value, loc, limits)


def _check_image(value: Any, loc: str, limits: ImageLimits) -> Any:
    declared = value.get("type") if isinstance(value, dict) else None
    payload = value.get("value") if isinstance(value, dict) else value
    if not isinstance(payload, str):
        return value  # the engine reports malformed values with its own messages
    if declared == "file":
        raise _refused(loc, "local files cannot be read through the server")
    if declared == "url" or (declared is None and payload.startswith(("http://", "https://"))):
        if not limits.allow_url or limits.fetch is None:
            raise _refused(loc, "URL inputs are disabled on this server (setting allow_url_input)")
        data = limits.fetch(payload, loc)
        decoded = _check_pixels(data, loc, limits.max_pixels)
        return _replace(value, decoded if decoded is not None else data)
    if declared not in (None, "base64"):
        return value
    text = payload.split(",", 1)[-1] if payload.startswith("data:") else payload
    try:
        data = base64.b64decode(text, validate=False)
    except (binascii.Error, ValueError):
        return value  # not base64: the engine names the problem
    decoded = _check_pixels(data, loc, limits.max_pixels)
    return value if decoded is None else _replace(value, decoded)


def _replace(value: Any, payload: bytes | np.ndarray) -> Any:
    """The same input with its pixels already fetched (bytes) or decoded (an array)."""
    kind = "numpy_object" if isinstance(payload, np.ndarray) else "multipart"
    if isinstance(value, dict):
        return {**value, "type": kind, "value": payload}
    return {"type": kind, "value": payload}


def _check_pixels(data: bytes, loc: str, max_pixels: int) -> np.ndarray | None:
    """Refuse an image larger than ``max_pixels``.

    Reads the size from the header (Pillow reads headers without decoding); for formats it
    cannot read, decodes with OpenCV and checks the result, returning the array so it is not
    decoded twice.
    """
    size = _header_size(data)
    if size is not None:
        width, height = size
        if width * height > max_pixels:
            raise _too_large(loc, width, height, max_pixels)
        return None
    import cv2

    array = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if array is None:
        return None  # not an image: the engine reports it
    height, width = array.shape[:2]
    if width * height > max_pixels:
        raise _too_large(loc, width, height, max_pixels)
    return array


def _header_size(data: bytes) -> tuple[int, int] | None:
    from PIL import Image, UnidentifiedImageError

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as image:
                return int(image.size[0]), int(image.size[1])
        except Image.DecompressionBombError:
            # past Pillow's own bomb limit: larger than any sane setting, refuse as such
            return 1 << 31, 1 << 31
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            return None


def _too_large(loc: str, width: int, height: int, limit: int) -> RuntimeInputError:
    shown = f"is {width}x{height} pixels" if width < (1 << 31) else "has billions of pixels"
    return RuntimeInputError(
        f"the image {shown}; this server accepts at most {limit} pixels per image "
        "(setting max_image_pixels)",
        code="input.image_too_large",
        loc=loc,
    )


def _refused(loc: str, why: str) -> RuntimeInputError:
    return RuntimeInputError(f"image input refused: {why}", code="input.source_refused", loc=loc)


__all__ = ["ImageLimits", "image_inputs", "prepare_image_inputs"]
