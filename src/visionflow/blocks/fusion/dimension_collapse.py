"""``dimension_collapse``: gather the values of one level (e.g. one per crop) into a list per
parent element (one per image)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from visionflow.blocks.base import Batch, Block, BlockInfo, BlockManifest, DataSelector, Output
from visionflow.blocks.registry import register_block
from visionflow.spec.kinds import LIST_OF_VALUES_KIND


class DimensionCollapseManifest(BlockManifest):
    type: Literal["roboflow_core/dimension_collapse@v1", "DimensionCollapse"]
    data: DataSelector() = Field(
        description="Nested values to gather, one list per parent element.",
        examples=[
            "$steps.classification_step.predictions",
            "$steps.ocr_step.results",
        ],
    )

    block_info = BlockInfo(
        name="Dimension Collapse",
        short="Gather nested values (one per crop) into one list per image.",
        category="fusion",
    )
    outputs = (Output("output", LIST_OF_VALUES_KIND),)
    # No batch_fields: like the reference it does not declare batch input (describe shows
    # accepts_batch_input false); the engine hands a collapsing step its children as a Batch.
    output_dimensionality_offset = -1


@register_block
class DimensionCollapseBlock(Block):
    """``output`` = the children's values, in index order."""

    manifest = DimensionCollapseManifest

    def run(self, data: Batch[Any]) -> dict[str, Any]:
        return {"output": list(data)}


__all__ = ["DimensionCollapseBlock", "DimensionCollapseManifest"]
