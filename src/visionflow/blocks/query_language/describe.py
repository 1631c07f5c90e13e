"""The UQL description served as ``universal_query_language_description`` by
``/workflows/blocks/describe``.

>>> description = describe_query_language()
>>> sorted(description)
['operations_description', 'operators_descriptions']
"""

from __future__ import annotations

import typing
from enum import Enum
from functools import lru_cache
from typing import Any

from pydantic import BaseModel

from visionflow.blocks.query_language.entities import AllOperationsType
from visionflow.blocks.query_language.statements import (
    BINARY_OPERATOR_MODELS,
    UNARY_OPERATOR_MODELS,
    DetectionInZone,
    DoesNotExist,
    Equals,
    Exists,
    In,
    IsEmpty,
    IsFalse,
    IsNotEmpty,
    IsTrue,
    NotEquals,
    NumberGreater,
    NumberGreaterEqual,
    NumberInRange,
    NumberLower,
    NumberLowerEqual,
    StringContains,
    StringEndsWith,
    StringStartsWith,
)

# The reference's order, then the comparators it leaves out of its list (they exist and work,
# so a client building statements from this description should see them).
_OPERATOR_ORDER: tuple[type[BaseModel], ...] = (
    In,
    StringContains,
    StringEndsWith,
    StringStartsWith,
    NumberLowerEqual,
    NumberLower,
    NumberGreaterEqual,
    NumberGreater,
    NumberInRange,
    NotEquals,
    Equals,
    Exists,
    DoesNotExist,
    IsTrue,
    IsFalse,
    IsEmpty,
    IsNotEmpty,
)


def _operation_models() -> list[type[BaseModel]]:
    union = typing.get_args(AllOperationsType)[0]
    return list(typing.get_args(union))


def _extra(model: type[BaseModel]) -> dict[str, Any]:
    extra = model.model_config.get("json_schema_extra")
    return dict(extra) if isinstance(extra, dict) else {}


def _names(kinds: Any) -> list[str] | None:
    return [kind["name"] for kind in kinds] if kinds else None


def _literal_values(model: type[BaseModel]) -> tuple[str, ...]:
    return typing.get_args(model.model_fields["type"].annotation)


def _property_name_options(model: type[BaseModel]) -> list[str] | None:
    field = model.model_fields.get("property_name")
    if field is None or not (
        isinstance(field.annotation, type) and issubclass(field.annotation, Enum)
    ):
        return None
    return [member.value for member in field.annotation]


def _describe_operation(model: type[BaseModel]) -> dict[str, Any]:
    extra = _extra(model)
    return {
        "operation_type": _literal_values(model)[0],
        "compound": bool(extra.get("compound", False)),
        "input_kind": _names(extra.get("input_kind")) or [],
        "output_kind": _names(extra.get("output_kind")) or [],
        "nested_operation_input_kind": _names(extra.get("nested_operation_input_kind")),
        "nested_operation_output_kind": _names(extra.get("nested_operation_output_kind")),
        "description": extra.get("description"),
        "property_name_options": _property_name_options(model),
    }


def _describe_operators(model: type[BaseModel]) -> list[dict[str, Any]]:
    extra = _extra(model)
    return [
        {
            "operator_type": alias,
            "operands_number": extra["operands_number"],
            "operands_kinds": [_names(group) or [] for group in extra["operands_kinds"]],
            "description": extra.get("description"),
        }
        for alias in _literal_values(model)
    ]


@lru_cache(maxsize=1)
def _description() -> dict[str, Any]:
    operators: list[type[BaseModel]] = list(_OPERATOR_ORDER)
    extra_models: tuple[type[BaseModel], ...] = (
        *BINARY_OPERATOR_MODELS,
        *UNARY_OPERATOR_MODELS,
        DetectionInZone,
    )
    for model in extra_models:
        if model not in operators:
            operators.append(model)
    return {
        "operations_description": [_describe_operation(m) for m in _operation_models()],
        "operators_descriptions": [
            entry for model in operators for entry in _describe_operators(model)
        ],
    }


def describe_query_language() -> dict[str, Any]:
    """Operations and operators of the query language, in the reference's response shape.

    ``operations_description`` lists ``operation_type``, ``compound``, ``input_kind``,
    ``output_kind``, ``nested_operation_*_kind``, ``description`` and
    ``property_name_options``; ``operators_descriptions`` lists ``operator_type``,
    ``operands_number``, ``operands_kinds`` and ``description``.
    """
    import copy

    return copy.deepcopy(_description())  # callers may mutate their copy
