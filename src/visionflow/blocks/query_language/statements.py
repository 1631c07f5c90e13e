"""Pydantic models of UQL operands, comparators (binary and unary) and statements.

A ``StatementGroup`` holds ``BinaryStatement``, ``UnaryStatement`` or nested groups, combined
with ``or`` (the default) or ``and``. Comparators are objects with a ``type``:
``{"type": "(Number) >="}``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

from visionflow.blocks.query_language.entities import (
    DEFAULT_OPERAND_NAME,
    AllOperationsType,
    DetectionsFilter,
    OperationsChain,
    SequenceApply,
)
from visionflow.blocks.query_language.enums import StatementsGroupsOperator
from visionflow.spec.kinds import (
    BOOLEAN_KIND,
    DETECTION_KIND,
    DICTIONARY_KIND,
    FLOAT_KIND,
    FLOAT_ZERO_TO_ONE_KIND,
    INSTANCE_SEGMENTATION_PREDICTION_KIND,
    INTEGER_KIND,
    KEYPOINT_DETECTION_PREDICTION_KIND,
    LIST_OF_VALUES_KIND,
    OBJECT_DETECTION_PREDICTION_KIND,
    STRING_KIND,
    WILDCARD_KIND,
    ZONE_KIND,
    Kind,
)

_NUMBERS = (INTEGER_KIND, FLOAT_KIND, FLOAT_ZERO_TO_ONE_KIND)
_EQUATABLE = (
    INTEGER_KIND,
    STRING_KIND,
    FLOAT_KIND,
    FLOAT_ZERO_TO_ONE_KIND,
    BOOLEAN_KIND,
    LIST_OF_VALUES_KIND,
)
_SEQUENCES = (
    LIST_OF_VALUES_KIND,
    DICTIONARY_KIND,
    OBJECT_DETECTION_PREDICTION_KIND,
    INSTANCE_SEGMENTATION_PREDICTION_KIND,
    KEYPOINT_DETECTION_PREDICTION_KIND,
)


def _operator_meta(description: str, *operands: tuple[Kind, ...]) -> ConfigDict:
    """Model config carrying an operator's description and operand kinds."""
    return ConfigDict(
        json_schema_extra={
            "description": description,
            "operands_number": len(operands),
            "operands_kinds": [[{"name": kind.name} for kind in group] for group in operands],
            "output_kind": [{"name": BOOLEAN_KIND.name}],
        }
    )


class BinaryOperator(BaseModel):
    """Base of comparators used by ``BinaryStatement``."""

    type: str


class UnaryOperator(BaseModel):
    """Base of operators used by ``UnaryStatement``."""

    type: str


class Equals(BinaryOperator):
    model_config = _operator_meta("Checks if two values given are equal", _EQUATABLE, _EQUATABLE)
    type: Literal["(Number) ==", "=="]


class NotEquals(BinaryOperator):
    model_config = _operator_meta(
        "Checks if two values given are not equal", _EQUATABLE, _EQUATABLE
    )
    type: Literal["(Number) !=", "!="]


class NumberGreater(BinaryOperator):
    model_config = _operator_meta(
        "Checks if first value (number) is greater than the second value (number)",
        _NUMBERS, _NUMBERS,
    )  # fmt: skip
    type: Literal["(Number) >"]


class NumberGreaterEqual(BinaryOperator):
    model_config = _operator_meta(
        "Checks if first value (number) is greater or equal than the second value (number)",
        _NUMBERS, _NUMBERS,
    )  # fmt: skip
    type: Literal["(Number) >="]


class NumberLower(BinaryOperator):
    model_config = _operator_meta(
        "Checks if first value (number) is lower than the second value (number)",
        _NUMBERS, _NUMBERS,
    )  # fmt: skip
    type: Literal["(Number) <"]


class NumberLowerEqual(BinaryOperator):
    model_config = _operator_meta(
        "Checks if first value (number) is lower or equal than the second value (number)",
        _NUMBERS, _NUMBERS,
    )  # fmt: skip
    type: Literal["(Number) <="]


class NumberInRange(BinaryOperator):
    model_config = _operator_meta(
        "Checks if first value (number) is within the inclusive range given as second value "
        "(list of two numbers: [min, max])",
        _NUMBERS, (LIST_OF_VALUES_KIND,),
    )  # fmt: skip
    type: Literal["(Number) in range"]


class StringStartsWith(BinaryOperator):
    model_config = _operator_meta(
        "Checks if string given as first value starts with string provided as second value",
        (STRING_KIND,), (STRING_KIND,),
    )  # fmt: skip
    type: Literal["(String) startsWith"]


class StringEndsWith(BinaryOperator):
    model_config = _operator_meta(
        "Checks if string given as first value ends with string provided as second value",
        (STRING_KIND,), (STRING_KIND,),
    )  # fmt: skip
    type: Literal["(String) endsWith"]


class StringContains(BinaryOperator):
    model_config = _operator_meta(
        "Checks if string given as first value contains string provided as second value",
        (STRING_KIND,), (STRING_KIND,),
    )  # fmt: skip
    type: Literal["(String) contains"]


class In(BinaryOperator):
    model_config = _operator_meta(
        "Checks if first value is element of second value (usually list or dictionary)",
        (STRING_KIND, *_NUMBERS), (LIST_OF_VALUES_KIND, DICTIONARY_KIND),
    )  # fmt: skip
    type: Literal["in (Sequence)"]


class AllInSequence(BinaryOperator):
    model_config = _operator_meta(
        "Checks if all elements of first value are elements of second value (usually list)",
        (LIST_OF_VALUES_KIND,), (LIST_OF_VALUES_KIND,),
    )  # fmt: skip
    type: Literal["all in (Sequence)"]


class AnyInSequence(BinaryOperator):
    model_config = _operator_meta(
        "Checks if any element of first value is element of second value (usually list)",
        (LIST_OF_VALUES_KIND,), (LIST_OF_VALUES_KIND,),
    )  # fmt: skip
    type: Literal["any in (Sequence)"]


class DetectionInZone(BinaryOperator):
    # The reference declares one operand group holding both kinds; kept for describe parity.
    model_config = ConfigDict(
        json_schema_extra={
            "description": "Checks if detection is in zone",
            "operands_number": 2,
            "operands_kinds": [[{"name": DETECTION_KIND.name}, {"name": ZONE_KIND.name}]],
            "output_kind": [{"name": BOOLEAN_KIND.name}],
        }
    )
    type: Literal["(Detection) in zone"]


class Exists(UnaryOperator):
    model_config = _operator_meta("Checks if value is given (not `None`)", (WILDCARD_KIND,))
    type: Literal["Exists"]


class DoesNotExist(UnaryOperator):
    model_config = _operator_meta("Checks if value is not given (`None`)", (WILDCARD_KIND,))
    type: Literal["DoesNotExist"]


class IsTrue(UnaryOperator):
    model_config = _operator_meta("Checks if value is `True`", (BOOLEAN_KIND,))
    type: Literal["(Boolean) is True"]


class IsFalse(UnaryOperator):
    model_config = _operator_meta("Checks if value is `False`", (BOOLEAN_KIND,))
    type: Literal["(Boolean) is False"]


class IsEmpty(UnaryOperator):
    model_config = _operator_meta("Checks if sequence is empty", _SEQUENCES)
    type: Literal["(Sequence) is empty"]


class IsNotEmpty(UnaryOperator):
    model_config = _operator_meta("Checks if sequence is not empty", _SEQUENCES)
    type: Literal["(Sequence) is not empty"]


#: Every comparator usable in a ``BinaryStatement`` (in the reference's order).
BINARY_OPERATOR_MODELS: tuple[type[BinaryOperator], ...] = (
    In,
    AllInSequence,
    AnyInSequence,
    StringContains,
    StringEndsWith,
    StringStartsWith,
    NumberInRange,
    NumberLowerEqual,
    NumberLower,
    NumberGreaterEqual,
    NumberGreater,
    NotEquals,
    Equals,
    DetectionInZone,
)
#: Every operator usable in a ``UnaryStatement``.
UNARY_OPERATOR_MODELS: tuple[type[UnaryOperator], ...] = (
    Exists,
    DoesNotExist,
    IsTrue,
    IsFalse,
    IsEmpty,
    IsNotEmpty,
)


class StaticOperand(BaseModel):
    """A literal value, optionally transformed by ``operations``."""

    type: Literal["StaticOperand"]
    value: Any
    operations: list[AllOperationsType] = Field(default_factory=list)


class DynamicOperand(BaseModel):
    """A named value from the evaluation parameters (``_`` by default), then ``operations``."""

    type: Literal["DynamicOperand"]
    operations: list[AllOperationsType] = Field(default_factory=list)
    operand_name: str = DEFAULT_OPERAND_NAME


Operand = Annotated[Union[StaticOperand, DynamicOperand], Field(discriminator="type")]


class BinaryStatement(BaseModel):
    """``left_operand <comparator> right_operand``, inverted when ``negate``."""

    type: Literal["BinaryStatement"]
    left_operand: Operand
    comparator: Annotated[
        Union[
            In,
            AllInSequence,
            AnyInSequence,
            StringContains,
            StringEndsWith,
            StringStartsWith,
            NumberInRange,
            NumberLowerEqual,
            NumberLower,
            NumberGreaterEqual,
            NumberGreater,
            NotEquals,
            Equals,
            DetectionInZone,
        ],
        Field(discriminator="type"),
    ]
    right_operand: Operand
    negate: bool = False


class UnaryStatement(BaseModel):
    """``<operator> operand``, inverted when ``negate``."""

    type: Literal["UnaryStatement"]
    operand: Operand
    operator: Annotated[
        Union[Exists, DoesNotExist, IsTrue, IsFalse, IsEmpty, IsNotEmpty],
        Field(discriminator="type"),
    ]
    negate: bool = False


class StatementGroup(BaseModel):
    """Statements combined with ``or`` (default) or ``and``; groups nest."""

    type: Literal["StatementGroup"]
    statements: list[
        Annotated[
            Union[BinaryStatement, UnaryStatement, StatementGroup],
            Field(discriminator="type"),
        ]
    ] = Field(min_length=1)
    operator: StatementsGroupsOperator = StatementsGroupsOperator.OR


# Operations and statements refer to each other (DetectionsFilter holds a StatementGroup whose
# operands hold operations): resolve the forward references now that both sides exist.
_NAMESPACE = {"StatementGroup": StatementGroup, "AllOperationsType": AllOperationsType}
_FORWARD_REFERENCING: tuple[type[BaseModel], ...] = (
    DetectionsFilter,
    SequenceApply,
    OperationsChain,
    StaticOperand,
    DynamicOperand,
    BinaryStatement,
    UnaryStatement,
    StatementGroup,
)
for _model in _FORWARD_REFERENCING:
    _model.model_rebuild(_types_namespace=_NAMESPACE)
