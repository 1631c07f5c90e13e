"""Visualizations that remember earlier frames: a heatmap of where objects went and the traces
of tracked objects. Their state is kept per video (``video_identifier``), so frames of several
streams going through one workflow do not mix.

>>> import numpy as np
>>> import supervision as sv
>>> history = MotionHistory()
>>> boxes = sv.Detections(xyxy=np.array([[0.0, 0.0, 10.0, 10.0]]), tracker_id=np.array([7]))
>>> len(history.moving(boxes, "cam", sv.Position.CENTER, 5))  # first sighting: not moving yet
0
>>> moved = sv.Detections(xyxy=np.array([[20.0, 0.0, 30.0, 10.0]]), tracker_id=np.array([7]))
>>> len(history.moving(moved, "cam", sv.Position.CENTER, 5))
1
"""

from __future__ import annotations

import threading
import time
from typing import Any, Literal, Optional, Union

import numpy as np
import supervision as sv
from pydantic import Field, field_validator

from visionflow.blocks.base import BlockContext, BlockInfo, DataSelector
from visionflow.blocks.registry import register_block
from visionflow.blocks.visualizations._base import (
    AnnotatorCache,
    ColorableVisualizationManifest,
    PositionName,
    PredictionsVisualizationManifest,
    VisualizationBlock,
    build_position,
    prepare_canvas,
    visualization_result,
)
from visionflow.data.image import Image, VideoMetadata
from visionflow.spec.kinds import (
    BOOLEAN_KIND,
    FLOAT_KIND,
    INTEGER_KIND,
    STRING_KIND,
    VIDEO_METADATA_KIND,
)

BoxPosition = Literal[
    "CENTER",
    "CENTER_LEFT",
    "CENTER_RIGHT",
    "TOP_CENTER",
    "TOP_LEFT",
    "TOP_RIGHT",
    "BOTTOM_LEFT",
    "BOTTOM_CENTER",
    "BOTTOM_RIGHT",
]

#: How many (video, parameters) annotators a step keeps; each holds one video's memory.
_MAX_VIDEO_ANNOTATORS = 256


def video_identifier(image: Image, metadata: VideoMetadata | None = None) -> str:
    """The video a frame belongs to: ``metadata`` when given, else the image's own.

    Images that are not video frames count as a video of their own id, as in the reference.
    """
    if metadata is not None:
        return str(metadata.video_identifier)
    own = image.video_metadata or VideoMetadata.default_for(image.parent_id)
    return str(own.video_identifier)


# ---------------------------------------------------------------------------------------------
# roboflow_core/heatmap_visualization@v1
# ---------------------------------------------------------------------------------------------
class HeatmapVisualizationManifest(PredictionsVisualizationManifest):
    type: Literal["roboflow_core/heatmap_visualization@v1", "HeatmapVisualization"]
    metadata: Optional[DataSelector(VIDEO_METADATA_KIND)] = Field(
        default=None,
        description=(
            "Video metadata whose `video_identifier` keeps one heatmap per video; by default "
            "the image's own video metadata."
        ),
        examples=["$inputs.video_metadata"],
    )
    position: Union[BoxPosition, DataSelector(STRING_KIND)] = Field(
        default="BOTTOM_CENTER",
        description="Point of each box that heats the map.",
        examples=["BOTTOM_CENTER", "$inputs.position"],
    )
    opacity: Union[float, DataSelector(FLOAT_KIND)] = Field(
        default=0.2,
        description="Opacity of the heat overlay, between 0 and 1.",
        examples=[0.2, "$inputs.opacity"],
    )
    radius: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=40,
        description="Radius of the heat spot each detection adds, in pixels.",
        examples=[40, "$inputs.radius"],
    )
    kernel_size: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=25,
        description="Size of the blur applied to the heat.",
        examples=[25, "$inputs.kernel_size"],
    )
    top_hue: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=0,
        description="Hue (OpenCV, 0-179) of the hottest places; 0 is red.",
        examples=[0, "$inputs.top_hue"],
    )
    low_hue: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=125,
        description="Hue (OpenCV, 0-179) of the coolest places; 125 is blue.",
        examples=[125, "$inputs.low_hue"],
    )
    ignore_stationary: Union[bool, DataSelector(BOOLEAN_KIND)] = Field(
        default=True,
        description=(
            "With tracked detections, only objects that moved at least `motion_threshold` "
            "pixels since they were last counted add heat."
        ),
        examples=[True, "$inputs.ignore_stationary"],
    )
    motion_threshold: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=25,
        description="Movement in pixels that makes a tracked object count as moving.",
        examples=[25, "$inputs.motion_threshold"],
    )

    block_info = BlockInfo(
        name="Heatmap Visualization",
        short="Accumulate where objects are, frame after frame, as a heatmap.",
        category="visualization",
    )


class MotionHistory:
    """Last counted position of every track, per video, to tell moving objects from still ones.

    A position is updated only when the object has moved at least the threshold, so slow
    movements add up. Tracks not counted for a minute are forgotten (checked every 10 s).
    """

    STALE_AFTER_S = 60.0
    CLEANUP_EVERY_S = 10.0

    def __init__(self) -> None:
        self._tracks: dict[str, dict[int, tuple[float, float, float]]] = {}
        self._last_cleanup = time.monotonic()
        self._lock = threading.Lock()

    def moving(
        self,
        detections: sv.Detections,
        video_id: str,
        anchor: sv.Position,
        motion_threshold: float,
    ) -> sv.Detections:
        """The detections whose track moved since it was last counted (new tracks do not)."""
        assert detections.tracker_id is not None
        now = time.monotonic()
        anchors = detections.get_anchors_coordinates(anchor=anchor)
        moved: list[int] = []
        with self._lock:
            self._forget_stale(now)
            tracks = self._tracks.setdefault(video_id, {})
            for index, (tracker_id, (x, y)) in enumerate(
                zip(detections.tracker_id.tolist(), anchors.tolist(), strict=True)
            ):
                previous = tracks.get(int(tracker_id))
                if previous is None:
                    tracks[int(tracker_id)] = (x, y, now)
                elif np.hypot(x - previous[0], y - previous[1]) >= motion_threshold:
                    moved.append(index)
                    tracks[int(tracker_id)] = (x, y, now)
        if not moved:
            return sv.Detections.empty()
        return detections[np.asarray(moved)]  # type: ignore[return-value]

    def _forget_stale(self, now: float) -> None:
        if now - self._last_cleanup < self.CLEANUP_EVERY_S:
            return
        for video_id in list(self._tracks):
            tracks = self._tracks[video_id]
            for tracker_id in [t for t, v in tracks.items() if now - v[2] > self.STALE_AFTER_S]:
                del tracks[tracker_id]
            if not tracks:
                del self._tracks[video_id]
        self._last_cleanup = now


@register_block
class HeatmapVisualizationBlock(VisualizationBlock):
    """Adds heat where detections are and draws the heat accumulated for the video so far."""

    manifest = HeatmapVisualizationManifest

    def __init__(self, context: BlockContext) -> None:
        super().__init__(context)
        self.annotators = AnnotatorCache(max_entries=_MAX_VIDEO_ANNOTATORS)
        self._history = MotionHistory()

    def run(
        self,
        image: Image,
        predictions: sv.Detections,
        copy_image: bool,
        position: str,
        opacity: float,
        radius: int,
        kernel_size: int,
        top_hue: int,
        low_hue: int,
        metadata: VideoMetadata | None = None,
        ignore_stationary: bool = True,
        motion_threshold: int = 25,
    ) -> dict[str, Any]:
        video_id = video_identifier(image, metadata)
        anchor = build_position(position)
        to_plot = predictions
        if ignore_stationary and predictions.tracker_id is not None:
            to_plot = self._history.moving(predictions, video_id, anchor, motion_threshold)
        annotator = self.annotator(
            ("heatmap", video_id, position, opacity, radius, kernel_size, top_hue, low_hue),
            lambda: sv.HeatMapAnnotator(
                position=anchor,
                opacity=opacity,
                radius=radius,
                kernel_size=kernel_size,
                top_hue=top_hue,
                low_hue=low_hue,
            ),
        )
        scene = prepare_canvas(image, copy_image)
        return visualization_result(image, annotator.annotate(scene=scene, detections=to_plot))


# ---------------------------------------------------------------------------------------------
# roboflow_core/trace_visualization@v1
# ---------------------------------------------------------------------------------------------
class TraceVisualizationManifest(ColorableVisualizationManifest):
    type: Literal["roboflow_core/trace_visualization@v1"]
    position: Union[PositionName, DataSelector(STRING_KIND)] = Field(
        default="CENTER",
        description="Point of each box whose path is drawn (CENTER_OF_MASS needs masks).",
        examples=["CENTER", "$inputs.text_position"],
    )
    trace_length: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=30,
        description="How many past positions of each track the trace shows (at least 1).",
        examples=[30, "$inputs.trace_length"],
    )
    thickness: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=1,
        description="Thickness of the trace lines in pixels (at least 1).",
        examples=[1, "$inputs.track_thickness"],
    )

    block_info = BlockInfo(
        name="Trace Visualization",
        short="Draw the recent path of each tracked object.",
        category="visualization",
    )

    @field_validator("trace_length", "thickness")
    @classmethod
    def _at_least_one(cls, value: Any) -> Any:
        if isinstance(value, int) and value < 1:
            raise ValueError("trace_length and thickness must be at least 1")
        return value


@register_block
class TraceVisualizationBlock(VisualizationBlock):
    """Draws each tracked object's path over the last ``trace_length`` frames of its video."""

    manifest = TraceVisualizationManifest

    def __init__(self, context: BlockContext) -> None:
        super().__init__(context)
        self.annotators = AnnotatorCache(max_entries=_MAX_VIDEO_ANNOTATORS)

    def run(
        self,
        image: Image,
        predictions: sv.Detections,
        copy_image: bool,
        color_palette: str,
        palette_size: int,
        custom_colors: list[str],
        color_axis: str,
        position: str,
        trace_length: int,
        thickness: int,
    ) -> dict[str, Any]:
        if predictions.tracker_id is None:
            if len(predictions):
                raise ValueError(
                    "trace_visualization needs tracked predictions (with tracker ids): connect "
                    "the output of a tracker block"
                )
            # An empty frame has nothing to track, yet it still advances the traces' window.
            predictions = sv.Detections.empty()
            predictions.tracker_id = np.empty(0, dtype=int)
        annotator = self.colored_annotator(
            color_palette,
            palette_size,
            custom_colors,
            color_axis,
            lambda palette, lookup: sv.TraceAnnotator(
                color=palette,
                position=build_position(position),
                trace_length=trace_length,
                thickness=thickness,
                color_lookup=lookup,
            ),
            "trace",
            video_identifier(image),
            position,
            trace_length,
            thickness,
        )
        return self.draw(image, copy_image, annotator, detections=predictions)


__all__ = [
    "HeatmapVisualizationBlock",
    "HeatmapVisualizationManifest",
    "MotionHistory",
    "TraceVisualizationBlock",
    "TraceVisualizationManifest",
    "video_identifier",
]
