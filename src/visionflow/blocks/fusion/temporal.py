"""Blocks that remember earlier frames: ``buffer`` (the last N values), ``frame_delay`` (the
value of N frames ago, per video) and ``image_stack`` (the last N frames as JPEG bytes, per
video).

State lives on the block instance, so it lasts as long as the engine; per-video state is keyed
by ``video_metadata.video_identifier`` (a still image counts as a video of its own, named after
the image).

>>> import numpy as np
>>> from visionflow.blocks.base import BlockContext
>>> block = BufferBlock(BlockContext("buffer", "roboflow_core/buffer@v1"))
>>> block.run(data=1, length=2, pad=True)["output"], block.run(data=2, length=2, pad=False)["output"]
([1, None], [2, 1])
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from typing import Any, Literal, Optional, Union

import cv2
import numpy as np
from pydantic import Field, field_validator

from visionflow.blocks.base import (
    Block,
    BlockContext,
    BlockInfo,
    BlockManifest,
    DataSelector,
    Output,
)
from visionflow.blocks.registry import register_block
from visionflow.data.image import Image, VideoMetadata
from visionflow.spec.kinds import (
    BOOLEAN_KIND,
    IMAGE_KIND,
    INSTANCE_SEGMENTATION_PREDICTION_KIND,
    INTEGER_KIND,
    KEYPOINT_DETECTION_PREDICTION_KIND,
    LIST_OF_VALUES_KIND,
    OBJECT_DETECTION_PREDICTION_KIND,
    WILDCARD_KIND,
)


def video_metadata_of(image: Image) -> VideoMetadata:
    """The frame's video metadata; a still image reports the reference's defaults."""
    return image.video_metadata or VideoMetadata.default_for(image.parent_id)


# ---------------------------------------------------------------------------------------------
# roboflow_core/buffer@v1
# ---------------------------------------------------------------------------------------------
class BufferManifest(BlockManifest):
    type: Literal["roboflow_core/buffer@v1", "Buffer"]
    data: DataSelector(WILDCARD_KIND, LIST_OF_VALUES_KIND, IMAGE_KIND) = Field(
        description="The value to remember (any kind); the newest value comes first.",
        examples=["$steps.visualization", "$steps.object_detection_model.predictions"],
    )
    # As in the reference the length is not bounded; a length of 0 or less keeps nothing.
    length: int = Field(
        description="How many of the most recent values to keep.",
        examples=[5, 10, 3],
    )
    pad: bool = Field(
        default=False,
        description="Fill the list with null up to `length` while fewer values were seen.",
        examples=[True, False],
    )

    block_info = BlockInfo(
        name="Buffer",
        short="The last `length` values given to the step, newest first.",
        category="fusion",
    )
    outputs = (Output("output", LIST_OF_VALUES_KIND),)


@register_block
class BufferBlock(Block):
    """``output`` = the last ``length`` values, newest first (padded with None if ``pad``).

    Like the reference, one buffer serves every element and every video the engine sees.
    """

    manifest = BufferManifest

    def __init__(self, context: BlockContext) -> None:
        super().__init__(context)
        self._values: deque[Any] = deque()
        self._lock = threading.Lock()

    def run(self, data: Any, length: int, pad: bool) -> dict[str, Any]:
        keep = max(int(length), 0)
        with self._lock:
            self._values.appendleft(data)
            while len(self._values) > keep:
                self._values.pop()
            values = list(self._values)
        if pad:
            values.extend([None] * (keep - len(values)))
        return {"output": values}


# ---------------------------------------------------------------------------------------------
# roboflow_core/frame_delay@v1 (formerly time_travel@v1)
# ---------------------------------------------------------------------------------------------
#: Deepest look-back: every buffered value stays in memory.
MAX_FRAME_OFFSET = 256
#: Videos tracked at once; the least recently seen one is forgotten first.
MAX_TRACKED_VIDEOS = 16


def check_frame_offset(offset: int) -> None:
    """Refuse offsets into the future or deeper than ``MAX_FRAME_OFFSET`` frames."""
    if offset > 0:
        raise ValueError(
            f"frame_delay looks back only: `offset` must be 0 or negative (e.g. -1 for the "
            f"previous frame), got {offset}"
        )
    if offset < -MAX_FRAME_OFFSET:
        raise ValueError(
            f"frame_delay keeps at most {MAX_FRAME_OFFSET} frames in memory: `offset` must be "
            f">= -{MAX_FRAME_OFFSET}, got {offset}"
        )


class FrameDelayManifest(BlockManifest):
    type: Literal[
        "roboflow_core/frame_delay@v1",
        "FrameDelay",
        "roboflow_core/time_travel@v1",
        "TimeTravel",
    ]
    image: DataSelector(IMAGE_KIND) = Field(
        title="Image",
        description="The frame whose video identifier and frame number index the history.",
        examples=["$inputs.image", "$steps.crop.crops"],
    )
    data: DataSelector(
        WILDCARD_KIND,
        LIST_OF_VALUES_KIND,
        IMAGE_KIND,
        OBJECT_DETECTION_PREDICTION_KIND,
        INSTANCE_SEGMENTATION_PREDICTION_KIND,
        KEYPOINT_DETECTION_PREDICTION_KIND,
    ) = Field(
        description="The value to delay (detections, numbers, images...).",
        examples=["$steps.object_detection_model.predictions", "$steps.property_definition.output"],
    )
    offset: Union[int, DataSelector(INTEGER_KIND)] = Field(
        description=(
            f"Frames to look back: 0 is the current frame, -1 the previous one; at most "
            f"-{MAX_FRAME_OFFSET}."
        ),
        examples=[-1, -5, "$inputs.offset"],
    )
    default_value: Optional[Union[bool, int, float, str]] = Field(
        default=None,
        description="The output while the requested frame is not in the history.",
        examples=[None, 0, False],
    )

    @field_validator("offset")
    @classmethod
    def _check_literal_offset(cls, value: Any) -> Any:
        # selectors are checked when the value arrives
        if isinstance(value, int):
            check_frame_offset(value)
        return value

    block_info = BlockInfo(
        name="Frame Delay",
        short="The value a step had `offset` frames earlier in the same video.",
        category="fusion",
    )
    outputs = (
        Output("output", WILDCARD_KIND),
        Output("is_available", BOOLEAN_KIND),
        Output("reference_frame_number", INTEGER_KIND),
    )


@register_block
class FrameDelayBlock(Block):
    """``output`` = ``data`` of frame ``frame_number + offset`` of the same video, if seen.

    Frame numbers that go backwards mean the identifier was reused by a new stream: its
    history is dropped.
    """

    manifest = FrameDelayManifest

    def __init__(self, context: BlockContext) -> None:
        super().__init__(context)
        # video -> frame number -> value, least recently seen video first
        self._history: OrderedDict[str, OrderedDict[int, Any]] = OrderedDict()
        # deepest |offset| asked per video: an offset from a selector may change per frame
        self._depth: dict[str, int] = {}
        self._lock = threading.Lock()

    def run(
        self, image: Image, data: Any, offset: int, default_value: Any = None
    ) -> dict[str, Any]:
        offset = int(offset)
        check_frame_offset(offset)
        metadata = video_metadata_of(image)
        video = metadata.video_identifier or "default"
        frame = metadata.frame_number
        with self._lock:
            history = self._history_of(video)
            if history and frame < next(reversed(history)):
                history.clear()
                self._depth[video] = 0
            depth = max(self._depth.get(video, 0), -offset)
            self._depth[video] = depth
            history[frame] = data
            target = frame + offset
            available = target in history
            value = history[target] if available else default_value
            while history and next(iter(history)) < frame - depth:
                history.popitem(last=False)
        return {"output": value, "is_available": available, "reference_frame_number": frame}

    def _history_of(self, video: str) -> OrderedDict[int, Any]:
        history = self._history.pop(video, None)
        if history is None:
            history = OrderedDict()
        self._history[video] = history
        while len(self._history) > MAX_TRACKED_VIDEOS:
            forgotten, _ = self._history.popitem(last=False)
            self._depth.pop(forgotten, None)
        return history


# ---------------------------------------------------------------------------------------------
# roboflow_core/image_stack@v1
# ---------------------------------------------------------------------------------------------
MAX_STACK_SIZE = 64
MAX_STACK_WIDTH = 1920
MAX_STACK_HEIGHT = 1080
MIN_STACK_RESOLUTION = 64
STACK_JPEG_QUALITY = 75


def _check_range(name: str, value: Any, low: int, high: int) -> Any:
    if isinstance(value, int) and not low <= value <= high:
        raise ValueError(f"`{name}` must be between {low} and {high}, got {value}")
    return value


class ImageStackManifest(BlockManifest):
    type: Literal["roboflow_core/image_stack@v1"]
    image: DataSelector(IMAGE_KIND) = Field(
        title="Input Image",
        description="The frame to push onto the stack of its video.",
        examples=["$inputs.image", "$steps.preprocessing.image"],
    )
    stack_size: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=10,
        description=f"Frames kept per video (1-{MAX_STACK_SIZE}); the oldest leaves first.",
        examples=[5, 10, "$inputs.stack_size"],
    )
    resolution_width: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=MAX_STACK_WIDTH,
        description=(
            f"Frames wider than this ({MIN_STACK_RESOLUTION}-{MAX_STACK_WIDTH} px) are scaled "
            "down, keeping the aspect ratio."
        ),
        examples=[640, 1280, "$inputs.resolution_width"],
    )
    resolution_height: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=MAX_STACK_HEIGHT,
        description=(
            f"Frames taller than this ({MIN_STACK_RESOLUTION}-{MAX_STACK_HEIGHT} px) are scaled "
            "down, keeping the aspect ratio."
        ),
        examples=[480, 720, "$inputs.resolution_height"],
    )
    clear: Union[bool, DataSelector(BOOLEAN_KIND)] = Field(
        default=False,
        description="Empty the video's stack before adding this frame (e.g. on a scene change).",
        examples=[False, "$inputs.clear_buffer"],
    )

    @field_validator("stack_size")
    @classmethod
    def _check_stack_size(cls, value: Any) -> Any:
        return _check_range("stack_size", value, 1, MAX_STACK_SIZE)

    @field_validator("resolution_width")
    @classmethod
    def _check_width(cls, value: Any) -> Any:
        return _check_range("resolution_width", value, MIN_STACK_RESOLUTION, MAX_STACK_WIDTH)

    @field_validator("resolution_height")
    @classmethod
    def _check_height(cls, value: Any) -> Any:
        return _check_range("resolution_height", value, MIN_STACK_RESOLUTION, MAX_STACK_HEIGHT)

    block_info = BlockInfo(
        name="Image Stack",
        short="The last frames of each video, newest first, as JPEG bytes.",
        category="fusion",
    )
    outputs = (Output("frames", LIST_OF_VALUES_KIND), Output("frames_count", INTEGER_KIND))


def compress_frame(pixels: np.ndarray, max_width: int, max_height: int) -> bytes:
    """JPEG bytes of a frame, scaled down (never up) to fit ``max_width`` x ``max_height``."""
    height, width = pixels.shape[:2]
    if width > max_width or height > max_height:
        scale = min(max_width / width, max_height / height)
        size = (int(width * scale), int(height * scale))
        pixels = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, STACK_JPEG_QUALITY])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 BGR array
        raise ValueError("JPEG encoding of the frame failed")
    return encoded.tobytes()


@register_block
class ImageStackBlock(Block):
    """``frames`` = the video's last ``stack_size`` frames (JPEG bytes), newest first."""

    manifest = ImageStackManifest

    def __init__(self, context: BlockContext) -> None:
        super().__init__(context)
        self._stacks: dict[str, deque[bytes]] = {}
        self._lock = threading.Lock()

    def run(
        self,
        image: Image,
        stack_size: int,
        resolution_width: int,
        resolution_height: int,
        clear: bool,
    ) -> dict[str, Any]:
        # values from selectors are clamped, literals were checked with the manifest
        size = min(max(int(stack_size), 1), MAX_STACK_SIZE)
        width = min(max(int(resolution_width), MIN_STACK_RESOLUTION), MAX_STACK_WIDTH)
        height = min(max(int(resolution_height), MIN_STACK_RESOLUTION), MAX_STACK_HEIGHT)
        frame = compress_frame(image.numpy_image, width, height)
        video = video_metadata_of(image).video_identifier
        with self._lock:
            stack = self._stacks.get(video)
            if stack is None or stack.maxlen != size:
                # a smaller size keeps the newest frames (the reference keeps the oldest)
                stack = deque(list(stack or ())[:size], maxlen=size)
                self._stacks[video] = stack
            if clear:
                stack.clear()
            stack.appendleft(frame)
            frames = list(stack)
        return {"frames": frames, "frames_count": len(frames)}


__all__ = [
    "BufferBlock",
    "BufferManifest",
    "FrameDelayBlock",
    "FrameDelayManifest",
    "ImageStackBlock",
    "ImageStackManifest",
    "check_frame_offset",
    "compress_frame",
    "video_metadata_of",
]
