"""continue_if: per-element and whole-branch gating, stop_delay."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

import visionflow
from visionflow.blocks.base import BlockContext, FlowControl
from visionflow.blocks.flow_control import continue_if as continue_if_module
from visionflow.blocks.flow_control.continue_if import ContinueIfBlock, ContinueIfManifest
from visionflow.blocks.registry import default_registry


def _greater_than(value: float) -> dict:
    return {
        "type": "StatementGroup",
        "statements": [
            {
                "type": "BinaryStatement",
                "left_operand": {"type": "DynamicOperand", "operand_name": "x"},
                "comparator": {"type": "(Number) >"},
                "right_operand": {"type": "StaticOperand", "value": value},
            }
        ],
    }


def _manifest(**fields: Any) -> ContinueIfManifest:
    return ContinueIfManifest.model_validate(
        {
            "type": "ContinueIf",
            "name": "gate",
            "condition_statement": _greater_than(1),
            "evaluation_parameters": {"x": "$inputs.x"},
            "next_steps": ["$steps.next"],
            **fields,
        }
    )


def _block() -> ContinueIfBlock:
    return ContinueIfBlock(BlockContext("gate", "roboflow_core/continue_if@v1"))


def test_alias_and_defaults() -> None:
    assert default_registry.get("ContinueIf").identifier == "roboflow_core/continue_if@v1"
    manifest = _manifest()
    assert manifest.stop_delay == 0
    assert ContinueIfManifest.is_flow_control
    assert ContinueIfManifest.outputs == ()


@pytest.mark.parametrize("stop_delay", [0, -1])
def test_explicit_stop_delay_must_be_positive(stop_delay: float) -> None:
    with pytest.raises(ValidationError):
        _manifest(stop_delay=stop_delay)


@pytest.mark.parametrize(
    ("next_steps", "value", "expected"),
    [
        ([], 5, ()),  # nothing to continue to
        (["$steps.a"], 5, ("$steps.a",)),
        (["$steps.a", "$steps.b"], 5, ("$steps.a", "$steps.b")),
        (["$steps.a"], 1, ()),
        (["$steps.a"], 0.5, ()),
    ],
)
def test_continue_if(next_steps: list, value: float, expected: tuple) -> None:
    manifest = _manifest()
    decision = _block().run(
        condition_statement=manifest.condition_statement,
        evaluation_parameters={"x": value},
        next_steps=next_steps,
        stop_delay=0,
    )
    assert decision == FlowControl(next_steps=expected)


def test_stop_delay_keeps_the_branch_open(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(continue_if_module.time, "time", lambda: now[0])
    manifest = _manifest()
    block = _block()

    def decide(value: float) -> tuple:
        return block.run(
            condition_statement=manifest.condition_statement,
            evaluation_parameters={"x": value},
            next_steps=["$steps.a"],
            stop_delay=5.0,
        ).next_steps

    assert decide(0) == ()  # never true yet
    assert decide(2) == ("$steps.a",)
    now[0] = 104.0
    assert decide(0) == ("$steps.a",)  # within the delay
    now[0] = 105.5
    assert decide(0) == ()


# ---------------------------------------------------------------------------------------------
# through the engine
# ---------------------------------------------------------------------------------------------
def _workflow(x_input: dict) -> dict:
    return {
        "version": "1.0",
        "inputs": [x_input],
        "steps": [
            {
                "type": "roboflow_core/continue_if@v1",
                "name": "gate",
                "condition_statement": _greater_than(1),
                "evaluation_parameters": {"x": "$inputs.x"},
                "next_steps": ["$steps.after"],
            },
            {
                "type": "PropertyDefinition",
                "name": "after",
                "data": "$inputs.x",
                "operations": [{"type": "Multiply", "other": 10}],
            },
        ],
        "outputs": [{"type": "JsonField", "name": "after", "selector": "$steps.after.output"}],
    }


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], []),
        ([5], [50]),
        ([0, 2, 1, 3], [None, 20, None, 30]),
    ],
)
def test_per_element_gating_through_the_engine(values: list, expected: list) -> None:
    workflow = visionflow.Workflow.load(_workflow({"type": "WorkflowBatchInput", "name": "x"}))
    assert [row["after"] for row in workflow.run(x=values)] == expected


@pytest.mark.parametrize(("value", "expected"), [(0, [{"after": None}]), (3, [{"after": 30}])])
def test_whole_branch_gating_through_the_engine(value: int, expected: list) -> None:
    engine = visionflow.ExecutionEngine.init(
        workflow_definition=_workflow({"type": "WorkflowParameter", "name": "x"})
    )
    assert engine.run(runtime_parameters={"x": value}) == expected
