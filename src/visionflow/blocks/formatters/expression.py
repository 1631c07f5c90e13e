"""Formatter blocks: derive a value with UQL (property definition), choose one with a
switch-case (expression), or take the first branch that produced something.

>>> result = StaticCaseResult(type="StaticCaseResult", value="PASS")
>>> build_result({}, result)
{'output': 'PASS'}
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, Field

from visionflow.blocks._uql_cache import CompiledCache
from visionflow.blocks.base import Block, BlockInfo, BlockManifest, DataSelector, Output
from visionflow.blocks.query_language import (
    AllOperationsType,
    StatementGroup,
    build_eval_function,
    build_operations_chain,
)
from visionflow.blocks.registry import register_block


# ---------------------------------------------------------------------------------------------
# roboflow_core/property_definition@v1
# ---------------------------------------------------------------------------------------------
class PropertyDefinitionManifest(BlockManifest):
    type: Literal[
        "roboflow_core/property_definition@v1", "PropertyDefinition", "PropertyExtraction"
    ]
    data: DataSelector() = Field(
        description="The value to derive the property from.",
        examples=[
            "$steps.object_detection_model.predictions",
            "$steps.classification_model.top",
            "$steps.ocr_model.text",
        ],
    )
    operations: list[AllOperationsType] = Field(
        description="UQL operations applied to `data`, in order.",
        examples=[
            [{"type": "DetectionsPropertyExtract", "property_name": "class_name"}],
            [{"type": "ClassificationPropertyExtract", "property_name": "top_class"}],
        ],
    )

    block_info = BlockInfo(
        name="Property Definition",
        short="Compute a value (class names, confidences, a count...) from another value.",
        category="formatter",
    )
    outputs = (Output("output"),)


@register_block
class PropertyDefinitionBlock(Block):
    """``output`` = the operations chain applied to ``data``."""

    manifest = PropertyDefinitionManifest

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self._chains: CompiledCache[Any] = CompiledCache(build_operations_chain)

    def run(self, data: Any, operations: list[Any]) -> dict[str, Any]:
        return {"output": self._chains.get(operations)(data, {})}


# ---------------------------------------------------------------------------------------------
# roboflow_core/expression@v1
# ---------------------------------------------------------------------------------------------
class StaticCaseResult(BaseModel):
    """A case's result given as a literal value."""

    type: Literal["StaticCaseResult"]
    value: Any


class DynamicCaseResult(BaseModel):
    """A case's result taken from a variable, optionally passed through operations."""

    type: Literal["DynamicCaseResult"]
    parameter_name: str
    operations: Optional[list[AllOperationsType]] = Field(default=None)


CaseResult = Annotated[Union[StaticCaseResult, DynamicCaseResult], Field(discriminator="type")]


class CaseDefinition(BaseModel):
    """If ``condition`` holds for the variables, the expression's output is ``result``."""

    type: Literal["CaseDefinition"]
    condition: StatementGroup
    result: CaseResult


class CasesDefinition(BaseModel):
    """Cases tried in order; ``default`` when none holds."""

    type: Literal["CasesDefinition"]
    cases: list[CaseDefinition]
    default: CaseResult


SWITCH_EXAMPLE = {
    "type": "CasesDefinition",
    "cases": [
        {
            "type": "CaseDefinition",
            "condition": {
                "type": "StatementGroup",
                "statements": [
                    {
                        "type": "BinaryStatement",
                        "left_operand": {"type": "DynamicOperand", "operand_name": "class_name"},
                        "comparator": {"type": "=="},
                        "right_operand": {"type": "DynamicOperand", "operand_name": "reference"},
                    }
                ],
            },
            "result": {"type": "StaticCaseResult", "value": "PASS"},
        }
    ],
    "default": {"type": "StaticCaseResult", "value": "FAIL"},
}


class ExpressionManifest(BlockManifest):
    type: Literal["roboflow_core/expression@v1", "Expression"]
    data: dict[str, DataSelector()] = Field(
        description="Variables of the expression: name -> selector.",
        examples=[
            {
                "predictions": "$steps.model.predictions",
                "reference": "$inputs.reference_class_names",
            }
        ],
    )
    data_operations: dict[str, list[AllOperationsType]] = Field(
        default_factory=dict,
        description="Operations applied to a variable before the cases are evaluated.",
        examples=[
            {"predictions": [{"type": "DetectionsPropertyExtract", "property_name": "class_name"}]}
        ],
    )
    switch: CasesDefinition = Field(
        title="Logic Definition",
        description="Cases tried in order; the first that holds gives the output.",
        examples=[SWITCH_EXAMPLE],
    )

    block_info = BlockInfo(
        name="Expression",
        short="Output a value chosen by switch-case rules over input variables.",
        category="formatter",
    )
    outputs = (Output("output"),)


@register_block
class ExpressionBlock(Block):
    """Evaluates the cases against the (optionally transformed) variables."""

    manifest = ExpressionManifest

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self._chains: CompiledCache[Any] = CompiledCache(build_operations_chain)
        self._conditions: CompiledCache[Any] = CompiledCache(build_eval_function)

    def run(
        self,
        data: dict[str, Any],
        data_operations: dict[str, list[Any]],
        switch: CasesDefinition,
    ) -> dict[str, Any]:
        variables = dict(data)
        for name, operations in data_operations.items():
            variables[name] = self._chains.get(operations)(_variable(variables, name), {})
        for case in switch.cases:
            if self._conditions.get(case.condition)(variables):
                return build_result(variables, case.result, self._chains)
        return build_result(variables, switch.default, self._chains)


def _variable(variables: dict[str, Any], name: str) -> Any:
    if name not in variables:
        known = ", ".join(repr(k) for k in variables) or "none"
        raise ValueError(
            f"the expression refers to variable '{name}', which is not declared in `data` "
            f"(declared: {known})"
        )
    return variables[name]


def build_result(
    variables: dict[str, Any],
    definition: StaticCaseResult | DynamicCaseResult,
    chains: CompiledCache[Any] | None = None,
) -> dict[str, Any]:
    """The expression's output for the case result ``definition``."""
    if isinstance(definition, StaticCaseResult):
        return {"output": definition.value}
    value = _variable(variables, definition.parameter_name)
    if not definition.operations:
        return {"output": value}
    chain = (chains or CompiledCache(build_operations_chain)).get(definition.operations)
    # Operations of a result may refer to the other variables by name.
    return {"output": chain(value, variables)}


# ---------------------------------------------------------------------------------------------
# roboflow_core/first_non_empty_or_default@v1
# ---------------------------------------------------------------------------------------------
class FirstNonEmptyOrDefaultManifest(BlockManifest):
    type: Literal["roboflow_core/first_non_empty_or_default@v1", "FirstNonEmptyOrDefault"]
    data: list[DataSelector()] = Field(
        min_length=1,
        description="Values in order of preference; the first that exists is the output.",
        examples=[
            ["$steps.my_step.predictions"],
            ["$steps.branch_a.output", "$steps.branch_b.output"],
        ],
    )
    default: Any = Field(
        default=None,
        description="The output when every value of `data` is empty.",
        examples=["empty", "N/A", 0, None, [], {}],
    )

    block_info = BlockInfo(
        name="First Non Empty Or Default",
        short="Output the first value that exists, else a default (merges branches).",
        category="formatter",
    )
    outputs = (Output("output"),)
    # Runs on elements where some (or all) branches produced nothing.
    accepts_empty_values = True


@register_block
class FirstNonEmptyOrDefaultBlock(Block):
    """``output`` = the first value of ``data`` that is not None, else ``default``."""

    manifest = FirstNonEmptyOrDefaultManifest

    def run(self, data: list[Any], default: Any) -> dict[str, Any]:
        return {"output": next((value for value in data if value is not None), default)}


__all__ = [
    "CaseDefinition",
    "CasesDefinition",
    "DynamicCaseResult",
    "ExpressionBlock",
    "ExpressionManifest",
    "FirstNonEmptyOrDefaultBlock",
    "FirstNonEmptyOrDefaultManifest",
    "PropertyDefinitionBlock",
    "PropertyDefinitionManifest",
    "StaticCaseResult",
    "build_result",
]
