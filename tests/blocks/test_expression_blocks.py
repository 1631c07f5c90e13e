"""property_definition, expression and first_non_empty_or_default."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

import visionflow
from visionflow.blocks.base import BlockContext
from visionflow.blocks.formatters.expression import (
    ExpressionBlock,
    ExpressionManifest,
    FirstNonEmptyOrDefaultBlock,
    FirstNonEmptyOrDefaultManifest,
    PropertyDefinitionBlock,
    PropertyDefinitionManifest,
)
from visionflow.blocks.registry import default_registry
from visionflow.data.detections import make_detections
from visionflow.data.image import Image

IMAGE = Image(np.zeros((100, 200, 3), dtype=np.uint8), parent_id="image")


def _detections(classes: list[str]):
    n = len(classes)
    return make_detections(
        np.array([[i, i, i + 10, i + 10] for i in range(n)], dtype=float).reshape(-1, 4),
        [0.9] * n,
        [0] * n,
        ["x"],
        IMAGE,
        data={"class_name": np.array(classes, dtype=str)},
    )


def _context(manifest: Any) -> BlockContext:
    return BlockContext("s", manifest.identifier())


def _equals(left: str, right: Any) -> dict:
    return {
        "type": "StatementGroup",
        "statements": [
            {
                "type": "BinaryStatement",
                "left_operand": {"type": "DynamicOperand", "operand_name": left},
                "comparator": {"type": "=="},
                "right_operand": {"type": "StaticOperand", "value": right},
            }
        ],
    }


@pytest.mark.parametrize(
    ("block_type", "identifier"),
    [
        ("PropertyDefinition", "roboflow_core/property_definition@v1"),
        ("PropertyExtraction", "roboflow_core/property_definition@v1"),
        ("Expression", "roboflow_core/expression@v1"),
        ("FirstNonEmptyOrDefault", "roboflow_core/first_non_empty_or_default@v1"),
    ],
)
def test_aliases(block_type: str, identifier: str) -> None:
    assert default_registry.get(block_type).identifier == identifier


# ---------------------------------------------------------------------------------------------
# property definition
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "operations", "expected"),
    [
        (_detections([]), [{"type": "SequenceLength"}], 0),
        ([], [{"type": "SequenceLength"}], 0),
        (
            _detections(["a", "b"]),
            [{"type": "DetectionsPropertyExtract", "property_name": "class_name"}],
            ["a", "b"],
        ),
        ("Hello", [{"type": "StringToUpperCase"}], "HELLO"),
        ([1, 2, 3], [], [1, 2, 3]),
    ],
)
def test_property_definition(data: Any, operations: list, expected: Any) -> None:
    manifest = PropertyDefinitionManifest.model_validate(
        {"type": "PropertyExtraction", "name": "p", "data": "$inputs.x", "operations": operations}
    )
    block = PropertyDefinitionBlock(_context(manifest))
    assert block.run(data=data, operations=manifest.operations) == {"output": expected}
    block.run(data=data, operations=manifest.operations)
    assert len(block._chains._entries) == 1  # built once for the definition


# ---------------------------------------------------------------------------------------------
# expression
# ---------------------------------------------------------------------------------------------
SWITCH = {
    "type": "CasesDefinition",
    "cases": [
        {
            "type": "CaseDefinition",
            "condition": _equals("count", 0),
            "result": {"type": "StaticCaseResult", "value": "EMPTY"},
        },
        {
            "type": "CaseDefinition",
            "condition": _equals("count", 1),
            "result": {
                "type": "DynamicCaseResult",
                "parameter_name": "label",
                "operations": [{"type": "StringToUpperCase"}],
            },
        },
    ],
    "default": {"type": "DynamicCaseResult", "parameter_name": "count"},
}


@pytest.mark.parametrize(
    ("predictions", "expected"),
    [
        (_detections([]), "EMPTY"),
        (_detections(["a"]), "DOG"),
        (_detections(["a", "b", "c"]), 3),
    ],
)
def test_expression(predictions: Any, expected: Any) -> None:
    manifest = ExpressionManifest.model_validate(
        {
            "type": "Expression",
            "name": "e",
            "data": {"count": "$steps.m.predictions", "label": "$inputs.label"},
            "data_operations": {"count": [{"type": "SequenceLength"}]},
            "switch": SWITCH,
        }
    )
    block = ExpressionBlock(_context(manifest))
    result = block.run(
        data={"count": predictions, "label": "dog"},
        data_operations=manifest.data_operations,
        switch=manifest.switch,
    )
    assert result == {"output": expected}


def test_expression_names_an_undeclared_variable() -> None:
    manifest = ExpressionManifest.model_validate(
        {
            "type": "Expression",
            "name": "e",
            "data": {"a": "$inputs.a"},
            "switch": {
                "type": "CasesDefinition",
                "cases": [],
                "default": {"type": "DynamicCaseResult", "parameter_name": "missing"},
            },
        }
    )
    block = ExpressionBlock(_context(manifest))
    assert manifest.data_operations == {}
    with pytest.raises(ValueError, match=r"'missing'.*declared: 'a'"):
        block.run(data={"a": 1}, data_operations={}, switch=manifest.switch)


@pytest.mark.parametrize(
    "switch",
    [
        {"type": "CasesDefinition", "cases": []},  # no default
        {"type": "CasesDefinition", "cases": [], "default": {"type": "UnknownResult", "value": 1}},
    ],
)
def test_expression_switch_is_validated(switch: dict) -> None:
    with pytest.raises(ValidationError):
        ExpressionManifest.model_validate(
            {"type": "Expression", "name": "e", "data": {}, "switch": switch}
        )


# ---------------------------------------------------------------------------------------------
# first non empty or default
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "default", "expected"),
    [
        ([None], None, None),
        ([None, None], "fallback", "fallback"),
        ([None, 3], "fallback", 3),
        ([0, 1], "fallback", 0),  # 0 and [] are values, only None is empty
        ([[], 1], None, []),
    ],
)
def test_first_non_empty_or_default(data: list, default: Any, expected: Any) -> None:
    block = FirstNonEmptyOrDefaultBlock(_context(FirstNonEmptyOrDefaultManifest))
    assert block.run(data=data, default=default) == {"output": expected}


def test_first_non_empty_needs_at_least_one_selector() -> None:
    with pytest.raises(ValidationError):
        FirstNonEmptyOrDefaultManifest.model_validate(
            {"type": "FirstNonEmptyOrDefault", "name": "f", "data": []}
        )
    assert FirstNonEmptyOrDefaultManifest.accepts_empty_values is True


# ---------------------------------------------------------------------------------------------
# through the engine
# ---------------------------------------------------------------------------------------------
def _wire(classes: list[str]) -> dict:
    return {
        "image": {"width": 200, "height": 100},
        "predictions": [
            {
                "x": 20 + 10 * i,
                "y": 20,
                "width": 10,
                "height": 10,
                "confidence": 0.9,
                "class": c,
                "class_id": 0,
                "detection_id": f"d{i}",
            }
            for i, c in enumerate(classes)
        ],
    }


FORMATTERS_WORKFLOW = {
    "version": "1.0",
    "inputs": [
        {"type": "WorkflowBatchInput", "name": "dets", "kind": ["object_detection_prediction"]},
        {"type": "WorkflowParameter", "name": "label", "default_value": "dog"},
    ],
    "steps": [
        {
            "type": "PropertyDefinition",
            "name": "classes",
            "data": "$inputs.dets",
            "operations": [{"type": "DetectionsPropertyExtract", "property_name": "class_name"}],
        },
        {
            "type": "Expression",
            "name": "verdict",
            "data": {"count": "$inputs.dets", "label": "$inputs.label"},
            "data_operations": {"count": [{"type": "SequenceLength"}]},
            "switch": SWITCH,
        },
        # only where there is exactly one detection
        {
            "type": "ContinueIf",
            "name": "only_one",
            "condition_statement": _equals("n", 1),
            "evaluation_parameters": {"n": "$steps.verdict.output"},
            "next_steps": ["$steps.gated"],
        },
        {
            "type": "PropertyDefinition",
            "name": "gated",
            "data": "$inputs.dets",
            "operations": [{"type": "SequenceLength"}],
        },
        {
            "type": "FirstNonEmptyOrDefault",
            "name": "merged",
            "data": ["$steps.gated.output"],
            "default": "none",
        },
    ],
    "outputs": [
        {"type": "JsonField", "name": "classes", "selector": "$steps.classes.output"},
        {"type": "JsonField", "name": "verdict", "selector": "$steps.verdict.output"},
        {"type": "JsonField", "name": "merged", "selector": "$steps.merged.output"},
    ],
}


@pytest.mark.parametrize(
    ("per_image", "expected"),
    [
        ([[]], [{"classes": [], "verdict": "EMPTY", "merged": "none"}]),
        ([["cat"]], [{"classes": ["cat"], "verdict": "DOG", "merged": "none"}]),
        (
            [["cat", "dog"], [], ["a", "b", "c"]],
            [
                {"classes": ["cat", "dog"], "verdict": 2, "merged": "none"},
                {"classes": [], "verdict": "EMPTY", "merged": "none"},
                {"classes": ["a", "b", "c"], "verdict": 3, "merged": "none"},
            ],
        ),
    ],
)
def test_formatters_through_the_engine(per_image: list, expected: list) -> None:
    workflow = visionflow.Workflow.load(FORMATTERS_WORKFLOW)
    assert workflow.run(dets=[_wire(c) for c in per_image]) == expected


def test_first_non_empty_takes_the_branch_that_ran() -> None:
    definition = {
        **FORMATTERS_WORKFLOW,
        "steps": [
            *FORMATTERS_WORKFLOW["steps"][:2],
            {**FORMATTERS_WORKFLOW["steps"][2], "condition_statement": _equals("n", "DOG")},
            *FORMATTERS_WORKFLOW["steps"][3:],
        ],
    }
    workflow = visionflow.Workflow.load(definition)
    results = workflow.run(dets=[_wire(["cat"]), _wire([])])
    assert [r["merged"] for r in results] == [1, "none"]
