"""Fuzzing the server with schemathesis, from its own OpenAPI document: whatever the body,
path or query, the server answers; it never fails with a 5xx.

A bounded run (a dozen examples per operation) on the ASGI app directly, so no socket and no
uvicorn are involved: what is tested is the app's own handling of what it receives.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

#: every operation of the document (a test below keeps this list and the document in step)
OPERATIONS = [
    ("POST", "/workflows/run"),
    ("POST", "/infer/workflows"),
    ("POST", "/{workspace_name}/workflows/{workflow_id}"),
    ("POST", "/infer/workflows/{workspace_name}/{workflow_id}"),
    ("POST", "/workflows/validate"),
    ("POST", "/workflows/describe_interface"),
    ("POST", "/{workspace_name}/workflows/{workflow_id}/describe_interface"),
    ("GET", "/workflows/blocks/describe"),
    ("POST", "/workflows/blocks/describe"),
    ("GET", "/workflows/definition/schema"),
    ("GET", "/workflows/execution_engine/versions"),
    ("GET", "/info"),
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    ("PUT", "/workspaces/{workspace}/workflows/{workflow_id}"),
    ("GET", "/workspaces/{workspace}/workflows/{workflow_id}"),
    ("DELETE", "/workspaces/{workspace}/workflows/{workflow_id}"),
    ("GET", "/workspaces/{workspace}/workflows"),
    ("GET", "/workspaces/{workspace}/workflows/{workflow_id}/versions"),
]
MAX_EXAMPLES = 25


class OneLifespan:
    """The app without its lifespan events: schemathesis opens a test client (startup and
    shutdown) per call, while a served app lives through one lifespan, run by the fixture."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        while (await receive())["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with warnings.catch_warnings():
        # starlette recommends httpx2 for its test client (schemathesis calls through it too)
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    from visionflow.server.app import create_app
    from visionflow.server.settings import ServerSettings

    home: Path = tmp_path_factory.mktemp("fuzz-home")
    # a short run timeout keeps a pathological generated document from stalling the run
    app = create_app(ServerSettings(home=home, run_timeout_s=5.0))
    with TestClient(app):  # the app's one lifespan
        yield schemathesis.openapi.from_asgi("/openapi.json", OneLifespan(app))


# hypothesis driven by hand rather than through schemathesis' pytest plugin, whose lazy
# schemas (``from_fixture``) do not work with this pytest; the app is still built in a fixture
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_server_error(api_schema: Any, method: str, path: str) -> None:
    operation = api_schema[path][method]

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(case=operation.as_strategy())
    def fuzz(case: schemathesis.Case) -> None:
        case.call_and_validate(checks=[not_a_server_error])

    fuzz()


def test_every_operation_is_fuzzed(api_schema: Any) -> None:
    documented = {
        (method.upper(), path)
        for path, methods in api_schema.raw_schema["paths"].items()
        for method in methods
    }
    assert documented == set(OPERATIONS)
