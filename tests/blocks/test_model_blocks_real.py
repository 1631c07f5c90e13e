"""Model blocks on the real default models: detect -> crop -> classify on dog.jpg, and OCR.

The default packages are converted once per session into the gitignored ``.models-cache``
(deterministic and checksummed) and loaded once by a shared manager.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

import visionflow
from visionflow.models.defaults import CLASSIFIER_ID, DETECTOR_ID, prepare_default_models
from visionflow.models.manager import INIT_PARAMETER, ModelManager
from visionflow.models.store import MODELS_DIR_ENV, ModelStore

REPO = Path(__file__).resolve().parents[2]
MODELS_CACHE = REPO / ".models-cache"
#: ImageNet-1k class ids 151..268 are the dog breeds
DOG_BREEDS = range(151, 269)

DETECT_CROP_CLASSIFY = {
    "version": "1.0",
    "inputs": [{"type": "WorkflowImage", "name": "image"}],
    "steps": [
        {
            "type": "roboflow_core/roboflow_object_detection_model@v2",
            "name": "detect",
            "images": "$inputs.image",
            "model_id": DETECTOR_ID,
            "confidence": 0.25,
        },
        {
            "type": "roboflow_core/dynamic_crop@v1",
            "name": "crop",
            "images": "$inputs.image",
            "predictions": "$steps.detect.predictions",
        },
        {
            "type": "ClassificationModel",
            "name": "classify",
            "image": "$steps.crop.crops",
            "model_id": CLASSIFIER_ID,
            "confidence": 0.0,
        },
    ],
    "outputs": [
        {"type": "JsonField", "name": "detections", "selector": "$steps.detect.predictions"},
        {"type": "JsonField", "name": "classes", "selector": "$steps.classify.predictions"},
    ],
}


@pytest.fixture(scope="session")
def manager() -> Iterator[ModelManager]:
    prepare_default_models(MODELS_CACHE)
    models = ModelManager(ModelStore(MODELS_CACHE))
    yield models
    models.close()


def test_detect_crop_classify_on_dog(manager: ModelManager, monkeypatch) -> None:
    monkeypatch.setenv(MODELS_DIR_ENV, str(MODELS_CACHE))
    workflow = visionflow.Workflow.load(
        DETECT_CROP_CLASSIFY, init_parameters={INIT_PARAMETER: manager}
    )
    (row,) = workflow.run(serialize=True, image=cv2.imread(str(REPO / "examples/images/dog.jpg")))
    found = [p["class"] for p in row["detections"]["predictions"]]
    assert {"dog", "bicycle"} <= set(found)
    assert {"car", "truck"} & set(found)
    assert all(0.25 <= p["confidence"] <= 1 for p in row["detections"]["predictions"])
    assert len(row["classes"]) == len(found)
    dog_crop = row["classes"][found.index("dog")]
    assert dog_crop["predictions"][0]["class_id"] in DOG_BREEDS, dog_crop["top"]
    assert dog_crop["top"] == dog_crop["predictions"][0]["class"]


def test_ocr_reads_rendered_text() -> None:
    pixels = np.full((120, 520, 3), 255, dtype=np.uint8)
    cv2.putText(pixels, "HELLO WORLD", (20, 80), cv2.FONT_HERSHEY_SIMPLEX, 2.0, (0, 0, 0), 4)
    workflow = visionflow.Workflow.load(
        {
            "version": "1.0",
            "inputs": [{"type": "WorkflowImage", "name": "image"}],
            "steps": [{"type": "OCRModel", "name": "ocr", "images": "$inputs.image"}],
            "outputs": [{"type": "JsonField", "name": "ocr", "selector": "$steps.ocr.*"}],
        }
    )
    (row,) = workflow.run(serialize=True, image=pixels)
    assert row["ocr"]["result"].replace(" ", "").upper() == "HELLOWORLD"
    (line,) = row["ocr"]["predictions"]["predictions"]
    assert line["class"] == row["ocr"]["result"]
    left, right = line["x"] - line["width"] / 2, line["x"] + line["width"] / 2
    assert 0 <= left <= 30 and 450 <= right <= 520  # the text spans x = 20..~470
