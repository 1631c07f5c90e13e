"""Error bodies: the reference's shape and status for each kind of failure, no tracebacks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from inference_sdk import InferenceHTTPClient
from inference_sdk.http.errors import HTTPCallErrorError

from .servers import ERROR_KEYS, RunningServer, image_workflow, parameter_workflow


def failing_workflow() -> dict[str, Any]:
    return {
        "version": "1.0",
        "inputs": [{"type": "WorkflowParameter", "name": "x"}],
        "steps": [{"type": "test/fail@v1", "name": "breaker", "value": "$inputs.x", "fail_on": 13}],
        "outputs": [{"type": "JsonField", "name": "x", "selector": "$steps.breaker.value"}],
    }


def with_steps(steps: list[dict[str, Any]], output: str = "$inputs.x") -> dict[str, Any]:
    document = parameter_workflow()
    document["steps"] = steps
    document["outputs"] = [{"type": "JsonField", "name": "out", "selector": output}]
    return document


CASES = [
    pytest.param(
        "/workflows/run",
        {
            "specification": with_steps([{"type": "test/echoo@v1", "name": "e", "value": 1}]),
            "inputs": {},
        },
        400,
        "WorkflowSyntaxError",
        "compile.unknown_block",
        id="unknown block",
    ),
    pytest.param(
        "/workflows/run",
        {"specification": with_steps([], "$steps.nowhere.value"), "inputs": {}},
        400,
        "InvalidReferenceTargetError",
        "compile.dangling_selector",
        id="dangling selector",
    ),
    pytest.param(
        "/workflows/run",
        {"specification": {"version": "1.0", "steps": []}, "inputs": {}},
        400,
        "WorkflowSyntaxError",
        "spec.invalid_field",
        id="schema",
    ),
    pytest.param(
        "/workflows/validate",
        with_steps([{"type": "test/echoo@v1", "name": "e", "value": 1}]),
        400,
        "WorkflowSyntaxError",
        "compile.unknown_block",
        id="validate",
    ),
    pytest.param(
        "/workflows/run",
        {"specification": image_workflow(), "inputs": {}},
        400,
        "RuntimeInputError",
        "input.missing",
        id="missing input",
    ),
    pytest.param(
        "/workflows/run",
        {
            "specification": image_workflow(),
            "inputs": {"image": {"type": "base64", "value": "aGVsbG8="}},
        },
        400,
        "RuntimeInputError",
        "input.invalid_image",
        id="undecodable image",
    ),
    pytest.param(
        "/workflows/run",
        {"specification": failing_workflow(), "inputs": {"x": 13}},
        500,
        "StepExecutionError",
        "step.failed",
        id="failing step",
    ),
    pytest.param(
        "/nobody/workflows/nothing",
        {"inputs": {}},
        404,
        "NotFoundError",
        "server.workflow_not_found",
        id="unknown saved workflow",
    ),
    pytest.param(
        "/workflows/run",
        {"inputs": {}},
        422,
        "RequestValidationError",
        "server.invalid_request",
        id="request validation",
    ),
]


@pytest.mark.parametrize(("route", "body", "status", "error_type", "code"), CASES)
def test_error_bodies(
    http: httpx.Client, route: str, body: Any, status: int, error_type: str, code: str
) -> None:
    response = http.post(route, json=body)
    assert response.status_code == status, response.text
    payload = response.json()
    assert set(payload) >= ERROR_KEYS
    assert (payload["error_type"], payload["error_code"]) == (error_type, code)
    assert payload["message"]
    assert "Traceback" not in response.text and "traceback" not in payload


def test_a_failing_step_is_named(http: httpx.Client) -> None:
    response = http.post(
        "/workflows/run", json={"specification": failing_workflow(), "inputs": {"x": 13}}
    )
    payload = response.json()
    assert payload["blocks_errors"] == [
        {
            "block_id": "breaker",
            "block_type": "test/fail@v1",
            "block_details": None,
            "property_name": None,
            "property_details": "cannot handle 13",
        }
    ]
    assert payload["inner_error_type"] == "ValueError"
    assert payload["inner_error_message"] == "cannot handle 13"
    assert "breaker" in payload["message"]


def test_definition_errors_name_the_step(http: httpx.Client) -> None:
    document = with_steps([{"type": "test/add@v1", "name": "adder", "a": "$inputs.x", "b": "oops"}])
    payload = http.post("/workflows/validate", json=document).json()
    assert payload["blocks_errors"], payload
    assert payload["blocks_errors"][0]["block_id"] == "adder"


def test_unknown_route_and_method(http: httpx.Client) -> None:
    missing = http.get("/no/such/route/here/at/all")
    assert missing.status_code == 404 and set(missing.json()) >= ERROR_KEYS
    wrong_method = http.get("/workflows/run")
    assert wrong_method.status_code == 405 and set(wrong_method.json()) >= ERROR_KEYS


def test_debug_mode_adds_the_traceback(make_server: Callable[..., RunningServer]) -> None:
    running = make_server(debug=True)
    with running.client() as client:
        response = client.post(
            "/workflows/run", json={"specification": failing_workflow(), "inputs": {"x": 13}}
        )
    assert response.status_code == 500
    assert any("Traceback" in line for line in response.json()["traceback"])


def test_inference_sdk_reports_the_servers_message(server: RunningServer) -> None:
    client = InferenceHTTPClient(api_url=server.url, api_key=None)
    with pytest.raises(HTTPCallErrorError) as caught:
        client.run_workflow(specification=failing_workflow(), parameters={"x": 13})
    assert caught.value.status_code == 500
    assert "breaker" in caught.value.api_message
    assert "cannot handle 13" in caught.value.api_message


def test_errors_are_counted_in_metrics(http: httpx.Client) -> None:
    http.post("/workflows/run", json={"specification": failing_workflow(), "inputs": {"x": 13}})
    text = http.get("/metrics").text
    assert 'visionflow_errors_total{error_type="StepExecutionError",code="step.failed"}' in text
