"""inner_workflow@v1: child steps inlined, bindings and defaults, outputs, errors in the child."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from visionflow import CompileError, Workflow


def child(steps: list[Any] | None = None) -> dict[str, Any]:
    return {
        "version": "1.0",
        "inputs": [
            {"type": "WorkflowBatchInput", "name": "numbers", "kind": ["integer"]},
            {"type": "WorkflowParameter", "name": "plus", "default_value": 100},
        ],
        "steps": steps
        if steps is not None
        else [
            {"type": "test/add@v1", "name": "add", "a": "$inputs.numbers", "b": "$inputs.plus"},
            {"type": "test/add@v1", "name": "twice", "a": "$steps.add.sum", "b": "$steps.add.sum"},
        ],
        "outputs": [{"type": "JsonField", "name": "result", "selector": "$steps.twice.sum"}],
    }


def parent(inner: dict[str, Any], bindings: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "version": "1.0",
        "inputs": [{"type": "WorkflowBatchInput", "name": "n", "kind": ["integer"]}],
        "steps": [
            {"type": "test/echo@v1", "name": "add", "value": "$inputs.n"},
            {
                "type": "roboflow_core/inner_workflow@v1",
                "name": "inner",
                "workflow_definition": inner,
                "parameter_bindings": bindings
                if bindings is not None
                else {"numbers": "$steps.add.value"},
            },
            {"type": "test/add@v1", "name": "after", "a": "$steps.inner.result", "b": 1},
        ],
        "outputs": [
            {"type": "JsonField", "name": "inner", "selector": "$steps.inner.result"},
            {"type": "JsonField", "name": "after", "selector": "$steps.after.sum"},
        ],
    }


@pytest.mark.parametrize(
    ("numbers", "expected"),
    [
        ([], []),
        ([1], [{"inner": 202, "after": 203}]),
        ([1, 2], [{"inner": 202, "after": 203}, {"inner": 204, "after": 205}]),
    ],
)
def test_child_runs_inside_the_parent(numbers: list[int], expected: Any) -> None:
    workflow = Workflow.load(parent(child()))
    assert workflow.run(n=numbers) == expected
    names = [s.name for s in workflow.plan.steps]
    assert names == ["add", "inner__add", "inner__twice", "after"]


def test_bindings_override_defaults_and_nesting_works() -> None:
    middle = {
        "version": "1.0",
        "inputs": [{"type": "WorkflowBatchInput", "name": "m", "kind": ["integer"]}],
        "steps": [
            {
                "type": "roboflow_core/inner_workflow@v1",
                "name": "deep",
                "workflow_definition": child(),
                "parameter_bindings": {"numbers": "$inputs.m", "plus": 1},
            }
        ],
        "outputs": [{"type": "JsonField", "name": "result", "selector": "$steps.deep.result"}],
    }
    workflow = Workflow.load(parent(middle, {"m": "$inputs.n"}))
    assert workflow.run(n=[5]) == [{"inner": 12, "after": 13}]
    assert [s.name for s in workflow.plan.steps][1:3] == ["inner__deep__add", "inner__deep__twice"]


@pytest.mark.parametrize(
    ("mutate", "loc", "message"),
    [
        (
            lambda d: d["steps"][1].update(parameter_bindings={"nope": "$inputs.n"}),
            "steps[1].parameter_bindings",
            "does not declare",
        ),
        (
            lambda d: d["steps"][1].update(parameter_bindings={}),
            "steps[1].parameter_bindings",
            "bind the child inputs ['numbers']",
        ),
        (
            lambda d: d["steps"][1].update(execution_mode="remote_dispatch"),
            "steps[1].execution_mode",
            "runs workflows locally",
        ),
        (
            lambda d: d["steps"][1]["workflow_definition"].update(steps=[]),
            "steps[1].workflow_definition.steps",
            "has no steps",
        ),
    ],
)
def test_bad_inner_workflows_are_named(mutate: Any, loc: str, message: str) -> None:
    document = copy.deepcopy(parent(child()))
    mutate(document)
    with pytest.raises(CompileError) as info:
        Workflow.load(document)
    assert info.value.code == "compile.inner_workflow"
    assert info.value.loc == loc
    assert message in str(info.value)


def test_errors_inside_the_child_point_into_the_child() -> None:
    broken = child()
    broken["steps"][1]["a"] = "$steps.ad.sum"
    with pytest.raises(CompileError) as info:
        Workflow.load(parent(broken))
    assert info.value.code == "compile.dangling_selector"
    assert info.value.loc == "steps[1].workflow_definition.steps[1].a"


def test_excessive_nesting_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VISIONFLOW_MAX_INNER_WORKFLOW_DEPTH", "2")
    definition = child()
    for _ in range(3):
        definition = {
            "version": "1.0",
            "inputs": [{"type": "WorkflowBatchInput", "name": "numbers"}],
            "steps": [
                {
                    "type": "roboflow_core/inner_workflow@v1",
                    "name": "level",
                    "workflow_definition": definition,
                    "parameter_bindings": {"numbers": "$inputs.numbers"},
                }
            ],
            "outputs": [{"type": "JsonField", "name": "result", "selector": "$steps.level.result"}],
        }
    with pytest.raises(CompileError) as info:
        Workflow.load(definition)
    assert "nested more than 2 levels" in str(info.value)
