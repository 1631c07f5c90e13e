"""The values of one run: inputs, step outputs by index, lineage domains and flow-control masks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from visionflow.compiler.plan import INPUT_LINEAGE, Binding, Plan, StepNode
from visionflow.engine.inputs import AssembledInputs
from visionflow.spec.selectors import Selector

Index = tuple[int, ...]

#: marks a value that does not exist (a masked element, a step that did not run)
MISSING: Any = None


class RunState:
    """Everything a run has computed so far. Steps write only their own keys."""

    __slots__ = (
        "_children",
        "batch_outputs",
        "batch_size",
        "domains",
        "getters",
        "input_batches",
        "input_scalars",
        "masks",
        "plan",
        "scalar_outputs",
    )

    def __init__(self, plan: Plan, inputs: AssembledInputs) -> None:
        self.plan = plan
        self.batch_size = inputs.batch_size
        self.input_scalars = inputs.scalars
        self.input_batches = inputs.batches
        self.domains: dict[tuple[str, ...], list[Index]] = dict(inputs.domains)
        self.domains[(INPUT_LINEAGE,)] = [(i,) for i in range(inputs.batch_size)]
        #: step -> outputs dict (None: the step did not run)
        self.scalar_outputs: dict[str, dict[str, Any] | None] = {}
        #: step -> {index: outputs dict}
        self.batch_outputs: dict[str, dict[Index, dict[str, Any]]] = {}
        #: (flow-control step, target step) -> allowed indices, or a bool for scalar steps
        self.masks: dict[tuple[str, str], set[Index] | bool] = {}
        self._children: dict[tuple[str, ...], dict[Index, list[Index]]] = {}
        self.getters = accessors(plan)

    # -- domains ----------------------------------------------------------------------------
    def domain(self, lineage: tuple[str, ...]) -> list[Index]:
        return self.domains.get(lineage, [])

    def register_domain(self, lineage: tuple[str, ...], indices: list[Index]) -> None:
        self.domains[lineage] = indices

    def children(self, lineage: tuple[str, ...], parent: Index) -> list[Index]:
        """Indices of ``lineage`` (one level below ``parent``) whose prefix is ``parent``."""
        grouped = self._children.get(lineage)
        if grouped is None:
            grouped = {}
            for index in self.domain(lineage):
                grouped.setdefault(index[:-1], []).append(index)
            self._children[lineage] = grouped
        return grouped.get(parent, [])

    # -- values -----------------------------------------------------------------------------
    def value(self, selector: Selector, index: Index | None) -> Any:
        """The value a selector has for one element (``index`` None for scalar steps)."""
        return self.getters[selector.raw](self, index)

    def is_batch_source(self, selector: Selector) -> bool:
        if selector.is_input:
            return self.plan.inputs[selector.name].is_batch
        return self.plan.steps_by_name[selector.name].output_dimensionality > 0

    def source_lineage(self, selector: Selector) -> tuple[str, ...]:
        if selector.is_input:
            return self.plan.inputs[selector.name].lineage
        return self.plan.steps_by_name[selector.name].output_lineage

    def kwargs(self, step: StepNode, index: Index | None) -> dict[str, Any]:
        """The step's fields for one element (``index`` None: scalar values only)."""
        literals, dynamic = step_fields(self.plan, step)
        kwargs = dict(literals)
        for field, resolve in dynamic:
            kwargs[field] = resolve(self, index)
        return kwargs

    def nested_values(self, selector: Selector, index: Index) -> Any:
        """Values of a deeper batch under one element (fields with a dimensionality offset)."""
        from visionflow.blocks.base import Batch

        lineage = self.source_lineage(selector)
        children = self.children(lineage[: len(index) + 1], index)
        return Batch([self.value(selector, child) for child in children], children)

    # -- flow control -----------------------------------------------------------------------
    def allowed(self, step: StepNode, indices: list[Index]) -> list[Index]:
        """Elements of ``indices`` that every flow-control parent lets through."""
        for parent in step.control_parents:
            mask = self.masks.get((parent, step.name), False)
            if mask is True:
                continue
            if mask is False:
                return []
            kept = []
            for index in indices:
                if index[: len(next(iter(mask), index))] in mask:
                    kept.append(index)
            indices = kept
        return indices

    def scalar_allowed(self, step: StepNode) -> bool:
        return all(self.masks.get((p, step.name), False) is True for p in step.control_parents)


Getter = Callable[[RunState, "Index | None"], Any]


def accessors(plan: Plan) -> dict[str, Getter]:
    """One getter per selector of the plan, derived once per plan (the run's hot path)."""
    cached = plan.runtime_cache.get("getters")
    if cached is None:
        raws = {s.raw: s for step in plan.steps for b in step.bindings for s in b.selectors}
        raws.update({o.selector.raw: o.selector for o in plan.outputs})
        cached = {raw: _getter(plan, s) for raw, s in raws.items() if not s.is_step}
        plan.runtime_cache["getters"] = cached
    return cached


def _getter(plan: Plan, selector: Selector) -> Getter:
    name = selector.name
    if selector.is_input:
        node = plan.inputs[name]
        if not node.is_batch:
            return lambda state, index: state.input_scalars.get(name)
        dim = node.dimensionality

        def batch_input(state: RunState, index: Index | None) -> Any:
            if index is None:
                return MISSING
            return state.input_batches[name].get(index if len(index) == dim else index[:dim])

        return batch_input
    step = plan.steps_by_name[name]
    output = selector.output or ""
    wildcard = selector.is_wildcard
    dim = step.output_dimensionality
    if dim == 0:

        def scalar_step(state: RunState, index: Index | None) -> Any:
            outputs = state.scalar_outputs.get(name)
            if outputs is None:
                return MISSING
            return outputs if wildcard else outputs.get(output)

        return scalar_step

    def batch_step(state: RunState, index: Index | None) -> Any:
        if index is None:
            return MISSING
        outputs = state.batch_outputs.get(name)
        if outputs is None:
            return MISSING
        element = outputs.get(index if len(index) == dim else index[:dim])
        if element is None:
            return MISSING
        return element if wildcard else element.get(output)

    return batch_step


Resolver = Callable[[RunState, "Index | None"], Any]


def step_fields(
    plan: Plan, step: StepNode
) -> tuple[dict[str, Any], tuple[tuple[str, Resolver], ...]]:
    """A step's literal fields and a resolver per selector field, derived once per plan."""
    cache = plan.runtime_cache.setdefault("fields", {})
    fields = cache.get(step.name)
    if fields is None:
        literals = {b.field: b.value for b in step.bindings if b.shape == "literal"}
        dynamic = tuple(
            (b.field, _resolver(plan, b)) for b in step.bindings if b.shape != "literal"
        )
        fields = cache[step.name] = (literals, dynamic)
    return fields


def _resolver(plan: Plan, binding: Binding) -> Resolver:
    getters = accessors(plan)
    if binding.shape == "literal":
        value = binding.value
        return lambda state, index: value
    if binding.shape == "selector":
        selector = binding.selectors[0]
        get = getters[selector.raw]
        if binding.offset and _is_batch(plan, selector):

            def nested(state: RunState, index: Index | None) -> Any:
                if index is None:
                    return get(state, index)
                return state.nested_values(selector, index)

            return nested
        return get
    # containers: selectors resolved, literals and step references kept as written
    parts = [
        (key, getters.get(item) if isinstance(item, str) else None, item)
        for key, item in (
            binding.value.items() if binding.shape == "dict" else enumerate(binding.value)
        )
    ]
    if binding.shape == "dict":
        return lambda state, index: {
            key: get(state, index) if get else item for key, get, item in parts
        }
    return lambda state, index: [get(state, index) if get else item for _, get, item in parts]


def _is_batch(plan: Plan, selector: Selector) -> bool:
    if selector.is_input:
        return plan.inputs[selector.name].is_batch
    return plan.steps_by_name[selector.name].output_dimensionality > 0
