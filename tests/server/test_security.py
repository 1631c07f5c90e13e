"""Secure by default: API keys, body and image limits, URL inputs, files, Python blocks."""

from __future__ import annotations

import base64
import http.server
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from inference_sdk import InferenceHTTPClient
from inference_sdk.http.errors import HTTPCallErrorError

from visionflow.server import ServerSettings
from visionflow.server.settings import read_config_file
from visionflow.server.urls import UrlPolicy, address_allowed, fetch_url

from .servers import (
    RunningServer,
    image_workflow,
    parameter_workflow,
    png_base64,
    png_header_only,
)

KEY = "s3cret-key-value"
RUN = {"specification": parameter_workflow(), "inputs": {"x": 1}}


@pytest.fixture
def keyed(make_server: Callable[..., RunningServer]) -> RunningServer:
    return make_server(api_keys=[KEY, "second-key"])


# -- API keys -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "where",
    ["query", "bearer", "body"],
)
def test_a_key_is_accepted_in_each_place(keyed: RunningServer, where: str) -> None:
    params = {"api_key": KEY} if where == "query" else None
    headers = {"Authorization": f"Bearer {KEY}"} if where == "bearer" else None
    body = {**RUN, "api_key": KEY} if where == "body" else RUN
    with keyed.client() as client:
        response = client.post("/workflows/run", json=body, params=params, headers=headers)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("POST", "/workflows/run", {"json": RUN}),
        ("POST", "/workflows/run", {"json": {**RUN, "api_key": "wrong"}}),
        ("POST", "/workflows/run", {"json": RUN, "params": {"api_key": "wrong"}}),
        ("POST", "/workflows/run", {"json": RUN, "headers": {"Authorization": "Bearer wrong"}}),
        ("POST", "/workflows/validate", {"json": parameter_workflow()}),
        ("GET", "/workflows/blocks/describe", {}),
        ("GET", "/metrics", {}),
        ("GET", "/workspaces/ws/workflows", {}),
        ("GET", "/openapi.json", {}),
        (
            "POST",
            "/workflows/run",
            {"content": b"not json", "headers": {"content-type": "application/json"}},
        ),
    ],
)
def test_missing_or_wrong_key_is_401(
    keyed: RunningServer, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    with keyed.client() as client:
        response = client.request(method, path, **kwargs)
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["error_code"] == "server.unauthorized"
    assert {"message", "error_type", "context", "blocks_errors"} <= set(body)


def test_health_and_info_need_no_key(keyed: RunningServer) -> None:
    with keyed.client() as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/info").status_code == 200


def test_a_refused_key_is_logged_as_a_hash(
    keyed: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="visionflow.server")
    wrong = "my-very-private-wrong-key"
    with keyed.client() as client:
        client.post("/workflows/run", json=RUN, params={"api_key": wrong})
        client.post("/workflows/run", json={**RUN, "api_key": wrong})
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "sha256:" in logged
    assert wrong not in logged


def test_inference_sdk_sends_its_key_and_gets_401_with_a_wrong_one(keyed: RunningServer) -> None:
    good = InferenceHTTPClient(api_url=keyed.url, api_key=KEY)
    assert good.run_workflow(specification=parameter_workflow(), parameters={"x": 5}) == [{"x": 5}]
    bad = InferenceHTTPClient(api_url=keyed.url, api_key="nope")
    with pytest.raises(HTTPCallErrorError) as caught:
        bad.run_workflow(specification=parameter_workflow())
    assert caught.value.status_code == 401


# -- body and image limits ------------------------------------------------------------------
def test_body_too_large_is_413(make_server: Callable[..., RunningServer]) -> None:
    running = make_server(max_body_bytes=4096)
    big = {**RUN, "padding": "x" * 5000}
    with running.client() as client:
        response = client.post("/workflows/run", json=big)
        assert response.status_code == 413
        assert response.json()["error_code"] == "server.body_too_large"

        def chunks() -> Iterator[bytes]:
            yield b'{"inputs": {}, "padding": "'
            for _ in range(10):
                yield b"x" * 1000
            yield b'"}'

        chunked = client.post(
            "/workflows/run", content=chunks(), headers={"content-type": "application/json"}
        )
        assert chunked.status_code == 413
        small = client.post("/workflows/run", json=RUN)
        assert small.status_code == 200


def test_too_many_images_is_400(make_server: Callable[..., RunningServer]) -> None:
    running = make_server(max_images_per_request=2)
    image = {"type": "base64", "value": png_base64(8, 8)}
    with running.client() as client:
        ok = client.post(
            "/workflows/run",
            json={"specification": image_workflow(), "inputs": {"image": [image, image]}},
        )
        assert ok.status_code == 200
        refused = client.post(
            "/workflows/run",
            json={"specification": image_workflow(), "inputs": {"image": [image] * 3}},
        )
    assert refused.status_code == 400
    assert refused.json()["error_code"] == "input.too_many_images"


@pytest.mark.parametrize(
    ("width", "height", "shown"),
    [(10_000, 10_000, "10000x10000 pixels"), (50_000, 50_000, "billions of pixels")],
)
def test_decompression_bomb_is_refused_from_its_header(
    http: httpx.Client, width: int, height: int, shown: str
) -> None:
    bomb = base64.b64encode(png_header_only(width, height)).decode()
    response = http.post(
        "/workflows/run",
        json={
            "specification": image_workflow(),
            "inputs": {"image": {"type": "base64", "value": bomb}},
        },
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error_code"] == "input.image_too_large"
    assert shown in body["message"]


def test_image_pixel_limit_is_configurable(make_server: Callable[..., RunningServer]) -> None:
    running = make_server(max_image_pixels=100)
    with running.client() as client:
        response = client.post(
            "/workflows/run",
            json={
                "specification": image_workflow(),
                "inputs": {"image": {"type": "base64", "value": png_base64(20, 20)}},
            },
        )
    assert response.status_code == 400
    assert response.json()["error_code"] == "input.image_too_large"


# -- URL and file inputs --------------------------------------------------------------------
@pytest.fixture
def image_site() -> Iterator[str]:
    """A local HTTP server: /image.png, /redirect (to /image.png), /big (3 MB)."""
    png = base64.b64decode(png_base64(12, 9))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", "/image.png")
                self.end_headers()
                return
            data = png if self.path == "/image.png" else b"x" * 3_000_000
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{site.server_address[1]}"
    site.shutdown()
    site.server_close()


def _run_url(client: httpx.Client, url: str) -> httpx.Response:
    return client.post(
        "/workflows/run",
        json={
            "specification": image_workflow(),
            "inputs": {"image": {"type": "url", "value": url}},
        },
    )


def test_url_inputs_are_refused_by_default(http: httpx.Client, image_site: str) -> None:
    response = _run_url(http, image_site + "/image.png")
    assert response.status_code == 400
    assert response.json()["error_code"] == "input.source_refused"


def test_private_addresses_are_refused_when_urls_are_enabled(
    make_server: Callable[..., RunningServer], image_site: str
) -> None:
    running = make_server(allow_url_input=True)
    with running.client() as client:
        for path in ("/image.png", "/redirect"):
            response = _run_url(client, image_site + path)
            assert response.status_code == 400
            assert response.json()["error_code"] == "input.source_refused"
            assert "non-public address" in response.json()["message"]
        scheme = _run_url(client, "ftp://example.com/a.png")
        assert scheme.json()["error_code"] == "input.source_refused"


def test_urls_download_when_private_addresses_are_allowed(
    make_server: Callable[..., RunningServer], image_site: str
) -> None:
    running = make_server(allow_url_input=True, allow_private_urls=True, url_max_bytes=1_000_000)
    with running.client() as client:
        for path in ("/image.png", "/redirect"):
            response = _run_url(client, image_site + path)
            assert response.status_code == 200, response.text
            assert response.json()["outputs"] == [{"width": 12, "height": 9}]
        too_big = _run_url(client, image_site + "/big")
    assert too_big.status_code == 400
    assert too_big.json()["error_code"] == "input.url_fetch_failed"


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:127.0.0.1", False),
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
    ],
)
def test_address_policy(address: str, allowed: bool) -> None:
    assert address_allowed(address) is allowed


def test_fetch_url_refuses_hosts_resolving_to_loopback() -> None:
    from visionflow.errors import RuntimeInputError

    with pytest.raises(RuntimeInputError) as caught:
        fetch_url("http://localhost:9/x.png", UrlPolicy())
    assert caught.value.code == "input.source_refused"


def test_file_inputs_are_refused(http: httpx.Client) -> None:
    response = http.post(
        "/workflows/run",
        json={
            "specification": image_workflow(),
            "inputs": {"image": {"type": "file", "value": "/etc/hostname"}},
        },
    )
    assert response.status_code == 400
    assert response.json()["error_code"] == "input.source_refused"


# -- inline Python blocks -------------------------------------------------------------------
def python_block_workflow() -> dict[str, Any]:
    return {
        "version": "1.0",
        "inputs": [{"type": "WorkflowParameter", "name": "x"}],
        "dynamic_blocks_definitions": [
            {
                "type": "DynamicBlockDefinition",
                "manifest": {
                    "type": "ManifestDescription",
                    "block_type": "Double",
                    "inputs": {
                        "value": {
                            "type": "DynamicInputDefinition",
                            "selector_types": ["input_parameter"],
                        }
                    },
                    "outputs": {"double": {"type": "DynamicOutputDefinition", "kind": []}},
                },
                "code": {
                    "type": "PythonCode",
                    "run_function_code": "def run(self, value):\n    return {'double': value * 2}\n",
                },
            }
        ],
        "steps": [{"type": "Double", "name": "d", "value": "$inputs.x"}],
        "outputs": [{"type": "JsonField", "name": "double", "selector": "$steps.d.double"}],
    }


def test_python_blocks_are_refused_unless_allowed(
    http: httpx.Client, make_server: Callable[..., RunningServer]
) -> None:
    body = {"specification": python_block_workflow(), "inputs": {"x": 4}}
    refused = http.post("/workflows/run", json=body)
    assert refused.status_code == 400
    assert refused.json()["error_code"] == "compile.python_blocks_disabled"
    describe = http.post(
        "/workflows/blocks/describe",
        json={"dynamic_blocks_definitions": python_block_workflow()["dynamic_blocks_definitions"]},
    )
    assert describe.status_code == 400
    running = make_server(allow_python_blocks=True)
    with running.client() as client:
        assert client.post("/workflows/run", json=body).json()["outputs"] == [{"double": 8}]
        described = client.post(
            "/workflows/blocks/describe",
            json={
                "dynamic_blocks_definitions": python_block_workflow()["dynamic_blocks_definitions"]
            },
        ).json()
    assert "Double" in {b["manifest_type_identifier"] for b in described["blocks"]}


# -- settings -------------------------------------------------------------------------------
def test_binds_loopback_by_default() -> None:
    settings = ServerSettings.load(environ={})
    assert (settings.host, settings.port) == ("127.0.0.1", 9001)
    assert settings.api_keys == [] and not settings.allow_url_input
    assert not settings.allow_python_blocks and not settings.debug


def test_settings_precedence(tmp_path: Any) -> None:
    config = tmp_path / "server.json"
    config.write_text('{"port": 1000, "host": "0.0.0.0", "max_queued_runs": 5}')
    toml = tmp_path / "server.toml"
    toml.write_text('[server]\nport = 1001\napi_keys = ["a"]\n')
    environ = {
        "VISIONFLOW_CONFIG": str(config),
        "VISIONFLOW_PORT": "2000",
        "VISIONFLOW_API_KEYS": "k1, k2",
    }
    settings = ServerSettings.load(environ=environ, port=3000)
    assert (settings.port, settings.host, settings.max_queued_runs) == (3000, "0.0.0.0", 5)
    assert settings.api_keys == ["k1", "k2"]
    assert ServerSettings.load(environ=environ).port == 2000
    assert read_config_file(toml) == {"port": 1001, "api_keys": ["a"]}
    assert settings.workflows_db == settings.home / "workflows.sqlite3"
