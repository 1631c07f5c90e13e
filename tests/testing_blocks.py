"""Blocks used only by tests, registered through the public block API (``test/...``)."""

from __future__ import annotations

from typing import Any, Literal, Union

from visionflow.blocks import (
    Batch,
    Block,
    BlockInfo,
    BlockManifest,
    DataSelector,
    FlowControl,
    Output,
    StepSelector,
    default_registry,
)


class EchoManifest(BlockManifest):
    type: Literal["test/echo@v1", "TestEcho"]
    value: Union[DataSelector(), int, float, str, None] = None
    block_info = BlockInfo(name="Echo", short="Returns its input")
    outputs = (Output("value", "*"),)
    accepts_empty_values = False


class EchoBlock(Block):
    manifest = EchoManifest

    def run(self, value: Any) -> dict[str, Any]:
        return {"value": value}


class AddManifest(BlockManifest):
    type: Literal["test/add@v1"]
    a: Union[DataSelector("integer", "float"), int, float]
    b: Union[DataSelector("integer", "float"), int, float] = 0
    block_info = BlockInfo(name="Add", short="a + b, element-wise")
    outputs = (Output("sum", "integer"),)


class AddBlock(Block):
    manifest = AddManifest

    def run(self, a: float, b: float) -> dict[str, Any]:
        return {"sum": a + b}


class BatchAddManifest(BlockManifest):
    type: Literal["test/batch_add@v1"]
    a: Union[DataSelector("integer"), int]
    b: Union[DataSelector("integer"), int] = 0
    block_info = BlockInfo(name="Batch add", short="a + b over whole batches (b a scalar)")
    outputs = (Output("sum", "integer"),)
    batch_fields = ("a",)


class BatchAddBlock(Block):
    manifest = BatchAddManifest
    calls: list[int] = []

    def run(self, a: Batch[int], b: int) -> list[dict[str, Any]]:
        BatchAddBlock.calls.append(len(a))
        return [{"sum": x + b} for x in a]


class SplitManifest(BlockManifest):
    type: Literal["test/split@v1"]
    count: DataSelector("integer")
    block_info = BlockInfo(name="Split", short="n -> n children 0..n-1 (one level deeper)")
    outputs = (Output("item", "integer"),)
    output_dimensionality_offset = 1


class SplitBlock(Block):
    manifest = SplitManifest

    def run(self, count: int) -> list[dict[str, Any]]:
        return [{"item": i} for i in range(count)]


class CollectManifest(BlockManifest):
    type: Literal["test/collect@v1"]
    values: DataSelector()
    block_info = BlockInfo(name="Collect", short="children -> list (one level up)")
    outputs = (Output("values", "list_of_values"),)
    output_dimensionality_offset = -1
    batch_fields = ("values",)


class CollectBlock(Block):
    manifest = CollectManifest

    def run(self, values: Batch[Any]) -> dict[str, Any]:
        return {"values": list(values)}


class CountChildrenManifest(BlockManifest):
    type: Literal["test/count_children@v1"]
    parent: DataSelector()
    children: DataSelector()
    block_info = BlockInfo(name="Count children", short="children one level deeper")
    outputs = (Output("count", "integer"),)
    input_dimensionality_offsets = {"children": 1}
    dimensionality_reference = "parent"


class CountChildrenBlock(Block):
    manifest = CountChildrenManifest

    def run(self, parent: Any, children: Batch[Any]) -> dict[str, Any]:
        return {"count": len(children)}


class GateManifest(BlockManifest):
    type: Literal["test/gate@v1"]
    value: Union[DataSelector(), int]
    threshold: int = 0
    next_steps: list[StepSelector]
    block_info = BlockInfo(name="Gate", short="continue when value > threshold")
    is_flow_control = True


class GateBlock(Block):
    manifest = GateManifest

    def run(self, value: int, threshold: int, next_steps: list[str]) -> FlowControl:
        return FlowControl(tuple(next_steps) if value > threshold else ())


class FailManifest(BlockManifest):
    type: Literal["test/fail@v1"]
    value: DataSelector()
    fail_on: Any = None
    block_info = BlockInfo(name="Fail", short="raises on a value")
    outputs = (Output("value", "*"),)


class FailBlock(Block):
    manifest = FailManifest

    def run(self, value: Any, fail_on: Any) -> dict[str, Any]:
        if value == fail_on:
            raise ValueError(f"cannot handle {value!r}")
        return {"value": value}


class ImageSizeManifest(BlockManifest):
    type: Literal["test/image_size@v1"]
    image: DataSelector("image")
    block_info = BlockInfo(name="Image size", short="width and height")
    outputs = (Output("width", "integer"), Output("height", "integer"))
    batch_fields = ("image",)


class ImageSizeBlock(Block):
    manifest = ImageSizeManifest

    def run(self, image: Batch[Any]) -> list[dict[str, Any]]:
        return [{"width": i.width, "height": i.height} for i in image]


class SleepManifest(BlockManifest):
    type: Literal["test/sleep@v1"]
    value: Union[DataSelector(), int, float, str, None] = None
    seconds: float = 0.05
    block_info = BlockInfo(name="Sleep", short="sleeps, then echoes")
    outputs = (Output("value", "*"),)


class SleepBlock(Block):
    manifest = SleepManifest

    def run(self, value: Any, seconds: float) -> dict[str, Any]:
        import time

        time.sleep(seconds)
        return {"value": value}


TESTING_BLOCKS = [
    EchoBlock,
    AddBlock,
    BatchAddBlock,
    SplitBlock,
    CollectBlock,
    CountChildrenBlock,
    GateBlock,
    FailBlock,
    ImageSizeBlock,
    SleepBlock,
]


def register_testing_blocks() -> None:
    for block in TESTING_BLOCKS:
        if not default_registry.contains(block.manifest.identifier()):
            default_registry.register(block, source="plugin:tests")
