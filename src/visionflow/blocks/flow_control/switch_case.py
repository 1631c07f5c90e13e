"""``switch_case``: send execution down the branch whose case matches a value.

The value is compared as text (``str(value)``), so ``True`` matches the case ``"True"``, ``1.0``
matches ``"1.0"`` (not ``"1"``) and ``None`` matches ``"None"``, as in the reference. For batch
values the choice is made per element; for scalar values it applies to the whole branch.

>>> from visionflow.blocks.base import BlockContext
>>> block = SwitchCaseBlock(BlockContext("route", "roboflow_core/switch_case@v1"))
>>> block.run(value="Red", cases={"red": "$steps.a"}, case_insensitive=True,
...           default_next_steps=["$steps.b"])
FlowControl(next_steps=('$steps.a',))
>>> block.run(value=3, cases={"red": "$steps.a"}, case_insensitive=False, default_next_steps=[])
FlowControl(next_steps=())
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal, Union

from pydantic import Field, model_validator

from visionflow.blocks.base import (
    Block,
    BlockInfo,
    BlockManifest,
    DataSelector,
    FlowControl,
    StepSelector,
)
from visionflow.blocks.registry import register_block


class SwitchCaseManifest(BlockManifest):
    type: Literal["roboflow_core/switch_case@v1", "SwitchCase"]
    value: Union[DataSelector(), str, int, float, bool] = Field(
        title="Value",
        description=(
            "The value to match against the case keys, compared as text (`str(value)`): "
            "`True` matches 'True', `1.0` matches '1.0', a missing value matches 'None'."
        ),
        examples=["$steps.classifier.top", "$inputs.mode", "red"],
    )
    cases: dict[str, StepSelector] = Field(
        default_factory=dict,
        title="Cases",
        description="Case value -> the step that runs when the value matches it.",
        examples=[{"red": "$steps.on_red", "blue": "$steps.on_blue"}],
    )
    case_insensitive: bool = Field(
        default=False,
        title="Case Insensitive",
        description="Match case keys ignoring letter case ('RED' matches 'red').",
        examples=[False],
    )
    default_next_steps: list[StepSelector] = Field(
        default_factory=list,
        title="Default Steps",
        description="Steps that run when no case matches; empty: the branch stops.",
        examples=[["$steps.fallback"]],
    )

    block_info = BlockInfo(
        name="Switch Case",
        short="Route execution to one of several branches by the value of an input.",
        category="flow_control",
    )
    outputs = ()
    is_flow_control = True

    @model_validator(mode="after")
    def _check_targets_and_keys(self) -> SwitchCaseManifest:
        # A step reached from two cases could not tell which branch it belongs to.
        targets = Counter([*self.cases.values(), *self.default_next_steps])
        repeated = sorted(target for target, count in targets.items() if count > 1)
        if repeated:
            raise ValueError(
                "each step may be a target only once across `cases` and `default_next_steps`; "
                f"repeated: {', '.join(repeated)}"
            )
        if self.case_insensitive:
            lowered = Counter(key.lower() for key in self.cases)
            clashing = sorted(key for key in self.cases if lowered[key.lower()] > 1)
            if clashing:
                raise ValueError(
                    "`cases` has keys that are equal when case is ignored: " + ", ".join(clashing)
                )
        return self


@register_block
class SwitchCaseBlock(Block):
    """Returns the matching case's step, else ``default_next_steps`` (empty: stop)."""

    manifest = SwitchCaseManifest

    def run(
        self,
        value: Any,
        cases: dict[str, str],
        case_insensitive: bool,
        default_next_steps: list[str],
    ) -> FlowControl:
        key = str(value)
        if case_insensitive:
            key = key.lower()
            target = next((t for case, t in cases.items() if case.lower() == key), None)
        else:
            target = cases.get(key)
        if target is not None:
            return FlowControl(next_steps=(target,))
        return FlowControl(next_steps=tuple(default_next_steps))


__all__ = ["SwitchCaseBlock", "SwitchCaseManifest"]
