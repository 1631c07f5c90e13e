"""``Client`` against a real visionflow server on a loopback port, side by side with the real
``inference_sdk.InferenceHTTPClient``: the same calls must give the same outputs."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from inference_sdk import InferenceHTTPClient
from inference_sdk.http.errors import HTTPCallErrorError

from visionflow.client import Client, HTTPCallError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DOG = EXAMPLES / "images" / "dog.jpg"
CROP_AND_FILTER = json.loads((EXAMPLES / "crop_and_filter.json").read_text())
PREDICTIONS = json.loads((EXAMPLES / "dog_predictions.json").read_text())
API_KEY = "secret"
UNKNOWN_BLOCK = {
    "version": "1.0",
    "inputs": [{"type": "WorkflowImage", "name": "image"}],
    "steps": [{"type": "roboflow_core/no_such_block@v1", "name": "nope", "image": "$inputs.image"}],
    "outputs": [{"type": "JsonField", "name": "out", "selector": "$steps.nope.output"}],
}


@pytest.fixture(scope="module")
def client(server_url: str) -> Iterator[Client]:
    with Client(server_url, retries=0) as client:
        yield client


@pytest.fixture(scope="module")
def sdk(server_url: str) -> InferenceHTTPClient:
    return InferenceHTTPClient(api_url=server_url)


@pytest.fixture(autouse=True)
def _quiet_sdk() -> Iterator[None]:
    # the sdk recommends its header transport and deprecates infer_from_workflow: not ours
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def run_both(client: Client, sdk: InferenceHTTPClient, method: str, **kwargs: Any) -> Any:
    ours = getattr(client, method)(**kwargs)
    theirs = getattr(sdk, method)(**kwargs)
    assert ours == theirs
    return ours


@pytest.mark.parametrize("method", ["run_workflow", "infer_from_workflow"])
def test_same_outputs_as_inference_sdk(
    client: Client, sdk: InferenceHTTPClient, method: str
) -> None:
    outputs = run_both(
        client, sdk, method,
        specification=CROP_AND_FILTER,
        images={"image": str(DOG)},
        parameters={"predictions": PREDICTIONS},
    )  # fmt: skip
    (result,) = outputs
    assert result["count"] == len(result["objects"]["predictions"]) > 0
    # crops come back as base64 strings, as the sdk returns them by default
    assert all(isinstance(crop, str) for crop in result["crops"])


@pytest.mark.parametrize(
    "image",
    [
        pytest.param(lambda: cv2.imread(str(DOG)), id="numpy"),
        pytest.param(lambda: __import__("PIL.Image").Image.open(DOG), id="pil"),
        pytest.param(lambda: [str(DOG), str(DOG)], id="batch"),
    ],
)
def test_image_types_match_the_sdk(client: Client, sdk: InferenceHTTPClient, image: Any) -> None:
    images = {"image": image()}
    outputs = run_both(
        client, sdk, "run_workflow",
        specification=CROP_AND_FILTER,
        images=images,
        parameters={"predictions": [PREDICTIONS] * (2 if isinstance(images["image"], list) else 1)},
        excluded_fields=["crops"],
    )  # fmt: skip
    assert all("crops" not in output for output in outputs)


def test_images_decoded_to_arrays(server_url: str) -> None:
    with Client(server_url, decode_images=True) as client:
        (result,) = client.run_workflow(
            specification=CROP_AND_FILTER,
            images={"image": DOG},
            parameters={"predictions": PREDICTIONS},
        )
    crops = result["crops"]
    boxes = result["objects"]["predictions"]
    assert len(crops) == len(boxes) > 0
    for crop, box in zip(crops, boxes, strict=True):
        assert isinstance(crop, np.ndarray) and crop.dtype == np.uint8
        height, width = crop.shape[:2]
        assert abs(width - box["width"]) <= 1 and abs(height - box["height"]) <= 1


def test_invalid_definition(client: Client, sdk: InferenceHTTPClient) -> None:
    with pytest.raises(HTTPCallError) as caught:
        client.run_workflow(specification=UNKNOWN_BLOCK, images={"image": str(DOG)})
    error = caught.value
    assert error.status_code == 400
    assert "no_such_block" in str(error)
    assert error.body["blocks_errors"] and error.error_code
    with pytest.raises(HTTPCallErrorError) as sdk_caught:
        sdk.run_workflow(specification=UNKNOWN_BLOCK, images={"image": str(DOG)})
    assert sdk_caught.value.status_code == 400
    assert error.message in sdk_caught.value.api_message


def test_validate_and_describe(client: Client) -> None:
    assert client.validate(CROP_AND_FILTER) == {"status": "ok"}
    with pytest.raises(HTTPCallError) as caught:
        client.validate(UNKNOWN_BLOCK)
    assert caught.value.status_code == 400
    interface = client.describe_interface(CROP_AND_FILTER)
    assert set(interface["inputs"]) == {"image", "predictions", "classes", "min_confidence"}
    assert set(interface["outputs"]) == {"objects", "count", "crops", "crop_sizes"}
    blocks = client.describe_blocks()
    identifiers = {block["manifest_type_identifier"] for block in blocks["blocks"]}
    assert "roboflow_core/dynamic_crop@v1" in identifiers
    assert set(client.info()) >= {"name", "version", "uuid"}
    client.healthz()


def test_saved_workflows(client: Client, sdk: InferenceHTTPClient) -> None:
    saved = client.save_workflow("factory", "crops", CROP_AND_FILTER)
    assert saved["version"] == 1
    smaller = {**CROP_AND_FILTER, "outputs": CROP_AND_FILTER["outputs"][:2]}
    assert client.save_workflow("factory", "crops", smaller)["version"] == 2
    listed = client.list_workflows("factory")
    assert [w["workflow_id"] for w in listed["workflows"]] == ["crops"]
    assert client.get_workflow("factory", "crops", version=1)["specification"] == CROP_AND_FILTER
    assert client.get_workflow("factory", "crops")["version"] == 2
    assert [v["version"] for v in client.list_workflow_versions("factory", "crops")["versions"]] == [
        1, 2,
    ]  # fmt: skip
    inputs = {"images": {"image": str(DOG)}, "parameters": {"predictions": PREDICTIONS}}
    latest = run_both(client, sdk, "run_workflow", workspace_name="factory", workflow_id="crops",
                      **inputs)  # fmt: skip
    assert set(latest[0]) == {"objects", "count"}
    first = run_both(client, sdk, "run_workflow", workspace_name="factory", workflow_id="crops",
                     workflow_version_id="1", **inputs)  # fmt: skip
    assert set(first[0]) == {"objects", "count", "crops", "crop_sizes"}
    assert client.list_workflows("elsewhere")["workflows"] == []
    assert client.delete_workflow("factory", "crops") is None
    with pytest.raises(HTTPCallError) as caught:
        client.get_workflow("factory", "crops")
    assert caught.value.status_code == 404
    with pytest.raises(HTTPCallError) as caught:
        client.run_workflow(workspace_name="factory", workflow_id="crops", **inputs)
    assert caught.value.status_code == 404


def test_api_keys(keyed_server_url: str) -> None:
    with Client(keyed_server_url, retries=0) as anonymous:
        with pytest.raises(HTTPCallError) as caught:
            anonymous.run_workflow(specification=CROP_AND_FILTER, images={"image": str(DOG)})
        assert caught.value.status_code == 401
        assert set(anonymous.info()) >= {"name", "version"}
    with Client(keyed_server_url, api_key="wrong", retries=0) as wrong:
        with pytest.raises(HTTPCallError) as caught:
            wrong.validate(CROP_AND_FILTER)
        assert caught.value.status_code == 401 and "wrong" not in str(caught.value)
    run = {
        "specification": CROP_AND_FILTER,
        "images": {"image": str(DOG)},
        "parameters": {"predictions": PREDICTIONS},
    }
    with Client(keyed_server_url, api_key=API_KEY) as client:
        ours = client.run_workflow(**run)
        assert client.save_workflow("w", "f", CROP_AND_FILTER)["version"] == 1
    # the sdk sends its key in the body: accepted too
    assert InferenceHTTPClient(keyed_server_url, api_key=API_KEY).run_workflow(**run) == ours


def test_profiling(server_url: str, tmp_path: Path) -> None:
    with Client(server_url, profiling_directory=tmp_path) as client:
        client.run_workflow(
            specification=CROP_AND_FILTER,
            images={"image": str(DOG)},
            parameters={"predictions": PREDICTIONS},
            enable_profiling=True,
        )
    (trace_file,) = tmp_path.glob("workflow_execution_tack_*.json")
    events = json.loads(trace_file.read_text())
    assert events and {"ph", "ts"} <= set(events[0])
