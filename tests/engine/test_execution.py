"""Scheduling, step errors, profiling and serialization through the engine."""

from __future__ import annotations

import time
from typing import Any

import pytest

from visionflow import ExecutionEngine, StepExecutionError, Workflow

N = {"type": "WorkflowBatchInput", "name": "n"}


def out(name: str, selector: str) -> dict[str, str]:
    return {"type": "JsonField", "name": name, "selector": selector}


def definition(
    steps: list[Any], outputs: list[Any], inputs: list[Any] | None = None
) -> dict[str, Any]:
    return {"version": "1.0", "inputs": inputs or [N], "steps": steps, "outputs": outputs}


def test_failing_step_names_step_block_and_element() -> None:
    engine = ExecutionEngine.init(
        workflow_definition=definition(
            [{"type": "test/fail@v1", "name": "breaker", "value": "$inputs.n", "fail_on": 7}],
            [out("v", "$steps.breaker.value")],
        )
    )
    assert engine.run(runtime_parameters={"n": [1, 2]}) == [{"v": 1}, {"v": 2}]
    with pytest.raises(StepExecutionError) as info:
        engine.run(runtime_parameters={"n": [1, 7]})
    error = info.value
    assert (error.step, error.block_type, error.element) == ("breaker", "test/fail@v1", (1,))
    assert "step 'breaker' (test/fail@v1) failed on element [1]" in str(error)
    assert "cannot handle 7" in str(error)


def test_independent_steps_run_concurrently_by_readiness() -> None:
    steps = [
        {"type": "test/sleep@v1", "name": f"s{i}", "value": "$inputs.n", "seconds": 0.2}
        for i in range(4)
    ]
    steps.append({"type": "test/echo@v1", "name": "e", "value": "$steps.s0.value"})
    doc = definition(steps, [out("e", "$steps.e.value")])
    sequential = ExecutionEngine.init(workflow_definition=doc, max_concurrent_steps=1)
    parallel = ExecutionEngine.init(workflow_definition=doc, max_concurrent_steps=4)
    start = time.perf_counter()
    assert parallel.run(runtime_parameters={"n": [1]}) == [{"e": 1}]
    parallel_time = time.perf_counter() - start
    start = time.perf_counter()
    assert sequential.run(runtime_parameters={"n": [1]}) == [{"e": 1}]
    sequential_time = time.perf_counter() - start
    assert sequential_time >= 0.8
    assert parallel_time < 0.6


def test_a_slow_branch_does_not_hold_back_a_ready_step() -> None:
    # "fast_chain" depends only on a fast step: with readiness scheduling it finishes
    # while the slow step still runs (a level barrier would make it wait).
    steps = [
        {"type": "test/sleep@v1", "name": "slow", "value": "$inputs.n", "seconds": 0.4},
        {"type": "test/sleep@v1", "name": "fast", "value": "$inputs.n", "seconds": 0.01},
        {
            "type": "test/sleep@v1",
            "name": "fast_chain",
            "value": "$steps.fast.value",
            "seconds": 0.01,
        },
    ]
    workflow = Workflow.load(
        definition(steps, [out("f", "$steps.fast_chain.value")]),
        max_concurrent_steps=2,
        enable_profiling=True,
    )
    workflow.run(n=[1])
    events = {e["name"]: e for e in workflow.trace()}
    slow_end = events["slow"]["ts"] + events["slow"]["dur"]
    assert events["fast_chain"]["ts"] + events["fast_chain"]["dur"] < slow_end


def test_profiling_produces_a_chrome_trace() -> None:
    workflow = Workflow.load(
        definition(
            [{"type": "test/echo@v1", "name": "e", "value": "$inputs.n"}],
            [out("e", "$steps.e.value")],
        ),
        enable_profiling=True,
    )
    workflow.run(n=[1, 2])
    trace = workflow.trace()
    names = [e["name"] for e in trace]
    assert names == ["e", "workflow_run"]
    for event in trace:
        assert event["ph"] == "X" and event["dur"] >= 0 and "ts" in event and "pid" in event
    assert workflow.trace() == []  # exported events are cleared


def test_serialize_results_gives_json_ready_values(image: Any) -> None:
    import orjson

    workflow = Workflow.load(
        definition(
            [{"type": "test/image_size@v1", "name": "size", "image": "$inputs.image"}],
            [out("image", "$inputs.image"), out("size", "$steps.size.*")],
            [{"type": "WorkflowImage", "name": "image"}],
        )
    )
    result = workflow.run(image=image, serialize=True)
    orjson.dumps(result)  # JSON-ready
    assert result[0]["image"]["type"] == "base64"
    assert result[0]["size"] == {"width": 160, "height": 120}
