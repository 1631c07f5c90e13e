"""Helpers of the server tests: real servers on loopback ports, small workflow documents.

Servers run uvicorn in a background thread of the test process.

In-process, so the test blocks (``test/sleep@v1``, ``test/fail@v1``...) registered by
``tests/conftest.py`` are known to the server.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn

from visionflow.server import ServerSettings, create_app


@dataclass
class RunningServer:
    url: str
    settings: ServerSettings
    server: uvicorn.Server
    thread: threading.Thread

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **kwargs)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_server(settings: ServerSettings) -> RunningServer:
    """Serve ``create_app(settings)`` on a free loopback port until ``stop()``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings), log_level="warning", access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.005)
    return RunningServer(f"http://127.0.0.1:{port}", settings, server, thread)


def parameter_workflow() -> dict[str, Any]:
    """A trivial document: echoes the parameter ``x``."""
    return {
        "version": "1.0",
        "inputs": [{"type": "WorkflowParameter", "name": "x", "default_value": 3}],
        "steps": [],
        "outputs": [{"type": "JsonField", "name": "x", "selector": "$inputs.x"}],
    }


def image_workflow() -> dict[str, Any]:
    """Reports the size of each input image."""
    return {
        "version": "1.0",
        "inputs": [{"type": "WorkflowImage", "name": "image"}],
        "steps": [{"type": "test/image_size@v1", "name": "size", "image": "$inputs.image"}],
        "outputs": [
            {"type": "JsonField", "name": "width", "selector": "$steps.size.width"},
            {"type": "JsonField", "name": "height", "selector": "$steps.size.height"},
        ],
    }


def sleep_workflow(seconds: float) -> dict[str, Any]:
    return {
        "version": "1.0",
        "inputs": [{"type": "WorkflowParameter", "name": "x", "default_value": 1}],
        "steps": [
            {"type": "test/sleep@v1", "name": "nap", "value": "$inputs.x", "seconds": seconds}
        ],
        "outputs": [{"type": "JsonField", "name": "x", "selector": "$steps.nap.value"}],
    }


ERROR_KEYS = {
    "message",
    "error_type",
    "context",
    "inner_error_type",
    "inner_error_message",
    "blocks_errors",
}


def png_base64(width: int = 32, height: int = 24) -> str:
    """A grey PNG image, base64-encoded as the inference-sdk sends images."""
    import base64

    import cv2
    import numpy as np

    ok, data = cv2.imencode(".png", np.full((height, width, 3), 128, dtype=np.uint8))
    assert ok
    return base64.b64encode(data.tobytes()).decode()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims ``width`` x ``height`` pixels in a few dozen bytes (a bomb's header)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )
