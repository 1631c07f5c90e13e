"""Fixtures of the server tests: a shared real server, and a factory for servers with other
settings (see ``servers.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from visionflow.server import ServerSettings

from .servers import RunningServer, start_server


@pytest.fixture(scope="session")
def server_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("visionflow-home")


@pytest.fixture(scope="session")
def server(server_home: Path) -> Iterator[RunningServer]:
    """The shared server with default settings (no keys, URLs off)."""
    running = start_server(ServerSettings(home=server_home))
    yield running
    running.stop()


@pytest.fixture(scope="session")
def http(server: RunningServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., RunningServer]]:
    """Start servers with other settings; stopped at the end of the test."""
    started: list[RunningServer] = []

    def make(**settings: Any) -> RunningServer:
        settings.setdefault("home", tmp_path)
        running = start_server(ServerSettings(**settings))
        started.append(running)
        return running

    yield make
    for running in started:
        running.stop()
