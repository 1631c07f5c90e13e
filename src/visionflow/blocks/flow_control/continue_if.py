"""``continue_if``: let a branch go on only where a condition holds.

For batch inputs the decision is made per element (the others become None downstream); for
scalar inputs it applies to the whole branch.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Literal, Union

from pydantic import Field

from visionflow.blocks._uql_cache import CompiledCache
from visionflow.blocks.base import (
    Block,
    BlockInfo,
    BlockManifest,
    DataSelector,
    FlowControl,
    StepSelector,
)
from visionflow.blocks.query_language import StatementGroup, build_eval_function
from visionflow.blocks.registry import register_block
from visionflow.spec.kinds import FLOAT_KIND

CONDITION_EXAMPLE = {
    "type": "StatementGroup",
    "statements": [
        {
            "type": "BinaryStatement",
            "left_operand": {"type": "DynamicOperand", "operand_name": "left"},
            "comparator": {"type": "(Number) =="},
            "right_operand": {"type": "StaticOperand", "value": 1},
        }
    ],
}


class ContinueIfManifest(BlockManifest):
    type: Literal["roboflow_core/continue_if@v1", "ContinueIf"]
    condition_statement: StatementGroup = Field(
        title="Conditional Statement",
        description="The condition; operands name values of `evaluation_parameters`.",
        examples=[CONDITION_EXAMPLE],
    )
    evaluation_parameters: dict[str, DataSelector()] = Field(
        default_factory=dict,
        description="Values the condition refers to: operand name -> selector.",
        examples=[{"left": "$inputs.some"}],
    )
    next_steps: list[StepSelector] = Field(
        description="Steps that run when the condition holds.",
        examples=[["$steps.on_true"]],
    )
    # As in the reference: the default 0 (no delay) is allowed, an explicit value must be > 0.
    stop_delay: Union[DataSelector(FLOAT_KIND), float] = Field(
        default=0,
        gt=0,
        title="Stop Delay",
        description=(
            "Seconds the branch stays open after the condition last held (video: bridges "
            "frames where it flickers off)."
        ),
        examples=[5],
    )

    block_info = BlockInfo(
        name="Continue If",
        short="Stop a branch of the workflow unless a condition holds.",
        category="flow_control",
    )
    outputs = ()
    is_flow_control = True


@register_block
class ContinueIfBlock(Block):
    """Returns the ``next_steps`` where the condition holds (or held < ``stop_delay`` ago)."""

    manifest = ContinueIfManifest

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self._conditions: CompiledCache[Any] = CompiledCache(build_eval_function)
        # Time the condition last held, shared by every element (the reference keeps one).
        self._last_true: float | None = None
        self._lock = threading.Lock()

    def run(
        self,
        condition_statement: StatementGroup,
        evaluation_parameters: dict[str, Any],
        next_steps: list[str],
        stop_delay: float,
    ) -> FlowControl:
        if not next_steps:
            return FlowControl(next_steps=())
        if self._conditions.get(condition_statement)(evaluation_parameters):
            if stop_delay > 0:
                with self._lock:
                    self._last_true = time.time()
            return FlowControl(next_steps=tuple(next_steps))
        last_true = self._last_true
        if last_true is not None and time.time() - last_true <= stop_delay:
            return FlowControl(next_steps=tuple(next_steps))
        return FlowControl(next_steps=())


__all__ = ["ContinueIfBlock", "ContinueIfManifest"]
