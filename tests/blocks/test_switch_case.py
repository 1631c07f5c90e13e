"""switch_case: matching rules, manifest checks, per-element and whole-branch routing."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

import visionflow
from visionflow.blocks.base import BlockContext, FlowControl
from visionflow.blocks.flow_control.switch_case import SwitchCaseBlock, SwitchCaseManifest
from visionflow.blocks.registry import default_registry
from visionflow.errors import CompileError

CASES = {
    "red": "$steps.on_red",
    "Blue": "$steps.on_blue",
    "1.0": "$steps.on_one",
    "True": "$steps.t",
}


def _manifest(**fields: Any) -> SwitchCaseManifest:
    return SwitchCaseManifest.model_validate(
        {"type": "SwitchCase", "name": "route", "value": "$inputs.mode", **fields}
    )


def _decide(
    value: Any, cases: dict, insensitive: bool = False, default: list | None = None
) -> tuple:
    block = SwitchCaseBlock(BlockContext("route", "roboflow_core/switch_case@v1"))
    decision = block.run(
        value=value, cases=cases, case_insensitive=insensitive, default_next_steps=default or []
    )
    assert isinstance(decision, FlowControl)
    return decision.next_steps


@pytest.mark.parametrize(
    ("value", "cases", "insensitive", "default", "expected"),
    [
        ("", {}, False, [], ()),  # nothing to route to: the branch stops
        ("", {}, False, ["$steps.d"], ("$steps.d",)),
        ("red", CASES, False, [], ("$steps.on_red",)),
        ("RED", CASES, False, [], ()),
        ("RED", CASES, True, [], ("$steps.on_red",)),
        ("blue", CASES, True, ["$steps.d"], ("$steps.on_blue",)),
        ("blue", CASES, False, ["$steps.d"], ("$steps.d",)),
        ("green", CASES, False, ["$steps.d", "$steps.e"], ("$steps.d", "$steps.e")),
        # compared as text, like the reference
        (1.0, CASES, False, [], ("$steps.on_one",)),
        (1, CASES, False, [], ()),
        (np.float64(1.0), CASES, False, [], ("$steps.on_one",)),
        (True, CASES, False, [], ("$steps.t",)),
        (None, {"None": "$steps.n"}, False, [], ("$steps.n",)),
        (3, {"3": "$steps.three"}, False, [], ("$steps.three",)),
    ],
)
def test_routing(
    value: Any, cases: dict, insensitive: bool, default: list, expected: tuple
) -> None:
    assert _decide(value, cases, insensitive, default) == expected


def test_identifier_alias_and_defaults() -> None:
    assert default_registry.get("SwitchCase").identifier == "roboflow_core/switch_case@v1"
    manifest = _manifest()
    assert manifest.cases == {}
    assert manifest.default_next_steps == []
    assert manifest.case_insensitive is False
    assert SwitchCaseManifest.is_flow_control
    assert SwitchCaseManifest.outputs == ()


@pytest.mark.parametrize("value", ["red", 3, 2.5, False, "$inputs.mode", "$steps.model.top"])
def test_value_takes_literals_and_selectors(value: Any) -> None:
    assert _manifest(value=value).value == value


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"cases": {"a": "$steps.x", "b": "$steps.x"}}, "repeated: $steps.x"),
        ({"cases": {"a": "$steps.x"}, "default_next_steps": ["$steps.x"]}, "repeated"),
        ({"cases": {"a": "$steps.x", "A": "$steps.y"}, "case_insensitive": True}, "A, a"),
        ({"cases": {"a": "$inputs.x"}}, "cases"),
        ({"value": [1, 2]}, "value"),
    ],
)
def test_invalid_manifests(fields: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("$", r"\$")):
        _manifest(**fields)


def test_keys_differing_in_case_are_fine_when_case_matters() -> None:
    manifest = _manifest(cases={"a": "$steps.x", "A": "$steps.y"})
    assert manifest.cases == {"a": "$steps.x", "A": "$steps.y"}


# ---------------------------------------------------------------------------------------------
# through the engine
# ---------------------------------------------------------------------------------------------
def _crop(name: str, width: int) -> dict:
    return {
        "type": "roboflow_core/absolute_static_crop@v1",
        "name": name,
        "images": "$inputs.image",
        "x_center": 50,
        "y_center": 50,
        "width": width,
        "height": 20,
    }


def _workflow(value_input: dict, extra_steps: tuple[dict, ...] = ()) -> dict:
    return {
        "version": "1.0",
        "inputs": [{"type": "WorkflowImage", "name": "image"}, value_input],
        "steps": [
            {
                "type": "roboflow_core/switch_case@v1",
                "name": "route",
                "value": "$inputs.v",
                "cases": {"a": "$steps.on_a", "b": "$steps.on_b"},
                "default_next_steps": ["$steps.fallback"],
            },
            _crop("on_a", 10),
            _crop("on_b", 20),
            _crop("fallback", 30),
            *extra_steps,
        ],
        "outputs": [
            {"type": "JsonField", "name": name, "selector": f"$steps.{name}.crops"}
            for name in ("on_a", "on_b", "fallback")
        ],
    }


def _widths(rows: list[dict]) -> list[dict]:
    """Which branch ran for each element: the crop's width, or None."""
    return [
        {name: None if image is None else image.width for name, image in row.items()}
        for row in rows
    ]


IMAGE = np.zeros((100, 100, 3), dtype=np.uint8)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], []),
        (["a"], [{"on_a": 10, "on_b": None, "fallback": None}]),
        (
            ["b", "zzz", "a"],
            [
                {"on_a": None, "on_b": 20, "fallback": None},
                {"on_a": None, "on_b": None, "fallback": 30},
                {"on_a": 10, "on_b": None, "fallback": None},
            ],
        ),
    ],
)
def test_per_element_routing_through_the_engine(values: list, expected: list) -> None:
    workflow = visionflow.Workflow.load(_workflow({"type": "WorkflowBatchInput", "name": "v"}))
    assert _widths(workflow.run(image=[IMAGE] * len(values), v=values)) == expected


def test_an_element_without_a_value_takes_no_branch() -> None:
    workflow = visionflow.Workflow.load(_workflow({"type": "WorkflowBatchInput", "name": "v"}))
    rows = _widths(workflow.run(image=[IMAGE, IMAGE], v=[None, "b"]))
    assert rows == [
        {"on_a": None, "on_b": None, "fallback": None},
        {"on_a": None, "on_b": 20, "fallback": None},
    ]


@pytest.mark.parametrize(
    ("value", "ran"), [("b", "on_b"), ("a", "on_a"), ("other", "fallback"), (None, "fallback")]
)
def test_whole_branch_routing_on_a_parameter(value: Any, ran: str) -> None:
    engine = visionflow.ExecutionEngine.init(
        workflow_definition=_workflow({"type": "WorkflowParameter", "name": "v"})
    )
    rows = engine.run(runtime_parameters={"image": [IMAGE, IMAGE, IMAGE], "v": value})
    assert len(rows) == 3
    for row in rows:
        assert {name for name, image in row.items() if image is not None} == {ran}


def test_a_step_gated_twice_runs_where_both_allow() -> None:
    gate = {
        "type": "ContinueIf",
        "name": "big",
        "condition_statement": {
            "type": "StatementGroup",
            "statements": [
                {
                    "type": "BinaryStatement",
                    "left_operand": {"type": "DynamicOperand", "operand_name": "x"},
                    "comparator": {"type": "(Number) >"},
                    "right_operand": {"type": "StaticOperand", "value": 1},
                }
            ],
        },
        "evaluation_parameters": {"x": "$inputs.x"},
        "next_steps": ["$steps.on_a"],
    }
    document = _workflow({"type": "WorkflowBatchInput", "name": "v"}, (gate,))
    document["inputs"].append({"type": "WorkflowBatchInput", "name": "x"})
    workflow = visionflow.Workflow.load(document)
    rows = workflow.run(image=[IMAGE] * 3, v=["a", "a", "b"], x=[0, 5, 5])
    assert [row["on_a"] is not None for row in rows] == [False, True, False]


def test_cases_are_control_edges_and_must_name_steps() -> None:
    document = _workflow({"type": "WorkflowParameter", "name": "v"})
    document["steps"][0]["cases"]["c"] = "$steps.missing"
    with pytest.raises(CompileError, match="missing"):
        visionflow.Workflow.load(document)
