"""UQL operations on plain values: strings, numbers, sequences, dicts, timestamps."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pytest

from visionflow.blocks.query_language import (
    InvalidInputTypeError,
    OperationError,
    QueryLanguageError,
    build_operations_chain,
)
from visionflow.blocks.query_language.entities import StringToUpperCase


def run(operations: list[dict], value: Any, parameters: dict | None = None) -> Any:
    return build_operations_chain(operations)(value, parameters or {})


@pytest.mark.parametrize(
    ("operations", "value", "expected"),
    [
        ([{"type": "StringToLowerCase"}], "", ""),
        ([], "unchanged", "unchanged"),
        ([{"type": "StringToLowerCase"}], "MiXeD", "mixed"),
        ([{"type": "StringToUpperCase"}], "MiXeD", "MIXED"),
        ([{"type": "StringToUpperCase"}], np.str_("np"), "NP"),
        ([{"type": "ToString"}], 12.5, "12.5"),
        ([{"type": "ToString"}], None, "None"),
        ([{"type": "StringSubSequence"}], "abcdef", "abcde"),  # default end=-1
        ([{"type": "StringSubSequence", "start": 1, "end": 3}], "abcdef", "bc"),
        ([{"type": "StringSubSequence", "start": -2, "end": 100}], "abcdef", "ef"),
        ([{"type": "StringMatches", "regex": r"^car_\d+$"}], "car_12", True),
        ([{"type": "StringMatches", "regex": r"\d"}], "no digits", False),
        ([{"type": "StringMatches", "regex": "b"}], "abc", True),  # search, not fullmatch
        ([{"type": "ToNumber", "cast_to": "int"}], "3.7", 3),
        ([{"type": "ToNumber", "cast_to": "float"}], "3.5", 3.5),
        ([{"type": "ToNumber", "cast_to": "int"}], True, 1),
        ([{"type": "NumberRound", "decimal_digits": 2}], 3.14159, 3.14),
        ([{"type": "NumberRound", "decimal_digits": 0}], 2.6, 3.0),
        ([{"type": "Multiply", "other": 3}], 2.5, 7.5),
        ([{"type": "Divide", "other": 4}], 10, 2.5),
        ([{"type": "ToBoolean"}], 0, False),
        ([{"type": "ToBoolean"}], 0.3, True),
        ([{"type": "LookupTable", "lookup_table": {"a": 1, "b": 2}}], "b", 2),
        ([{"type": "RandomNumber", "min_value": 0.4, "max_value": 0.4}], "ignored", 0.4),
        ([{"type": "TimestampToISOFormat"}], datetime(2024, 5, 1, 12, 30), "2024-05-01T12:30:00"),
        (
            [{"type": "TimestampToISOFormat"}],
            datetime(2024, 5, 1, tzinfo=timezone.utc),
            "2024-05-01T00:00:00+00:00",
        ),
        (
            [{"type": "ToString"}, {"type": "StringToUpperCase"}, {"type": "StringSubSequence"}],
            "abc",
            "AB",
        ),
    ],
)
def test_scalar_operations(operations: list[dict], value: Any, expected: Any) -> None:
    result = run(operations, value)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("operations", "value", "expected"),
    [
        ([{"type": "SequenceLength"}], [], 0),
        ([{"type": "SequenceLength"}], [1, 2, 3], 3),
        ([{"type": "SequenceLength"}], {"a": 1}, 1),
        ([{"type": "SequenceMap", "lookup_table": {"a": "A"}}], [], []),
        ([{"type": "SequenceMap", "lookup_table": {"a": "A", "b": "B"}}], ["b", "a"], ["B", "A"]),
        ([{"type": "SequenceApply", "operations": [{"type": "StringToUpperCase"}]}], [], []),
        (
            [
                {
                    "type": "SequenceApply",
                    "operations": [{"type": "StringToUpperCase"}, {"type": "SequenceLength"}],
                }
            ],
            ["ab", "c"],
            [2, 1],
        ),
        (
            [{"type": "NumericSequenceAggregate", "function": "max", "neutral_value": -1}],
            [],
            -1,
        ),
        ([{"type": "NumericSequenceAggregate", "function": "min"}], [], None),
        ([{"type": "NumericSequenceAggregate", "function": "min"}], [3, 1, 2], 1),
        ([{"type": "NumericSequenceAggregate", "function": "max"}], [3, 1, 2], 3),
        ([{"type": "NumericSequenceAggregate", "function": "sum"}], [3, 1, 2], 6),
        ([{"type": "SequenceAggregate", "mode": "first"}], ["x", "y", "y"], "x"),
        ([{"type": "SequenceAggregate", "mode": "last"}], ["x", "y", "z"], "z"),
        ([{"type": "SequenceAggregate", "mode": "most_common"}], ["x", "y", "y"], "y"),
        ([{"type": "SequenceAggregate", "mode": "least_common"}], ["x", "y", "y"], "x"),
        # ties: most_common keeps the first seen, least_common the last seen
        ([{"type": "SequenceAggregate", "mode": "most_common"}], ["b", "a"], "b"),
        ([{"type": "SequenceAggregate", "mode": "least_common"}], ["b", "a"], "a"),
        ([{"type": "SequenceElementsCount"}], [], {}),
        ([{"type": "SequenceElementsCount"}], ["a", "b", "a", 1], {"a": 2, "b": 1, "1": 1}),
        ([{"type": "SequenceJoin"}], [], ""),
        ([{"type": "SequenceJoin"}], ["a", 1, None], "a, 1, None"),
        ([{"type": "SequenceJoin", "separator": "|"}], ["a", "b"], "a|b"),
        ([{"type": "ConvertDictionaryToJSON"}], {}, "{}"),
        ([{"type": "LookupTable", "lookup_table": {"k": [1]}}], "k", [1]),
    ],
)
def test_sequence_and_dictionary_operations(
    operations: list[dict], value: Any, expected: Any
) -> None:
    assert run(operations, value) == expected


def test_dictionary_to_json_round_trips_including_numpy_values() -> None:
    value = {"a": 1, "b": [1, 2], "c": np.float32(0.5), "d": np.array([1, 2])}
    assert json.loads(run([{"type": "ConvertDictionaryToJSON"}], value)) == {
        "a": 1,
        "b": [1, 2],
        "c": 0.5,
        "d": [1, 2],
    }


def test_random_number_stays_in_range_and_varies() -> None:
    chain = build_operations_chain([{"type": "RandomNumber", "min_value": 2, "max_value": 3}])
    values = {chain(None, {}) for _ in range(50)}
    assert all(2 <= value <= 3 for value in values)
    assert len(values) > 1


def test_sequence_join_refuses_huge_strings() -> None:
    with pytest.raises(OperationError, match="SequenceJoin"):
        run([{"type": "SequenceJoin"}], ["x" * 600_000, "y" * 600_000])


def test_chain_accepts_models_and_global_parameters_default() -> None:
    chain = build_operations_chain([StringToUpperCase(type="StringToUpperCase")])
    assert chain("a") == "A"
    assert chain("b", None) == "B"


@pytest.mark.parametrize(
    ("operations", "value", "error", "fragment"),
    [
        ([{"type": "StringToLowerCase"}], None, InvalidInputTypeError, "StringToLowerCase"),
        ([{"type": "StringToUpperCase"}], 5, InvalidInputTypeError, "got int `5`"),
        ([{"type": "StringSubSequence"}], ["a"], InvalidInputTypeError, "StringSubSequence"),
        ([{"type": "StringMatches", "regex": "a"}], 1, InvalidInputTypeError, "StringMatches"),
        ([{"type": "ToNumber", "cast_to": "int"}], "abc", InvalidInputTypeError, "ToNumber"),
        ([{"type": "ToNumber", "cast_to": "float"}], None, InvalidInputTypeError, "float"),
        (
            [{"type": "NumberRound", "decimal_digits": 1}],
            "1.2",
            InvalidInputTypeError,
            "NumberRound",
        ),
        ([{"type": "Multiply", "other": 2}], None, InvalidInputTypeError, "Multiply"),
        ([{"type": "Divide", "other": 0}], 1, InvalidInputTypeError, "Divide"),
        ([{"type": "Divide", "other": 2}], "x", InvalidInputTypeError, "Divide"),
        ([{"type": "ToBoolean"}], np.array([1, 2]), InvalidInputTypeError, "ToBoolean"),
        ([{"type": "LookupTable", "lookup_table": {"a": 1}}], "z", InvalidInputTypeError, "keys"),
        ([{"type": "LookupTable", "lookup_table": {"a": 1}}], ["a"], InvalidInputTypeError, "hash"),
        (
            [{"type": "SequenceMap", "lookup_table": {"a": 1}}],
            ["z"],
            InvalidInputTypeError,
            "SequenceMap",
        ),
        (
            [{"type": "SequenceMap", "lookup_table": {"a": 1}}],
            5,
            InvalidInputTypeError,
            "SequenceMap",
        ),
        (
            [{"type": "SequenceApply", "operations": [{"type": "ToString"}]}],
            5,
            InvalidInputTypeError,
            "SequenceApply",
        ),
        (
            [{"type": "NumericSequenceAggregate", "function": "sum"}],
            ["a", 1],
            InvalidInputTypeError,
            "NumericSequenceAggregate",
        ),
        ([{"type": "SequenceAggregate", "mode": "first"}], [], InvalidInputTypeError, "non-empty"),
        (
            [{"type": "SequenceAggregate", "mode": "most_common"}],
            [[1]],
            InvalidInputTypeError,
            "hashable",
        ),
        ([{"type": "SequenceLength"}], 5, InvalidInputTypeError, "SequenceLength"),
        ([{"type": "SequenceElementsCount"}], 5, InvalidInputTypeError, "SequenceElementsCount"),
        ([{"type": "SequenceJoin"}], 5, InvalidInputTypeError, "SequenceJoin"),
        (
            [{"type": "ConvertDictionaryToJSON"}],
            [1],
            InvalidInputTypeError,
            "ConvertDictionaryToJSON",
        ),
        ([{"type": "ConvertDictionaryToJSON"}], {"a": object()}, OperationError, "JSON"),
        ([{"type": "TimestampToISOFormat"}], "2024-01-01", InvalidInputTypeError, "timestamp"),
        # the failing operation's position is named
        (
            [{"type": "ToString"}, {"type": "Divide", "other": 2}],
            1,
            InvalidInputTypeError,
            r"<root>\[1\]",
        ),
    ],
)
def test_wrong_inputs_raise_clear_errors(
    operations: list[dict], value: Any, error: type[Exception], fragment: str
) -> None:
    with pytest.raises(error, match=fragment) as caught:
        run(operations, value)
    assert isinstance(caught.value, QueryLanguageError)
    assert isinstance(caught.value, ValueError)


def test_invalid_regex_fails_when_the_chain_is_built() -> None:
    with pytest.raises(OperationError, match="invalid regex"):
        build_operations_chain([{"type": "StringMatches", "regex": "("}])


@pytest.mark.parametrize(
    "operations",
    [
        [{"type": "NoSuchOperation"}],
        [{"type": "ToNumber"}],  # missing cast_to
        [{"type": "ToNumber", "cast_to": "decimal"}],
        [{"type": "ConvertImageToJPEG", "compression_level": 0}],
    ],
)
def test_invalid_definitions_are_rejected_by_validation(operations: list[dict]) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        build_operations_chain(operations)
