"""A real visionflow server on a loopback port for the client tests (one per session).

uvicorn runs in a background thread on 127.0.0.1, port 0 (the OS picks a free one), with a
data directory of its own; one server without API keys and one that requires ``secret``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
API_KEY = "secret"


@contextmanager
def serve_in_thread(app: Any) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 (a free port) until the block ends; yield its URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="visionflow-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _server(tmp_path_factory: pytest.TempPathFactory, **settings: Any) -> Iterator[str]:
    from visionflow.server.app import create_app
    from visionflow.server.settings import ServerSettings

    home = tmp_path_factory.mktemp("server-home")
    with serve_in_thread(create_app(ServerSettings(home=home, **settings))) as url:
        yield url


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server without API keys."""
    yield from _server(tmp_path_factory)


@pytest.fixture(scope="session")
def keyed_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server that requires the API key ``secret``."""
    yield from _server(tmp_path_factory, api_keys=[API_KEY])
