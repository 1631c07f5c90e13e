"""rate_limiter and delta_filter: cooldowns (wall clock and video time), change detection per
video, bounded state, and their gating through the engine."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pytest
import supervision as sv
from pydantic import ValidationError

import visionflow
from visionflow.blocks.base import BlockContext
from visionflow.blocks.flow_control import gates
from visionflow.blocks.flow_control.gates import (
    DeltaFilterBlock,
    RateLimiterBlock,
    RateLimiterManifest,
    values_equal,
)
from visionflow.blocks.registry import default_registry
from visionflow.data.image import Image, VideoMetadata

PIXELS = np.zeros((60, 80, 3), dtype=np.uint8)
NEXT = ["$steps.next"]


class FakeClock:
    """Replaces ``gates.clock`` so cooldowns need no sleeping."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = 1000.0
        monkeypatch.setattr(gates, "clock", lambda: self.now)


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    return FakeClock(monkeypatch)


def _frame(video: str, number: int, fps: float | None = 10.0, parent: str = "image") -> Image:
    metadata = VideoMetadata(
        video_identifier=video, frame_number=number, frame_timestamp=datetime(2024, 1, 1), fps=fps
    )
    return Image(PIXELS, parent_id=parent, video_metadata=metadata)


def _still(parent: str = "image.[0]") -> Image:
    return Image(PIXELS, parent_id=parent)


def _passes(decision: Any) -> bool:
    return decision.next_steps == tuple(NEXT)


# ---------------------------------------------------------------------------------------------
# rate_limiter
# ---------------------------------------------------------------------------------------------
def _limiter() -> RateLimiterBlock:
    return RateLimiterBlock(BlockContext("limit", "roboflow_core/rate_limiter@v1"))


@pytest.mark.parametrize(
    ("cooldown", "times", "expected"),
    [
        (1.0, [], []),  # nothing arrives: nothing passes
        (1.0, [0.0], [True]),
        (1.0, [0.0, 0.0, 0.5, 0.99, 1.0, 1.5, 2.0], [True, False, False, False, True, False, True]),
        (0.0, [0.0, 0.0, 0.0], [True, True, True]),
        (5.0, [0.0, 4.0, 8.0, 10.0], [True, False, True, False]),  # measured from the last pass
    ],
)
def test_rate_limiter_wall_clock(
    fake_clock: FakeClock, cooldown: float, times: list[float], expected: list[bool]
) -> None:
    block = _limiter()
    decisions = []
    for offset in times:
        fake_clock.now = 1000.0 + offset
        decisions.append(_passes(block.run(cooldown, 1, NEXT, None)))
    assert decisions == expected


def test_rate_limiter_without_next_steps_passes_nothing(fake_clock: FakeClock) -> None:
    assert _limiter().run(1.0, 1, [], None).next_steps == ()


def test_rate_limiter_uses_video_time_of_frames(fake_clock: FakeClock) -> None:
    block = _limiter()
    # 10 fps: frames 0, 9, 10, 15, 20 are at 0, 0.9, 1.0, 1.5, 2.0 s; the wall clock stands still
    passed = [_passes(block.run(1.0, 1, NEXT, _frame("cam", n))) for n in (0, 9, 10, 15, 20)]
    assert passed == [True, False, True, False, True]


def test_rate_limiter_keeps_video_time_per_video(fake_clock: FakeClock) -> None:
    block = _limiter()
    assert _passes(block.run(1.0, 1, NEXT, _frame("a", 100)))
    # another stream at an earlier video time is not held back by the first one's passes
    assert _passes(block.run(1.0, 1, NEXT, _frame("b", 3)))
    assert not _passes(block.run(1.0, 1, NEXT, _frame("a", 105)))
    assert not _passes(block.run(1.0, 1, NEXT, _frame("b", 8)))


@pytest.mark.parametrize("image", [_still(), _frame("cam", 50, fps=None), _frame("cam", 50, fps=0)])
def test_rate_limiter_falls_back_to_the_clock_without_video_time(
    fake_clock: FakeClock, image: Image
) -> None:
    block = _limiter()
    assert _passes(block.run(1.0, 1, NEXT, image))
    assert not _passes(block.run(1.0, 1, NEXT, image))
    fake_clock.now += 1.0
    assert _passes(block.run(1.0, 1, NEXT, image))


def test_rate_limiter_manifest() -> None:
    entry = default_registry.get("roboflow_core/rate_limiter@v1")
    assert entry.manifest is RateLimiterManifest
    manifest = RateLimiterManifest.model_validate(
        {
            "type": "roboflow_core/rate_limiter@v1",
            "name": "limit",
            "depends_on": "$steps.model.predictions",
            "next_steps": ["$steps.upload"],
        }
    )
    assert manifest.cooldown_seconds == 1.0
    assert manifest.video_reference_image is None
    with pytest.raises(ValidationError, match="cooldown_seconds"):
        RateLimiterManifest.model_validate({**manifest.model_dump(), "cooldown_seconds": -1})
    with pytest.raises(ValidationError, match="depends_on"):
        RateLimiterManifest.model_validate({**manifest.model_dump(), "depends_on": 5})


# ---------------------------------------------------------------------------------------------
# delta_filter
# ---------------------------------------------------------------------------------------------
def _delta() -> DeltaFilterBlock:
    return DeltaFilterBlock(BlockContext("changed", "roboflow_core/delta_filter@v1"))


def _boxes(x: float) -> sv.Detections:
    return sv.Detections(
        xyxy=np.array([[x, 0.0, x + 10.0, 10.0]]),
        class_id=np.array([1]),
        data={"class_name": np.array(["dog"])},
    )


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], []),  # no values: no decisions
        ([1, 1, 2, 2, 1], [True, False, True, False, True]),
        ([None, None, 0], [False, False, True]),  # a first None is "no change", as in the reference
        (["a", "a", "b"], [True, False, True]),
        ([1, 1.0, True], [True, False, False]),  # Python equality
        ([[1, 2], [1, 2], (1, 2)], [True, False, True]),
        ([np.array([1, 2]), np.array([1, 2]), np.array([1, 3])], [True, False, True]),
        ([{"k": np.array([1])}, {"k": np.array([1])}, {"k": np.array([2])}], [True, False, True]),
        ([_boxes(0), _boxes(0), _boxes(5)], [True, False, True]),
        ([sv.Detections.empty(), sv.Detections.empty(), _boxes(0)], [True, False, True]),
    ],
)
def test_delta_filter_passes_on_change(values: list, expected: list[bool]) -> None:
    block = _delta()
    assert [_passes(block.run(_frame("cam", i), v, NEXT)) for i, v in enumerate(values)] == expected


def test_delta_filter_keeps_a_value_per_video() -> None:
    block = _delta()
    decide = lambda video, value: _passes(block.run(_frame(video, 0), value, NEXT))  # noqa: E731
    assert [decide("a", 1), decide("b", 1), decide("a", 1), decide("b", 2)] == [
        True,
        True,
        False,
        True,
    ]


def test_delta_filter_treats_each_still_image_as_its_own_video() -> None:
    block = _delta()
    assert _passes(block.run(_still("image.[0]"), 1, NEXT))
    assert _passes(block.run(_still("image.[1]"), 1, NEXT))
    assert not _passes(block.run(_still("image.[0]"), 1, NEXT))


def test_gate_state_forgets_the_least_recently_seen_video(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gates, "MAX_TRACKED_VIDEOS", 2)
    block = _delta()
    for video in ("a", "b", "a", "c"):  # "b" is now the least recently seen, and is dropped
        block.run(_frame(video, 0), 1, NEXT)
    assert not _passes(block.run(_frame("a", 1), 1, NEXT))
    assert _passes(block.run(_frame("b", 1), 1, NEXT))


@pytest.mark.parametrize(
    ("first", "second", "equal"),
    [
        (None, None, True),
        (None, 0, False),
        (np.array([1, 2]), [1, 2], True),
        (np.array([1, 2]), None, False),
        (np.zeros((2, 2)), np.zeros((2, 3)), False),
        ({"a": 1}, {"a": 1, "b": 2}, False),
        ([np.array([1])], [np.array([1]), 2], False),
        (_boxes(1), _boxes(1), True),
        (_boxes(1), "boxes", False),
    ],
)
def test_values_equal(first: Any, second: Any, equal: bool) -> None:
    assert values_equal(first, second) is equal
    assert values_equal(second, first) is equal


# ---------------------------------------------------------------------------------------------
# through the engine
# ---------------------------------------------------------------------------------------------
def _workflow(gate: dict, value_input: dict) -> dict:
    return {
        "version": "1.0",
        "inputs": [{"type": "WorkflowImage", "name": "image"}, value_input],
        "steps": [
            {**gate, "name": "gate", "next_steps": ["$steps.crop"]},
            {
                "type": "roboflow_core/absolute_static_crop@v1",
                "name": "crop",
                "images": "$inputs.image",
                "x_center": 20,
                "y_center": 20,
                "width": 10,
                "height": 10,
            },
        ],
        "outputs": [{"type": "JsonField", "name": "crop", "selector": "$steps.crop.crops"}],
    }


def _ran(rows: list[dict]) -> list[bool]:
    return [row["crop"] is not None for row in rows]


def _frame_input(video: str, number: int) -> dict:
    return {
        "type": "numpy_object",
        "value": PIXELS,
        "video_metadata": {"video_identifier": video, "frame_number": number, "fps": 10},
    }


RATE_LIMITER = {"type": "roboflow_core/rate_limiter@v1", "depends_on": "$inputs.v"}
BATCH_V = {"type": "WorkflowBatchInput", "name": "v"}


def test_rate_limiter_decides_per_element_in_order(fake_clock: FakeClock) -> None:
    workflow = visionflow.Workflow.load(_workflow({**RATE_LIMITER, "cooldown_seconds": 2}, BATCH_V))
    assert _ran(workflow.run(image=[PIXELS] * 3, v=[1, 2, 3])) == [True, False, False]
    fake_clock.now += 1
    assert _ran(workflow.run(image=[PIXELS] * 2, v=[1, 2])) == [False, False]
    fake_clock.now += 1
    assert _ran(workflow.run(image=[PIXELS] * 2, v=[1, 2])) == [True, False]


def test_rate_limiter_skips_elements_without_a_value(fake_clock: FakeClock) -> None:
    workflow = visionflow.Workflow.load(_workflow(RATE_LIMITER, BATCH_V))
    # the masked first element does not use up the pass
    assert _ran(workflow.run(image=[PIXELS] * 3, v=[None, 1, 2])) == [False, True, False]


def test_rate_limiter_in_video_time_through_the_engine(fake_clock: FakeClock) -> None:
    gate = {**RATE_LIMITER, "video_reference_image": "$inputs.image"}
    workflow = visionflow.Workflow.load(_workflow(gate, BATCH_V))
    frames = [_frame_input("cam", n) for n in (0, 5, 10, 12, 20)]
    assert _ran(workflow.run(image=frames, v=[1] * 5)) == [True, False, True, False, True]


def test_rate_limiter_on_a_scalar_gates_the_whole_branch(fake_clock: FakeClock) -> None:
    expression = {
        "type": "roboflow_core/expression@v1",
        "name": "scalar",
        "data": {"t": "$inputs.v"},
        "switch": {
            "type": "CasesDefinition",
            "cases": [],
            "default": {"type": "DynamicCaseResult", "parameter_name": "t"},
        },
    }
    document = _workflow(
        {**RATE_LIMITER, "depends_on": "$steps.scalar.output"},
        {"type": "WorkflowParameter", "name": "v"},
    )
    document["steps"].insert(0, expression)
    engine = visionflow.ExecutionEngine.init(workflow_definition=document)
    run = lambda: _ran(engine.run(runtime_parameters={"image": [PIXELS] * 3, "v": 1}))  # noqa: E731
    assert run() == [True, True, True]
    assert run() == [False, False, False]
    fake_clock.now += 1
    assert run() == [True, True, True]


def test_delta_filter_through_the_engine_per_video() -> None:
    gate = {"type": "roboflow_core/delta_filter@v1", "image": "$inputs.image", "value": "$inputs.v"}
    workflow = visionflow.Workflow.load(_workflow(gate, BATCH_V))

    def run(number: int, values: list) -> list[bool]:
        images = [_frame_input("a", number), _frame_input("b", number)]
        return _ran(workflow.run(image=images, v=values))

    assert run(0, [1, 1]) == [True, True]
    assert run(1, [1, 2]) == [False, True]
    assert run(2, [None, 2]) == [False, False]  # no value: no decision, the last one is kept
    assert run(3, [2, 2]) == [True, False]
