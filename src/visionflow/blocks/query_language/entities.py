"""Pydantic models of the UQL: operations, operands, comparators and statements.

The JSON shapes (``type`` discriminators, field names, defaults) are those of the Workflows v1
query language, so existing definitions validate unchanged. Each operation's
``json_schema_extra`` carries its description and input/output kinds; ``describe.py`` reads
them for ``/workflows/blocks/describe``.

>>> chain = OperationsChain.model_validate({"operations": [{"type": "SequenceLength"}]})
>>> [type(operation).__name__ for operation in chain.operations]
['SequenceLength']
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

from visionflow.blocks.query_language.enums import (
    ClassificationProperty,
    DetectionsProperty,
    DetectionsSelectionMode,
    DetectionsSortProperties,
    FrameMetadataProperty,
    ImageProperty,
    NumberCastingMode,
    SequenceAggregationFunction,
    SequenceAggregationMode,
)
from visionflow.spec.kinds import (
    BOOLEAN_KIND,
    BYTES_KIND,
    CLASSIFICATION_PREDICTION_KIND,
    DETECTION_KIND,
    DICTIONARY_KIND,
    FLOAT_KIND,
    FLOAT_ZERO_TO_ONE_KIND,
    IMAGE_KIND,
    INSTANCE_SEGMENTATION_PREDICTION_KIND,
    INTEGER_KIND,
    KEYPOINT_DETECTION_PREDICTION_KIND,
    LIST_OF_VALUES_KIND,
    OBJECT_DETECTION_PREDICTION_KIND,
    STRING_KIND,
    TIMESTAMP_KIND,
    WILDCARD_KIND,
    Kind,
)

if TYPE_CHECKING:  # defined in statements.py, which resolves the reference at import
    from visionflow.blocks.query_language.statements import StatementGroup

#: Name under which ``DetectionsFilter`` exposes the detection being tested.
DEFAULT_OPERAND_NAME = "_"

_DETECTIONS = (
    OBJECT_DETECTION_PREDICTION_KIND,
    INSTANCE_SEGMENTATION_PREDICTION_KIND,
    KEYPOINT_DETECTION_PREDICTION_KIND,
)
_NUMBERS = (INTEGER_KIND, FLOAT_KIND, FLOAT_ZERO_TO_ONE_KIND)


def _kinds(kinds: tuple[Kind, ...]) -> list[dict[str, str]]:
    return [{"name": kind.name} for kind in kinds]


def _meta(
    description: str,
    input_kind: tuple[Kind, ...],
    output_kind: tuple[Kind, ...],
    *,
    compound: bool | None = None,
    nested: tuple[tuple[Kind, ...], tuple[Kind, ...]] | None = None,
) -> ConfigDict:
    """Model config carrying an operation's description and kinds (read by ``describe``)."""
    extra: dict[str, Any] = {"description": description}
    if compound is not None:
        extra["compound"] = compound
    extra["input_kind"] = _kinds(input_kind)
    extra["output_kind"] = _kinds(output_kind)
    if nested is not None:
        extra["nested_operation_input_kind"] = _kinds(nested[0])
        extra["nested_operation_output_kind"] = _kinds(nested[1])
    return ConfigDict(json_schema_extra=extra)


class BaseOperation(BaseModel):
    """Base of every operation model; ``type`` is the discriminator."""

    type: str


# --- strings, numbers, generic --------------------------------------------------------------
class StringToLowerCase(BaseOperation):
    model_config = _meta(
        "Executes lowercase operation on input string", (STRING_KIND,), (STRING_KIND,),
        compound=False,
    )  # fmt: skip
    type: Literal["StringToLowerCase"]


class StringToUpperCase(BaseOperation):
    model_config = _meta(
        "Executes uppercase operation on input string", (STRING_KIND,), (STRING_KIND,),
        compound=False,
    )  # fmt: skip
    type: Literal["StringToUpperCase"]


class LookupTable(BaseOperation):
    model_config = _meta(
        "Changes value according to mapping stated in lookup table",
        (WILDCARD_KIND,), (WILDCARD_KIND,), compound=False,
    )  # fmt: skip
    type: Literal["LookupTable"]
    lookup_table: dict


class ToNumber(BaseOperation):
    model_config = _meta(
        "Changes value into number - float or int depending on configuration",
        (STRING_KIND, BOOLEAN_KIND, *_NUMBERS), _NUMBERS, compound=False,
    )  # fmt: skip
    type: Literal["ToNumber"]
    cast_to: NumberCastingMode


class NumberRound(BaseOperation):
    model_config = _meta("Rounds the number", _NUMBERS, _NUMBERS, compound=False)
    type: Literal["NumberRound"]
    decimal_digits: int


class SequenceMap(BaseOperation):
    model_config = _meta(
        "Changes each value of sequence according to mapping stated in lookup table",
        (LIST_OF_VALUES_KIND,), (LIST_OF_VALUES_KIND,), compound=True,
        nested=((WILDCARD_KIND,), (WILDCARD_KIND,)),
    )  # fmt: skip
    type: Literal["SequenceMap"]
    lookup_table: dict


class SequenceApply(BaseOperation):
    model_config = _meta(
        "Operation applies chain of operations at every element of sequence",
        (LIST_OF_VALUES_KIND,), (LIST_OF_VALUES_KIND,), compound=True,
        nested=((WILDCARD_KIND,), (WILDCARD_KIND,)),
    )  # fmt: skip
    type: Literal["SequenceApply"]
    operations: list[AllOperationsType]


class NumericSequenceAggregate(BaseOperation):
    model_config = _meta(
        "Aggregates numeric sequence using aggregation function like min or max - "
        "adjusted to work on numbers",
        (LIST_OF_VALUES_KIND,), _NUMBERS, compound=False,
    )  # fmt: skip
    type: Literal["NumericSequenceAggregate"]
    function: SequenceAggregationFunction
    neutral_value: Any = Field(default=None)


class SequenceAggregate(BaseOperation):
    model_config = _meta(
        "Aggregates sequence using generic aggregation methods - adjusted to majority data types",
        (LIST_OF_VALUES_KIND,), (WILDCARD_KIND,), compound=False,
    )  # fmt: skip
    type: Literal["SequenceAggregate"]
    mode: SequenceAggregationMode


class ToString(BaseOperation):
    model_config = _meta("Stringifies data", (WILDCARD_KIND,), (STRING_KIND,), compound=False)
    type: Literal["ToString"]


class ToBoolean(BaseOperation):
    model_config = _meta(
        "Changes input data into boolean",
        (FLOAT_KIND, FLOAT_ZERO_TO_ONE_KIND, INTEGER_KIND), (BOOLEAN_KIND,), compound=False,
    )  # fmt: skip
    type: Literal["ToBoolean"]


class StringSubSequence(BaseOperation):
    model_config = _meta(
        "Takes sub-string of the input string", (STRING_KIND,), (STRING_KIND,), compound=False
    )
    type: Literal["StringSubSequence"]
    start: int = Field(default=0)
    end: int = Field(default=-1)


class StringMatches(BaseOperation):
    model_config = _meta(
        "Checks if string matches regex", (STRING_KIND,), (BOOLEAN_KIND,), compound=False
    )
    type: Literal["StringMatches"]
    regex: str


class RandomNumber(BaseOperation):
    model_config = _meta(
        "Special operation to let random sampling - ignoring input data and changing it "
        "into random floating point value. To be used mainly to sample predictions or images.",
        (*_DETECTIONS, WILDCARD_KIND), (FLOAT_KIND, FLOAT_ZERO_TO_ONE_KIND),
    )  # fmt: skip
    type: Literal["RandomNumber"]
    min_value: float = Field(default=0.0)
    max_value: float = Field(default=1.0)


class SequenceLength(BaseOperation):
    model_config = _meta(
        "Operation determines the length of input sequence",
        (*_DETECTIONS, LIST_OF_VALUES_KIND, DICTIONARY_KIND), (INTEGER_KIND,), compound=False,
    )  # fmt: skip
    type: Literal["SequenceLength"]


class SequenceElementsCount(BaseOperation):
    model_config = _meta(
        "Operation counts unique elements of input sequence",
        (LIST_OF_VALUES_KIND,), (DICTIONARY_KIND,), compound=False,
    )  # fmt: skip
    type: Literal["SequenceElementsCount"]


class SequenceJoin(BaseOperation):
    model_config = _meta(
        "Operation joins elements of input sequence into single string, "
        "placing separator between consecutive elements",
        (LIST_OF_VALUES_KIND,), (STRING_KIND,), compound=False,
    )  # fmt: skip
    type: Literal["SequenceJoin"]
    separator: str = ", "


class Multiply(BaseOperation):
    model_config = _meta("Multiplication", _NUMBERS, _NUMBERS, compound=False)
    type: Literal["Multiply"]
    other: Union[int, float]


class Divide(BaseOperation):
    model_config = _meta("Dividing value against other", _NUMBERS, _NUMBERS, compound=False)
    type: Literal["Divide"]
    other: Union[int, float]


# --- detections ------------------------------------------------------------------------------
class DetectionsPropertyExtract(BaseOperation):
    model_config = _meta(
        "Extracts property from detections-based prediction"
        "(as a list of elements - one element represents single detection)",
        _DETECTIONS, (LIST_OF_VALUES_KIND,), compound=False,
    )  # fmt: skip
    type: Literal["DetectionsPropertyExtract"]
    property_name: DetectionsProperty


class ExtractDetectionProperty(BaseOperation):
    model_config = _meta(
        "Extracts property from single detection", (DETECTION_KIND,), (WILDCARD_KIND,),
        compound=False,
    )  # fmt: skip
    type: Literal["ExtractDetectionProperty"]
    property_name: DetectionsProperty


class DetectionsFilter(BaseOperation):
    model_config = _meta(
        "Filters out unwanted elements from detections-based prediction by "
        "applying filter operation in context of every single detection within prediction",
        _DETECTIONS, _DETECTIONS, compound=True, nested=((DETECTION_KIND,), (BOOLEAN_KIND,)),
    )  # fmt: skip
    type: Literal["DetectionsFilter"]
    filter_operation: StatementGroup


class DetectionsOffset(BaseOperation):
    model_config = _meta(
        "Makes detected bounding boxes bigger by applying offset to its size",
        _DETECTIONS, _DETECTIONS, compound=False,
    )  # fmt: skip
    type: Literal["DetectionsOffset"]
    offset_x: int
    offset_y: int


class DetectionsShift(BaseOperation):
    model_config = _meta(
        "Shifting detected bounding boxes in assigned direction",
        _DETECTIONS, _DETECTIONS, compound=False,
    )  # fmt: skip
    type: Literal["DetectionsShift"]
    shift_x: int
    shift_y: int


class DetectionsRename(BaseOperation):
    model_config = _meta(
        "Renames classes in detections based on provided mapping",
        _DETECTIONS, _DETECTIONS, compound=False,
    )  # fmt: skip
    type: Literal["DetectionsRename"]
    class_map: Union[dict[str, str], str] = Field(
        description="Dictionary with classes replacement mapping or name of "
        "parameter delivering the mapping"
    )
    strict: Union[bool, str] = Field(
        default=True,
        description="Flag to decide if all class must be declared in `class_map` or name of "
        "parameter delivering the mapping. When set `True` all detections classes must be "
        "declared, otherwise error is raised.",
    )
    new_classes_id_offset: int = Field(
        default=1024,
        description="When `strict` is `False`, this value determines the first index given to "
        "re-mapped classes. This value let user create new class ids which will not overlap "
        "with original identifiers.",
    )


class DetectionsSelection(BaseOperation):
    model_config = _meta(
        "Selects bounding boxes based on predefined criterias", _DETECTIONS, _DETECTIONS,
        compound=False,
    )  # fmt: skip
    type: Literal["DetectionsSelection"]
    mode: DetectionsSelectionMode


class SortDetections(BaseOperation):
    model_config = _meta(
        "Changes the order of detected bounding boxes.", _DETECTIONS, _DETECTIONS,
        compound=False,
    )  # fmt: skip
    type: Literal["SortDetections"]
    mode: DetectionsSortProperties
    ascending: bool = Field(default=True)


class DetectionsToDictionary(BaseOperation):
    model_config = _meta(
        "Converts detections into `inference` response format dictionary",
        _DETECTIONS, (DICTIONARY_KIND,), compound=False,
    )  # fmt: skip
    type: Literal["DetectionsToDictionary"]


class PickDetectionsByParentClass(BaseOperation):
    model_config = _meta(
        "Picks only those detections which are located inside parent detections of specific class",
        _DETECTIONS, _DETECTIONS, compound=False,
    )  # fmt: skip
    type: Literal["PickDetectionsByParentClass"]
    parent_class: str = Field(description="Class of parent detections")


class ClassificationPropertyExtract(BaseOperation):
    model_config = _meta(
        "Extracts property from detections-based prediction"
        "(as a list of elements - one element represents single detection)",
        (CLASSIFICATION_PREDICTION_KIND,),
        (STRING_KIND, LIST_OF_VALUES_KIND, FLOAT_ZERO_TO_ONE_KIND), compound=False,
    )  # fmt: skip
    type: Literal["ClassificationPropertyExtract"]
    property_name: ClassificationProperty


# --- images, frames, timestamps, dictionaries -------------------------------------------------
class ExtractImageProperty(BaseOperation):
    model_config = _meta(
        "Extracts specific property of image (like size)", (IMAGE_KIND,), (INTEGER_KIND,)
    )
    type: Literal["ExtractImageProperty"]
    property_name: ImageProperty


class ExtractFrameMetadata(BaseOperation):
    model_config = _meta(
        "Extracts specific property of frame (frame number, timestamp)",
        (IMAGE_KIND,), (INTEGER_KIND, FLOAT_KIND, TIMESTAMP_KIND),
    )  # fmt: skip
    type: Literal["ExtractFrameMetadata"]
    property_name: FrameMetadataProperty


class TimestampToISOFormat(BaseOperation):
    model_config = _meta("Serializes timestamp to ISO format.", (TIMESTAMP_KIND,), (STRING_KIND,))
    type: Literal["TimestampToISOFormat"]


class ConvertImageToJPEG(BaseOperation):
    model_config = _meta("Converts image to JPEG", (IMAGE_KIND,), (BYTES_KIND,))
    type: Literal["ConvertImageToJPEG"]
    compression_level: int = Field(default=95, le=100, ge=1)


class ConvertImageToBase64(BaseOperation):
    model_config = _meta("Converts image to base64-encoded JPEG", (IMAGE_KIND,), (STRING_KIND,))
    type: Literal["ConvertImageToBase64"]


class ConvertDictionaryToJSON(BaseOperation):
    model_config = _meta(
        "Converts dictionary to serialized JSON", (DICTIONARY_KIND,), (STRING_KIND,)
    )
    type: Literal["ConvertDictionaryToJSON"]


# The order is the reference's: it is the order of ``operations_description``.
AllOperationsType = Annotated[
    Union[
        StringToLowerCase,
        StringToUpperCase,
        LookupTable,
        ToNumber,
        NumberRound,
        SequenceMap,
        SequenceApply,
        NumericSequenceAggregate,
        ToString,
        ToBoolean,
        StringSubSequence,
        DetectionsPropertyExtract,
        SequenceAggregate,
        ExtractDetectionProperty,
        DetectionsFilter,
        DetectionsOffset,
        DetectionsShift,
        DetectionsRename,
        RandomNumber,
        StringMatches,
        ExtractImageProperty,
        ExtractFrameMetadata,
        SequenceLength,
        SequenceElementsCount,
        SequenceJoin,
        Multiply,
        Divide,
        DetectionsSelection,
        SortDetections,
        ClassificationPropertyExtract,
        ConvertImageToJPEG,
        ConvertImageToBase64,
        DetectionsToDictionary,
        ConvertDictionaryToJSON,
        PickDetectionsByParentClass,
        TimestampToISOFormat,
    ],
    Field(discriminator="type"),
]

#: Same as ``AllOperationsType`` (the name block manifests of the reference use).
OperationDefinition = AllOperationsType


class OperationsChain(BaseModel):
    """A list of operations; validates raw dicts into operation models."""

    operations: list[AllOperationsType]
