"""The UQL description (``universal_query_language_description``) and the public names."""

from __future__ import annotations

import typing

import pytest

import visionflow.blocks.query_language as uql
from visionflow.blocks.query_language import AllOperationsType, describe_query_language
from visionflow.blocks.query_language.evaluation import BINARY_OPERATORS, UNARY_OPERATORS
from visionflow.blocks.query_language.operations import registered_operation_types

# compat.md section 4, plus the four operations the reference also defines.
OPERATIONS = [
    "SequenceLength", "SequenceMap", "SequenceAggregate", "NumericSequenceAggregate",
    "SequenceElementsCount", "SequenceApply", "DetectionsFilter", "DetectionsPropertyExtract",
    "ExtractDetectionProperty", "DetectionsSelection", "SortDetections", "DetectionsOffset",
    "DetectionsShift", "DetectionsRename", "PickDetectionsByParentClass",
    "ClassificationPropertyExtract", "ExtractImageProperty", "ExtractFrameMetadata",
    "ConvertImageToJPEG", "ConvertImageToBase64", "LookupTable", "ToNumber", "ToString",
    "ToBoolean", "NumberRound", "Multiply", "Divide", "StringToLowerCase", "StringToUpperCase",
    "StringSubSequence", "StringMatches", "TimestampToISOFormat",
    "SequenceJoin", "RandomNumber", "DetectionsToDictionary", "ConvertDictionaryToJSON",
]  # fmt: skip
COMPARATORS = [
    "(Number) ==", "(Number) !=", "(Number) >", "(Number) >=", "(Number) <", "(Number) <=",
    "(Number) in range", "==", "!=", "(String) startsWith", "(String) endsWith",
    "(String) contains", "in (Sequence)", "all in (Sequence)", "any in (Sequence)",
    "(Detection) in zone",
]  # fmt: skip
UNARY = [
    "Exists", "DoesNotExist", "(Boolean) is True", "(Boolean) is False",
    "(Sequence) is empty", "(Sequence) is not empty",
]  # fmt: skip


def test_every_operation_is_described_once() -> None:
    described = [
        entry["operation_type"] for entry in describe_query_language()["operations_description"]
    ]
    assert sorted(described) == sorted(OPERATIONS)
    assert len(described) == len(set(described))


def test_every_operator_is_described_once() -> None:
    described = [
        entry["operator_type"] for entry in describe_query_language()["operators_descriptions"]
    ]
    assert sorted(described) == sorted(COMPARATORS + UNARY)
    assert described[0] == "in (Sequence)"  # the reference's order first


def test_every_described_item_is_implemented() -> None:
    union_members = typing.get_args(typing.get_args(AllOperationsType)[0])
    union_types = {
        typing.get_args(model.model_fields["type"].annotation)[0] for model in union_members
    }
    assert union_types == set(OPERATIONS) == set(registered_operation_types())
    assert set(BINARY_OPERATORS) == set(COMPARATORS)
    assert set(UNARY_OPERATORS) == set(UNARY)


@pytest.mark.parametrize(
    ("operation_type", "field", "expected"),
    [
        ("StringToLowerCase", "input_kind", ["string"]),
        ("DetectionsFilter", "compound", True),
        ("DetectionsFilter", "nested_operation_input_kind", ["detection"]),
        ("DetectionsFilter", "nested_operation_output_kind", ["boolean"]),
        ("SequenceApply", "compound", True),
        ("ExtractImageProperty", "compound", False),
        (
            "ExtractImageProperty",
            "property_name_options",
            ["size", "height", "width", "aspect_ratio"],
        ),
        ("ExtractFrameMetadata", "output_kind", ["integer", "float", "timestamp"]),
        ("ToNumber", "property_name_options", None),
        ("ConvertImageToJPEG", "output_kind", ["bytes"]),
        ("SortDetections", "description", "Changes the order of detected bounding boxes."),
    ],
)
def test_operation_description_fields(operation_type: str, field: str, expected: object) -> None:
    entries = {e["operation_type"]: e for e in describe_query_language()["operations_description"]}
    assert entries[operation_type][field] == expected


def test_description_shape_matches_the_reference() -> None:
    description = describe_query_language()
    assert set(description) == {"operations_description", "operators_descriptions"}
    for entry in description["operations_description"]:
        assert set(entry) == {
            "operation_type", "compound", "input_kind", "output_kind",
            "nested_operation_input_kind", "nested_operation_output_kind", "description",
            "property_name_options",
        }  # fmt: skip
    detections_properties = {e["operation_type"]: e for e in description["operations_description"]}[
        "DetectionsPropertyExtract"
    ]["property_name_options"]
    assert {"class_name", "confidence", "center", "size", "tracker_id"} <= set(
        detections_properties
    )
    operators = {e["operator_type"]: e for e in description["operators_descriptions"]}
    assert operators["(Number) >="]["operands_number"] == 2
    assert operators["(Number) >="]["operands_kinds"][0] == [
        "integer",
        "float",
        "float_zero_to_one",
    ]
    assert operators["Exists"]["operands_kinds"] == [["*"]]
    assert operators["=="]["description"] == "Checks if two values given are equal"


def test_description_is_a_fresh_copy() -> None:
    describe_query_language()["operations_description"].clear()
    assert describe_query_language()["operations_description"]


def test_public_names() -> None:
    for name in [
        "StatementGroup", "AllOperationsType", "OperationDefinition", "build_operations_chain",
        "build_eval_function", "describe_query_language", "QueryLanguageError",
        "InvalidInputTypeError", "OperationError",
    ]:  # fmt: skip
        assert name in uql.__all__
        assert getattr(uql, name) is not None
    assert uql.OperationDefinition is uql.AllOperationsType
    assert issubclass(uql.InvalidInputTypeError, uql.QueryLanguageError)
    assert issubclass(uql.OperationError, ValueError)


def test_models_work_as_manifest_field_types() -> None:
    from pydantic import BaseModel

    class Manifest(BaseModel):
        condition_statement: uql.StatementGroup
        operations: list[uql.AllOperationsType]

    manifest = Manifest.model_validate(
        {
            "condition_statement": {
                "type": "StatementGroup",
                "statements": [
                    {
                        "type": "UnaryStatement",
                        "operand": {"type": "DynamicOperand", "operand_name": "x"},
                        "operator": {"type": "Exists"},
                    }
                ],
            },
            "operations": [{"type": "SequenceLength"}],
        }
    )
    assert uql.build_eval_function(manifest.condition_statement)({"x": 1}) is True
    assert uql.build_operations_chain(manifest.operations)([1, 2], {}) == 2
    schema = Manifest.model_json_schema()
    assert "DetectionsFilter" in schema["$defs"]
    assert schema["$defs"]["Equals"]["properties"]["type"]["enum"] == ["(Number) ==", "=="]
