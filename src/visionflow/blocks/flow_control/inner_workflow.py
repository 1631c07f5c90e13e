"""``inner_workflow``: a workflow used as a step of another.

The compiler inlines the child's steps into the parent (``visionflow.compiler.inner_workflows``),
so this manifest describes and validates the step; nothing runs under its own name.
"""

from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import Field, model_validator

from visionflow.blocks.base import Block, BlockInfo, BlockManifest, DataSelector, Output


class InnerWorkflowManifest(BlockManifest):
    type: Literal["roboflow_core/inner_workflow@v1"]
    execution_mode: Literal["embedded", "remote_dispatch"] = Field(
        default="embedded",
        description="'embedded' inlines the child workflow (the only mode visionflow runs).",
    )
    remote_target: Optional[str] = Field(default=None, description="Not used (local only).")
    workflow_definition: Optional[dict[str, Any]] = Field(
        default=None, description="The child workflow definition, inline."
    )
    workflow_workspace_id: Optional[str] = Field(
        default=None, description="Saved workflow's workspace."
    )
    workflow_id: Optional[str] = Field(default=None, description="Saved workflow's id.")
    workflow_version_id: Optional[str] = Field(
        default=None, description="Saved workflow's version."
    )
    parameter_bindings: dict[str, DataSelector()] = Field(
        default_factory=dict,
        description="Child input name -> parent selector. Child parameters with a default may be "
        "left out.",
        examples=[{"image": "$inputs.image", "threshold": "$inputs.threshold"}],
    )

    block_info = BlockInfo(
        name="Inner Workflow",
        short="Run another workflow as a step (its steps are inlined).",
        category="flow_control",
    )
    outputs = (Output("*", "*"),)

    @model_validator(mode="after")
    def _definition_or_reference(self) -> InnerWorkflowManifest:
        has_inline = bool(self.workflow_definition)
        has_reference = bool(
            (self.workflow_workspace_id or "").strip() and (self.workflow_id or "").strip()
        )
        if has_inline and has_reference:
            raise ValueError(
                "give either `workflow_definition` or `workflow_workspace_id` + `workflow_id`, "
                "not both"
            )
        if not (has_inline or has_reference):
            raise ValueError(
                "inner_workflow needs a `workflow_definition`, or `workflow_workspace_id` and "
                "`workflow_id`"
            )
        return self


class InnerWorkflowBlock(Block):
    manifest = InnerWorkflowManifest

    def run(self, **kwargs: Any) -> Any:
        raise RuntimeError(
            "inner_workflow steps are inlined by the compiler and never run by themselves; "
            "this block was called directly"
        )


__all__ = ["InnerWorkflowBlock", "InnerWorkflowManifest"]
