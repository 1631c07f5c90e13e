"""Evaluating UQL statements: ``build_eval_function(definition)({name: value}) -> bool``.

Statements are compiled into closures once. Groups short-circuit: ``and`` stops at the first
false statement, ``or`` at the first true one (the reference evaluates every statement, which
only differs when a later statement would raise).

>>> check = build_eval_function({
...     "type": "StatementGroup",
...     "statements": [{
...         "type": "BinaryStatement",
...         "left_operand": {"type": "DynamicOperand", "operand_name": "count"},
...         "comparator": {"type": "(Number) >="},
...         "right_operand": {"type": "StaticOperand", "value": 2},
...     }],
... })
>>> check({"count": 3}), check({"count": 1})
(True, False)
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any, Union

import numpy as np
from pydantic import TypeAdapter

from visionflow.blocks.query_language.enums import StatementsGroupsOperator
from visionflow.blocks.query_language.errors import (
    EvaluationEngineError,
    QueryLanguageError,
    UndeclaredSymbolError,
    describe_value,
)
from visionflow.blocks.query_language.operations import build_operations_chain
from visionflow.blocks.query_language.statements import (
    BinaryStatement,
    DynamicOperand,
    StatementGroup,
    StaticOperand,
    UnaryStatement,
)

#: A compiled statement: ``function(values) -> bool``.
EvalFunction = Callable[[Mapping[str, Any]], bool]
Statement = Union[StatementGroup, BinaryStatement, UnaryStatement]


def is_point_in_zone(point: Sequence[float], zone: Sequence[Sequence[float]]) -> bool:
    """True when ``point`` lies strictly inside the polygon ``zone`` (the boundary is outside).

    Same answer as shapely's ``Point.within(Polygon)`` (what the reference uses), without the
    dependency: even-odd ray casting plus an explicit on-edge test.
    """
    x, y = float(point[0]), float(point[1])
    vertices = [(float(vertex[0]), float(vertex[1])) for vertex in zone]
    if len(vertices) < 3:
        raise ValueError(f"a zone needs at least 3 points, got {len(vertices)}")
    inside = False
    previous_x, previous_y = vertices[-1]
    for current_x, current_y in vertices:
        cross = (current_x - previous_x) * (y - previous_y) - (current_y - previous_y) * (
            x - previous_x
        )
        if (
            cross == 0
            and min(previous_x, current_x) <= x <= max(previous_x, current_x)
            and min(previous_y, current_y) <= y <= max(previous_y, current_y)
        ):
            return False  # on an edge
        if (previous_y > y) != (current_y > y):
            crossing_x = previous_x + (y - previous_y) * (current_x - previous_x) / (
                current_y - previous_y
            )
            if x < crossing_x:
                inside = not inside
        previous_x, previous_y = current_x, current_y
    return inside


def _is_boolean(value: Any, expected: bool) -> bool:
    # numpy booleans count too (the reference's `is True` misses them).
    return isinstance(value, (bool, np.bool_)) and bool(value) is expected


BINARY_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "(Number) ==": operator.eq,
    "!=": operator.ne,
    "(Number) !=": operator.ne,
    "(Number) >": operator.gt,
    "(Number) >=": operator.ge,
    "(Number) <": operator.lt,
    "(Number) <=": operator.le,
    "(Number) in range": lambda a, b: b[0] <= a <= b[1],
    "(String) startsWith": lambda a, b: a.startswith(b),
    "(String) endsWith": lambda a, b: a.endswith(b),
    "(String) contains": lambda a, b: b in a,
    "in (Sequence)": lambda a, b: a in b,
    "any in (Sequence)": lambda a, b: any(item in b for item in a),
    "all in (Sequence)": lambda a, b: all(item in b for item in a),
    "(Detection) in zone": is_point_in_zone,
}

UNARY_OPERATORS: dict[str, Callable[[Any], Any]] = {
    "Exists": lambda a: a is not None,
    "DoesNotExist": lambda a: a is None,
    "(Boolean) is True": lambda a: _is_boolean(a, True),
    "(Boolean) is False": lambda a: _is_boolean(a, False),
    "(Sequence) is empty": lambda a: len(a) == 0,
    "(Sequence) is not empty": lambda a: len(a) > 0,
}


@lru_cache(maxsize=1)
def _statement_adapter() -> TypeAdapter[Any]:
    return TypeAdapter(Statement)


def _parse(definition: Any) -> Statement:
    if isinstance(definition, (StatementGroup, BinaryStatement, UnaryStatement)):
        return definition
    return _statement_adapter().validate_python(definition)


def build_eval_function(definition: Any, execution_context: str = "<root>") -> EvalFunction:
    """Compile a ``StatementGroup`` / ``BinaryStatement`` / ``UnaryStatement`` (model or dict).

    The result is called with ``{operand_name: value}`` and returns a ``bool``.
    """
    parsed = _parse(definition)
    if isinstance(parsed, BinaryStatement):
        return _build_binary(parsed, execution_context)
    if isinstance(parsed, UnaryStatement):
        return _build_unary(parsed, execution_context)
    return _build_group(parsed, execution_context)


def _build_group(definition: StatementGroup, context: str) -> EvalFunction:
    functions = [
        build_eval_function(statement, f"{context}.statements[{index}]")
        for index, statement in enumerate(definition.statements)
    ]
    if not functions:  # pydantic forbids it; model_construct() does not
        raise EvaluationEngineError(f"statement group at {context} has no statements")
    if len(functions) == 1:
        return functions[0]
    if definition.operator is StatementsGroupsOperator.AND:
        return lambda values: all(function(values) for function in functions)
    return lambda values: any(function(values) for function in functions)


def _build_operand(
    definition: StaticOperand | DynamicOperand, context: str
) -> Callable[[Mapping[str, Any]], Any]:
    chain = build_operations_chain(definition.operations, execution_context=f"{context}.operations")
    has_operations = bool(definition.operations)
    if isinstance(definition, StaticOperand):
        static_value = definition.value
        if not has_operations:
            return lambda values: static_value
        return lambda values: chain(static_value, values)
    name = definition.operand_name

    def dynamic_operand(values: Mapping[str, Any]) -> Any:
        try:
            value = values[name]
        except KeyError:
            raise UndeclaredSymbolError(
                f"operand `{name}` (at {context}) is not defined; defined operands: "
                f"{sorted(values)}"
            ) from None
        return chain(value, values) if has_operations else value

    return dynamic_operand


def _build_binary(definition: BinaryStatement, context: str) -> EvalFunction:
    comparator_type = definition.comparator.type
    compare = BINARY_OPERATORS[comparator_type]
    left = _build_operand(definition.left_operand, f"{context}.left_operand")
    right = _build_operand(definition.right_operand, f"{context}.right_operand")
    negate = definition.negate

    def binary_statement(values: Mapping[str, Any]) -> bool:
        left_value, right_value = left(values), right(values)
        try:
            result = bool(compare(left_value, right_value))
        except QueryLanguageError:
            raise
        except Exception as error:
            raise EvaluationEngineError(
                f"comparator `{comparator_type}` (at {context}) cannot compare "
                f"{describe_value(left_value)} with {describe_value(right_value)}: {error}"
            ) from error
        return not result if negate else result

    return binary_statement


def _build_unary(definition: UnaryStatement, context: str) -> EvalFunction:
    operator_type = definition.operator.type
    check = UNARY_OPERATORS[operator_type]
    operand = _build_operand(definition.operand, f"{context}.operand")
    negate = definition.negate

    def unary_statement(values: Mapping[str, Any]) -> bool:
        value = operand(values)
        try:
            result = bool(check(value))
        except QueryLanguageError:
            raise
        except Exception as error:
            raise EvaluationEngineError(
                f"operator `{operator_type}` (at {context}) cannot be applied to "
                f"{describe_value(value)}: {error}"
            ) from error
        return not result if negate else result

    return unary_statement


def evaluate(values: Mapping[str, Any], definition: Any) -> bool:
    """Compile and evaluate once (convenience; blocks should compile once and reuse)."""
    return build_eval_function(definition)(values)
