"""Building UQL operation chains: ``build_operations_chain(operations)(value, parameters)``.

Definitions are validated and turned into closures once; applying a chain is then a loop over
plain functions. Errors name the failing operation and where it sits (``<root>[1]`` is the
second operation of the chain).

>>> chain = build_operations_chain([
...     {"type": "StringToUpperCase"},
...     {"type": "StringSubSequence", "start": 0, "end": 3},
... ])
>>> chain("workflow", {})
'WOR'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from visionflow.blocks.query_language import entities as e
from visionflow.blocks.query_language import ops_basic, ops_detections, ops_media
from visionflow.blocks.query_language._common import OperationFunction, failed, wrong_type
from visionflow.blocks.query_language.errors import (
    OperationTypeNotRecognisedError,
    QueryLanguageError,
)

#: A built chain: ``chain(value, global_parameters=None) -> result``.
OperationsChainFunction = Callable[..., Any]

_NO_PARAMETERS: Mapping[str, Any] = {}


def _build_sequence_apply(definition: e.SequenceApply, context: str) -> OperationFunction:
    apply = build_operations_chain(definition.operations, execution_context=context)

    def sequence_apply(value: Any, global_parameters: Mapping[str, Any]) -> list[Any]:
        try:
            elements = iter(value)
        except TypeError as error:
            raise wrong_type("SequenceApply", context, "a sequence", value) from error
        return [apply(element, global_parameters) for element in elements]

    return sequence_apply


def _build_detections_filter(definition: e.DetectionsFilter, context: str) -> OperationFunction:
    # Local import: evaluation builds operation chains for its operands, and vice versa.
    from visionflow.blocks.query_language.evaluation import build_eval_function

    keep = build_eval_function(definition.filter_operation, execution_context=context)

    def detections_filter(value: Any, global_parameters: Mapping[str, Any]) -> Any:
        if not ops_detections.is_detections(value):
            raise wrong_type("DetectionsFilter", context, "detections (sv.Detections)", value)
        return ops_detections.filter_detections(value, keep, global_parameters)

    return detections_filter


_BUILDERS: dict[str, Callable[[Any, str], OperationFunction]] = {
    **ops_basic.BUILDERS,
    **ops_media.BUILDERS,
    **ops_detections.BUILDERS,
    "SequenceApply": _build_sequence_apply,
    "DetectionsFilter": _build_detections_filter,
}


def registered_operation_types() -> tuple[str, ...]:
    """Every operation ``type`` this implementation can build."""
    return tuple(_BUILDERS)


def parse_operations(operations: Sequence[Any]) -> list[e.BaseOperation]:
    """Operation models from models or raw dicts (validated with the discriminated union)."""
    if all(isinstance(operation, e.BaseOperation) for operation in operations):
        return list(operations)
    return list(e.OperationsChain.model_validate({"operations": list(operations)}).operations)


def build_operation(definition: e.BaseOperation, execution_context: str) -> OperationFunction:
    """One operation as ``function(value, global_parameters)``."""
    builder = _BUILDERS.get(definition.type)
    if builder is None:
        raise OperationTypeNotRecognisedError(
            f"operation type `{definition.type}` (at {execution_context}) is not part of the "
            f"query language; known types: {sorted(_BUILDERS)}"
        )
    return builder(definition, execution_context)


def build_operations_chain(
    operations: Sequence[Any], execution_context: str = "<root>"
) -> OperationsChainFunction:
    """Build ``chain(value, global_parameters=None)`` applying ``operations`` in order.

    ``operations`` holds operation models or raw dicts. ``global_parameters`` are the named
    values that operations such as ``DetectionsFilter`` (operands other than ``_``) and
    ``DetectionsRename`` (``class_map`` given as a parameter name) read.
    """
    parsed = parse_operations(operations)
    steps = [
        (
            definition.type,
            f"{execution_context}[{index}]",
            build_operation(definition, f"{execution_context}[{index}]"),
        )
        for index, definition in enumerate(parsed)
    ]

    def chain(value: Any, global_parameters: Mapping[str, Any] | None = None) -> Any:
        parameters = _NO_PARAMETERS if global_parameters is None else global_parameters
        for operation_type, context, function in steps:
            try:
                value = function(value, parameters)
            except QueryLanguageError:
                raise
            except Exception as error:  # a bug or an exotic value: still name the operation
                raise failed(operation_type, context, f"{type(error).__name__}: {error}") from error
        return value

    return chain


def execute_operations(
    value: Any,
    operations: Sequence[Any],
    global_parameters: Mapping[str, Any] | None = None,
) -> Any:
    """Build and apply a chain once (convenience for one-off use; blocks should build once)."""
    return build_operations_chain(operations)(value, global_parameters)
