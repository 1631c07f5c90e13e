"""The workflow routes over HTTP: shapes of bodies and answers as compat.md section 6."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import pytest
from inference_sdk import InferenceHTTPClient

from .servers import RunningServer, image_workflow, parameter_workflow, png_base64


@pytest.mark.parametrize("route", ["/workflows/run", "/infer/workflows"])
def test_run_answers_outputs_and_null_trace(http: httpx.Client, route: str) -> None:
    body = {
        "specification": parameter_workflow(),
        "inputs": {"x": 7},
        # what the inference-sdk sends besides: extra fields are ignored
        "api_key": None,
        "use_cache": True,
        "enable_profiling": False,
        "something_else": [1, 2],
    }
    response = http.post(route, json=body)
    assert response.status_code == 200, response.text
    assert response.json() == {"outputs": [{"x": 7}], "profiler_trace": None}


def test_run_accepts_the_wrapped_specification_and_defaults(http: httpx.Client) -> None:
    body = {"specification": {"specification": parameter_workflow()}, "inputs": {}}
    assert http.post("/workflows/run", json=body).json()["outputs"] == [{"x": 3}]


def test_excluded_fields_drop_outputs(http: httpx.Client) -> None:
    body = {
        "specification": image_workflow(),
        "inputs": {"image": {"type": "base64", "value": png_base64()}},
        "excluded_fields": ["height"],
    }
    response = http.post("/workflows/run", json=body)
    assert response.json()["outputs"] == [{"width": 32}]


def test_image_batches_keep_their_order(http: httpx.Client) -> None:
    images = [{"type": "base64", "value": png_base64(w, 10)} for w in (5, 6, 7)]
    body = {"specification": image_workflow(), "inputs": {"image": images}}
    outputs = http.post("/workflows/run", json=body).json()["outputs"]
    assert [o["width"] for o in outputs] == [5, 6, 7]


def test_profiling_returns_a_chrome_trace(http: httpx.Client) -> None:
    body = {
        "specification": image_workflow(),
        "inputs": {"image": {"type": "base64", "value": png_base64()}},
        "enable_profiling": True,
    }
    trace = http.post("/workflows/run", json=body).json()["profiler_trace"]
    assert trace, "a profiled run has events"
    assert {"name", "ph", "ts", "dur", "pid", "tid"} <= set(trace[0])
    assert "size" in {event["name"] for event in trace}


def test_validate_takes_the_bare_definition(http: httpx.Client) -> None:
    response = http.post("/workflows/validate", json=parameter_workflow())
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_describe_interface(http: httpx.Client) -> None:
    response = http.post("/workflows/describe_interface", json={"specification": image_workflow()})
    body = response.json()
    assert set(body) == {"inputs", "outputs", "typing_hints", "kinds_schemas"}
    assert body["inputs"] == {"image": ["image"]}
    assert body["outputs"] == {"width": ["integer"], "height": ["integer"]}
    assert body["typing_hints"]["image"] == "dict"
    assert "image" in body["kinds_schemas"]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_blocks_describe(http: httpx.Client, method: str) -> None:
    response = http.request(
        method, "/workflows/blocks/describe", json={} if method == "POST" else None
    )
    body = response.json()
    assert {
        "blocks",
        "declared_kinds",
        "kinds_connections",
        "universal_query_language_description",
    } <= set(body)
    block = next(b for b in body["blocks"] if b["manifest_type_identifier"] == "test/image_size@v1")
    assert {
        "manifest_type_identifier_aliases",
        "human_friendly_block_name",
        "block_schema",
        "outputs_manifest",
        "output_dimensionality_offset",
    } <= set(block)
    assert any(
        c["manifest_type_identifier"] == "test/image_size@v1"
        for c in body["kinds_connections"]["image"]
    )


def test_definition_schema_and_versions_and_info(http: httpx.Client) -> None:
    schema = http.get("/workflows/definition/schema").json()
    assert set(schema) == {"schema"} and schema["schema"]["type"] == "object"
    assert http.get("/workflows/execution_engine/versions").json() == {"versions": ["1.15.0"]}
    info = http.get("/info").json()
    assert set(info) == {"name", "version", "uuid"}
    assert http.get("/info").json()["uuid"] == info["uuid"]
    assert http.get("/healthz").json() == {"status": "healthy"}


def test_metrics_in_prometheus_text_format(http: httpx.Client) -> None:
    http.post(
        "/workflows/run",
        json={
            "specification": image_workflow(),
            "inputs": {"image": {"type": "base64", "value": png_base64()}},
            "workflow_id": "sizes",
        },
    )
    response = http.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert (
        'visionflow_http_requests_total{route="/workflows/run",method="POST",status="200"}' in text
    )
    assert (
        'visionflow_http_request_duration_seconds_bucket{route="/workflows/run",le="+Inf"}' in text
    )
    assert 'visionflow_workflow_run_duration_seconds_count{workflow="sizes"}' in text
    assert 'visionflow_step_duration_seconds_count{block_type="test/image_size@v1"}' in text
    assert "visionflow_models_loaded " in text
    for line in text.splitlines():
        assert line.startswith("#") or len(line.rsplit(" ", 1)) == 2


def test_saved_workflow_runs_on_both_routes_and_versions(http: httpx.Client) -> None:
    first = parameter_workflow()
    second = parameter_workflow()
    second["inputs"][0]["default_value"] = 4
    assert http.put("/workspaces/acme/workflows/echo", json=first).status_code == 201
    assert (
        http.put("/workspaces/acme/workflows/echo", json={"specification": second}).status_code
        == 201
    )
    for route in ("/acme/workflows/echo", "/infer/workflows/acme/echo"):
        latest = http.post(route, json={"inputs": {}, "use_cache": True})
        assert latest.json() == {"outputs": [{"x": 4}], "profiler_trace": None}
        pinned = http.post(route, json={"inputs": {}, "workflow_version_id": "1"})
        assert pinned.json()["outputs"] == [{"x": 3}]
    other_workspace = http.post("/other/workflows/echo", json={"inputs": {}})
    assert other_workspace.status_code == 404
    interface = http.post("/acme/workflows/echo/describe_interface", json={})
    assert interface.json()["inputs"] == {"x": ["*"]}


def test_inference_sdk_client_runs_workflows(server: RunningServer, http: httpx.Client) -> None:
    client = InferenceHTTPClient(api_url=server.url, api_key="ignored-without-keys")
    image = np.zeros((30, 40, 3), dtype=np.uint8)
    result: list[dict[str, Any]] = client.run_workflow(
        specification=image_workflow(), images={"image": image}
    )
    assert result == [{"width": 40, "height": 30}]
    batch = client.run_workflow(
        specification=image_workflow(), images={"image": [image, image[:10]]}
    )
    assert [r["height"] for r in batch] == [30, 10]
    legacy = client.infer_from_workflow(specification=parameter_workflow(), parameters={"x": 11})
    assert legacy == [{"x": 11}]
    http.put("/workspaces/sdk/workflows/echo", json=parameter_workflow())
    saved = client.run_workflow(workspace_name="sdk", workflow_id="echo", parameters={"x": 2})
    assert saved == [{"x": 2}]


def test_engines_are_reused_across_requests(server: RunningServer, http: httpx.Client) -> None:
    service = server.server.config.app.state.service  # type: ignore[attr-defined]
    body = {"specification": parameter_workflow(), "inputs": {"x": 1}}
    http.post("/workflows/run", json=body)
    before = len(service.engines)
    for _ in range(3):
        http.post("/workflows/run", json=body)
    assert len(service.engines) == before


def test_the_app_serves_again_after_its_lifespan_ended(tmp_path) -> None:
    """Embedding apps and test clients may run the lifespan twice: runs must still work."""
    from fastapi.testclient import TestClient

    from visionflow.server.app import create_app
    from visionflow.server.settings import ServerSettings

    app = create_app(ServerSettings(home=tmp_path))
    document = {
        "version": "1.0",
        "inputs": [{"type": "WorkflowParameter", "name": "x", "default_value": 2}],
        "steps": [],
        "outputs": [{"type": "JsonField", "name": "x", "selector": "$inputs.x"}],
    }
    for _ in range(2):
        with TestClient(app) as client:
            answer = client.post("/workflows/run", json={"specification": document, "inputs": {}})
            assert answer.status_code == 200, answer.text
            assert answer.json()["outputs"] == [{"x": 2}]
