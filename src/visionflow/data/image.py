"""The image value that flows through workflows.

An ``Image`` holds a BGR uint8 numpy array (decoded lazily from JPEG/PNG bytes or base64),
the id of its parent, where it sits inside its parent and inside the root input image, and the
video metadata of the frame it came from. A crop is a numpy view of its parent, not a copy.

>>> import numpy as np
>>> image = Image(np.zeros((100, 200, 3), dtype=np.uint8), parent_id="image.[0]")
>>> crop = image.crop(10, 20, 50, 60, crop_id="c1")
>>> crop.numpy_image.shape, crop.root_origin
((40, 40, 3), Origin(offset_x=10, offset_y=20, width=200, height=100))
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Origin:
    """Where an image lies inside another: offset of its top-left corner and that image's size."""

    offset_x: int
    offset_y: int
    width: int
    height: int

    def to_dict(self) -> dict[str, int]:
        return {
            "offset_x": self.offset_x,
            "offset_y": self.offset_y,
            "width": self.width,
            "height": self.height,
        }


@dataclass
class VideoMetadata:
    """Facts about the video frame an image came from."""

    video_identifier: str
    frame_number: int
    frame_timestamp: datetime = field(default_factory=datetime.now)
    fps: float | None = None
    measured_fps: float | None = None
    comes_from_video_file: bool | None = None
    total_frames: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "video_identifier": self.video_identifier,
            "frame_number": self.frame_number,
            "frame_timestamp": self.frame_timestamp.isoformat(),
            "fps": self.fps,
            "measured_fps": self.measured_fps,
            "comes_from_video_file": self.comes_from_video_file,
            "total_frames": self.total_frames,
        }

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> VideoMetadata:
        timestamp = value.get("frame_timestamp")
        if isinstance(timestamp, str):
            timestamp = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
        return cls(
            video_identifier=str(value.get("video_identifier", "default_video")),
            frame_number=int(value.get("frame_number", 0)),
            frame_timestamp=timestamp or datetime.now(),
            fps=value.get("fps"),
            measured_fps=value.get("measured_fps"),
            comes_from_video_file=value.get("comes_from_video_file"),
            total_frames=value.get("total_frames"),
        )

    @classmethod
    def default_for(cls, image_id: str) -> VideoMetadata:
        """What an image that is not a video frame reports (the reference's defaults)."""
        return cls(video_identifier=image_id, frame_number=0, fps=30)


@dataclass(frozen=True)
class ParentMetadata:
    """An image's parent id and its origin inside that parent (None for input images)."""

    parent_id: str
    origin: Origin | None = None


class ImageDecodeError(ValueError):
    """Raised when bytes cannot be decoded into an image."""


def decode_image_bytes(data: bytes) -> np.ndarray:
    """Decode JPEG/PNG/BMP/... bytes into a BGR uint8 array (alpha dropped, grey expanded)."""
    import cv2

    buffer = np.frombuffer(data, dtype=np.uint8)
    image = cv2.imdecode(buffer, cv2.IMREAD_COLOR) if buffer.size else None
    if image is None:
        raise ImageDecodeError(
            f"could not decode {len(data)} bytes as an image (expected JPEG, PNG, BMP, WEBP or TIFF)"
        )
    return image


def decode_base64_image(value: str) -> np.ndarray:
    """Decode a base64 string (optionally a ``data:image/...;base64,`` URL) into BGR."""
    if value.startswith("data:"):
        value = value.split(",", 1)[-1]
    try:
        data = base64.b64decode(value, validate=False)
    except (binascii.Error, ValueError) as error:
        raise ImageDecodeError(f"not valid base64: {error}") from error
    return decode_image_bytes(data)


def normalise_array(array: np.ndarray) -> np.ndarray:
    """Bring an array to HxWx3 uint8 BGR; grey and BGRA are converted."""
    if not isinstance(array, np.ndarray):
        raise ImageDecodeError(f"expected a numpy array, got {type(array).__name__}")
    if array.dtype != np.uint8:
        raise ImageDecodeError(f"expected a uint8 array, got dtype {array.dtype}")
    if array.ndim == 2:
        return np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim == 3 and array.shape[2] == 3:
        return array
    if array.ndim == 3 and array.shape[2] == 4:
        return array[:, :, :3]
    if array.ndim == 3 and array.shape[2] == 1:
        return np.repeat(array, 3, axis=2)
    raise ImageDecodeError(f"expected an HxWx3 image array, got shape {tuple(array.shape)}")


class Image:
    """An image in a workflow, with its lineage (parent and root) and video metadata."""

    __slots__ = (
        "_array",
        "_base64",
        "_bytes",
        "origin",
        "parent_id",
        "root_id",
        "root_origin",
        "video_metadata",
    )

    def __init__(
        self,
        array: np.ndarray | None = None,
        *,
        parent_id: str,
        encoded: bytes | None = None,
        base64_value: str | None = None,
        origin: Origin | None = None,
        root_id: str | None = None,
        root_origin: Origin | None = None,
        video_metadata: VideoMetadata | None = None,
    ) -> None:
        if array is None and encoded is None and base64_value is None:
            raise ValueError("an Image needs an array, encoded bytes or a base64 string")
        self._array = array
        self._bytes = encoded
        self._base64 = base64_value
        self.parent_id = parent_id
        self.origin = origin
        self.root_id = root_id or parent_id
        self.root_origin = root_origin
        self.video_metadata = video_metadata

    # -- pixels -----------------------------------------------------------------------------
    @property
    def numpy_image(self) -> np.ndarray:
        """The BGR uint8 array, decoded on first use."""
        if self._array is None:
            if self._bytes is not None:
                self._array = decode_image_bytes(self._bytes)
            else:
                assert self._base64 is not None
                self._array = decode_base64_image(self._base64)
        return self._array

    @property
    def is_decoded(self) -> bool:
        return self._array is not None

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.numpy_image.shape)

    @property
    def width(self) -> int:
        return int(self.numpy_image.shape[1])

    @property
    def height(self) -> int:
        return int(self.numpy_image.shape[0])

    @property
    def base64_image(self) -> str:
        """JPEG, base64-encoded (cached)."""
        if self._base64 is None:
            self._base64 = base64.b64encode(self.jpeg_bytes()).decode("ascii")
        return self._base64

    def encoded_bytes(self) -> bytes | None:
        """The bytes the image arrived as (JPEG, PNG with transparency...), when it did."""
        if self._bytes is not None:
            return self._bytes
        if self._base64 is not None:
            value = (
                self._base64.split(",", 1)[-1] if self._base64.startswith("data:") else self._base64
            )
            try:
                return base64.b64decode(value)
            except (binascii.Error, ValueError):
                return None
        return None

    def jpeg_bytes(self, quality: int = 95) -> bytes:
        if self._bytes is not None and self._bytes[:3] == b"\xff\xd8\xff":
            return self._bytes
        import cv2

        ok, buffer = cv2.imencode(".jpg", self.numpy_image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:  # pragma: no cover - OpenCV always encodes uint8 BGR
            raise ImageDecodeError("JPEG encoding failed")
        return buffer.tobytes()

    # -- lineage ----------------------------------------------------------------------------
    @property
    def is_root(self) -> bool:
        return self.origin is None

    def root_offset(self) -> tuple[int, int]:
        """Offset of this image's top-left corner in the root image."""
        if self.root_origin is None:
            return 0, 0
        return self.root_origin.offset_x, self.root_origin.offset_y

    def root_size(self) -> tuple[int, int]:
        """(width, height) of the root image."""
        if self.root_origin is None:
            return self.width, self.height
        return self.root_origin.width, self.root_origin.height

    @property
    def parent_metadata(self) -> ParentMetadata:
        """The reference's view of the parent: its id and where this image sits inside it."""
        return ParentMetadata(self.parent_id, self.origin)

    @property
    def workflow_root_ancestor_metadata(self) -> ParentMetadata:
        return ParentMetadata(self.root_id, self.root_origin)

    def crop(self, x_min: int, y_min: int, x_max: int, y_max: int, *, crop_id: str) -> Image:
        """A child image (a numpy view) whose lineage points at this image and its root."""
        height, width = self.numpy_image.shape[:2]
        x_min, x_max = max(0, int(x_min)), min(width, int(x_max))
        y_min, y_max = max(0, int(y_min)), min(height, int(y_max))
        view = self.numpy_image[y_min:y_max, x_min:x_max]
        root_x, root_y = self.root_offset()
        root_w, root_h = self.root_size()
        return Image(
            view,
            parent_id=crop_id,
            origin=Origin(x_min, y_min, width, height),
            root_id=self.root_id,
            root_origin=Origin(root_x + x_min, root_y + y_min, root_w, root_h),
            video_metadata=self.video_metadata,
        )

    def derive(self, array: np.ndarray) -> Image:
        """Same lineage, new pixels (visualizations, transformations that keep geometry)."""
        return Image(
            array,
            parent_id=self.parent_id,
            origin=self.origin,
            root_id=self.root_id,
            root_origin=self.root_origin,
            video_metadata=self.video_metadata,
        )

    def __repr__(self) -> str:
        size = f"{self.width}x{self.height}" if self.is_decoded else "encoded"
        return f"Image({size}, parent_id={self.parent_id!r})"


__all__ = [
    "Image",
    "ImageDecodeError",
    "Origin",
    "ParentMetadata",
    "VideoMetadata",
    "decode_base64_image",
    "decode_image_bytes",
    "normalise_array",
]
