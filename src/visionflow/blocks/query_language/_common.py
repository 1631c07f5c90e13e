"""Shared helpers of the UQL operations: the operation-function type and error builders."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from visionflow.blocks.query_language.errors import (
    InvalidInputTypeError,
    OperationError,
    describe_value,
)

#: A built operation: ``function(value, global_parameters) -> new value``.
OperationFunction = Callable[[Any, Mapping[str, Any]], Any]


def wrong_type(operation: str, context: str, expected: str, value: Any) -> InvalidInputTypeError:
    """The error for an operation that received a value it cannot work on."""
    return InvalidInputTypeError(
        f"operation {operation} (at {context}) expects {expected}, got {describe_value(value)}"
    )


def failed(operation: str, context: str, reason: object) -> OperationError:
    """The error for an operation that received a fitting value but could not complete."""
    return OperationError(f"operation {operation} (at {context}) failed: {reason}")
