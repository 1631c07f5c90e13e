"""vlm_as_classifier and vlm_as_detector: reading model answers (no model is called)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from visionflow.blocks.formatters._vlm_parsing import (
    anthropic_upload_size,
    extract_flat_object_entries,
    extract_json_payload,
    scale_to_max_edge,
)
from visionflow.blocks.formatters.vlm import (
    PARSERS_V1,
    VLMAsDetectorManifest,
    VLMAsDetectorV2Manifest,
    classify_from_vlm,
    detect_from_vlm,
)
from visionflow.data.image import Image

IMAGE = Image(np.zeros((200, 400, 3), dtype=np.uint8), parent_id="image")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", (True, {})),  # empty answer
        ('{"a": 1}', (False, {"a": 1})),
        ("Sure:\n```json\n[1, 2]\n```", (False, [1, 2])),
        ('```python\n{"a": 2}\n```', (False, {"a": 2})),
        ('{"a": 1}\n{"b": 2}', (False, [{"a": 1}, {"b": 2}])),
        ('[{"a": 1}], [{"b": 2}]]', (False, [{"a": 1}, {"b": 2}])),
        ('The answer is {"a": 1} as asked.', (False, {"a": 1})),
        ('"just a string"', (True, {})),
        (None, (True, {})),
    ],
)
def test_extract_json_payload(raw: Any, expected: tuple[bool, Any]) -> None:
    assert extract_json_payload(raw) == expected


def test_extract_flat_object_entries_keeps_boxes_only() -> None:
    text = 'x {"x_min": 1, "y_min": 2, "x_max": 3, "y_max": 4} {"label": 1} {bad'
    assert extract_flat_object_entries(text) == [{"x_min": 1, "y_min": 2, "x_max": 3, "y_max": 4}]
    assert extract_flat_object_entries(None) == []


@pytest.mark.parametrize(
    ("size", "anthropic", "openai"),
    [
        ((1, 1), (1, 1), (1, 1)),
        ((768, 576), (768, 576), (768, 576)),
        ((4000, 3000), (2212, 1659), (2048, 1536)),
        ((1000, 4000), (644, 2576), (512, 2048)),
        ((3000, 100), (2576, 86), (2048, 68)),
    ],
)
def test_upload_sizes(
    size: tuple[int, int], anthropic: tuple[int, int], openai: tuple[int, int]
) -> None:
    assert anthropic_upload_size(*size) == anthropic
    assert scale_to_max_edge(*size, 2048) == openai


# -- classifier -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("", None),  # empty answer: error
        ('{"unrelated": 1}', None),
        ("[]", None),
        ('{"class_name": "dog"}', None),  # no confidence
        ('{"predicted_classes": [{"class": "dog"}]}', None),  # entry without confidence
        (
            '{"class_name": "dog", "confidence": 1.5}',
            {
                "predictions": [
                    {"class": "cat", "class_id": 0, "confidence": 0.0},
                    {"class": "dog", "class_id": 1, "confidence": 1.0},
                ],
                "top": "dog",
                "confidence": 1.0,
            },
        ),
        (
            '{"class_name": "bird", "confidence": 0.4}',
            {
                "predictions": [
                    {"class": "bird", "class_id": -1, "confidence": 0.4},
                    {"class": "cat", "class_id": 0, "confidence": 0.0},
                    {"class": "dog", "class_id": 1, "confidence": 0.0},
                ],
                "top": "bird",
                "confidence": 0.4,
            },
        ),
        (
            '[{"label": "dog", "confidence": 0.2}, {"class": "owl"}, {"class": "dog", "confidence": 0.7}]',
            {
                "predictions": {
                    "cat": {"confidence": 0.0, "class_id": 0},
                    "dog": {"confidence": 0.7, "class_id": 1},
                    "owl": {"confidence": 1.0, "class_id": -1},
                },
                "predicted_classes": ["dog", "owl"],
            },
        ),
    ],
)
def test_classify_from_vlm(answer: str, expected: dict[str, Any] | None) -> None:
    result = classify_from_vlm(IMAGE, answer, ["cat", "dog"], inference_id="id")
    assert result["inference_id"] == "id"
    if expected is None:
        assert result == {"error_status": True, "predictions": None, "inference_id": "id"}
        return
    assert result["error_status"] is False
    assert result["predictions"] == {
        "image": {"width": 400, "height": 200},
        **expected,
        "inference_id": "id",
        "parent_id": "image",
    }


# -- detector -------------------------------------------------------------------------------
def _boxes(result: dict[str, Any]) -> list[tuple[list[float], str, int, float]]:
    detections = result["predictions"]
    return [
        (box.tolist(), str(name), int(class_id), float(conf))
        for box, name, class_id, conf in zip(
            detections.xyxy,
            detections.data["class_name"],
            detections.class_id,
            detections.confidence,
            strict=True,
        )
    ]


@pytest.mark.parametrize(
    ("model", "answer", "expected"),
    [
        ("google-gemini", "[]", []),  # no detections
        (
            "google-gemini",
            '[{"box_2d": [100, 250, 500, 750], "label": "dog", "confidence": 0.5}]',
            [([100.0, 20.0, 300.0, 100.0], "dog", 0, 0.5)],
        ),
        (
            "google-gemini",
            '{"detections": [{"x_min": 0.1, "y_min": 0.1, "x_max": 0.5, "y_max": 0.5}]}',
            [([40.0, 20.0, 200.0, 100.0], "unknown", -1, 1.0)],
        ),
        (
            "openai",
            '[{"box_2d": [-5, 10, 500, 100], "class_name": "cat"}]',
            [([0.0, 10.0, 400.0, 100.0], "cat", 1, 1.0)],
        ),
        (
            "openai",
            '{"detections": [{"x_min": 0.5, "y_min": 0, "x_max": 1, "y_max": 1, "class_name": "dog"}]}',
            [([200.0, 0.0, 400.0, 200.0], "dog", 0, 1.0)],
        ),
        (
            "anthropic-claude",
            '{"detections": [{"box_2d": [0, 0, 40, 20], "label": "dog"}]}',
            [([0.0, 0.0, 40.0, 20.0], "dog", 0, 1.0)],
        ),
        (
            "spacexai",
            '[{"box_2d": [0, 50, 25, 150], "class": "dog", "confidence": -1}]',
            [([0.0, 100.0, 100.0, 200.0], "dog", 0, 0.0)],
        ),
        (
            "qwen",
            '[{"bbox_2d": [0, 0, 500, 500], "description": "cat"}, {"box_2d": [1, true, 3, 4]}, 7]',
            [([0.0, 0.0, 200.0, 100.0], "cat", 1, 1.0)],
        ),
        ("qwen", '[{"label": "no box"}]', []),
        (
            "zai",
            '{"box_2d": [0, 0, 1000, 1000], "label": "dog"}',
            [([0.0, 0.0, 400.0, 200.0], "dog", 0, 1.0)],
        ),
        (
            "muse",
            '{"x_min": 0, "y_min": 0, "x_max": 250, "y_max": 500, "label": ""}, '
            '{"x_min": 0, "y_min": 0, "x_max": NaN, "y_max": 1}',
            [([0.0, 0.0, 100.0, 100.0], "unknown", -1, 1.0)],
        ),
    ],
)
def test_detect_from_vlm(
    model: str, answer: str, expected: list[tuple[list[float], str, int, float]]
) -> None:
    result = detect_from_vlm(IMAGE, answer, ["dog", "cat"], model, "object-detection")
    assert result["error_status"] is False
    assert _boxes(result) == expected
    detections = result["predictions"]
    assert detections.metadata["image_dimensions"] == [200, 400]
    assert set(detections.data["inference_id"]) <= {result["inference_id"]}


@pytest.mark.parametrize(
    ("model", "answer"),
    [
        ("google-gemini", ""),  # empty answer
        ("google-gemini", '{"boxes": []}'),
        ("openai", '{"nothing": 1}'),
        ("anthropic-claude", '{"detections": [{"x_min": 0.1}]}'),
        ("qwen", '{"label": "no box at all"}'),
        ("muse", "plain words"),
        ("google-gemini", '[{"box_2d": [1, 2, 3]}]'),
    ],
)
def test_detect_from_vlm_unreadable(model: str, answer: str) -> None:
    result = detect_from_vlm(IMAGE, answer, ["dog"], model, "object-detection", inference_id="i")
    assert result == {"error_status": True, "predictions": None, "inference_id": "i"}


@pytest.mark.parametrize(
    ("task", "answer", "classes", "expected"),
    [
        ("object-detection", '{"bboxes": [], "labels": []}', None, []),  # nothing found
        (
            "object-detection",
            '{"bboxes": [[1, 2, 3, 4]], "labels": ["dog"]}',
            None,
            [([1.0, 2.0, 3.0, 4.0], "dog", 5324, 1.0)],
        ),
        (
            "region-proposal",
            '{"bboxes": [[1, 2, 3, 4]], "labels": [""]}',
            None,
            [([1.0, 2.0, 3.0, 4.0], "roi", 0, 1.0)],
        ),
        (
            "open-vocabulary-object-detection",
            '{"bboxes": [[1, 2, 3, 4]], "bboxes_labels": ["cat"], "polygons": [], "polygons_labels": []}',
            ["dog", "cat"],
            [([1.0, 2.0, 3.0, 4.0], "cat", 1, 1.0)],
        ),
        (
            "ocr-with-text-detection",
            '{"quad_boxes": [[1, 2, 9, 2, 9, 6, 1, 6]], "labels": ["HI"]}',
            None,
            [([1.0, 2.0, 9.0, 6.0], "HI", 0, 1.0)],
        ),
    ],
)
def test_florence2(task: str, answer: str, classes: list[str] | None, expected: list[Any]) -> None:
    result = detect_from_vlm(IMAGE, answer, classes, "florence-2", task, PARSERS_V1)
    assert result["error_status"] is False
    assert _boxes(result) == expected


def test_florence2_open_vocabulary_needs_classes() -> None:
    answer = '{"bboxes": [], "bboxes_labels": [], "polygons": [], "polygons_labels": []}'
    result = detect_from_vlm(IMAGE, answer, None, "florence-2", "open-vocabulary-object-detection")
    assert result["error_status"] is True


@pytest.mark.parametrize(
    ("manifest", "fields", "message"),
    [
        (
            VLMAsDetectorManifest,
            {"model_type": "google-gemini", "task_type": "region-proposal"},
            "does not support",
        ),
        (
            VLMAsDetectorManifest,
            {"model_type": "google-gemini", "task_type": "object-detection", "classes": None},
            "classes",
        ),
        (
            VLMAsDetectorManifest,
            {"model_type": "qwen", "task_type": "object-detection"},
            "model_type",
        ),
        (
            VLMAsDetectorV2Manifest,
            {"model_type": "qwen", "task_type": "ocr-with-text-detection"},
            "does not support",
        ),
    ],
)
def test_detector_manifest_checks(manifest: Any, fields: dict[str, Any], message: str) -> None:
    document = {
        "type": manifest.identifier(),
        "name": "d",
        "image": "$inputs.image",
        "vlm_output": "$steps.lmm.output",
        "classes": ["dog"],
        **fields,
    }
    with pytest.raises(ValidationError, match=message):
        manifest.model_validate(document)


def test_detector_manifest_requires_classes_field() -> None:
    document = {
        "type": "roboflow_core/vlm_as_detector@v2",
        "name": "d",
        "image": "$inputs.image",
        "vlm_output": "$steps.lmm.output",
        "model_type": "florence-2",
        "task_type": "object-detection",
    }
    with pytest.raises(ValidationError, match="classes"):
        VLMAsDetectorV2Manifest.model_validate(document)
    assert VLMAsDetectorV2Manifest.model_validate({**document, "classes": None}).classes is None
