"""UQL operations on plain values: strings, numbers, booleans, sequences, dicts, timestamps.

Each ``build_*`` function turns an operation model into an ``OperationFunction``
(``function(value, global_parameters)``) once, so that applying it is cheap.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from visionflow.blocks.query_language import entities as e
from visionflow.blocks.query_language._common import OperationFunction, failed, wrong_type
from visionflow.blocks.query_language.enums import (
    NumberCastingMode,
    SequenceAggregationFunction,
    SequenceAggregationMode,
)
from visionflow.blocks.query_language.errors import safe_stringify

#: Longest string ``SequenceJoin`` builds (a guard against runaway memory, as in the reference).
MAX_JOINED_STRING_LENGTH = 1_000_000


# --- strings ---------------------------------------------------------------------------------
def build_string_case(definition: e.BaseOperation, context: str) -> OperationFunction:
    name = definition.type
    to_case: Callable[[str], str] = str.lower if name == "StringToLowerCase" else str.upper

    def string_case(value: Any, _: Mapping[str, Any]) -> str:
        if not isinstance(value, str):
            raise wrong_type(name, context, "a string", value)
        return to_case(value)

    return string_case


def build_to_string(definition: e.ToString, context: str) -> OperationFunction:
    def to_string(value: Any, _: Mapping[str, Any]) -> str:
        try:
            return str(value)
        except Exception as error:
            raise failed("ToString", context, f"str() raised {error!r}") from error

    return to_string


def build_string_sub_sequence(definition: e.StringSubSequence, context: str) -> OperationFunction:
    start, end = definition.start, definition.end

    def string_sub_sequence(value: Any, _: Mapping[str, Any]) -> str:
        if not isinstance(value, str):
            raise wrong_type("StringSubSequence", context, "a string", value)
        # Python slicing: the default end=-1 drops the last character, like the reference.
        return value[start:end]

    return string_sub_sequence


def build_string_matches(definition: e.StringMatches, context: str) -> OperationFunction:
    try:
        pattern = re.compile(definition.regex)
    except re.error as error:
        # Compiled once, here: a broken regex is reported when the chain is built.
        raise failed(
            "StringMatches", context, f"invalid regex {definition.regex!r}: {error}"
        ) from error

    def string_matches(value: Any, _: Mapping[str, Any]) -> bool:
        if not isinstance(value, str):
            raise wrong_type("StringMatches", context, "a string", value)
        return pattern.search(value) is not None

    return string_matches


# --- numbers and booleans --------------------------------------------------------------------
def build_to_number(definition: e.ToNumber, context: str) -> OperationFunction:
    as_int = definition.cast_to is NumberCastingMode.INT
    target = definition.cast_to.value

    def to_number(value: Any, _: Mapping[str, Any]) -> float | int:
        try:
            number = float(value)
            return int(number) if as_int else number
        except (TypeError, ValueError, OverflowError) as error:
            raise wrong_type("ToNumber", context, f"a value castable to {target}", value) from error

    return to_number


def build_number_round(definition: e.NumberRound, context: str) -> OperationFunction:
    digits = definition.decimal_digits

    def number_round(value: Any, _: Mapping[str, Any]) -> float | int:
        try:
            return round(value, digits)
        except (TypeError, ValueError) as error:
            raise wrong_type("NumberRound", context, "a number", value) from error

    return number_round


def build_multiply(definition: e.Multiply, context: str) -> OperationFunction:
    other = definition.other

    def multiply(value: Any, _: Mapping[str, Any]) -> Any:
        try:
            return value * other
        except (TypeError, ValueError) as error:
            raise wrong_type(
                "Multiply", context, f"a number to multiply by {other}", value
            ) from error

    return multiply


def build_divide(definition: e.Divide, context: str) -> OperationFunction:
    other = definition.other

    def divide(value: Any, _: Mapping[str, Any]) -> Any:
        try:
            return value / other
        except (TypeError, ValueError, ZeroDivisionError) as error:
            raise wrong_type("Divide", context, f"a number to divide by {other}", value) from error

    return divide


def build_to_boolean(definition: e.ToBoolean, context: str) -> OperationFunction:
    def to_boolean(value: Any, _: Mapping[str, Any]) -> bool:
        try:
            return bool(value)
        except (TypeError, ValueError) as error:
            raise wrong_type("ToBoolean", context, "a value with a truth value", value) from error

    return to_boolean


def build_random_number(definition: e.RandomNumber, context: str) -> OperationFunction:
    low, high = definition.min_value, definition.max_value
    span = abs(high - low)

    def random_number(value: Any, _: Mapping[str, Any]) -> float:
        # The input is ignored on purpose: this operation exists to sample elements.
        if low == high:
            return low
        return low + random.random() * span

    return random_number


# --- lookups and sequences -------------------------------------------------------------------
def build_lookup_table(definition: e.LookupTable, context: str) -> OperationFunction:
    table = definition.lookup_table

    def lookup(value: Any, _: Mapping[str, Any]) -> Any:
        try:
            return table[value]
        except TypeError as error:
            raise wrong_type("LookupTable", context, "a hashable key", value) from error
        except KeyError as error:
            raise wrong_type(
                "LookupTable", context, f"one of the lookup table keys {list(table)}", value
            ) from error

    return lookup


def build_sequence_map(definition: e.SequenceMap, context: str) -> OperationFunction:
    table = definition.lookup_table

    def sequence_map(value: Any, _: Mapping[str, Any]) -> list[Any]:
        try:
            return [table[element] for element in value]
        except TypeError as error:
            raise wrong_type(
                "SequenceMap", context, "a sequence of hashable values", value
            ) from error
        except KeyError as error:
            raise wrong_type(
                "SequenceMap", context, f"elements among the lookup table keys {list(table)}", value
            ) from error

    return sequence_map


_AGGREGATIONS: dict[SequenceAggregationFunction, Callable[[Any], Any]] = {
    SequenceAggregationFunction.MIN: min,
    SequenceAggregationFunction.MAX: max,
    SequenceAggregationFunction.SUM: sum,
}


def build_numeric_sequence_aggregate(
    definition: e.NumericSequenceAggregate, context: str
) -> OperationFunction:
    aggregate = _AGGREGATIONS[definition.function]
    neutral_value = definition.neutral_value

    def numeric_sequence_aggregate(value: Any, _: Mapping[str, Any]) -> Any:
        try:
            if len(value) == 0:
                return neutral_value
            return aggregate(value)
        except (TypeError, ValueError) as error:
            raise wrong_type(
                "NumericSequenceAggregate", context, "a sequence of numbers", value
            ) from error

    return numeric_sequence_aggregate


def build_sequence_aggregate(definition: e.SequenceAggregate, context: str) -> OperationFunction:
    mode = definition.mode

    def sequence_aggregate(value: Any, _: Mapping[str, Any]) -> Any:
        try:
            empty = len(value) < 1
        except TypeError as error:
            raise wrong_type("SequenceAggregate", context, "a sequence", value) from error
        if empty:
            raise wrong_type("SequenceAggregate", context, "a non-empty sequence", value)
        try:
            if mode is SequenceAggregationMode.FIRST:
                return value[0]
            if mode is SequenceAggregationMode.LAST:
                return value[-1]
            # Counter.most_common orders ties by first occurrence; least_common is its last.
            ranked = Counter(value).most_common()
            index = 0 if mode is SequenceAggregationMode.MOST_COMMON else -1
            return ranked[index][0]
        except (TypeError, ValueError) as error:
            raise wrong_type(
                "SequenceAggregate", context, "a sequence of hashable values", value
            ) from error

    return sequence_aggregate


def build_sequence_length(definition: e.SequenceLength, context: str) -> OperationFunction:
    def sequence_length(value: Any, _: Mapping[str, Any]) -> int:
        try:
            return len(value)
        except TypeError as error:
            raise wrong_type("SequenceLength", context, "a sequence", value) from error

    return sequence_length


def build_sequence_elements_count(
    definition: e.SequenceElementsCount, context: str
) -> OperationFunction:
    def sequence_elements_count(value: Any, _: Mapping[str, Any]) -> dict[str, int]:
        counts: dict[str, int] = {}
        try:
            for element in value:
                # Keys are strings so that the result serialises to JSON whatever the elements.
                key = safe_stringify(element)
                counts[key] = counts.get(key, 0) + 1
        except (TypeError, ValueError) as error:
            raise wrong_type("SequenceElementsCount", context, "a sequence", value) from error
        return counts

    return sequence_elements_count


def build_sequence_join(definition: e.SequenceJoin, context: str) -> OperationFunction:
    separator = definition.separator

    def sequence_join(value: Any, _: Mapping[str, Any]) -> str:
        try:
            parts = [str(element) for element in value]
        except TypeError as error:
            raise wrong_type("SequenceJoin", context, "a sequence", value) from error
        length = sum(len(part) for part in parts) + len(separator) * max(len(parts) - 1, 0)
        if length > MAX_JOINED_STRING_LENGTH:
            raise failed(
                "SequenceJoin",
                context,
                f"the joined string would have {length} characters, more than the "
                f"{MAX_JOINED_STRING_LENGTH} allowed",
            )
        return separator.join(parts)

    return sequence_join


# --- dictionaries and timestamps -------------------------------------------------------------
def _json_default(value: Any) -> Any:
    # numpy scalars and arrays are common in workflow values; json cannot encode them natively.
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def build_dictionary_to_json(
    definition: e.ConvertDictionaryToJSON, context: str
) -> OperationFunction:
    def dictionary_to_json(value: Any, _: Mapping[str, Any]) -> str:
        if not isinstance(value, dict):
            raise wrong_type("ConvertDictionaryToJSON", context, "a dictionary", value)
        try:
            return json.dumps(value, default=_json_default)
        except (TypeError, ValueError) as error:
            raise failed("ConvertDictionaryToJSON", context, error) from error

    return dictionary_to_json


def build_timestamp_to_iso(definition: e.TimestampToISOFormat, context: str) -> OperationFunction:
    def timestamp_to_iso(value: Any, _: Mapping[str, Any]) -> str:
        if not isinstance(value, datetime):
            raise wrong_type("TimestampToISOFormat", context, "a timestamp (datetime)", value)
        return value.isoformat()

    return timestamp_to_iso


BUILDERS: dict[str, Callable[[Any, str], OperationFunction]] = {
    "StringToLowerCase": build_string_case,
    "StringToUpperCase": build_string_case,
    "ToString": build_to_string,
    "StringSubSequence": build_string_sub_sequence,
    "StringMatches": build_string_matches,
    "ToNumber": build_to_number,
    "NumberRound": build_number_round,
    "Multiply": build_multiply,
    "Divide": build_divide,
    "ToBoolean": build_to_boolean,
    "RandomNumber": build_random_number,
    "LookupTable": build_lookup_table,
    "SequenceMap": build_sequence_map,
    "NumericSequenceAggregate": build_numeric_sequence_aggregate,
    "SequenceAggregate": build_sequence_aggregate,
    "SequenceLength": build_sequence_length,
    "SequenceElementsCount": build_sequence_elements_count,
    "SequenceJoin": build_sequence_join,
    "ConvertDictionaryToJSON": build_dictionary_to_json,
    "TimestampToISOFormat": build_timestamp_to_iso,
}
