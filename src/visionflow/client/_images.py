"""Images in and out: what the caller hands over becomes ``{"type": "base64"}``; what comes
back is turned into base64 strings (as ``inference-sdk`` does) or numpy arrays.

Like ``inference-sdk``, the client loads every image itself, URLs included, so the server
never has to fetch anything: a string is a URL (``http://``, ``https://``), else a path to an
existing file, else already base64. A dict that is already in the wire format
(``{"type": "url", "value": ...}``) is passed through untouched, for the server to load.

>>> encode_image(b"raw bytes")
{'type': 'base64', 'value': 'cmF3IGJ5dGVz'}
"""

from __future__ import annotations

import base64
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from visionflow.client._errors import ClientError, InvalidInputError

#: The bytes of each image URL, fetched before encoding (concurrently by the async client).
UrlBytes = dict[str, bytes]


def is_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


def iter_urls(images: Any) -> Iterator[str]:
    """Every URL among ``images`` (a dict of name -> image or nested lists of images)."""
    stack = list(images.values()) if isinstance(images, dict) else [images]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        elif is_url(item):
            yield item


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _encode_array(array: np.ndarray) -> str:
    import cv2

    # cv2's default JPEG quality (95) and BGR order, as inference-sdk sends arrays
    ok, encoded = cv2.imencode(".jpg", array)
    if not ok:
        raise InvalidInputError(
            f"could not encode an array of shape {array.shape} and dtype {array.dtype} as JPEG; "
            "pass an HxWx3 BGR uint8 array",
        )
    return _b64(encoded.tobytes())


def _pil_image_class() -> type | None:
    # only look at PIL when the caller already imported it: no PIL import for array users
    module = sys.modules.get("PIL.Image")
    return getattr(module, "Image", None) if module is not None else None


def _encode_pil(image: Any) -> str:
    from io import BytesIO

    if image.mode not in ("RGB", "L"):
        # JPEG has no alpha or palette; inference-sdk would fail here, we convert
        image = image.convert("RGB")
    with BytesIO() as buffer:
        image.save(buffer, format="JPEG")
        return _b64(buffer.getvalue())


def _read_file(path: str | os.PathLike[str]) -> str:
    try:
        return _b64(Path(path).read_bytes())
    except OSError as error:
        raise InvalidInputError(
            f"cannot read image file {os.fspath(path)!r}: {error.strerror or error}",
        ) from error


def encode_image(image: Any, urls: UrlBytes | None = None) -> dict[str, Any]:
    """One image as ``{"type": "base64", "value": ...}`` (see the module docstring)."""
    if isinstance(image, dict) and "type" in image:
        return image
    if isinstance(image, (bytes, bytearray, memoryview)):
        return {"type": "base64", "value": _b64(bytes(image))}
    if isinstance(image, np.ndarray):
        return {"type": "base64", "value": _encode_array(image)}
    if isinstance(image, os.PathLike):
        return {"type": "base64", "value": _read_file(image)}
    if isinstance(image, str):
        if is_url(image):
            if urls is None or image not in urls:
                raise InvalidInputError(f"URL {image!r} was not fetched")
            return {"type": "base64", "value": _b64(urls[image])}
        if os.path.isfile(image):
            return {"type": "base64", "value": _read_file(image)}
        # neither URL nor file: already base64, as inference-sdk assumes
        return {"type": "base64", "value": image}
    pil_class = _pil_image_class()
    if pil_class is not None and isinstance(image, pil_class):
        return {"type": "base64", "value": _encode_pil(image)}
    raise InvalidInputError(
        f"cannot send an image of type {type(image).__name__}; pass a file path, a URL, "
        "a numpy BGR array, a PIL image, bytes, a base64 string or a list of these",
    )


def encode_images(images: Any, urls: UrlBytes | None = None) -> Any:
    """An image or nested lists of images (a batch) in the wire format; lists stay lists."""
    if isinstance(images, (list, tuple)):
        return [encode_images(item, urls) for item in images]
    return encode_image(images, urls)


def build_inputs(
    images: dict[str, Any] | None,
    parameters: dict[str, Any] | None,
    urls: UrlBytes | None = None,
) -> dict[str, Any]:
    """The ``inputs`` of a run: encoded images, then parameters (which win on a name clash,
    as in inference-sdk)."""
    if images is not None and not isinstance(images, dict):
        raise InvalidInputError(
            f"images must be a dict of input name -> image, got {type(images).__name__}",
        )
    if parameters is not None and not isinstance(parameters, dict):
        raise InvalidInputError(
            f"parameters must be a dict of input name -> value, got {type(parameters).__name__}",
        )
    inputs = {name: encode_images(image, urls) for name, image in (images or {}).items()}
    inputs.update(parameters or {})
    return inputs


def _decoder(decode_images: bool) -> Callable[[dict[str, Any]], Any]:
    if not decode_images:
        return lambda value: value["value"]
    from visionflow.data.image import ImageDecodeError, decode_base64_image

    def decode(value: dict[str, Any]) -> Any:
        try:
            return decode_base64_image(value["value"])
        except (ImageDecodeError, TypeError) as error:
            raise ClientError(
                f"the server sent an image that cannot be decoded: {error}",
                code="client.bad_response",
            ) from error

    return decode


def decode_outputs(outputs: list[Any], decode_images: bool) -> list[Any]:
    """Replace every ``{"type": "base64", ...}`` in the tree: by its base64 string (the
    inference-sdk default) or by a BGR numpy array when ``decode_images``."""
    decode = _decoder(decode_images)

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            if value.get("type") == "base64":
                return decode(value)
            return {key: walk(item) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item) for item in value]
        return value

    return [walk(output) for output in outputs]
