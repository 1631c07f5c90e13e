"""Assemble a run's outputs: one dict per top-level element, nested lists for deeper levels."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from visionflow.compiler.plan import OutputNode, Plan
from visionflow.data.serializers import serialize_value
from visionflow.engine.state import Index, RunState
from visionflow.spec.document import CoordinatesSystem


def assemble_outputs(
    plan: Plan,
    state: RunState,
    *,
    serialize: bool = False,
    excluded_fields: Collection[str] | None = None,
) -> list[dict[str, Any]]:
    outputs = [o for o in plan.outputs if not excluded_fields or o.name not in excluded_fields]
    finish = _FINISH_SERIALIZED if serialize else _FINISH_NATIVE
    scalar = {
        o.name: finish(o, state.value(o.selector, None)) for o in outputs if o.dimensionality == 0
    }
    batch = [o for o in outputs if o.dimensionality > 0]
    if not batch:
        return [scalar] if scalar else []
    results = []
    getters = state.getters
    for top in state.domain(batch[0].lineage[:1]):
        row = dict(scalar)
        for output in batch:
            if output.dimensionality == 1:
                value = getters[output.selector.raw](state, top)
                row[output.name] = finish(output, value)
            else:
                row[output.name] = _nested(output, state, top, finish)
        results.append(row)
    # keep the declared order of outputs in every dict
    order = [o.name for o in outputs]
    return [{name: row[name] for name in order} for row in results]


def _nested(
    output: OutputNode,
    state: RunState,
    index: Index,
    finish: Callable[[OutputNode, Any], Any],
) -> Any:
    if len(index) == output.dimensionality:
        return finish(output, state.value(output.selector, index))
    lineage = output.lineage[: len(index) + 1]
    return [_nested(output, state, child, finish) for child in state.children(lineage, index)]


def _finish_native(output: OutputNode, value: Any) -> Any:
    if value is None or output.coordinates_system is not CoordinatesSystem.PARENT:
        return value
    return _to_root(value)


def _finish_serialized(output: OutputNode, value: Any) -> Any:
    value = _finish_native(output, value)
    if value is None:
        return None
    if output.selector.is_wildcard and isinstance(value, dict):
        return {k: serialize_value(v) for k, v in value.items()}
    return serialize_value(value, output.kinds)


_FINISH_NATIVE: Callable[[OutputNode, Any], Any] = _finish_native
_FINISH_SERIALIZED: Callable[[OutputNode, Any], Any] = _finish_serialized


def _to_root(value: Any) -> Any:
    """Detections made on crops, mapped into the input image (anywhere inside the value)."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is dict:
        return {k: _to_root(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return kind(_to_root(v) for v in value)
    if kind.__name__ == "Detections" and hasattr(value, "xyxy"):
        from visionflow.data.detections import (
            detections_to_root_coordinates,
            needs_root_conversion,
        )

        if needs_root_conversion(value):
            return detections_to_root_coordinates(value)
    return value


_PLAIN = frozenset({str, int, float, bool, type(None)})
