"""Compile a workflow document into a frozen ``Plan``.

Checks, in order, collecting every problem of a phase before raising: the document schema
(``SpecError``), block types and step manifests, selectors (dangling, unknown outputs), kinds of
every connection, cycles, then dimensionality and lineage (``CompileError``).

>>> plan = compile_workflow({
...     "version": "1.0",
...     "inputs": [{"type": "WorkflowParameter", "name": "x"}],
...     "steps": [],
...     "outputs": [{"type": "JsonField", "name": "x", "selector": "$inputs.x"}],
... })
>>> [o.name for o in plan.outputs]
['x']
"""

from __future__ import annotations

import difflib
import graphlib
import hashlib
import threading
from collections import OrderedDict
from typing import Any

import orjson
from pydantic import ValidationError

from visionflow.blocks.base import BlockManifest, FieldSpec
from visionflow.blocks.dynamic import (
    compile_dynamic_blocks,
    python_blocks_allowed,
    refuse_python_blocks,
)
from visionflow.blocks.registry import BlockEntry, BlockRegistry, default_registry
from visionflow.compiler.inner_workflows import has_inner_workflows, inline_with_locations
from visionflow.compiler.plan import INPUT_LINEAGE, Binding, InputNode, OutputNode, Plan, StepNode
from visionflow.errors import CompileError, ErrorDetail, VisionflowError
from visionflow.spec.document import (
    WorkflowSpec,
    unwrap_document,
    validation_error_details,
)
from visionflow.spec.kinds import kind_names, kinds_compatible
from visionflow.spec.selectors import Selector, looks_like_selector, parse_selector

_CACHE_SIZE = 256
_cache: OrderedDict[tuple[str, int, int], Plan] = OrderedDict()
_cache_lock = threading.Lock()


def definition_digest(document: Any) -> str:
    """SHA-256 of the canonical JSON of a (bare) definition."""
    canonical = orjson.dumps(document, option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY)
    return hashlib.sha256(canonical).hexdigest()


def compile_workflow(
    document: Any,
    *,
    registry: BlockRegistry | None = None,
    allow_python_blocks: bool | None = None,
) -> Plan:
    """Compile a definition (bare or wrapped), reusing the plan of an identical document.

    Inline Python blocks (``dynamic_blocks_definitions``) are refused unless
    ``allow_python_blocks`` is True, or it is None and ``VISIONFLOW_ALLOW_PYTHON_BLOCKS=1``.
    """
    registry = registry or default_registry
    registry.ensure_loaded()
    bare = unwrap_document(document)
    if bare.get("dynamic_blocks_definitions") and not python_blocks_allowed(allow_python_blocks):
        raise refuse_python_blocks()
    try:
        digest = definition_digest(bare)
    except TypeError as error:
        raise CompileError(
            f"the workflow definition is not plain JSON: {error}", code="spec.not_json"
        ) from error
    key = (digest, id(registry), registry.version)
    with _cache_lock:
        plan = _cache.get(key)
        if plan is not None:
            _cache.move_to_end(key)
            return plan
    plan = _Compiler(bare, digest, registry).compile()
    with _cache_lock:
        _cache[key] = plan
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return plan


def clear_compile_cache() -> None:
    with _cache_lock:
        _cache.clear()


class _Compiler:
    def __init__(self, document: dict[str, Any], digest: str, registry: BlockRegistry) -> None:
        self.document = document
        self.digest = digest
        self.registry = registry
        self.details: list[ErrorDetail] = []
        self.local_blocks: dict[str, BlockEntry] = {}
        self.locations: list[str] = []

    # -- driver -----------------------------------------------------------------------------
    def _at(self, index: int) -> str:
        """Where step ``index`` was written (inside a child for inlined inner workflows)."""
        return self.locations[index] if index < len(self.locations) else f"steps[{index}]"

    def compile(self) -> Plan:
        if has_inner_workflows(self.document):
            self.document, self.locations = inline_with_locations(self.document)
        spec = WorkflowSpec.parse(self.document)
        self.local_blocks = {
            block.manifest.identifier(): BlockEntry(
                block.manifest.identifier(), (), block, "dynamic"
            )
            for block in compile_dynamic_blocks(spec.dynamic_blocks_definitions, allowed=True)
        }
        inputs = self._inputs(spec)
        entries, manifests = self._manifests(spec)
        self._raise_if_errors()
        bindings = {name: self._bindings(spec, name, manifests[name]) for name in manifests}
        control = self._control_edges(spec, manifests, bindings)
        outputs_of = {name: _outputs(manifest) for name, manifest in manifests.items()}
        self._check_references(spec, inputs, bindings, outputs_of, manifests)
        self._raise_if_errors()
        order = self._topological_order(spec, bindings, control)
        steps = self._dimensionality(
            spec, order, inputs, entries, manifests, bindings, control, outputs_of
        )
        outputs = self._outputs(spec, inputs, steps)
        self._raise_if_errors()
        return Plan(
            spec=spec,
            inputs=inputs,
            steps=tuple(steps[name] for name in order),
            outputs=tuple(outputs),
            digest=self.digest,
        )

    def _error(
        self,
        code: str,
        message: str,
        loc: str,
        *,
        step: str | None = None,
        block_type: str | None = None,
        property_name: str | None = None,
    ) -> None:
        self.details.append(
            ErrorDetail(
                code=code,
                message=message,
                loc=loc,
                step=step,
                block_type=block_type,
                property_name=property_name,
            )
        )

    def _raise_if_errors(self) -> None:
        if not self.details:
            return
        details, self.details = self.details, []
        first = details[0]
        message = (
            first.message
            if len(details) == 1
            else (f"the workflow has {len(details)} problems; first: {first.loc}: {first.message}")
        )
        raise CompileError(message, code=first.code, loc=first.loc, details=details)

    # -- inputs -----------------------------------------------------------------------------
    def _inputs(self, spec: WorkflowSpec) -> dict[str, InputNode]:
        nodes: dict[str, InputNode] = {}
        for definition in spec.inputs:
            dim = definition.dimensionality
            lineage: tuple[str, ...] = ()
            if dim > 0:
                lineage = (INPUT_LINEAGE,) + tuple(
                    f"$inputs.{definition.name}@{level}" for level in range(2, dim + 1)
                )
            nodes[definition.name] = InputNode(
                name=definition.name,
                type=definition.type,
                kinds=kind_names(definition.kind),
                dimensionality=dim,
                lineage=lineage,
                default_value=getattr(definition, "default_value", None),
            )
        return nodes

    # -- manifests --------------------------------------------------------------------------
    def _manifests(
        self, spec: WorkflowSpec
    ) -> tuple[dict[str, BlockEntry], dict[str, BlockManifest]]:
        entries: dict[str, BlockEntry] = {}
        manifests: dict[str, BlockManifest] = {}
        for index, step in enumerate(spec.steps):
            name, block_type = step["name"], step["type"]
            entry = self.local_blocks.get(block_type) or self.registry.find(block_type)
            if entry is None:
                from visionflow.blocks.registry import unknown_block_error

                known = [*self.registry.known_types(), *self.local_blocks]
                error = unknown_block_error(block_type, known)
                self._error(
                    "compile.unknown_block",
                    error.message,
                    f"{self._at(index)}.type",
                    step=name,
                    block_type=block_type,
                    property_name="type",
                )
                continue
            try:
                manifests[name] = entry.manifest.model_validate(step)
                entries[name] = entry
            except ValidationError as error:
                for detail in validation_error_details(
                    error, code="compile.invalid_step", prefix=(self._at(index),), step=name
                ):
                    self.details.append(
                        ErrorDetail(
                            code="compile.invalid_step",
                            message=f"step '{name}' ({entry.identifier}): {detail.message}",
                            loc=detail.loc,
                            step=name,
                            block_type=entry.identifier,
                            property_name=detail.property_name,
                        )
                    )
        return entries, manifests

    # -- bindings ---------------------------------------------------------------------------
    def _bindings(
        self, spec: WorkflowSpec, name: str, manifest: BlockManifest
    ) -> tuple[Binding, ...]:
        specs = type(manifest).field_specs()
        offsets = type(manifest).input_dimensionality_offsets
        bindings = []
        for field_name, field_spec in specs.items():
            value = getattr(manifest, field_name)
            bindings.append(_binding(field_name, field_spec, value, offsets.get(field_name, 0)))
        return tuple(bindings)

    def _control_edges(
        self,
        spec: WorkflowSpec,
        manifests: dict[str, BlockManifest],
        bindings: dict[str, tuple[Binding, ...]],
    ) -> dict[str, list[str]]:
        """Map each step to the flow-control steps that gate it."""
        parents: dict[str, list[str]] = {name: [] for name in manifests}
        for index, step in enumerate(spec.steps):
            name = step["name"]
            for binding in bindings.get(name, ()):
                for selector in binding.selectors:
                    if not selector.is_step:
                        continue
                    loc = f"{self._at(index)}.{binding.field}"
                    if selector.name not in manifests:
                        self._dangling(selector, loc, name, list(manifests), "step")
                    elif selector.name == name:
                        self._error(
                            "compile.cycle",
                            f"step '{name}' lists itself in '{binding.field}'",
                            loc,
                            step=name,
                        )
                    elif name not in parents[selector.name]:
                        parents[selector.name].append(name)
        return parents

    def _dangling(
        self, selector: Selector, loc: str, step: str | None, candidates: list[str], what: str
    ) -> None:
        close = difflib.get_close_matches(selector.name, candidates, n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        known = ", ".join(sorted(candidates)) or "none"
        self._error(
            "compile.dangling_selector",
            f"'{selector.raw}' refers to {what} '{selector.name}', which does not exist{hint} "
            f"(known {what}s: {known})",
            loc,
            step=step,
            property_name=loc.rsplit(".", 1)[-1],
        )

    # -- references and kinds -----------------------------------------------------------------
    def _check_references(
        self,
        spec: WorkflowSpec,
        inputs: dict[str, InputNode],
        bindings: dict[str, tuple[Binding, ...]],
        outputs_of: dict[str, dict[str, tuple[str, ...]]],
        manifests: dict[str, BlockManifest],
    ) -> None:
        for index, step in enumerate(spec.steps):
            name = step["name"]
            if name not in manifests:
                continue
            specs = type(manifests[name]).field_specs()
            for binding in bindings[name]:
                loc = f"{self._at(index)}.{binding.field}"
                accepted = specs[binding.field].selector_kinds or ("*",)
                for selector in binding.selectors:
                    if selector.is_step:
                        continue
                    produced = self._produced_kinds(selector, loc, name, inputs, outputs_of)
                    if produced is None:
                        continue
                    if selector.is_step_output and selector.name == name:
                        self._error(
                            "compile.cycle",
                            f"step '{name}' uses its own output '{selector.raw}'",
                            loc,
                            step=name,
                        )
                        continue
                    if not kinds_compatible(produced, accepted):
                        self._error(
                            "compile.kind_mismatch",
                            f"step '{name}' field '{binding.field}' accepts kinds "
                            f"{list(accepted)}, but '{selector.raw}' produces {list(produced)}",
                            loc,
                            step=name,
                            block_type=type(manifests[name]).identifier(),
                            property_name=binding.field,
                        )
        for index, output in enumerate(spec.outputs):
            selector = parse_selector(output.selector)
            self._produced_kinds(selector, f"outputs[{index}].selector", None, inputs, outputs_of)

    def _produced_kinds(
        self,
        selector: Selector,
        loc: str,
        step: str | None,
        inputs: dict[str, InputNode],
        outputs_of: dict[str, dict[str, tuple[str, ...]]],
    ) -> tuple[str, ...] | None:
        if selector.is_input:
            node = inputs.get(selector.name)
            if node is None:
                self._dangling(selector, loc, step, list(inputs), "input")
                return None
            return node.kinds
        outputs = outputs_of.get(selector.name)
        if outputs is None:
            self._dangling(selector, loc, step, list(outputs_of), "step")
            return None
        if selector.is_wildcard:
            return ("*",)
        kinds = outputs.get(selector.output or "")
        if kinds is None:
            known = ", ".join(outputs) or "none"
            close = difflib.get_close_matches(selector.output or "", list(outputs), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            self._error(
                "compile.unknown_output",
                f"step '{selector.name}' has no output '{selector.output}'{hint} "
                f"(its outputs: {known})",
                loc,
                step=step,
            )
            return None
        return kinds

    # -- graph ------------------------------------------------------------------------------
    def _topological_order(
        self,
        spec: WorkflowSpec,
        bindings: dict[str, tuple[Binding, ...]],
        control: dict[str, list[str]],
    ) -> list[str]:
        sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
        for step in spec.steps:
            name = step["name"]
            sorter.add(name, *_data_dependencies(bindings[name]), *control[name])
        try:
            order = list(sorter.static_order())
        except graphlib.CycleError as error:
            cycle = list(error.args[1])
            raise CompileError(
                f"the steps form a cycle: {' -> '.join(cycle)}; a step cannot depend on itself, "
                "directly or through other steps",
                code="compile.cycle",
                loc=f"steps.{cycle[0]}",
            ) from None
        declared = [s["name"] for s in spec.steps]
        position = {n: i for i, n in enumerate(declared)}
        # keep the document's order where the graph allows it: stable, readable traces
        return _stable_topological(order, position, bindings, control)

    # -- dimensionality ---------------------------------------------------------------------
    def _dimensionality(
        self,
        spec: WorkflowSpec,
        order: list[str],
        inputs: dict[str, InputNode],
        entries: dict[str, BlockEntry],
        manifests: dict[str, BlockManifest],
        bindings: dict[str, tuple[Binding, ...]],
        control: dict[str, list[str]],
        outputs_of: dict[str, dict[str, tuple[str, ...]]],
    ) -> dict[str, StepNode]:
        index_of = {s["name"]: i for i, s in enumerate(spec.steps)}
        nodes: dict[str, StepNode] = {}
        for name in order:
            manifest = manifests[name]
            cls = type(manifest)
            index = index_of[name]
            levels: list[tuple[str, int, tuple[str, ...]]] = []  # field, step-level dim, lineage
            for binding in bindings[name]:
                for selector in binding.selectors:
                    if selector.is_step:
                        continue
                    dim, lineage = _source_dim(selector, inputs, nodes)
                    if dim == 0:
                        continue
                    step_dim = dim - binding.offset
                    if step_dim < 0 or (binding.offset and step_dim < 1):
                        self._error(
                            "compile.dimensionality",
                            f"step '{name}' field '{binding.field}' expects data nested "
                            f"{binding.offset} level(s) deeper than the step, but "
                            f"'{selector.raw}' has dimensionality {dim}",
                            f"{self._at(index)}.{binding.field}",
                            step=name,
                            property_name=binding.field,
                        )
                        continue
                    levels.append((binding.field, step_dim, lineage[:step_dim]))
            dimensionality, lineage = self._step_level(name, index, cls, levels)
            offset = cls.output_dimensionality_offset
            if dimensionality == 0 and offset != 0:
                self._error(
                    "compile.dimensionality",
                    f"step '{name}' ({cls.identifier()}) changes dimensionality by {offset:+d} "
                    "but receives no batch data (images or batch inputs); connect its data "
                    "field to a batch-oriented value",
                    f"{self._at(index)}",
                    step=name,
                )
            if dimensionality + offset < 0:
                dimensionality = max(dimensionality, 1)
            out_dim = dimensionality + offset if dimensionality else 0
            if offset > 0:
                out_lineage = lineage + (f"$steps.{name}",)
            elif offset < 0:
                out_lineage = lineage[:-1]
            else:
                out_lineage = lineage
            for parent in control[name]:
                parent_node = nodes.get(parent)
                if parent_node is not None and parent_node.dimensionality > dimensionality:
                    self._error(
                        "compile.control_dimensionality",
                        f"flow-control step '{parent}' decides per element at dimensionality "
                        f"{parent_node.dimensionality}, but step '{name}' runs at "
                        f"dimensionality {dimensionality}; a step can only be gated by a "
                        "condition at its own level or above",
                        f"{self._at(index)}",
                        step=name,
                    )
            either = frozenset(cls.batch_or_scalar_fields)
            batch_fields = frozenset(cls.batch_fields) | {
                b.field
                for b in bindings[name]
                if b.field in either
                and any(not s.is_step and _source_dim(s, inputs, nodes)[0] > 0 for s in b.selectors)
            }
            self._check_batch_mode(
                name, index, cls, bindings[name], batch_fields | either, inputs, nodes
            )
            targets = tuple(s.name for b in bindings[name] for s in b.selectors if s.is_step)
            data_selectors = [(b, s) for b in bindings[name] for s in b.selectors if not s.is_step]
            batch_checks = tuple(
                s
                for b, s in data_selectors
                if not b.offset and _source_dim(s, inputs, nodes)[0] > 0
            )
            scalar_sources = tuple(
                dict.fromkeys(
                    s.name
                    for _, s in data_selectors
                    if s.is_step_output and _source_dim(s, inputs, nodes)[0] == 0
                )
            )
            nodes[name] = StepNode(
                name=name,
                index=index,
                block_type=entries[name].identifier,
                entry=entries[name],
                manifest=manifest,
                bindings=bindings[name],
                data_dependencies=frozenset(_data_dependencies(bindings[name])),
                control_parents=tuple(control[name]),
                control_targets=targets,
                dimensionality=dimensionality,
                lineage=lineage,
                output_dimensionality=out_dim,
                output_lineage=out_lineage if out_dim else (),
                outputs=outputs_of[name],
                batch_mode=bool(cls.batch_fields or either),
                batch_fields=batch_fields,
                batch_checks=batch_checks,
                scalar_sources=scalar_sources,
            )
        return nodes

    def _step_level(
        self,
        name: str,
        index: int,
        cls: type[BlockManifest],
        levels: list[tuple[str, int, tuple[str, ...]]],
    ) -> tuple[int, tuple[str, ...]]:
        if not levels:
            return 0, ()
        reference = cls.dimensionality_reference
        chosen = next((lv for lv in levels if lv[0] == reference), None)
        if chosen is None:
            chosen = max(levels, key=lambda lv: lv[1])
        dim, lineage = chosen[1], chosen[2]
        for field_name, field_dim, field_lineage in levels:
            if field_dim == dim and field_lineage == lineage:
                continue
            detail = ", ".join(f"'{f}' at level {d} ({' > '.join(lin)})" for f, d, lin in levels)
            if field_dim == dim:
                code, why = (
                    "compile.lineage_mismatch",
                    "inputs of one step must come from the same images (or the same crops)",
                )
            else:
                code, why = (
                    "compile.dimensionality",
                    "a value per image cannot be combined with a value per crop unless the "
                    "block takes inputs one level apart",
                )
            self._error(
                code,
                f"step '{name}' mixes batches that do not line up: {detail}; {why}",
                f"{self._at(index)}.{field_name}",
                step=name,
                property_name=field_name,
            )
            break
        return dim, lineage

    def _check_batch_mode(
        self,
        name: str,
        index: int,
        cls: type[BlockManifest],
        bindings: tuple[Binding, ...],
        batch_fields: frozenset[str],
        inputs: dict[str, InputNode],
        nodes: dict[str, StepNode],
    ) -> None:
        if not batch_fields:
            return
        for binding in bindings:
            if binding.field in batch_fields:
                continue
            for selector in binding.selectors:
                if selector.is_step:
                    continue
                if _source_dim(selector, inputs, nodes)[0] > 0:
                    self._error(
                        "compile.batch_field",
                        f"step '{name}' field '{binding.field}' takes a single value, but "
                        f"'{selector.raw}' is a batch (one value per image)",
                        f"{self._at(index)}.{binding.field}",
                        step=name,
                        property_name=binding.field,
                    )

    # -- outputs ----------------------------------------------------------------------------
    def _outputs(
        self, spec: WorkflowSpec, inputs: dict[str, InputNode], steps: dict[str, StepNode]
    ) -> list[OutputNode]:
        nodes = []
        outputs_of = {name: step.outputs for name, step in steps.items()}
        for index, output in enumerate(spec.outputs):
            selector = parse_selector(output.selector)
            loc = f"outputs[{index}].selector"
            kinds = self._produced_kinds(selector, loc, None, inputs, outputs_of)
            if kinds is None:
                continue
            dim, lineage = _source_dim(selector, inputs, steps)
            nodes.append(
                OutputNode(
                    name=output.name,
                    selector=selector,
                    kinds=kinds,
                    dimensionality=dim,
                    lineage=lineage,
                    coordinates_system=output.coordinates_system,
                )
            )
        return nodes


# ---------------------------------------------------------------------------------------------
def _binding(field_name: str, spec: FieldSpec, value: Any, offset: int) -> Binding:
    accepts = spec.selector_kinds is not None or spec.accepts_step_selector
    if not accepts:
        return Binding(field_name, "literal", value)
    if isinstance(value, str) and looks_like_selector(value):
        return Binding(field_name, "selector", value, (parse_selector(value),), offset)
    if isinstance(value, (list, tuple)):
        selectors = tuple(parse_selector(v) for v in value if looks_like_selector(v))
        if selectors:
            return Binding(field_name, "list", list(value), selectors, offset)
    if isinstance(value, dict):
        selectors = tuple(parse_selector(v) for v in value.values() if looks_like_selector(v))
        if selectors:
            return Binding(field_name, "dict", dict(value), selectors, offset)
    return Binding(field_name, "literal", value)


def _outputs(manifest: BlockManifest) -> dict[str, tuple[str, ...]]:
    return {output.name: output.kinds for output in manifest.get_actual_outputs()}


def _data_dependencies(bindings: tuple[Binding, ...]) -> list[str]:
    return [s.name for b in bindings for s in b.selectors if s.is_step_output]


def _source_dim(
    selector: Selector, inputs: dict[str, InputNode], steps: dict[str, StepNode]
) -> tuple[int, tuple[str, ...]]:
    if selector.is_input:
        node = inputs[selector.name]
        return node.dimensionality, node.lineage
    step = steps[selector.name]
    return step.output_dimensionality, step.output_lineage


def _stable_topological(
    order: list[str],
    position: dict[str, int],
    bindings: dict[str, tuple[Binding, ...]],
    control: dict[str, list[str]],
) -> list[str]:
    deps = {n: set(_data_dependencies(bindings[n])) | set(control[n]) for n in order}
    done: set[str] = set()
    result: list[str] = []
    pending = sorted(order, key=position.__getitem__)
    while pending:
        for name in pending:
            if deps[name] <= done:
                result.append(name)
                done.add(name)
                pending.remove(name)
                break
    return result


def validate_workflow(document: Any, *, registry: BlockRegistry | None = None) -> list[ErrorDetail]:
    """Every problem of a document (empty list when it compiles)."""
    try:
        compile_workflow(document, registry=registry)
    except VisionflowError as error:
        if error.details:
            return list(error.details)
        return [ErrorDetail(code=error.code, message=error.message, loc=error.loc)]
    return []


__all__ = ["clear_compile_cache", "compile_workflow", "definition_digest", "validate_workflow"]
