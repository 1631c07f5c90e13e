"""Run the steps of a plan: readiness scheduling, batches, masks, nesting and collapsing."""

from __future__ import annotations

import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from visionflow.blocks.base import Batch, Block, FlowControl
from visionflow.compiler.plan import Plan, StepNode
from visionflow.engine.profiling import Profiler
from visionflow.engine.state import Index, RunState, step_fields
from visionflow.errors import StepExecutionError, VisionflowError


def execute_plan(
    plan: Plan,
    state: RunState,
    blocks: dict[str, Block],
    pool: ThreadPoolExecutor | None,
    profiler: Profiler | None,
) -> None:
    """Run every step once its inputs exist; sequentially when no pool is given."""
    if pool is None or len(plan.steps) < 2:
        for step in plan.steps:
            _timed(step, state, blocks[step.name], profiler)
        return
    waiting = {step.name: set(step.dependencies) for step in plan.steps}
    dependents: dict[str, list[str]] = {step.name: [] for step in plan.steps}
    for step in plan.steps:
        for dependency in step.dependencies:
            dependents[dependency].append(step.name)
    running: dict[Future[None], str] = {}

    def submit_ready() -> None:
        for name in [n for n, deps in waiting.items() if not deps]:
            del waiting[name]
            step = plan.steps_by_name[name]
            running[pool.submit(_timed, step, state, blocks[name], profiler)] = name

    submit_ready()
    while running:
        done, _ = wait(running, return_when=FIRST_COMPLETED)
        for future in done:
            name = running.pop(future)
            error = future.exception()
            if error is not None:
                for other in running:
                    other.cancel()
                raise error
            for dependent in dependents[name]:
                waiting[dependent].discard(name)
        submit_ready()


def _timed(step: StepNode, state: RunState, block: Block, profiler: Profiler | None) -> None:
    if profiler is None:
        run_step(step, state, block)
        return
    start = time.perf_counter()
    try:
        run_step(step, state, block)
    finally:
        profiler.record_step(step.name, step.block_type, start, time.perf_counter())


def run_step(step: StepNode, state: RunState, block: Block) -> None:
    if step.dimensionality == 0:
        _run_scalar(step, state, block)
    elif step.output_offset < 0:
        _run_collapsing(step, state, block)
    else:
        _run_batch(step, state, block)


# ---------------------------------------------------------------------------------------------
def _run_scalar(step: StepNode, state: RunState, block: Block) -> None:
    if not state.scalar_allowed(step) or not _scalar_inputs_present(step, state):
        state.scalar_outputs[step.name] = None
        _register_control(step, state, {}, ran=False)
        return
    kwargs = state.kwargs(step, None)
    if step.batch_mode:
        for name in step.batch_fields:
            kwargs[name] = Batch([kwargs[name]], [()])
        result = _call(step, block, kwargs, None)
        result = result[0] if isinstance(result, list) else result
    else:
        result = _call(step, block, kwargs, None)
    if step.is_flow_control:
        _register_control(step, state, {(): result}, ran=True)
        state.scalar_outputs[step.name] = {}
        return
    state.scalar_outputs[step.name] = _check_outputs(step, result, None)


def _scalar_inputs_present(step: StepNode, state: RunState) -> bool:
    """False when a scalar step this step reads did not run (its branch was closed)."""
    if step.manifest.accepts_empty_values:
        return True
    outputs = state.scalar_outputs
    return all(outputs.get(name) is not None for name in step.scalar_sources)


def _active_elements(step: StepNode, state: RunState, indices: list[Index]) -> list[Index]:
    """Elements allowed by flow control whose batch inputs all hold a value."""
    if step.control_parents:
        indices = state.allowed(step, indices)
    if step.manifest.accepts_empty_values or not indices:
        return indices
    if not _scalar_inputs_present(step, state):
        return []
    checks = [state.getters[s.raw] for s in step.batch_checks]
    if not checks:
        return indices
    return [i for i in indices if all(get(state, i) is not None for get in checks)]


def _run_batch(step: StepNode, state: RunState, block: Block) -> None:
    active = _active_elements(step, state, state.domain(step.lineage))
    results: list[Any]
    if step.batch_mode:
        results = _call_batch(step, state, block, active) if active else []
    else:
        results = _call_each(step, state, block, active)
    if step.is_flow_control:
        _register_control(step, state, dict(zip(active, results, strict=True)), ran=True)
        state.batch_outputs[step.name] = {}
        return
    if step.output_offset > 0:
        outputs: dict[Index, dict[str, Any]] = {}
        domain: list[Index] = []
        for index, children in zip(active, results, strict=True):
            if not isinstance(children, list):
                raise _bad_result(
                    step, index, "a list of output dicts (one per new element)", children
                )
            for j, child in enumerate(children):
                child_index = index + (j,)
                domain.append(child_index)
                outputs[child_index] = _check_outputs(step, child, child_index)
        state.register_domain(step.output_lineage, domain)
        state.batch_outputs[step.name] = outputs
        return
    state.batch_outputs[step.name] = {
        index: _check_outputs(step, result, index)
        for index, result in zip(active, results, strict=True)
    }


def _call_each(step: StepNode, state: RunState, block: Block, active: list[Index]) -> list[Any]:
    """One ``run()`` per element (blocks without batch fields): the hottest loop of the engine."""
    literals, dynamic = step_fields(state.plan, step)
    run = block.run
    results = []
    for index in active:
        kwargs = dict(literals)
        for field, resolve in dynamic:
            kwargs[field] = resolve(state, index)
        try:
            results.append(run(**kwargs))
        except Exception as error:
            raise _step_error(step, index, error) from error
    return results


def _call_batch(step: StepNode, state: RunState, block: Block, active: list[Index]) -> list[Any]:
    literals, dynamic = step_fields(state.plan, step)
    kwargs = dict(literals)
    for field, resolve in dynamic:
        if field in step.batch_fields:
            kwargs[field] = Batch([resolve(state, i) for i in active], active)
        else:
            kwargs[field] = resolve(state, None)
    for field in step.batch_fields:
        if field in literals:  # a literal given to a batch field: the same for every element
            kwargs[field] = Batch([literals[field]] * len(active), active)
    results = _call(step, block, kwargs, None)
    if not isinstance(results, list) or len(results) != len(active):
        raise _bad_result(step, None, f"a list of {len(active)} results, one per element", results)
    return results


def _run_collapsing(step: StepNode, state: RunState, block: Block) -> None:
    active = set(_active_elements(step, state, state.domain(step.lineage)))
    parent_lineage = step.lineage[:-1]
    parents: list[Index] = state.domain(parent_lineage) if parent_lineage else [()]
    literals, dynamic = step_fields(state.plan, step)
    batched = {field for field, _ in dynamic} & _batch_bound_fields(step, state)
    outputs: dict[Index, dict[str, Any]] = {}
    for parent in parents:
        children = [c for c in state.children(step.lineage, parent) if c in active]
        if not children:
            continue  # nothing to collapse: the parent's value is missing, as in the reference
        kwargs = dict(literals)
        for field, resolve in dynamic:
            if field in batched:
                kwargs[field] = Batch([resolve(state, c) for c in children], children)
            else:
                kwargs[field] = resolve(state, None)
        outputs[parent] = _check_outputs(step, _call(step, block, kwargs, parent or None), parent)
    if step.output_dimensionality == 0:
        state.scalar_outputs[step.name] = outputs.get(())
    else:
        state.batch_outputs[step.name] = outputs


def _batch_bound_fields(step: StepNode, state: RunState) -> set[str]:
    """Fields that receive batch data (or are declared batch fields)."""
    return set(step.batch_fields) | {
        b.field
        for b in step.bindings
        if any(not s.is_step and state.is_batch_source(s) for s in b.selectors)
    }


# ---------------------------------------------------------------------------------------------
def _register_control(
    step: StepNode, state: RunState, decisions: dict[Index, Any], ran: bool
) -> None:
    targets = step.control_targets
    if step.dimensionality == 0:
        decision = decisions.get(())
        enabled = _enabled_targets(step, decision) if ran else set()
        for target in targets:
            state.masks[(step.name, target)] = target in enabled
        return
    allowed: dict[str, set[Index]] = {target: set() for target in targets}
    for index, decision in decisions.items():
        for target in _enabled_targets(step, decision):
            if target in allowed:
                allowed[target].add(index)
    for target, indices in allowed.items():
        state.masks[(step.name, target)] = indices


def _enabled_targets(step: StepNode, decision: Any) -> set[str]:
    if not isinstance(decision, FlowControl):
        raise _bad_result(step, None, "a FlowControl decision", decision)
    return {name.removeprefix("$steps.") for name in decision.next_steps}


def _call(step: StepNode, block: Block, kwargs: dict[str, Any], index: Index | None) -> Any:
    try:
        return block.run(**kwargs)
    except Exception as error:
        raise _step_error(step, index, error) from error


def _step_error(step: StepNode, index: Index | None, error: Exception) -> Exception:
    """The error a caller sees: the step, its block type, the element, the block's message."""
    if isinstance(error, StepExecutionError):
        return error
    if isinstance(error, VisionflowError):
        message, code = error.message, error.code
    else:
        message, code = f"{type(error).__name__}: {error}", None
    return StepExecutionError(
        message,
        step=step.name,
        block_type=step.block_type,
        element=index,
        code=code,
        inner=error,
    )


def _check_outputs(step: StepNode, result: Any, index: Index | None) -> dict[str, Any]:
    if not isinstance(result, dict):
        raise _bad_result(step, index, "a dict of outputs", result)
    return result


def _bad_result(step: StepNode, index: Index | None, expected: str, got: Any) -> StepExecutionError:
    return StepExecutionError(
        f"the block returned {type(got).__name__}, expected {expected} (a bug in the block)",
        step=step.name,
        block_type=step.block_type,
        element=index,
        code="step.bad_result",
    )
