"""UQL statements: comparators, unary operators, negate, groups and their errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import supervision as sv

from visionflow.blocks.query_language import (
    BinaryStatement,
    EvaluationEngineError,
    InvalidInputTypeError,
    StatementGroup,
    UndeclaredSymbolError,
    build_eval_function,
)
from visionflow.blocks.query_language.evaluation import is_point_in_zone


def binary(left: Any, comparator: str, right: Any, negate: bool = False) -> dict:
    return {
        "type": "BinaryStatement",
        "left_operand": {"type": "DynamicOperand", "operand_name": "left"},
        "comparator": {"type": comparator},
        "right_operand": {"type": "DynamicOperand", "operand_name": "right"},
        "negate": negate,
    }


def evaluate_binary(left: Any, comparator: str, right: Any, negate: bool = False) -> bool:
    function = build_eval_function(binary(left, comparator, right, negate))
    return function({"left": left, "right": right})


SQUARE = [[0, 0], [10, 0], [10, 10], [0, 10]]


@pytest.mark.parametrize(
    ("left", "comparator", "right", "expected"),
    [
        ([], "==", [], True),
        ("", "==", "", True),
        (1, "==", 1.0, True),
        ("a", "==", "b", False),
        ([1, 2], "==", [1, 2], True),
        (2, "(Number) ==", 2, True),
        (2, "(Number) ==", 3, False),
        (2, "(Number) !=", 3, True),
        ("a", "!=", "a", False),
        (3, "(Number) >", 2, True),
        (2, "(Number) >", 2, False),
        (2, "(Number) >=", 2, True),
        (1.9, "(Number) >=", 2, False),
        (1, "(Number) <", 2, True),
        (2, "(Number) <", 2, False),
        (2, "(Number) <=", 2, True),
        (3, "(Number) <=", 2, False),
        (5, "(Number) in range", [5, 10], True),
        (10, "(Number) in range", [5, 10], True),
        (10.5, "(Number) in range", [5, 10], False),
        ("", "(String) startsWith", "", True),
        ("license_plate", "(String) startsWith", "license", True),
        ("license_plate", "(String) startsWith", "plate", False),
        ("license_plate", "(String) endsWith", "plate", True),
        ("license_plate", "(String) endsWith", "license", False),
        ("license_plate", "(String) contains", "se_pl", True),
        ("license_plate", "(String) contains", "car", False),
        ("car", "in (Sequence)", [], False),
        ("car", "in (Sequence)", ["car", "dog"], True),
        ("cat", "in (Sequence)", ["car", "dog"], False),
        ("car", "in (Sequence)", {"car": 1}, True),
        ([], "all in (Sequence)", ["a"], True),
        (["a", "b"], "all in (Sequence)", ["a", "b", "c"], True),
        (["a", "x"], "all in (Sequence)", ["a", "b", "c"], False),
        ([], "any in (Sequence)", ["a"], False),
        (["x", "b"], "any in (Sequence)", ["a", "b"], True),
        (["x", "y"], "any in (Sequence)", ["a", "b"], False),
        ((5, 5), "(Detection) in zone", SQUARE, True),
        ((15, 5), "(Detection) in zone", SQUARE, False),
        ((10, 5), "(Detection) in zone", SQUARE, False),  # on the edge: not within
        ((0, 0), "(Detection) in zone", SQUARE, False),  # on a vertex
    ],
)
def test_binary_comparators(left: Any, comparator: str, right: Any, expected: bool) -> None:
    assert evaluate_binary(left, comparator, right) is expected
    assert evaluate_binary(left, comparator, right, negate=True) is (not expected)


@pytest.mark.parametrize(
    ("point", "expected"),
    [
        ((1, 1), True),
        ((9, 1), True),
        ((5, 8), False),  # inside the notch of the U
        ((5, 1), True),
        ((20, 20), False),
    ],
)
def test_point_in_concave_zone(point: tuple[float, float], expected: bool) -> None:
    u_shape = [[0, 0], [10, 0], [10, 10], [7, 10], [7, 3], [3, 3], [3, 10], [0, 10]]
    assert is_point_in_zone(point, u_shape) is expected


def unary(operator: str, negate: bool = False) -> dict:
    return {
        "type": "UnaryStatement",
        "operand": {"type": "DynamicOperand", "operand_name": "value"},
        "operator": {"type": operator},
        "negate": negate,
    }


EMPTY_DETECTIONS = sv.Detections.empty()
ONE_DETECTION = sv.Detections(xyxy=np.array([[0, 0, 1, 1.0]]))


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("(Sequence) is empty", [], True),
        ("(Sequence) is empty", EMPTY_DETECTIONS, True),
        ("(Sequence) is empty", [0], False),
        ("(Sequence) is empty", {}, True),
        ("(Sequence) is not empty", [], False),
        ("(Sequence) is not empty", ONE_DETECTION, True),
        ("(Sequence) is not empty", "x", True),
        ("Exists", None, False),
        ("Exists", 0, True),
        ("Exists", [], True),
        ("DoesNotExist", None, True),
        ("DoesNotExist", "", False),
        ("(Boolean) is True", True, True),
        ("(Boolean) is True", np.bool_(True), True),
        ("(Boolean) is True", 1, False),  # identity, not truthiness
        ("(Boolean) is True", False, False),
        ("(Boolean) is False", False, True),
        ("(Boolean) is False", 0, False),
        ("(Boolean) is False", None, False),
    ],
)
def test_unary_operators(operator: str, value: Any, expected: bool) -> None:
    assert build_eval_function(unary(operator))({"value": value}) is expected
    assert build_eval_function(unary(operator, negate=True))({"value": value}) is (not expected)


def group(*statements: dict, operator: str | None = None) -> dict:
    definition: dict[str, Any] = {"type": "StatementGroup", "statements": list(statements)}
    if operator is not None:
        definition["operator"] = operator
    return definition


def is_true(name: str) -> dict:
    return {
        "type": "UnaryStatement",
        "operand": {"type": "DynamicOperand", "operand_name": name},
        "operator": {"type": "(Boolean) is True"},
    }


@pytest.mark.parametrize(
    ("definition", "values", "expected"),
    [
        (group(is_true("a")), {"a": False}, False),
        (group(is_true("a")), {"a": True}, True),
        (group(is_true("a"), is_true("b")), {"a": False, "b": True}, True),  # default: or
        (group(is_true("a"), is_true("b")), {"a": False, "b": False}, False),
        (group(is_true("a"), is_true("b"), operator="and"), {"a": True, "b": False}, False),
        (group(is_true("a"), is_true("b"), operator="and"), {"a": True, "b": True}, True),
        (
            group(is_true("a"), group(is_true("b"), is_true("c"), operator="and")),
            {"a": False, "b": True, "c": True},
            True,
        ),
        (
            group(is_true("a"), group(is_true("b"), is_true("c"), operator="and")),
            {"a": False, "b": True, "c": False},
            False,
        ),
        (
            group(group(is_true("a"), is_true("b")), group(is_true("c")), operator="and"),
            {"a": False, "b": True, "c": True},
            True,
        ),
    ],
)
def test_statement_groups(definition: dict, values: dict, expected: bool) -> None:
    assert build_eval_function(definition)(values) is expected
    assert build_eval_function(StatementGroup.model_validate(definition))(values) is expected


def test_groups_short_circuit() -> None:
    # `b` is undefined: evaluating it would raise, but `and` stops at the false `a`.
    definition = group(is_true("a"), is_true("b"), operator="and")
    assert build_eval_function(definition)({"a": False}) is False
    with pytest.raises(UndeclaredSymbolError, match="`b`"):
        build_eval_function(definition)({"a": True})


def test_operands_apply_operations_with_parameters() -> None:
    definition = {
        "type": "BinaryStatement",
        "left_operand": {
            "type": "DynamicOperand",
            "operand_name": "predictions",
            "operations": [
                {"type": "DetectionsPropertyExtract", "property_name": "class_name"},
                {"type": "SequenceLength"},
            ],
        },
        "comparator": {"type": "(Number) >="},
        "right_operand": {
            "type": "StaticOperand",
            "value": "2",
            "operations": [{"type": "ToNumber", "cast_to": "int"}],
        },
    }
    check = build_eval_function(BinaryStatement.model_validate(definition))
    two = sv.Detections(
        xyxy=np.array([[0, 0, 1, 1], [1, 1, 2, 2.0]]),
        data={"class_name": np.array(["a", "b"])},
    )
    assert check({"predictions": two}) is True
    assert check({"predictions": two[:1]}) is False


@pytest.mark.parametrize(
    ("definition", "values", "error", "fragment"),
    [
        (
            binary(None, "(Number) >", 1),
            {"left": None, "right": 1},
            EvaluationEngineError,
            r"\(Number\) >",
        ),
        (
            binary(1, "(String) startsWith", "a"),
            {"left": 1, "right": "a"},
            EvaluationEngineError,
            "startsWith",
        ),
        (
            binary(1, "in (Sequence)", 5),
            {"left": 1, "right": 5},
            EvaluationEngineError,
            "in \\(Sequence\\)",
        ),
        (
            binary((1, 1), "(Detection) in zone", [[0, 0]]),
            {"left": (1, 1), "right": [[0, 0]]},
            EvaluationEngineError,
            "at least 3",
        ),
        (unary("(Sequence) is empty"), {"value": None}, EvaluationEngineError, "is empty"),
        (unary("Exists"), {}, UndeclaredSymbolError, "`value`"),
        (
            {
                "type": "UnaryStatement",
                "operand": {
                    "type": "DynamicOperand",
                    "operand_name": "value",
                    "operations": [{"type": "StringToLowerCase"}],
                },
                "operator": {"type": "Exists"},
            },
            {"value": 3},
            InvalidInputTypeError,
            r"StringToLowerCase \(at <root>\.operand\.operations\[0\]\)",
        ),
    ],
)
def test_evaluation_errors(
    definition: dict, values: dict, error: type[Exception], fragment: str
) -> None:
    with pytest.raises(error, match=fragment):
        build_eval_function(definition)(values)


def test_error_names_the_statement_position() -> None:
    definition = group(is_true("a"), binary(None, "(Number) <", 1), operator="or")
    with pytest.raises(EvaluationEngineError, match=r"<root>\.statements\[1\]"):
        build_eval_function(definition)({"a": False, "left": None, "right": 1})


@pytest.mark.parametrize(
    "definition",
    [
        {"type": "StatementGroup", "statements": []},
        {"type": "StatementGroup", "statements": [is_true("a")], "operator": "xor"},
        {**binary(1, "(Number) >", 1), "comparator": "(Number) >"},  # comparator is an object
        {**binary(1, "(Number) >", 1), "comparator": {"type": "greater"}},
        {"type": "Statement"},
    ],
)
def test_invalid_statements_are_rejected(definition: dict) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        build_eval_function(definition)
