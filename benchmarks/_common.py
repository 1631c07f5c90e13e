"""Shared helpers for the benchmarks: timing, documents, tables, JSON results."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
IMAGE_INPUT = {"type": "WorkflowImage", "name": "image"}


def cheap_step(i: int) -> dict[str, Any]:
    """A step whose block does almost nothing (a property definition without operations):
    the time of a run is then the engine's own."""
    return {
        "type": "roboflow_core/property_definition@v1",
        "name": f"step_{i}",
        "data": "$inputs.image" if i == 0 else f"$steps.step_{i - 1}.output",
        "operations": [],
    }


def cheap_document(steps: int) -> dict[str, Any]:
    """A chain of ``steps`` cheap steps on the input image."""
    return {
        "version": "1.0",
        "inputs": [IMAGE_INPUT],
        "steps": [cheap_step(i) for i in range(steps)],
        "outputs": [
            {"type": "JsonField", "name": "out", "selector": f"$steps.step_{steps - 1}.output"}
        ],
    }


def best_of(fn: Callable[[], Any], *, repeat: int = 5, number: int = 200) -> float:
    """Seconds per call: the median of ``repeat`` rounds of ``number`` calls."""
    fn()
    rounds = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        rounds.append((time.perf_counter() - start) / number)
    return statistics.median(rounds)


def print_table(title: str, headers: list[str], rows: list[list[Any]]) -> None:
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    print(f"\n{title}")
    print("  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))


def write_results(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    data = {
        "benchmark": name,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        **data,
    }
    path.write_text(json.dumps(data, indent=2))
    return path


def us(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} µs"


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"
