"""Batches, nesting, collapsing, broadcasting and output assembly (compat.md section 3)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from visionflow import ExecutionEngine, RuntimeInputError, Workflow

N = {"type": "WorkflowBatchInput", "name": "n", "kind": ["integer"]}
K = {"type": "WorkflowParameter", "name": "k", "default_value": 10}


def out(name: str, selector: str, **extra: Any) -> dict[str, Any]:
    return {"type": "JsonField", "name": name, "selector": selector, **extra}


def run(
    steps: list[dict[str, Any]],
    outputs: list[dict[str, Any]],
    inputs: list[Any] | None = None,
    **runtime: Any,
) -> list[dict[str, Any]]:
    definition = {"version": "1.0", "inputs": inputs or [N, K], "steps": steps, "outputs": outputs}
    return ExecutionEngine.init(workflow_definition=definition).run(runtime_parameters=runtime)


SPLIT = {"type": "test/split@v1", "name": "split", "count": "$inputs.n"}
ADD = {"type": "test/add@v1", "name": "add", "a": "$steps.split.item", "b": "$inputs.k"}


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ([], []),
        ([0], [{"items": []}]),
        (
            [2, 1, 0, 3],
            [{"items": [10, 11]}, {"items": [10]}, {"items": []}, {"items": [10, 11, 12]}],
        ),
    ],
)
def test_nested_outputs_are_lists_inside_the_parent_dict(counts: list[int], expected: Any) -> None:
    assert run([SPLIT, ADD], [out("items", "$steps.add.sum")], n=counts) == expected


def test_crop_indices_follow_the_specification() -> None:
    # 2, 1, 0, 3 children -> (0,0),(0,1),(1,0),(3,0),(3,1),(3,2)
    definition = {"version": "1.0", "inputs": [N], "steps": [SPLIT], "outputs": []}
    engine = ExecutionEngine.init(workflow_definition=definition)
    from visionflow.engine.executor import execute_plan
    from visionflow.engine.inputs import InputPolicy, assemble_inputs
    from visionflow.engine.state import RunState

    state = RunState(engine.plan, assemble_inputs(engine.plan, {"n": [2, 1, 0, 3]}, InputPolicy()))
    execute_plan(engine.plan, state, engine._blocks, None, None)
    assert state.domain(("$inputs", "$steps.split")) == [
        (0, 0),
        (0, 1),
        (1, 0),
        (3, 0),
        (3, 1),
        (3, 2),
    ]


def test_collapse_brings_children_back_to_their_parent() -> None:
    steps = [SPLIT, ADD, {"type": "test/collect@v1", "name": "c", "values": "$steps.add.sum"}]
    # a parent without children has nothing to collapse (None, as the reference)
    assert run(steps, [out("c", "$steps.c.values")], n=[2, 0, 1]) == [
        {"c": [10, 11]},
        {"c": None},
        {"c": [10]},
    ]


def test_collapse_of_top_level_gives_a_scalar_copied_into_every_result() -> None:
    steps = [
        {"type": "test/collect@v1", "name": "c", "values": "$inputs.n"},
        {"type": "test/echo@v1", "name": "e", "value": "$inputs.n"},
    ]
    assert run(steps, [out("all", "$steps.c.values"), out("mine", "$steps.e.value")], n=[4, 5]) == [
        {"all": [4, 5], "mine": 4},
        {"all": [4, 5], "mine": 5},
    ]


def test_inputs_one_level_apart() -> None:
    steps = [
        SPLIT,
        {
            "type": "test/count_children@v1",
            "name": "cc",
            "parent": "$inputs.n",
            "children": "$steps.split.item",
        },
    ]
    assert run(steps, [out("cc", "$steps.cc.count")], n=[3, 0]) == [{"cc": 3}, {"cc": 0}]


def test_length_one_batches_and_scalars_are_broadcast() -> None:
    inputs = [N, {"type": "WorkflowBatchInput", "name": "m", "kind": ["integer"]}, K]
    steps = [
        {"type": "test/add@v1", "name": "a", "a": "$inputs.n", "b": "$inputs.m"},
        {"type": "test/batch_add@v1", "name": "b", "a": "$inputs.n", "b": "$inputs.k"},
    ]
    result = run(
        steps, [out("a", "$steps.a.sum"), out("b", "$steps.b.sum")], inputs, n=[1, 2, 3], m=100, k=5
    )
    assert result == [{"a": 101, "b": 6}, {"a": 102, "b": 7}, {"a": 103, "b": 8}]


def test_batch_blocks_get_the_whole_batch_in_one_call() -> None:
    from testing_blocks import BatchAddBlock

    BatchAddBlock.calls.clear()
    steps = [{"type": "test/batch_add@v1", "name": "b", "a": "$inputs.n", "b": 1}]
    assert run(steps, [out("b", "$steps.b.sum")], n=[1, 2, 3, 4]) == [
        {"b": 2},
        {"b": 3},
        {"b": 4},
        {"b": 5},
    ]
    assert BatchAddBlock.calls == [4]


def test_mismatched_batch_lengths_are_an_input_error() -> None:
    inputs = [N, {"type": "WorkflowBatchInput", "name": "m"}]
    with pytest.raises(RuntimeInputError) as info:
        run([], [out("n", "$inputs.n")], inputs, n=[1, 2], m=[1, 2, 3])
    assert info.value.code == "input.batch_size_mismatch"
    assert "'n': 2" in info.value.message and "'m': 3" in info.value.message


def test_missing_batch_input_is_named() -> None:
    with pytest.raises(RuntimeInputError) as info:
        run([], [out("n", "$inputs.n")])
    assert info.value.code == "input.missing"
    assert info.value.loc == "inputs.n"


def test_parameters_default_and_undeclared_keys_are_ignored() -> None:
    assert run([], [out("k", "$inputs.k")], [K], unknown=1) == [{"k": 10}]
    assert run([], [out("k", "$inputs.k")], [K], k=[1, 2]) == [{"k": [1, 2]}]
    assert run([], [], [K]) == []


def test_dimensionality_two_batch_input() -> None:
    nested = {
        "type": "WorkflowBatchInput",
        "name": "grid",
        "kind": ["integer"],
        "dimensionality": 2,
    }
    steps = [
        {"type": "test/add@v1", "name": "a", "a": "$inputs.grid", "b": 1},
        {"type": "test/collect@v1", "name": "c", "values": "$steps.a.sum"},
    ]
    result = run(
        steps,
        [out("plus_one", "$steps.a.sum"), out("rows", "$steps.c.values")],
        [nested],
        grid=[[1, 2], [], [3]],
    )
    assert result == [
        {"plus_one": [2, 3], "rows": [2, 3]},
        {"plus_one": [], "rows": None},
        {"plus_one": [4], "rows": [4]},
    ]


def test_wildcard_output_gives_every_output_of_a_step() -> None:
    steps = [{"type": "test/image_size@v1", "name": "size", "image": "$inputs.image"}]
    inputs = [{"type": "WorkflowImage", "name": "image"}]
    import numpy as np

    result = run(
        steps,
        [out("size", "$steps.size.*")],
        inputs,
        image=[np.zeros((10, 20, 3), np.uint8), np.zeros((5, 6, 3), np.uint8)],
    )
    assert result == [{"size": {"width": 20, "height": 10}}, {"size": {"width": 6, "height": 5}}]


def test_workflow_api_runs_images(image: Any) -> None:
    workflow = Workflow.load(
        {
            "version": "1.0",
            "inputs": [{"type": "WorkflowImage", "name": "image"}],
            "steps": [{"type": "test/image_size@v1", "name": "size", "image": "$inputs.image"}],
            "outputs": [out("w", "$steps.size.width")],
        }
    )
    assert workflow.run(image=image) == [{"w": 160}]
    assert workflow.run(image=[image, image[:50]]) == [{"w": 160}, {"w": 160}]


@settings(max_examples=60, deadline=None)
@given(
    counts=st.lists(st.integers(min_value=0, max_value=4), min_size=1, max_size=6),
    k=st.integers(min_value=-5, max_value=5),
)
def test_nested_outputs_follow_any_number_of_children(counts: list[int], k: int) -> None:
    steps = [SPLIT, ADD, {"type": "test/collect@v1", "name": "c", "values": "$steps.add.sum"}]
    result = run(
        steps, [out("items", "$steps.add.sum"), out("c", "$steps.c.values")], n=counts, k=k
    )
    assert [row["items"] for row in result] == [[k + j for j in range(c)] for c in counts]
    assert [row["c"] for row in result] == [[k + j for j in range(c)] or None for c in counts]
