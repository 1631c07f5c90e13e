"""The saved-workflow routes over HTTP: save, get (latest or a version), list, versions, delete.

One real server (``create_app`` under uvicorn on a free loopback port) for the module; each
test works in its own workspace, which the routes keep apart.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from visionflow.server import ServerSettings, create_app

ERROR_KEYS = {
    "message",
    "error_type",
    "context",
    "inner_error_type",
    "inner_error_message",
    "blocks_errors",
}


def definition(output: str = "out") -> dict[str, Any]:
    return {
        "version": "1.0",
        "inputs": [{"type": "WorkflowImage", "name": "image"}],
        "steps": [],
        "outputs": [{"type": "JsonField", "name": output, "selector": "$inputs.image"}],
    }


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real application (``create_app``) served by uvicorn on a free loopback port."""
    app = create_app(ServerSettings(home=tmp_path_factory.mktemp("saved-home")))
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.005)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=10) as http:
        yield http


@pytest.fixture
def ws() -> str:
    """A workspace of this test's own."""
    return f"ws-{uuid.uuid4().hex[:12]}"


def url(workspace: str, workflow_id: str | None = "wf") -> str:
    base = f"/workspaces/{workspace}/workflows"
    return base if workflow_id is None else f"{base}/{workflow_id}"


def expand(template: str, ws: str) -> str:
    """``"{ws}/wf/versions"`` -> the route of workflow ``wf`` in this test's workspace."""
    workspace, _, rest = template.format(ws=ws).partition("/")
    return url(workspace, rest or None)


def test_save_then_get_latest_and_by_version(client: httpx.Client, ws: str) -> None:
    first = client.put(url(ws), json=definition("a"))
    assert first.status_code == 201, first.text
    body = first.json()
    assert set(body) == {"workspace", "workflow_id", "version", "created_at"}
    assert (body["workspace"], body["workflow_id"], body["version"]) == (ws, "wf", 1)

    second = client.put(url(ws), json={"specification": definition("b")})  # wrapped
    assert second.json()["version"] == 2

    latest = client.get(url(ws))
    assert latest.status_code == 200
    assert latest.json() == {**second.json(), "specification": definition("b")}
    older = client.get(url(ws), params={"version": "1"})
    assert older.json()["specification"] == definition("a")
    assert older.json()["version"] == 1
    assert older.json()["created_at"] == body["created_at"]


def test_saving_the_same_definition_keeps_the_version(client: httpx.Client, ws: str) -> None:
    client.put(url(ws), json=definition())
    again = client.put(url(ws), json={"specification": definition()})
    assert again.status_code == 201
    assert again.json()["version"] == 1


def test_list_and_versions(client: httpx.Client, ws: str) -> None:
    client.put(url(ws, "b"), json=definition("1"))
    client.put(url(ws, "b"), json=definition("2"))
    client.put(url(ws, "a"), json=definition("1"))
    listed = client.get(url(ws, None))
    assert listed.status_code == 200
    assert listed.json()["workspace"] == ws
    rows = listed.json()["workflows"]
    assert [(r["workflow_id"], r["latest_version"], r["versions"]) for r in rows] == [
        ("a", 1, 1),
        ("b", 2, 2),
    ]
    assert all(set(r) >= {"created_at", "updated_at"} for r in rows)
    history = client.get(url(ws, "b") + "/versions").json()
    assert [v["version"] for v in history["versions"]] == [1, 2]
    assert client.get(url(ws + "-empty", None)).json()["workflows"] == []


def test_delete(client: httpx.Client, ws: str) -> None:
    client.put(url(ws), json=definition())
    deleted = client.delete(url(ws))
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert client.get(url(ws)).status_code == 404
    again = client.delete(url(ws))
    assert again.status_code == 404
    assert set(again.json()) >= ERROR_KEYS


def test_workspaces_scope_everything(client: httpx.Client, ws: str) -> None:
    client.put(url(ws + "-a"), json=definition("a"))
    assert client.get(url(ws + "-b")).status_code == 404
    assert client.get(url(ws + "-b", None)).json()["workflows"] == []
    assert client.delete(url(ws + "-b")).status_code == 404
    client.put(url(ws + "-b"), json=definition("b"))
    assert client.get(url(ws + "-a")).json()["specification"] == definition("a")
    assert client.get(url(ws + "-b")).json()["version"] == 1


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        ("{ws}/nope", {}, "workflow 'nope' was not found in workspace '{ws}'"),
        ("{ws}/wf", {"version": "7"}, "workflow 'wf' version '7' was not found"),
        ("{ws}/nope/versions", {}, "'nope' was not found"),
    ],
)
def test_unknown_workflow_is_404(
    client: httpx.Client, ws: str, path: str, params: dict[str, str], message: str
) -> None:
    client.put(url(ws), json=definition())
    response = client.get(expand(path, ws), params=params)
    assert response.status_code == 404
    body = response.json()
    assert set(body) >= ERROR_KEYS
    assert message.format(ws=ws) in body["message"]
    assert body["error_type"] == "NotFoundError"


@pytest.mark.parametrize(
    ("method", "path", "params"),
    [
        ("PUT", "{ws}/bad name", {}),
        ("PUT", "bad~{ws}/wf", {}),
        ("PUT", "{ws}/" + "x" * 200, {}),
        ("GET", "{ws}/...", {}),
        ("GET", "bad!{ws}", {}),
        ("GET", "{ws}/wf", {"version": "abc"}),
        ("GET", "{ws}/wf", {"version": "0"}),
        ("DELETE", "{ws}/a b", {}),
    ],
)
def test_invalid_names_and_versions_are_400(
    client: httpx.Client, ws: str, method: str, path: str, params: dict[str, str]
) -> None:
    response = client.request(method, expand(path, ws), params=params, json=definition())
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) >= ERROR_KEYS
    assert body["error_type"] == "InvalidWorkflowNameError"
    assert body["error_code"] == "server.invalid_name"


@pytest.mark.parametrize(
    ("document", "code", "inner"),
    [
        ({"specification": "no"}, "spec.not_an_object", "SpecError"),
        ({**definition(), "version": "2.0"}, "spec.invalid_field", "SpecError"),
        (
            {**definition(), "steps": [{"type": "NoSuchBlock", "name": "x"}]},
            "compile.unknown_block",
            "CompileError",
        ),
        (
            {
                **definition(),
                "outputs": [{"type": "JsonField", "name": "o", "selector": "$steps.ghost.x"}],
            },
            "compile.dangling_selector",
            "CompileError",
        ),
        (
            {
                **definition(),
                "dynamic_blocks_definitions": [{"type": "DynamicBlockDefinition"}],
            },
            "compile.python_blocks_disabled",
            "CompileError",
        ),
    ],
)
def test_invalid_definitions_are_400_and_not_saved(
    client: httpx.Client, ws: str, document: dict[str, Any], code: str, inner: str
) -> None:
    response = client.put(url(ws), json=document)
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) >= ERROR_KEYS
    assert (body["error_code"], body["inner_error_type"]) == (code, inner)
    assert body["message"]
    assert client.get(url(ws)).status_code == 404


def test_a_body_that_is_not_an_object_is_refused(client: httpx.Client, ws: str) -> None:
    response = client.put(url(ws), json=[1, 2])
    assert 400 <= response.status_code < 500
    assert client.get(url(ws)).status_code == 404


def test_routes_are_in_the_openapi_document(client: httpx.Client, ws: str) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths["/workspaces/{workspace}/workflows/{workflow_id}"]) == {"put", "get", "delete"}
    assert "get" in paths["/workspaces/{workspace}/workflows"]
    assert "get" in paths["/workspaces/{workspace}/workflows/{workflow_id}/versions"]


def echo(output: str) -> dict[str, Any]:
    """A definition answering its parameter under the output name ``output``."""
    return {
        "version": "1.0",
        "inputs": [{"type": "WorkflowParameter", "name": "value"}],
        "steps": [],
        "outputs": [{"type": "JsonField", "name": output, "selector": "$inputs.value"}],
    }


@pytest.mark.parametrize("route", ["/{ws}/workflows/wf", "/infer/workflows/{ws}/wf"])
def test_a_saved_workflow_runs_at_its_version(client: httpx.Client, ws: str, route: str) -> None:
    client.put(url(ws), json=echo("first"))
    client.put(url(ws), json=echo("second"))
    path = route.format(ws=ws)
    latest = client.post(path, json={"inputs": {"value": 7}})
    assert latest.status_code == 200, latest.text
    assert latest.json()["outputs"] == [{"second": 7}]
    older = client.post(path, json={"inputs": {"value": 7}, "workflow_version_id": "1"})
    assert older.json()["outputs"] == [{"first": 7}]
    # another workspace does not see it
    elsewhere = client.post(route.format(ws=ws + "-other"), json={"inputs": {"value": 7}})
    assert elsewhere.status_code == 404
    assert set(elsewhere.json()) >= ERROR_KEYS
