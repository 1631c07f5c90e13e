"""Stateful gates: ``rate_limiter`` (at most one pass per cooldown) and ``delta_filter`` (pass
only when a value changed).

Both keep state in the block instance, so it lasts as long as the engine (a video pipeline
keeps one engine for the whole stream). Elements of a batch are decided in order.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any, Generic, Literal, Optional, TypeVar

import numpy as np
from pydantic import Field

from visionflow.blocks.base import (
    Block,
    BlockContext,
    BlockInfo,
    BlockManifest,
    DataSelector,
    FlowControl,
    StepSelector,
)
from visionflow.blocks.registry import register_block
from visionflow.data.image import Image, VideoMetadata
from visionflow.spec.kinds import IMAGE_KIND

#: Most videos whose state a gate remembers; the least recently seen is forgotten first
#: (crops and still images each count as a video of their own, so ids keep arriving).
MAX_TRACKED_VIDEOS = 10_000

V = TypeVar("V")


def clock() -> float:
    """Seconds on a clock that never goes back (wall-clock cooldowns); tests replace it."""
    return time.monotonic()


class _RecentStates(Generic[V]):
    """State per key, bounded to the ``MAX_TRACKED_VIDEOS`` most recently used keys."""

    def __init__(self) -> None:
        self._states: OrderedDict[Hashable, V] = OrderedDict()

    def get(self, key: Hashable) -> V | None:
        if key not in self._states:
            return None
        self._states.move_to_end(key)  # seen now: the last to be forgotten
        return self._states[key]

    def put(self, key: Hashable, state: V) -> None:
        self._states[key] = state
        self._states.move_to_end(key)
        if len(self._states) > MAX_TRACKED_VIDEOS:
            self._states.popitem(last=False)


# ---------------------------------------------------------------------------------------------
# roboflow_core/rate_limiter@v1
# ---------------------------------------------------------------------------------------------
class RateLimiterManifest(BlockManifest):
    type: Literal["roboflow_core/rate_limiter@v1"]
    cooldown_seconds: float = Field(
        default=1.0,
        ge=0.0,
        description=(
            "Least number of seconds between two passes; elements arriving sooner stop here. "
            "Measured in video time when `video_reference_image` is a video frame."
        ),
        examples=[1.0],
    )
    depends_on: DataSelector() = Field(
        description=(
            "The value this gate follows (usually the output of the step just before it); "
            "it decides the gate's batch level and runs the gate only where it exists."
        ),
        examples=["$steps.model"],
    )
    next_steps: list[StepSelector] = Field(
        description="Steps that run when the cooldown has passed.",
        examples=[["$steps.upload"]],
    )
    video_reference_image: Optional[DataSelector(IMAGE_KIND)] = Field(
        default=None,
        description=(
            "A video frame whose time (frame number / fps) replaces the clock, so the cooldown "
            "holds in video time when frames are processed faster or slower than real time."
        ),
        examples=["$inputs.image"],
    )

    block_info = BlockInfo(
        name="Rate Limiter",
        short="Let a branch run at most once per cooldown period.",
        category="flow_control",
    )
    outputs = ()
    is_flow_control = True


@register_block
class RateLimiterBlock(Block):
    """Passes an element when ``cooldown_seconds`` have gone by since the last pass."""

    manifest = RateLimiterManifest

    def __init__(self, context: BlockContext) -> None:
        super().__init__(context)
        # Last pass per clock: one for the wall clock, one per video for video time (times of
        # different videos cannot be compared).
        self._last_pass: _RecentStates[float] = _RecentStates()
        self._lock = threading.Lock()

    def run(
        self,
        cooldown_seconds: float,
        depends_on: Any,
        next_steps: list[str],
        video_reference_image: Image | None = None,
    ) -> FlowControl:
        key, now = _current_time(video_reference_image)
        with self._lock:
            last = self._last_pass.get(key)
            if last is not None and now - last < cooldown_seconds:
                return FlowControl(next_steps=())
            self._last_pass.put(key, now)
        return FlowControl(next_steps=tuple(next_steps))


_WALL_CLOCK = ("wall clock",)


def _current_time(image: Image | None) -> tuple[Hashable, float]:
    """The clock to use and its time: the frame's video time, else the wall clock."""
    metadata = image.video_metadata if image is not None else None
    # Still images have no video time: the reference meant to use the wall clock for them.
    if metadata is not None and metadata.fps:
        return ("video", metadata.video_identifier), metadata.frame_number / metadata.fps
    return _WALL_CLOCK, clock()


# ---------------------------------------------------------------------------------------------
# roboflow_core/delta_filter@v1
# ---------------------------------------------------------------------------------------------
class DeltaFilterManifest(BlockManifest):
    type: Literal["roboflow_core/delta_filter@v1"]
    image: DataSelector(IMAGE_KIND) = Field(
        description="The frame the value belongs to: the value is followed per video.",
        examples=["$inputs.image"],
    )
    value: DataSelector() = Field(
        title="Input Value",
        description=(
            "The value to watch; the branch continues only when it differs from the value "
            "last seen for the same video."
        ),
        examples=["$steps.line_counter.count_in"],
    )
    next_steps: list[StepSelector] = Field(
        description="Steps that run when the value changed.",
        examples=[["$steps.write_to_csv"]],
    )

    block_info = BlockInfo(
        name="Delta Filter",
        short="Let a branch continue only when a value changed (per video).",
        category="flow_control",
    )
    outputs = ()
    is_flow_control = True


@register_block
class DeltaFilterBlock(Block):
    """Passes an element when its value differs from the last one seen for its video."""

    manifest = DeltaFilterManifest

    def __init__(self, context: BlockContext) -> None:
        super().__init__(context)
        self._last_values: _RecentStates[Any] = _RecentStates()
        self._lock = threading.Lock()

    def run(self, image: Image, value: Any, next_steps: list[str]) -> FlowControl:
        metadata = image.video_metadata or VideoMetadata.default_for(image.parent_id)
        video = metadata.video_identifier
        with self._lock:
            # As in the reference, a video never seen before counts as "last value None".
            if values_equal(self._last_values.get(video), value):
                return FlowControl(next_steps=())
            self._last_values.put(video, value)
        return FlowControl(next_steps=tuple(next_steps))


def values_equal(first: Any, second: Any) -> bool:
    """Equality that also works for arrays and containers holding them.

    ``==`` on numpy arrays answers element-wise (and ``bool()`` of that raises), so containers
    are compared item by item; detections compare with supervision's own ``==``.
    """
    if first is second:
        return True
    if isinstance(first, np.ndarray) or isinstance(second, np.ndarray):
        return bool(np.array_equal(first, second))
    if isinstance(first, dict) and isinstance(second, dict):
        return first.keys() == second.keys() and all(
            values_equal(first[key], second[key]) for key in first
        )
    if isinstance(first, (list, tuple)) and isinstance(second, (list, tuple)):
        return (
            type(first) is type(second)
            and len(first) == len(second)
            and all(values_equal(a, b) for a, b in zip(first, second, strict=True))
        )
    try:
        return bool(first == second)
    except (TypeError, ValueError):  # objects whose equality is not a truth value
        return False


__all__ = [
    "MAX_TRACKED_VIDEOS",
    "DeltaFilterBlock",
    "DeltaFilterManifest",
    "RateLimiterBlock",
    "RateLimiterManifest",
    "clock",
    "values_equal",
]
