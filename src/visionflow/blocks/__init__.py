"""The block catalogue and the block authoring API."""

from visionflow.blocks.base import (
    Batch,
    Block,
    BlockContext,
    BlockInfo,
    BlockManifest,
    DataSelector,
    FlowControl,
    InputSelector,
    Output,
    StepOutputSelector,
    StepSelector,
)
from visionflow.blocks.registry import (
    BlockRegistry,
    default_registry,
    describe_blocks,
    register_block,
)

__all__ = [
    "Batch",
    "Block",
    "BlockContext",
    "BlockInfo",
    "BlockManifest",
    "BlockRegistry",
    "DataSelector",
    "FlowControl",
    "InputSelector",
    "Output",
    "StepOutputSelector",
    "StepSelector",
    "default_registry",
    "describe_blocks",
    "register_block",
]
