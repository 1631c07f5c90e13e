"""buffer, frame_delay and image_stack: state kept across runs of one engine, per video."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

import visionflow
from visionflow.blocks.base import BlockContext
from visionflow.blocks.fusion.temporal import (
    MAX_TRACKED_VIDEOS,
    BufferBlock,
    FrameDelayBlock,
    FrameDelayManifest,
    ImageStackBlock,
    ImageStackManifest,
    compress_frame,
)
from visionflow.blocks.registry import default_registry
from visionflow.data.image import Image, VideoMetadata


def _frame(video: str, number: int, shape: tuple[int, int] = (40, 60)) -> Image:
    pixels = np.full((*shape, 3), number % 256, dtype=np.uint8)
    return Image(pixels, parent_id="image", video_metadata=VideoMetadata(video, number, fps=30))


def _video_input(video: str, number: int, shape: tuple[int, int] = (40, 60)) -> dict[str, Any]:
    return {
        "type": "numpy_object",
        "value": np.full((*shape, 3), number % 256, dtype=np.uint8),
        "video_metadata": {"video_identifier": video, "frame_number": number, "fps": 30},
    }


# -- buffer ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("values", "length", "pad", "expected"),
    [
        ([], 3, True, None),  # nothing pushed yet: no output to look at
        (["a"], 3, False, ["a"]),
        (["a"], 3, True, ["a", None, None]),
        (["a", "b", "c", "d"], 2, False, ["d", "c"]),
        (["a", "b"], 0, True, []),
        (["a", "b"], -2, False, []),
    ],
)
def test_buffer_keeps_newest_first(
    values: list[str], length: int, pad: bool, expected: list[Any] | None
) -> None:
    block = BufferBlock(BlockContext("buffer", "roboflow_core/buffer@v1"))
    output = None
    for value in values:
        output = block.run(data=value, length=length, pad=pad)["output"]
    assert output == expected


def test_buffer_output_is_a_snapshot() -> None:
    block = BufferBlock(BlockContext("buffer", "roboflow_core/buffer@v1"))
    first = block.run(data=1, length=2, pad=False)["output"]
    block.run(data=2, length=2, pad=False)
    assert first == [1]


def test_buffer_across_runs_of_one_engine() -> None:
    workflow = visionflow.Workflow.load(
        {
            "version": "1.0",
            "inputs": [{"type": "WorkflowImage", "name": "image"}],
            "steps": [
                {"type": "Buffer", "name": "buf", "data": "$inputs.image", "length": 2},
            ],
            "outputs": [{"type": "JsonField", "name": "history", "selector": "$steps.buf.output"}],
        }
    )
    sizes = []
    for number in range(3):
        (result,) = workflow.run(image=_video_input("cam", number, shape=(10 + number, 20)))
        sizes.append([image.height for image in result["history"]])
    assert sizes == [[10], [11, 10], [12, 11]]


# -- frame_delay ----------------------------------------------------------------------------
def test_frame_delay_aliases() -> None:
    for alias in ("FrameDelay", "TimeTravel", "roboflow_core/time_travel@v1"):
        assert default_registry.get(alias).identifier == "roboflow_core/frame_delay@v1"


@pytest.mark.parametrize("offset", [1, -257])
def test_frame_delay_refuses_offsets_out_of_range(offset: int) -> None:
    with pytest.raises(ValidationError, match="offset"):
        FrameDelayManifest.model_validate(
            {
                "type": "FrameDelay",
                "name": "d",
                "image": "$inputs.image",
                "data": "$inputs.x",
                "offset": offset,
            }
        )
    block = FrameDelayBlock(BlockContext("d", "roboflow_core/frame_delay@v1"))
    with pytest.raises(ValueError, match="offset"):
        block.run(image=_frame("v", 0), data=1, offset=offset)


@pytest.mark.parametrize(
    ("frames", "offset", "output", "available"),
    [
        ([0], -1, "default", False),  # nothing earlier yet
        ([0], 0, "v0", True),
        ([0, 1, 2], -2, "v0", True),
        ([0, 2], -1, "default", False),  # frame 1 never came
        ([5, 6, 7], -2, "v5", True),
        ([5, 6, 7, 8], -4, "default", False),
    ],
)
def test_frame_delay_looks_back_in_one_video(
    frames: list[int], offset: int, output: Any, available: bool
) -> None:
    block = FrameDelayBlock(BlockContext("d", "roboflow_core/frame_delay@v1"))
    for number in frames:
        result = block.run(
            image=_frame("v", number), data=f"v{number}", offset=offset, default_value="default"
        )
    assert result == {
        "output": output,
        "is_available": available,
        "reference_frame_number": frames[-1],
    }


def test_frame_delay_keeps_videos_apart_and_resets_on_restart() -> None:
    block = FrameDelayBlock(BlockContext("d", "roboflow_core/frame_delay@v1"))
    block.run(image=_frame("a", 0), data="a0", offset=-1)
    block.run(image=_frame("b", 0), data="b0", offset=-1)
    assert block.run(image=_frame("a", 1), data="a1", offset=-1)["output"] == "a0"
    assert block.run(image=_frame("b", 1), data="b1", offset=-1)["output"] == "b0"
    # frame numbers going back: a new stream under the same name
    assert block.run(image=_frame("a", 0), data="new", offset=-1)["is_available"] is False
    assert block.run(image=_frame("a", 1), data="new1", offset=-1)["output"] == "new"


def test_frame_delay_forgets_least_recent_videos() -> None:
    block = FrameDelayBlock(BlockContext("d", "roboflow_core/frame_delay@v1"))
    for index in range(MAX_TRACKED_VIDEOS + 1):
        block.run(image=_frame(f"v{index}", 0), data=index, offset=-1)
    assert block.run(image=_frame("v0", 1), data="x", offset=-1)["is_available"] is False
    assert block.run(image=_frame("v2", 1), data="x", offset=-1)["output"] == 2


def test_frame_delay_across_runs_of_one_engine() -> None:
    workflow = visionflow.Workflow.load(
        {
            "version": "1.0",
            "inputs": [
                {"type": "WorkflowImage", "name": "image"},
                {"type": "WorkflowBatchInput", "name": "count"},
            ],
            "steps": [
                {
                    "type": "TimeTravel",
                    "name": "prev",
                    "image": "$inputs.image",
                    "data": "$inputs.count",
                    "offset": -1,
                    "default_value": -1,
                },
            ],
            "outputs": [{"type": "JsonField", "name": "prev", "selector": "$steps.prev.*"}],
        }
    )
    outputs = [
        workflow.run(image=_video_input("cam", n), count=n * 10)[0]["prev"] for n in range(3)
    ]
    assert [(o["output"], o["is_available"], o["reference_frame_number"]) for o in outputs] == [
        (-1, False, 0),
        (0, True, 1),
        (10, True, 2),
    ]


# -- image_stack ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("shape", "limits", "expected"),
    [
        ((1, 1), (64, 64), (1, 1)),  # smallest frame: kept as it is
        ((100, 200), (1920, 1080), (100, 200)),
        ((100, 200), (100, 1080), (50, 100)),
        ((400, 200), (1920, 100), (100, 50)),
    ],
)
def test_compress_frame_scales_down_only(
    shape: tuple[int, int], limits: tuple[int, int], expected: tuple[int, int]
) -> None:
    encoded = compress_frame(np.zeros((*shape, 3), dtype=np.uint8), *limits)
    decoded = cv2.imdecode(np.frombuffer(encoded, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape[:2] == expected


@pytest.mark.parametrize("field", ["stack_size", "resolution_width", "resolution_height"])
def test_image_stack_bounds(field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        ImageStackManifest.model_validate(
            {
                "type": "roboflow_core/image_stack@v1",
                "name": "s",
                "image": "$inputs.image",
                field: 0,
            }
        )


def _stack(
    block: ImageStackBlock, image: Image, size: int = 3, clear: bool = False
) -> dict[str, Any]:
    return block.run(
        image=image, stack_size=size, resolution_width=1920, resolution_height=1080, clear=clear
    )


def _values(frames: list[bytes]) -> list[int]:
    return [
        int(cv2.imdecode(np.frombuffer(f, np.uint8), cv2.IMREAD_COLOR)[0, 0, 0]) for f in frames
    ]


def test_image_stack_per_video_newest_first_and_clear() -> None:
    block = ImageStackBlock(BlockContext("s", "roboflow_core/image_stack@v1"))
    for number in range(4):
        result = _stack(block, _frame("a", number * 50))
    assert result["frames_count"] == 3
    assert _values(result["frames"]) == [150, 100, 50]
    assert _stack(block, _frame("b", 200))["frames_count"] == 1
    cleared = _stack(block, _frame("a", 250), clear=True)
    assert _values(cleared["frames"]) == [250]


def test_image_stack_smaller_size_keeps_newest() -> None:
    block = ImageStackBlock(BlockContext("s", "roboflow_core/image_stack@v1"))
    for number in (10, 20, 30):
        _stack(block, _frame("a", number), size=3)
    result = _stack(block, _frame("a", 40), size=2)
    assert _values(result["frames"]) == [40, 30]


def test_still_images_are_videos_of_their_own() -> None:
    block = ImageStackBlock(BlockContext("s", "roboflow_core/image_stack@v1"))
    still = Image(np.zeros((8, 8, 3), dtype=np.uint8), parent_id="image")
    other = Image(np.zeros((8, 8, 3), dtype=np.uint8), parent_id="image.[1]")
    assert _stack(block, still)["frames_count"] == 1
    assert _stack(block, other)["frames_count"] == 1
    assert _stack(block, still)["frames_count"] == 2
