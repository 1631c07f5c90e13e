"""The HTTP server under load on loopback: requests/s and p50/p99 latency at concurrency 1, 8
and 32, for a trivial document and for detect -> crop -> classify on a photo; the HTTP
overhead against the same run in-process; the reference server side by side when installed.

Claims checked (issue 5): HTTP overhead under 2 ms per request for the trivial document; p99
under 4 x p50 at concurrency 32; at least 3x faster than the reference at concurrency 1.

The server runs in its own process (as in production), started with ``create_app`` under
uvicorn; the load comes from other processes (threads sharing one GIL with many clients would
measure the load generator). Each level runs for a fixed time, so the benchmark ends by itself.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from _common import best_of, print_table, write_results
from _loadgen import load

REPO = Path(__file__).resolve().parents[1]
DOG = REPO / "examples" / "images" / "dog.jpg"
LEVELS = (1, 8, 32)
#: seconds of load per level, per document: short, but thousands of trivial requests
DURATION_S = {"trivial": 3.0, "detect_crop_classify": 8.0}
STARTUP_TIMEOUT_S = 90.0

TRIVIAL = {
    "version": "1.0",
    # a batch input: the reference refuses a parameter in property_definition's data field
    "inputs": [{"type": "WorkflowBatchInput", "name": "value", "kind": ["integer"]}],
    "steps": [
        {
            "type": "roboflow_core/property_definition@v1",
            "name": "echo",
            "data": "$inputs.value",
            "operations": [],
        }
    ],
    "outputs": [{"type": "JsonField", "name": "out", "selector": "$steps.echo.output"}],
}

VISIONFLOW_SERVER = """
import sys, uvicorn
from visionflow.server.app import create_app
from visionflow.server.settings import ServerSettings
settings = ServerSettings(host="127.0.0.1", port=int(sys.argv[1]), home=sys.argv[2])
uvicorn.run(create_app(settings), host="127.0.0.1", port=int(sys.argv[1]),
            log_level="warning", access_log=False)
"""

# the reference's own server (as its docker image builds it), in the reference's environment
REFERENCE_SERVER = """
import os, sys, tempfile, uvicorn
# its app mounts a landing page from ./inference/landing/out/static (built only in its image)
os.chdir(tempfile.mkdtemp())
for folder in ("static", "_next/static"):
    os.makedirs(f"inference/landing/out/{folder}", exist_ok=True)
from inference.core.interfaces.http.http_api import HttpInterface
from inference.core.managers.base import ModelManager
from inference.core.registries.roboflow import RoboflowModelRegistry
from inference.models.utils import ROBOFLOW_MODEL_TYPES
manager = ModelManager(model_registry=RoboflowModelRegistry(ROBOFLOW_MODEL_TYPES))
uvicorn.run(HttpInterface(manager).app, host="127.0.0.1", port=int(sys.argv[1]),
            log_level="warning", access_log=False)
"""


def request_body(specification: dict[str, Any], inputs: dict[str, Any]) -> bytes:
    """The body ``Client.run_workflow`` sends (inference-sdk's), serialized once."""
    from visionflow.client._core import run_call

    call = run_call(
        None,
        workspace_name=None,
        workflow_id=None,
        specification=specification,
        inputs=inputs,
        excluded_fields=None,
        legacy_endpoints=False,
        use_cache=True,
        enable_profiling=False,
        workflow_version_id=None,
        disable_sinks=False,
    )
    return json.dumps(call.json).encode()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def server_process(python: str, script: str, *args: str) -> Iterator[str]:
    """Start a server, wait until it answers, yield its URL, stop it."""
    port = free_port()
    process = subprocess.Popen(
        [python, "-c", script, str(port), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if process.poll() is not None:
                stderr = process.stderr.read() if process.stderr else ""
                raise RuntimeError(f"server exited:\n{stderr[-3000:]}")
            try:
                httpx.get(f"{url}/info", timeout=1.0)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise RuntimeError("server did not start in time") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def in_process_run_s(specification: dict[str, Any], inputs: dict[str, Any]) -> float:
    """The same run without HTTP: the engine on the wire inputs, outputs serialized."""
    from visionflow.engine import ExecutionEngine

    engine = ExecutionEngine.init(
        workflow_definition=specification, init_parameters={}, max_concurrent_steps=1
    )
    number = 500 if len(json.dumps(inputs)) < 1000 else 5
    return best_of(
        lambda: engine.run(runtime_parameters=inputs, serialize_results=True),
        repeat=5,
        number=number,
    )


def documents() -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    from visionflow.client._images import build_inputs
    from visionflow.models.defaults import prepare_default_models
    from visionflow.models.store import ModelStore

    prepare_default_models(ModelStore().root)
    detect = json.loads((REPO / "examples" / "detect_crop_classify.json").read_text())
    return {
        "trivial": (TRIVIAL, {"value": 7}),
        "detect_crop_classify": (detect, build_inputs({"image": str(DOG)}, None)),
    }


def measure(url: str, cases: dict[str, tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name, (specification, inputs) in cases.items():
        body = request_body(specification, inputs)
        check = httpx.post(f"{url}/workflows/run", content=body, timeout=120.0,
                           headers={"Content-Type": "application/json"})  # fmt: skip
        if check.status_code != 200:
            raise RuntimeError(f"{name}: HTTP {check.status_code}: {check.text[:500]}")
        results[name] = [
            load(f"{url}/workflows/run", body, level, DURATION_S[name]) for level in LEVELS
        ]
    return results


def reference_python() -> str | None:
    # as bench_engine.py: the variable, else the environment `make bench-reference` builds
    python = os.environ.get("VISIONFLOW_REFERENCE_PYTHON") or str(
        Path(__file__).parent / ".reference-venv" / "bin" / "python"
    )
    if not Path(python).exists():
        return None
    probe = subprocess.run([python, "-c", "import inference"], capture_output=True)
    return python if probe.returncode == 0 else None


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


def main() -> None:
    cases = documents()
    with (
        tempfile.TemporaryDirectory() as home,
        server_process(sys.executable, VISIONFLOW_SERVER, home) as url,
    ):
        ours = measure(url, cases)
    # after the load, not before: this process's model threads must not compete with the server
    in_process = {name: in_process_run_s(*case) for name, case in cases.items()}
    python = reference_python()
    reference = None
    if python is not None:
        # the reference has none of our local models: the trivial document only ("-" for the
        # others in the table)
        with server_process(python, REFERENCE_SERVER) as url:
            reference = measure(url, {"trivial": cases["trivial"]})

    rows = []
    for name, levels in ours.items():
        for level in levels:
            ref = None
            if reference and name in reference:
                ref = next(r for r in reference[name] if r["concurrency"] == level["concurrency"])
            rows.append([
                name, level["concurrency"], f"{level['rps']:.0f}", ms(level["p50_s"]),
                ms(level["p99_s"]), f"{level['p99_over_p50']:.1f}", level["errors"],
                ms(ref["p50_s"]) if ref else ("-" if reference else "not installed"),
            ])  # fmt: skip
    print_table(
        "Server on loopback: POST /workflows/run (separate load processes, keep-alive)",
        ["document", "clients", "req/s", "p50", "p99", "p99/p50", "errors", "reference p50"],
        rows,
    )
    overhead = {name: ours[name][0]["p50_s"] - in_process[name] for name in ours}
    print_table(
        "HTTP overhead at concurrency 1 (p50 over HTTP - the same run in-process)",
        ["document", "in-process", "over HTTP", "overhead"],
        [
            [name, ms(in_process[name]), ms(ours[name][0]["p50_s"]), ms(overhead[name])]
            for name in ours
        ],
    )
    trivial_overhead = overhead["trivial"]
    print(
        f"target HTTP overhead < 2 ms (trivial document): "
        f"{'met' if trivial_overhead < 2e-3 else 'MISSED'} ({ms(trivial_overhead)})"
    )
    worst_ratio = max(levels[-1]["p99_over_p50"] for levels in ours.values())
    print(
        f"target p99 < 4 x p50 at concurrency {LEVELS[-1]}: "
        f"{'met' if worst_ratio < 4 else 'MISSED'} (worst {worst_ratio:.1f}x)"
    )
    if reference is not None:
        speedup = reference["trivial"][0]["p50_s"] / ours["trivial"][0]["p50_s"]
        print(
            f"target at least 3x faster than the reference at concurrency 1: "
            f"{'met' if speedup >= 3 else 'MISSED'} ({speedup:.1f}x)"
        )
    else:
        print(
            "reference server: not installed (set VISIONFLOW_REFERENCE_PYTHON to a python "
            "with `inference` installed for a side-by-side comparison)"
        )
    path = write_results(
        "server",
        {
            "levels": list(LEVELS),
            "duration_s": DURATION_S,
            "visionflow": ours,
            "in_process_s": in_process,
            "http_overhead_s": overhead,
            "reference": reference,
        },
    )
    print(f"results: {path}")


if __name__ == "__main__":
    main()
