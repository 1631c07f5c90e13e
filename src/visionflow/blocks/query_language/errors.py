"""Errors of the Universal Query Language (UQL).

Every error names the operation (or statement) that failed, where it sits in the definition
(``<root>[1]`` is the second operation of a chain, ``<root>.statements[0]`` the first statement
of a group) and what it received. The engine turns them into step errors.

>>> try:
...     raise InvalidInputTypeError("StringToLowerCase expects a string, got int `5`")
... except QueryLanguageError as error:
...     print(error.code)
uql.invalid_input_type
"""

from __future__ import annotations

from typing import Any

from visionflow.errors import VisionflowError

#: How much of a received value an error message shows.
_MAX_SHOWN_CHARACTERS = 128


class QueryLanguageError(VisionflowError, ValueError):
    """Base of every UQL error (a ``ValueError`` too, so plain ``except ValueError`` works)."""

    default_code = "uql.error"
    http_status = 500


class InvalidInputTypeError(QueryLanguageError):
    """An operation or statement received a value of a type it cannot work on."""

    default_code = "uql.invalid_input_type"


class OperationError(QueryLanguageError):
    """An operation received a value of the right type but could not complete."""

    default_code = "uql.operation_error"


class UndeclaredSymbolError(QueryLanguageError):
    """A ``DynamicOperand`` (or a parameter name) refers to a value that was not provided."""

    default_code = "uql.undeclared_symbol"


class EvaluationEngineError(QueryLanguageError):
    """A comparator or unary operator failed on the operands it was given."""

    default_code = "uql.evaluation_error"


class OperationTypeNotRecognisedError(QueryLanguageError):
    """An operation ``type`` that the query language does not define."""

    default_code = "uql.unknown_operation"


def describe_value(value: Any) -> str:
    """``type `repr``` of a value, shortened, for error messages; never raises."""
    try:
        shown = str(value)
    except Exception:  # a broken __str__ must not hide the real error
        shown = "<value without a string representation>"
    if len(shown) > _MAX_SHOWN_CHARACTERS:
        shown = f"{shown[:_MAX_SHOWN_CHARACTERS]} [...]"
    return f"{type(value).__name__} `{shown}`"


def safe_stringify(value: Any) -> str:
    """``str(value)`` shortened like the reference does for ``SequenceElementsCount`` keys."""
    try:
        shown = str(value)
    except Exception:
        return "could not get string representation of value"
    if len(shown) > _MAX_SHOWN_CHARACTERS:
        shown = f"{shown[:_MAX_SHOWN_CHARACTERS]} [...]"
    return shown


__all__ = [
    "EvaluationEngineError",
    "InvalidInputTypeError",
    "OperationError",
    "OperationTypeNotRecognisedError",
    "QueryLanguageError",
    "UndeclaredSymbolError",
    "describe_value",
    "safe_stringify",
]
