"""UQL operations on images, video frames and classification predictions."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import cv2
import numpy as np
import pytest

from visionflow.blocks.query_language import (
    InvalidInputTypeError,
    OperationError,
    build_operations_chain,
)
from visionflow.data.image import Image, VideoMetadata


def run(operations: list[dict], value: Any) -> Any:
    return build_operations_chain(operations)(value, {})


def make_image(height: int = 40, width: int = 60, metadata: VideoMetadata | None = None) -> Image:
    array = np.zeros((height, width, 3), dtype=np.uint8)
    array[:, : width // 2] = (0, 0, 255)
    return Image(array, parent_id="image", video_metadata=metadata)


FRAME = make_image(
    metadata=VideoMetadata(
        video_identifier="cam",
        frame_number=31,
        frame_timestamp=datetime(2024, 1, 2, 3, 4, 5),
        fps=15.0,
    )
)


@pytest.mark.parametrize(
    ("image", "property_name", "expected"),
    [
        (make_image(0, 0), "aspect_ratio", 0),  # empty image: no division by zero
        (make_image(0, 0), "size", 0),
        (make_image(), "size", 2400),
        (make_image(), "height", 40),
        (make_image(), "width", 60),
        (make_image(), "aspect_ratio", 1.5),
    ],
)
def test_extract_image_property(image: Image, property_name: str, expected: float) -> None:
    operation = {"type": "ExtractImageProperty", "property_name": property_name}
    assert run([operation], image) == expected


@pytest.mark.parametrize(
    ("property_name", "expected"),
    [
        ("frame_number", 31),
        ("frame_timestamp", datetime(2024, 1, 2, 3, 4, 5)),
        ("seconds_since_start", 2.0),
    ],
)
def test_extract_frame_metadata(property_name: str, expected: Any) -> None:
    operation = {"type": "ExtractFrameMetadata", "property_name": property_name}
    assert run([operation], FRAME) == expected


def test_frame_timestamp_to_iso_format() -> None:
    chain = [
        {"type": "ExtractFrameMetadata", "property_name": "frame_timestamp"},
        {"type": "TimestampToISOFormat"},
    ]
    assert run(chain, FRAME) == "2024-01-02T03:04:05"


def test_frame_metadata_of_a_still_image_is_an_operation_error() -> None:
    operation = {"type": "ExtractFrameMetadata", "property_name": "frame_number"}
    with pytest.raises(OperationError, match="no video metadata"):
        run([operation], make_image())


def test_convert_image_to_jpeg_honours_compression_level() -> None:
    noisy = Image(
        np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8), parent_id="x"
    )
    low = run([{"type": "ConvertImageToJPEG", "compression_level": 10}], noisy)
    high = run([{"type": "ConvertImageToJPEG"}], noisy)
    assert low[:3] == high[:3] == b"\xff\xd8\xff"
    assert len(low) < len(high)
    decoded = cv2.imdecode(np.frombuffer(high, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == (64, 64, 3)


def test_convert_image_to_base64_is_a_jpeg() -> None:
    encoded = run([{"type": "ConvertImageToBase64"}], make_image())
    assert isinstance(encoded, str)
    decoded = cv2.imdecode(np.frombuffer(base64.b64decode(encoded), np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == (40, 60, 3)
    assert decoded[20, 5, 2] > 200 and decoded[20, 55, 2] < 50  # red half stays on the left


@pytest.mark.parametrize(
    "operation",
    [
        {"type": "ExtractImageProperty", "property_name": "size"},
        {"type": "ExtractFrameMetadata", "property_name": "frame_number"},
        {"type": "ConvertImageToJPEG"},
        {"type": "ConvertImageToBase64"},
    ],
)
def test_image_operations_reject_arrays(operation: dict) -> None:
    with pytest.raises(InvalidInputTypeError, match=operation["type"]):
        run([operation], np.zeros((4, 4, 3), dtype=np.uint8))


SINGLE_LABEL = {
    "predictions": [
        {"class": "cat", "class_id": 0, "confidence": 0.8},
        {"class": "dog", "class_id": 1, "confidence": 0.2},
    ],
    "top": "cat",
    "confidence": 0.8,
    "parent_id": "image",
    "prediction_type": "classification",
}
MULTI_LABEL = {
    "predictions": {
        "dog": {"class_id": 1, "confidence": 0.7},
        "cat": {"class_id": 0, "confidence": 0.9},
        "bird": {"class_id": 2, "confidence": 0.1},
    },
    "predicted_classes": ["cat", "dog"],
    "parent_id": "image",
    "prediction_type": "classification",
}
EMPTY_MULTI_LABEL = {"predictions": {}, "predicted_classes": []}


@pytest.mark.parametrize(
    ("prediction", "property_name", "expected"),
    [
        (EMPTY_MULTI_LABEL, "top_class", []),
        (EMPTY_MULTI_LABEL, "top_class_confidence", []),
        (EMPTY_MULTI_LABEL, "top_class_confidence_single", 0.0),
        (EMPTY_MULTI_LABEL, "all_classes", []),
        (EMPTY_MULTI_LABEL, "all_confidences", []),
        (SINGLE_LABEL, "top_class", "cat"),
        (SINGLE_LABEL, "top_class_confidence", 0.8),
        (SINGLE_LABEL, "top_class_confidence_single", 0.8),
        (SINGLE_LABEL, "all_classes", ["cat", "dog"]),
        (SINGLE_LABEL, "all_confidences", [0.8, 0.2]),
        (MULTI_LABEL, "top_class", ["cat", "dog"]),
        (MULTI_LABEL, "top_class_confidence", [0.9, 0.7]),
        (MULTI_LABEL, "top_class_confidence_single", 0.9),
        (MULTI_LABEL, "all_classes", ["cat", "dog", "bird"]),  # ordered by class id
        (MULTI_LABEL, "all_confidences", [0.9, 0.7, 0.1]),
    ],
)
def test_classification_property_extract(
    prediction: dict, property_name: str, expected: Any
) -> None:
    operation = {"type": "ClassificationPropertyExtract", "property_name": property_name}
    assert run([operation], prediction) == expected


def test_classification_property_extract_errors() -> None:
    operation = {"type": "ClassificationPropertyExtract", "property_name": "all_classes"}
    with pytest.raises(InvalidInputTypeError, match="ClassificationPropertyExtract"):
        run([operation], ["cat"])
    with pytest.raises(OperationError, match="all_classes"):
        run([operation], {"top": "cat"})
