"""Runtime inputs through the engine: image forms, refused sources, kinds of batch inputs."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from visionflow import ExecutionEngine, RuntimeInputError, Workflow

SIZE = {
    "version": "1.0",
    "inputs": [{"type": "WorkflowImage", "name": "image"}],
    "steps": [{"type": "test/image_size@v1", "name": "size", "image": "$inputs.image"}],
    "outputs": [{"type": "JsonField", "name": "size", "selector": "$steps.size.*"}],
}


def png_base64(array: np.ndarray) -> str:
    return base64.b64encode(cv2.imencode(".png", array)[1].tobytes()).decode()


@pytest.mark.parametrize(
    "make",
    [
        lambda a: a,
        lambda a: {"type": "numpy_object", "value": a},
        lambda a: {"type": "base64", "value": png_base64(a)},
        lambda a: png_base64(a),
        lambda a: a[:, :, 0],  # grey
    ],
    ids=["array", "numpy_object", "base64-dict", "base64-string", "grey"],
)
def test_image_forms(make: Any, image: np.ndarray) -> None:
    engine = ExecutionEngine.init(workflow_definition=SIZE)
    assert engine.run(runtime_parameters={"image": make(image)}) == [
        {"size": {"width": 160, "height": 120}}
    ]


def test_file_and_url_inputs_are_refused_unless_allowed(dog_path: Path) -> None:
    engine = ExecutionEngine.init(workflow_definition=SIZE)
    for value in (
        {"type": "file", "value": str(dog_path)},
        {"type": "url", "value": "http://127.0.0.1:9/x.jpg"},
    ):
        with pytest.raises(RuntimeInputError) as info:
            engine.run(runtime_parameters={"image": value})
        assert info.value.code == "input.source_refused"
        assert info.value.loc == "inputs.image"
    allowed = ExecutionEngine.init(workflow_definition=SIZE, prevent_local_images_loading=False)
    assert allowed.run(runtime_parameters={"image": {"type": "file", "value": str(dog_path)}}) == [
        {"size": {"width": 768, "height": 576}}
    ]
    # the Python API is the user's own process: plain paths work
    assert Workflow.load(SIZE).run(image=dog_path) == [{"size": {"width": 768, "height": 576}}]


def test_a_bad_image_in_a_batch_is_named(image: np.ndarray) -> None:
    engine = ExecutionEngine.init(workflow_definition=SIZE)
    with pytest.raises(RuntimeInputError) as info:
        engine.run(runtime_parameters={"image": [image, {"type": "base64", "value": "bm9wZQ=="}]})
    assert info.value.loc == "inputs.image[1]"
    assert info.value.code == "input.invalid_image"


def test_serialized_detections_become_detections() -> None:
    predictions = json.loads(
        (Path(__file__).resolve().parents[2] / "examples" / "dog_predictions.json").read_text()
    )
    workflow = Workflow.load(
        {
            "version": "1.0",
            "inputs": [
                {"type": "WorkflowBatchInput", "name": "p", "kind": ["object_detection_prediction"]}
            ],
            "steps": [],
            "outputs": [{"type": "JsonField", "name": "p", "selector": "$inputs.p"}],
        }
    )
    detections = workflow.run(p=predictions)[0]["p"]
    assert list(detections.data["class_name"]) == ["dog", "bicycle", "truck", "car"]
    assert detections.xyxy[0].tolist() == [128.0, 224.0, 314.0, 537.0]
    with pytest.raises(RuntimeInputError) as info:
        workflow.run(p={"predictions": [{"x": 1}]})
    assert info.value.loc is not None and info.value.loc.startswith("inputs.p")
