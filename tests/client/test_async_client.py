"""``AsyncClient``: the same requests as ``Client`` (scripted answers), then against the real
server of ``conftest.py``, several runs at once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import httpx
import numpy as np
import pytest

from visionflow.client import (
    AsyncClient,
    Client,
    HTTPCallError,
    InvalidInputError,
    ServerConnectionError,
)

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[2]
DOG = REPO / "examples" / "images" / "dog.jpg"
SPEC = {"version": "1.0", "inputs": [], "steps": [], "outputs": []}
OK = {"outputs": [{"out": 1}], "profiler_trace": None}


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def scripted(*answers: httpx.Response | Exception) -> tuple[AsyncClient, list[httpx.Request]]:
    requests: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        answer = answers[min(len(requests), len(answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    client = AsyncClient("http://server:9001", "key", transport=httpx.MockTransport(handler))
    client._sleep = _no_sleep  # type: ignore[method-assign]
    return client, requests


async def _no_sleep(seconds: float) -> None:
    return None


@pytest.mark.parametrize(
    ("method", "kwargs", "route"),
    [
        ("run_workflow", {"specification": SPEC}, "/workflows/run"),
        (
            "infer_from_workflow",
            {"workspace_name": "w", "workflow_name": "f"},
            "/infer/workflows/w/f",
        ),
    ],
)
def test_same_requests_as_the_sync_client(method: str, kwargs: dict[str, Any], route: str) -> None:
    client, requests = scripted(httpx.Response(200, json=OK))
    images = {"image": [b"a", np.zeros((4, 4, 3), np.uint8)]}
    assert run(getattr(client, method)(images=images, parameters={"p": 1}, **kwargs)) == [
        {"out": 1}
    ]
    sync_requests: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sync_requests.append(request)
        return httpx.Response(200, json=OK)

    sync = Client("http://server:9001", "key", transport=httpx.MockTransport(record))
    getattr(sync, method)(images=images, parameters={"p": 1}, **kwargs)
    (sent,), (expected,) = requests, sync_requests
    assert sent.url.path == route and sent.url == expected.url
    assert json.loads(sent.content) == json.loads(expected.content)
    assert sent.headers["Authorization"] == expected.headers["Authorization"]


def test_urls_are_fetched_concurrently_without_the_key() -> None:
    client, requests = scripted(
        httpx.Response(200, content=b"one"),
        httpx.Response(200, content=b"two"),
        httpx.Response(200, json=OK),
    )
    urls = ["http://img/a.jpg", "http://img/b.jpg"]
    run(client.run_workflow(specification=SPEC, images={"image": [*urls, urls[0]]}))
    assert sorted(str(r.url) for r in requests[:2]) == urls
    assert all("Authorization" not in r.headers for r in requests[:2])
    assert len(json.loads(requests[2].content)["inputs"]["image"]) == 3


def test_retries_and_errors() -> None:
    client, requests = scripted(
        httpx.Response(429, headers={"Retry-After": "0"}),
        httpx.Response(400, json={"message": "bad", "inner_error_message": "why"}),
    )
    with pytest.raises(HTTPCallError) as caught:
        run(client.validate(SPEC))
    assert (caught.value.status_code, caught.value.inner_error_message) == (400, "why")
    assert len(requests) == 2
    client, requests = scripted(httpx.ConnectError("refused"))
    with pytest.raises(ServerConnectionError):
        run(client.healthz())
    assert len(requests) == 4
    client, _ = scripted()
    with pytest.raises(InvalidInputError):
        run(client.run_workflow(specification=SPEC, workflow_id="both", workspace_name="w"))


def test_saved_workflow_calls() -> None:
    client, requests = scripted(httpx.Response(200, json={"ok": True}))

    async def calls() -> None:
        async with client:
            await client.save_workflow("w", "f", SPEC)
            await client.list_workflows("w")
            await client.get_workflow("w", "f", version="3")
            await client.delete_workflow("w", "f")
            await client.describe_interface(SPEC)
            await client.describe_blocks()
            await client.info()

    run(calls())
    assert [(r.method, r.url.raw_path.decode()) for r in requests] == [
        ("PUT", "/workspaces/w/workflows/f"),
        ("GET", "/workspaces/w/workflows"),
        ("GET", "/workspaces/w/workflows/f?version=3"),
        ("DELETE", "/workspaces/w/workflows/f"),
        ("POST", "/workflows/describe_interface"),
        ("GET", "/workflows/blocks/describe"),
        ("GET", "/info"),
    ]


CROP_AND_FILTER = json.loads((REPO / "examples" / "crop_and_filter.json").read_text())
PREDICTIONS = json.loads((REPO / "examples" / "dog_predictions.json").read_text())


def test_concurrent_runs_on_a_real_server(server_url: str) -> None:
    run_args: dict[str, Any] = {
        "specification": CROP_AND_FILTER,
        "images": {"image": DOG},
        "parameters": {"predictions": PREDICTIONS},
    }
    with Client(server_url) as sync:
        expected = sync.run_workflow(**run_args)

    async def many() -> list[Any]:
        async with AsyncClient(server_url) as client:
            runs = [client.run_workflow(**run_args) for _ in range(8)]
            legacy = client.infer_from_workflow(**run_args)
            return await asyncio.gather(*runs, legacy)

    assert run(many()) == [expected] * 9


def test_errors_and_arrays_from_a_real_server(server_url: str) -> None:
    async def calls() -> tuple[Any, HTTPCallError]:
        async with AsyncClient(server_url, decode_images=True) as client:
            outputs = await client.run_workflow(
                specification=CROP_AND_FILTER,
                images={"image": DOG},
                parameters={"predictions": PREDICTIONS},
            )
            try:
                await client.get_workflow("nowhere", "nothing")
            except HTTPCallError as error:
                return outputs, error
            raise AssertionError("an unknown saved workflow must be a 404")

    outputs, error = run(calls())
    assert all(isinstance(crop, np.ndarray) for crop in outputs[0]["crops"])
    assert error.status_code == 404 and "nothing" in error.message
