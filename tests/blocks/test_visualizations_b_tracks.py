"""Heatmap and trace visualizations: state accumulates per video, never across videos."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import supervision as sv
from pydantic import ValidationError

from visionflow.blocks.base import BlockContext
from visionflow.blocks.visualizations.tracks import (
    HeatmapVisualizationBlock,
    MotionHistory,
    TraceVisualizationBlock,
    TraceVisualizationManifest,
    video_identifier,
)
from visionflow.data.image import Image, VideoMetadata

HEIGHT, WIDTH = 120, 200


def _frame(video: str | None = "cam", value: int = 50) -> Image:
    metadata = None if video is None else VideoMetadata(video_identifier=video, frame_number=0)
    array = np.full((HEIGHT, WIDTH, 3), value, dtype=np.uint8)
    return Image(array, parent_id="image", video_metadata=metadata)


def _boxes(x_offsets: list[float], tracker_ids: list[int] | None = None) -> sv.Detections:
    if not x_offsets:
        return sv.Detections.empty()
    xyxy = np.array([[x, 40.0, x + 20.0, 80.0] for x in x_offsets])
    return sv.Detections(
        xyxy=xyxy,
        class_id=np.zeros(len(x_offsets), dtype=int),
        confidence=np.full(len(x_offsets), 0.9),
        tracker_id=None if tracker_ids is None else np.array(tracker_ids),
    )


def _block(cls: type) -> Any:
    return cls(BlockContext(step_name="viz", block_type="test"))


def _changed(before: Image, after: Image) -> np.ndarray:
    return np.any(before.numpy_image != after.numpy_image, axis=2)


# ---------------------------------------------------------------------------------------------
# heatmap_visualization
# ---------------------------------------------------------------------------------------------
HEAT_DEFAULTS: dict[str, Any] = {
    "copy_image": True,
    "position": "CENTER",
    "opacity": 0.5,
    "radius": 10,
    "kernel_size": 5,
    "top_hue": 0,
    "low_hue": 125,
    "motion_threshold": 25,
}


def _heat(block: HeatmapVisualizationBlock, image: Image, detections, **overrides) -> Image:
    return block.run(image, detections, **{**HEAT_DEFAULTS, **overrides})["image"]


@pytest.mark.parametrize(
    ("detections", "ignore_stationary", "heated"),
    [
        (_boxes([]), True, False),
        (_boxes([20]), True, True),
        (_boxes([20], tracker_ids=[1]), True, False),
        (_boxes([20], tracker_ids=[1]), False, True),
    ],
    ids=["no detections", "untracked", "new track (not moving yet)", "track, stationary kept"],
)
def test_heatmap_first_frame(detections, ignore_stationary, heated) -> None:
    image = _frame()
    out = _heat(
        _block(HeatmapVisualizationBlock), image, detections, ignore_stationary=ignore_stationary
    )
    changed = _changed(image, out)
    assert changed[60, 30] == heated, "heat at the box centre"
    assert not changed[:, 150:].any(), "no heat far from the detections"


def test_heatmap_counts_a_track_once_it_moved_and_keeps_old_heat() -> None:
    block = _block(HeatmapVisualizationBlock)
    first = _heat(block, _frame(), _boxes([20], tracker_ids=[1]), ignore_stationary=True)
    assert not _changed(_frame(), first).any()
    moved = _heat(block, _frame(), _boxes([120], tracker_ids=[1]), ignore_stationary=True)
    assert _changed(_frame(), moved)[60, 130]
    # nothing detected: the accumulated heat is still drawn
    later = _heat(block, _frame(), _boxes([]), ignore_stationary=True)
    assert _changed(_frame(), later)[60, 130]


def test_heatmap_state_is_per_video() -> None:
    block = _block(HeatmapVisualizationBlock)
    _heat(block, _frame("a"), _boxes([20]), ignore_stationary=False)
    other = _heat(block, _frame("b"), _boxes([]), ignore_stationary=False)
    assert not _changed(_frame("b"), other).any(), "video b has no heat of video a"
    again = _heat(block, _frame("a"), _boxes([]), ignore_stationary=False)
    assert _changed(_frame("a"), again)[60, 30]


def test_heatmap_metadata_input_names_the_video() -> None:
    block = _block(HeatmapVisualizationBlock)
    metadata = VideoMetadata(video_identifier="shared", frame_number=0)
    _heat(block, _frame("a"), _boxes([20]), ignore_stationary=False, metadata=metadata)
    out = _heat(block, _frame("b"), _boxes([]), ignore_stationary=False, metadata=metadata)
    assert _changed(_frame("b"), out)[60, 30]


def test_motion_history_forgets_stale_tracks(monkeypatch: pytest.MonkeyPatch) -> None:
    history = MotionHistory()
    clock = [1000.0]
    monkeypatch.setattr("visionflow.blocks.visualizations.tracks.time.monotonic", lambda: clock[0])
    history._last_cleanup = clock[0]
    history.moving(_boxes([0], tracker_ids=[5]), "cam", sv.Position.CENTER, 5)
    clock[0] += 61
    # the old position was forgotten: a big jump counts as a first sighting, not a movement
    assert len(history.moving(_boxes([100], tracker_ids=[5]), "cam", sv.Position.CENTER, 5)) == 0


def test_video_identifier_defaults() -> None:
    assert video_identifier(_frame("cam")) == "cam"
    assert video_identifier(_frame(None)) == "image"
    metadata = VideoMetadata(video_identifier="x", frame_number=1)
    assert video_identifier(_frame("cam"), metadata) == "x"


# ---------------------------------------------------------------------------------------------
# trace_visualization
# ---------------------------------------------------------------------------------------------
TRACE_DEFAULTS: dict[str, Any] = {
    "copy_image": True,
    "color_palette": "CUSTOM",
    "palette_size": 10,
    "custom_colors": ["#FF0000"],
    "color_axis": "TRACK",
    "position": "CENTER",
    "trace_length": 30,
    "thickness": 2,
}


def _trace(block: TraceVisualizationBlock, image: Image, detections) -> Image:
    return block.run(image, detections, **TRACE_DEFAULTS)["image"]


@pytest.mark.parametrize(
    ("frames", "drawn"),
    [
        ([_boxes([])], False),
        ([_boxes([20], tracker_ids=[1])], False),
        ([_boxes([20], tracker_ids=[1]), _boxes([120], tracker_ids=[1])], True),
        ([_boxes([20], tracker_ids=[1]), _boxes([120], tracker_ids=[2])], False),
    ],
    ids=["no detections", "one position", "a track that moved", "two different tracks"],
)
def test_trace_draws_the_path_of_each_track(frames, drawn) -> None:
    block = _block(TraceVisualizationBlock)
    for detections in frames:
        image = _frame()
        out = _trace(block, image, detections)
    changed = _changed(image, out)
    # the path goes from centre (30, 60) to centre (130, 60): red in BGR
    assert changed[60, 80] == drawn
    if drawn:
        assert out.numpy_image[60, 80].tolist() == [0, 0, 255]
    assert not changed[:30].any()


def test_trace_state_is_per_video() -> None:
    block = _block(TraceVisualizationBlock)
    _trace(block, _frame("a"), _boxes([20], tracker_ids=[1]))
    out = _trace(block, _frame("b"), _boxes([120], tracker_ids=[1]))
    assert not _changed(_frame("b"), out)[60, 80], "a track of video a is not joined in video b"


def test_trace_needs_tracker_ids() -> None:
    with pytest.raises(ValueError, match="tracker"):
        _trace(_block(TraceVisualizationBlock), _frame(), _boxes([20]))


def test_trace_manifest_bounds() -> None:
    with pytest.raises(ValidationError, match="at least 1"):
        TraceVisualizationManifest.model_validate(
            {
                "type": "roboflow_core/trace_visualization@v1",
                "name": "t",
                "image": "$inputs.image",
                "predictions": "$steps.tracker.tracked_detections",
                "trace_length": 0,
            }
        )
