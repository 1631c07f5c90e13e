"""UQL operations on images, video frames and classification predictions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from visionflow.blocks.query_language import entities as e
from visionflow.blocks.query_language._common import OperationFunction, failed, wrong_type
from visionflow.blocks.query_language.enums import (
    ClassificationProperty,
    FrameMetadataProperty,
    ImageProperty,
)
from visionflow.data.image import Image, VideoMetadata


# --- images ----------------------------------------------------------------------------------
def _aspect_ratio(image: Image) -> float:
    height, width = image.numpy_image.shape[:2]
    return width / height if height != 0 else 0


_IMAGE_PROPERTIES: dict[ImageProperty, Callable[[Image], Any]] = {
    ImageProperty.SIZE: lambda image: image.numpy_image.shape[0] * image.numpy_image.shape[1],
    ImageProperty.HEIGHT: lambda image: image.numpy_image.shape[0],
    ImageProperty.WIDTH: lambda image: image.numpy_image.shape[1],
    ImageProperty.ASPECT_RATIO: _aspect_ratio,
}


def build_extract_image_property(
    definition: e.ExtractImageProperty, context: str
) -> OperationFunction:
    extract = _IMAGE_PROPERTIES[definition.property_name]

    def extract_image_property(value: Any, _: Mapping[str, Any]) -> Any:
        if not isinstance(value, Image):
            raise wrong_type("ExtractImageProperty", context, "an image", value)
        try:
            return extract(value)
        except Exception as error:  # decoding a broken image, for instance
            raise failed("ExtractImageProperty", context, error) from error

    return extract_image_property


def _seconds_since_start(metadata: VideoMetadata) -> float:
    if not metadata.fps:
        raise ValueError("the frame's video metadata has no fps")
    return (metadata.frame_number - 1) / metadata.fps


_FRAME_PROPERTIES: dict[FrameMetadataProperty, Callable[[VideoMetadata], Any]] = {
    FrameMetadataProperty.FRAME_NUMBER: lambda metadata: metadata.frame_number,
    FrameMetadataProperty.FRAME_TIMESTAMP: lambda metadata: metadata.frame_timestamp,
    FrameMetadataProperty.SECONDS_SINCE_START: _seconds_since_start,
}


def build_extract_frame_metadata(
    definition: e.ExtractFrameMetadata, context: str
) -> OperationFunction:
    extract = _FRAME_PROPERTIES[definition.property_name]

    def extract_frame_metadata(value: Any, _: Mapping[str, Any]) -> Any:
        if not isinstance(value, Image):
            raise wrong_type("ExtractFrameMetadata", context, "an image (video frame)", value)
        metadata = value.video_metadata
        if metadata is None:
            raise failed("ExtractFrameMetadata", context, "the image carries no video metadata")
        try:
            return extract(metadata)
        except Exception as error:
            raise failed("ExtractFrameMetadata", context, error) from error

    return extract_frame_metadata


def build_convert_image_to_jpeg(
    definition: e.ConvertImageToJPEG, context: str
) -> OperationFunction:
    quality = definition.compression_level

    def convert_image_to_jpeg(value: Any, _: Mapping[str, Any]) -> bytes:
        if not isinstance(value, Image):
            raise wrong_type("ConvertImageToJPEG", context, "an image", value)
        import cv2  # lazy: keeps `import visionflow` fast

        try:
            # Always re-encode (even a JPEG source) so that compression_level is honoured.
            ok, buffer = cv2.imencode(
                ".jpg", value.numpy_image, [int(cv2.IMWRITE_JPEG_QUALITY), quality]
            )
        except Exception as error:
            raise failed("ConvertImageToJPEG", context, error) from error
        if not ok:
            raise failed("ConvertImageToJPEG", context, "OpenCV could not encode the image")
        return buffer.tobytes()

    return convert_image_to_jpeg


def build_convert_image_to_base64(
    definition: e.ConvertImageToBase64, context: str
) -> OperationFunction:
    def convert_image_to_base64(value: Any, _: Mapping[str, Any]) -> str:
        if not isinstance(value, Image):
            raise wrong_type("ConvertImageToBase64", context, "an image", value)
        try:
            return value.base64_image
        except Exception as error:
            raise failed("ConvertImageToBase64", context, error) from error

    return convert_image_to_base64


# --- classification predictions (wire-format dicts) ------------------------------------------
def _top_class(prediction: dict) -> str | list[str]:
    if "top" in prediction:
        return prediction["top"]
    return prediction.get("predicted_classes", [])  # multi-label


def _multi_label_confidences(prediction: dict) -> list[float]:
    return [
        prediction["predictions"][class_name]["confidence"]
        for class_name in prediction.get("predicted_classes", [])
    ]


def _top_class_confidence(prediction: dict) -> float | list[float]:
    if "confidence" in prediction:
        return prediction["confidence"]
    return _multi_label_confidences(prediction)


def _top_class_confidence_single(prediction: dict) -> float:
    if "confidence" in prediction:
        return prediction["confidence"]
    return max(_multi_label_confidences(prediction), default=0.0)


def _all_classes(prediction: dict) -> list[str]:
    predictions = prediction["predictions"]
    if isinstance(predictions, list):
        return [entry["class"] for entry in predictions]
    # Multi-label predictions are keyed by class name; order them by class id.
    ordered = sorted(predictions.items(), key=lambda item: item[1]["class_id"])
    return [name for name, _ in ordered]


def _all_confidences(prediction: dict) -> list[float]:
    predictions = prediction["predictions"]
    if isinstance(predictions, list):
        return [entry["confidence"] for entry in predictions]
    ordered = sorted(predictions.values(), key=lambda entry: entry["class_id"])
    return [entry["confidence"] for entry in ordered]


_CLASSIFICATION_PROPERTIES: dict[ClassificationProperty, Callable[[dict], Any]] = {
    ClassificationProperty.TOP_CLASS: _top_class,
    ClassificationProperty.TOP_CLASS_CONFIDENCE: _top_class_confidence,
    ClassificationProperty.TOP_CLASS_CONFIDENCE_SINGLE: _top_class_confidence_single,
    ClassificationProperty.ALL_CLASSES: _all_classes,
    ClassificationProperty.ALL_CONFIDENCES: _all_confidences,
}


def build_classification_property_extract(
    definition: e.ClassificationPropertyExtract, context: str
) -> OperationFunction:
    extract = _CLASSIFICATION_PROPERTIES[definition.property_name]
    name = definition.property_name.value

    def classification_property_extract(value: Any, _: Mapping[str, Any]) -> Any:
        if not isinstance(value, dict):
            raise wrong_type(
                "ClassificationPropertyExtract", context, "a classification prediction", value
            )
        try:
            return extract(value)
        except (KeyError, TypeError, AttributeError) as error:
            raise failed(
                "ClassificationPropertyExtract",
                context,
                f"cannot read `{name}` from the prediction (missing or malformed {error})",
            ) from error

    return classification_property_extract


BUILDERS: dict[str, Callable[[Any, str], OperationFunction]] = {
    "ExtractImageProperty": build_extract_image_property,
    "ExtractFrameMetadata": build_extract_frame_metadata,
    "ConvertImageToJPEG": build_convert_image_to_jpeg,
    "ConvertImageToBase64": build_convert_image_to_base64,
    "ClassificationPropertyExtract": build_classification_property_extract,
}
