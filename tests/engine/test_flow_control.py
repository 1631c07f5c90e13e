"""continue_if-style masks: per element for batches, whole branch for scalars."""

from __future__ import annotations

from typing import Any

import pytest

from visionflow import ExecutionEngine

N = {"type": "WorkflowBatchInput", "name": "n", "kind": ["integer"]}
P = {"type": "WorkflowParameter", "name": "p"}


def out(name: str, selector: str) -> dict[str, str]:
    return {"type": "JsonField", "name": name, "selector": selector}


def run(steps: list[Any], outputs: list[Any], inputs: list[Any], **runtime: Any) -> list[Any]:
    definition = {"version": "1.0", "inputs": inputs, "steps": steps, "outputs": outputs}
    return ExecutionEngine.init(workflow_definition=definition).run(runtime_parameters=runtime)


GATE = {
    "type": "test/gate@v1",
    "name": "gate",
    "value": "$inputs.n",
    "threshold": 1,
    "next_steps": ["$steps.echo"],
}
ECHO = {"type": "test/echo@v1", "name": "echo", "value": "$inputs.n"}
AFTER = {"type": "test/add@v1", "name": "after", "a": "$steps.echo.value", "b": 100}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([0], [{"echo": None, "after": None}]),
        (
            [0, 2, 1, 5],
            [
                {"echo": None, "after": None},
                {"echo": 2, "after": 102},
                {"echo": None, "after": None},
                {"echo": 5, "after": 105},
            ],
        ),
    ],
)
def test_batch_condition_masks_elements_and_their_descendants(
    values: list[int], expected: Any
) -> None:
    assert (
        run(
            [GATE, ECHO, AFTER],
            [out("echo", "$steps.echo.value"), out("after", "$steps.after.sum")],
            [N],
            n=values,
        )
        == expected
    )


def test_scalar_condition_stops_the_whole_branch() -> None:
    gate = {
        "type": "test/gate@v1",
        "name": "gate",
        "value": "$inputs.p",
        "threshold": 1,
        "next_steps": ["$steps.echo"],
    }
    echo = {"type": "test/echo@v1", "name": "echo", "value": "$inputs.n"}
    after = {"type": "test/echo@v1", "name": "after", "value": "$inputs.p"}
    steps = [gate, echo, after]
    outputs = [out("echo", "$steps.echo.value"), out("p", "$steps.after.value")]
    assert run(steps, outputs, [N, P], n=[1, 2], p=0) == [
        {"echo": None, "p": 0},
        {"echo": None, "p": 0},
    ]
    assert run(steps, outputs, [N, P], n=[1, 2], p=5) == [{"echo": 1, "p": 5}, {"echo": 2, "p": 5}]


def test_a_scalar_step_after_a_closed_branch_does_not_run() -> None:
    gate = {
        "type": "test/gate@v1",
        "name": "gate",
        "value": "$inputs.p",
        "threshold": 1,
        "next_steps": ["$steps.echo"],
    }
    echo = {"type": "test/echo@v1", "name": "echo", "value": "$inputs.p"}
    after = {"type": "test/add@v1", "name": "after", "a": "$steps.echo.value", "b": 1}
    result = run([gate, echo, after], [out("after", "$steps.after.sum")], [P], p=0)
    assert result == [{"after": None}]
    assert run([gate, echo, after], [out("after", "$steps.after.sum")], [P], p=3) == [{"after": 4}]


def test_condition_above_nested_steps_masks_whole_subtrees() -> None:
    gate = {
        "type": "test/gate@v1",
        "name": "gate",
        "value": "$inputs.n",
        "threshold": 1,
        "next_steps": ["$steps.split"],
    }
    split = {"type": "test/split@v1", "name": "split", "count": "$inputs.n"}
    result = run([gate, split], [out("items", "$steps.split.item")], [N], n=[1, 3])
    assert result == [{"items": []}, {"items": [0, 1, 2]}]


def test_nested_condition_masks_single_children() -> None:
    split = {"type": "test/split@v1", "name": "split", "count": "$inputs.n"}
    gate = {
        "type": "test/gate@v1",
        "name": "gate",
        "value": "$steps.split.item",
        "threshold": 0,
        "next_steps": ["$steps.echo"],
    }
    echo = {"type": "test/echo@v1", "name": "echo", "value": "$steps.split.item"}
    result = run([split, gate, echo], [out("items", "$steps.echo.value")], [N], n=[3, 1])
    assert result == [{"items": [None, 1, 2]}, {"items": [None]}]


def test_two_conditions_on_one_step_must_both_pass() -> None:
    g1 = {
        "type": "test/gate@v1",
        "name": "g1",
        "value": "$inputs.n",
        "threshold": 1,
        "next_steps": ["$steps.echo"],
    }
    g2 = {
        "type": "test/gate@v1",
        "name": "g2",
        "value": "$inputs.n",
        "threshold": 3,
        "next_steps": ["$steps.echo"],
    }
    result = run([g1, g2, ECHO], [out("echo", "$steps.echo.value")], [N], n=[2, 4, 0])
    assert result == [{"echo": None}, {"echo": 4}, {"echo": None}]
