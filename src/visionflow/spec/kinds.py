"""Kinds: the named types of the values that flow between steps.

A connection is valid when the producer's kinds intersect the kinds the field accepts;
``*`` (the wildcard) matches every kind.

>>> kinds_compatible(["object_detection_prediction"], ["object_detection_prediction", "image"])
True
>>> kinds_compatible(["image"], ["*"])
True
>>> kinds_compatible(["image"], ["string"])
False
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    """A named type of value, with a one-line description used by docs and describe routes."""

    name: str
    description: str = ""
    serialised_type: str = "any"

    def __str__(self) -> str:
        return self.name


def _k(name: str, description: str, serialised_type: str = "any") -> Kind:
    return Kind(name=name, description=description, serialised_type=serialised_type)


WILDCARD_KIND = _k("*", "Equivalent of any element")
IMAGE_KIND = _k("image", "Image in workflows", "dict")
VIDEO_METADATA_KIND = _k("video_metadata", "Video frame metadata", "dict")
ROBOFLOW_MODEL_ID_KIND = _k("roboflow_model_id", "Model identifier", "str")
ROBOFLOW_PROJECT_KIND = _k("roboflow_project", "Project name", "str")
ROBOFLOW_API_KEY_KIND = _k("roboflow_api_key", "API key (kept for compatibility)", "str")
FLOAT_ZERO_TO_ONE_KIND = _k("float_zero_to_one", "float value in range [0.0, 1.0]", "float")
LIST_OF_VALUES_KIND = _k("list_of_values", "List of values of any type", "list")
SERIALISED_PAYLOADS_KIND = _k(
    "serialised_payloads", "Serialised element that is usually accepted by sink", "any"
)
BOOLEAN_KIND = _k("boolean", "Boolean flag", "bool")
INTEGER_KIND = _k("integer", "Integer value", "int")
STRING_KIND = _k("string", "String value", "str")
TOP_CLASS_KIND = _k(
    "top_class", "String value representing top class predicted by classification model", "str"
)
FLOAT_KIND = _k("float", "Float value", "float")
DICTIONARY_KIND = _k("dictionary", "Dictionary", "dict")
DETECTION_KIND = _k(
    "detection",
    "Single element of detections-based prediction (like `object_detection_prediction`)",
    "tuple",
)
CLASSIFICATION_PREDICTION_KIND = _k(
    "classification_prediction", "Predictions from classifier", "dict"
)
OBJECT_DETECTION_PREDICTION_KIND = _k(
    "object_detection_prediction",
    "Prediction with detected bounding boxes in form of sv.Detections(...) object",
    "dict",
)
INSTANCE_SEGMENTATION_PREDICTION_KIND = _k(
    "instance_segmentation_prediction",
    "Prediction with detected bounding boxes and segmentation masks in form of sv.Detections(...) object",
    "dict",
)
KEYPOINT_DETECTION_PREDICTION_KIND = _k(
    "keypoint_detection_prediction",
    "Prediction with detected bounding boxes and detected keypoints in form of sv.Detections(...) object",
    "dict",
)
SEMANTIC_SEGMENTATION_PREDICTION_KIND = _k(
    "semantic_segmentation_prediction",
    "Prediction with per-pixel class label and confidence for semantic segmentation",
    "dict",
)
POINT_KIND = _k("point", "Single point in 2D", "list")
ZONE_KIND = _k("zone", "Definition of polygon zone", "list")
RGB_COLOR_KIND = _k("rgb_color", "RGB color", "str")
IMAGE_KEYPOINTS_KIND = _k(
    "image_keypoints", "Image keypoints detected by classical Computer Vision method", "list"
)
CONTOURS_KIND = _k(
    "contours", "List of numpy arrays where each array represents contour points", "list"
)
NUMPY_ARRAY_KIND = _k("numpy_array", "Numpy array", "list")
QR_CODE_DETECTION_KIND = _k("qr_code_detection", "Prediction with QR code detection", "dict")
BAR_CODE_DETECTION_KIND = _k("bar_code_detection", "Prediction with barcode detection", "dict")
PREDICTION_TYPE_KIND = _k("prediction_type", "String value with type of prediction", "str")
PARENT_ID_KIND = _k("parent_id", "Identifier of parent for step output", "str")
IMAGE_METADATA_KIND = _k(
    "image_metadata", "Dictionary with image metadata required by supervision", "dict"
)
BYTES_KIND = _k("bytes", "This kind represent bytes", "bytes")
INFERENCE_ID_KIND = _k("inference_id", "Inference identifier", "str")
SECRET_KIND = _k("secret", "Secret value", "str")
EMBEDDING_KIND = _k(
    "embedding", "A list of floating point numbers representing a vector embedding.", "list"
)
TIMESTAMP_KIND = _k("timestamp", "Timestamp (datetime); serialized as ISO-8601 string", "str")
LANGUAGE_MODEL_OUTPUT_KIND = _k("language_model_output", "LLM / VLM output", "str")

KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        WILDCARD_KIND,
        IMAGE_KIND,
        VIDEO_METADATA_KIND,
        ROBOFLOW_MODEL_ID_KIND,
        ROBOFLOW_PROJECT_KIND,
        ROBOFLOW_API_KEY_KIND,
        FLOAT_ZERO_TO_ONE_KIND,
        LIST_OF_VALUES_KIND,
        SERIALISED_PAYLOADS_KIND,
        BOOLEAN_KIND,
        INTEGER_KIND,
        STRING_KIND,
        TOP_CLASS_KIND,
        FLOAT_KIND,
        DICTIONARY_KIND,
        DETECTION_KIND,
        CLASSIFICATION_PREDICTION_KIND,
        OBJECT_DETECTION_PREDICTION_KIND,
        INSTANCE_SEGMENTATION_PREDICTION_KIND,
        KEYPOINT_DETECTION_PREDICTION_KIND,
        SEMANTIC_SEGMENTATION_PREDICTION_KIND,
        POINT_KIND,
        ZONE_KIND,
        RGB_COLOR_KIND,
        IMAGE_KEYPOINTS_KIND,
        CONTOURS_KIND,
        NUMPY_ARRAY_KIND,
        QR_CODE_DETECTION_KIND,
        BAR_CODE_DETECTION_KIND,
        PREDICTION_TYPE_KIND,
        PARENT_ID_KIND,
        IMAGE_METADATA_KIND,
        BYTES_KIND,
        INFERENCE_ID_KIND,
        SECRET_KIND,
        EMBEDDING_KIND,
        TIMESTAMP_KIND,
        LANGUAGE_MODEL_OUTPUT_KIND,
    )
}

#: Kinds whose values are detections (``supervision.Detections``).
DETECTIONS_KINDS = frozenset(
    {
        OBJECT_DETECTION_PREDICTION_KIND.name,
        INSTANCE_SEGMENTATION_PREDICTION_KIND.name,
        KEYPOINT_DETECTION_PREDICTION_KIND.name,
        QR_CODE_DETECTION_KIND.name,
        BAR_CODE_DETECTION_KIND.name,
    }
)


def kind_names(kinds: Iterable[Kind | str]) -> tuple[str, ...]:
    """Names of kinds given as ``Kind`` objects or strings, order kept, duplicates dropped."""
    names: list[str] = []
    for kind in kinds:
        name = kind.name if isinstance(kind, Kind) else str(kind)
        if name not in names:
            names.append(name)
    return tuple(names)


def get_kind(name: str) -> Kind:
    """The registered kind of this name, or an ad-hoc one (plugins may declare their own)."""
    return KINDS.get(name) or Kind(name=name)


def kinds_compatible(produced: Iterable[Kind | str], accepted: Iterable[Kind | str]) -> bool:
    """True when the two kind lists intersect, ``*`` on either side matching everything."""
    produced_names = set(kind_names(produced))
    accepted_names = set(kind_names(accepted))
    if not produced_names or not accepted_names:
        return True
    if "*" in produced_names or "*" in accepted_names:
        return True
    return bool(produced_names & accepted_names)


__all__ = [name for name in dir() if name.endswith("_KIND")] + [
    "DETECTIONS_KINDS",
    "KINDS",
    "Kind",
    "get_kind",
    "kind_names",
    "kinds_compatible",
]
