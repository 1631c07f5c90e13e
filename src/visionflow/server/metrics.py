"""Prometheus metrics, written by hand in the text exposition format (no extra dependency).

Requests by route and status, latency histograms per route and per workflow, step timings per
block type, errors by type and code, runs in flight and refused, loaded models. Label values
that clients control (workflow names) are capped so a caller cannot grow the registry forever.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from visionflow.engine import Profiler

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_MAX_WORKFLOW_LABELS = 200
_LE_INF = 'le="+Inf"'


class _Histogram:
    __slots__ = ("count", "counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(_BUCKETS) + 1)
        self.count = 0
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(_BUCKETS, value)] += 1
        self.count += 1
        self.total += value


class Metrics:
    """The server's metrics registry; thread-safe, cheap to update."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, str], int] = {}
        self.request_seconds: dict[tuple[str], _Histogram] = {}
        self.workflow_seconds: dict[tuple[str], _Histogram] = {}
        self.step_seconds: dict[tuple[str], _Histogram] = {}
        self.errors: dict[tuple[str, str], int] = {}
        self.rejected: dict[tuple[str], int] = {}
        self.in_flight = 0
        self.started = time.time()

    # -- updates ----------------------------------------------------------------------------
    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        with self._lock:
            key = (route, method, str(status))
            self.requests[key] = self.requests.get(key, 0) + 1
            _histogram(self.request_seconds, (route,)).observe(seconds)

    def observe_workflow(self, workflow: str, seconds: float) -> None:
        with self._lock:
            if (workflow,) not in self.workflow_seconds and (
                len(self.workflow_seconds) >= _MAX_WORKFLOW_LABELS
            ):
                workflow = "other"
            _histogram(self.workflow_seconds, (workflow,)).observe(seconds)

    def observe_step(self, block_type: str, seconds: float) -> None:
        with self._lock:
            _histogram(self.step_seconds, (block_type,)).observe(seconds)

    def count_error(self, error_type: str, code: str) -> None:
        with self._lock:
            key = (error_type, code)
            self.errors[key] = self.errors.get(key, 0) + 1

    def count_rejected(self, reason: str) -> None:
        with self._lock:
            self.rejected[(reason,)] = self.rejected.get((reason,), 0) + 1

    def add_in_flight(self, delta: int) -> None:
        with self._lock:
            self.in_flight += delta

    # -- exposition -------------------------------------------------------------------------
    def render(self, loaded_models: Iterable[str] = ()) -> str:
        """The registry in Prometheus text format 0.0.4."""
        with self._lock:
            lines: list[str] = []
            _counter(
                lines,
                "visionflow_http_requests_total",
                "HTTP requests by route template, method and status.",
                ("route", "method", "status"),
                self.requests,
            )
            _histograms(
                lines,
                "visionflow_http_request_duration_seconds",
                "HTTP request latency by route template.",
                ("route",),
                self.request_seconds,
            )
            _histograms(
                lines,
                "visionflow_workflow_run_duration_seconds",
                "Workflow run time by workflow (saved id, workflow_id or definition digest).",
                ("workflow",),
                self.workflow_seconds,
            )
            _histograms(
                lines,
                "visionflow_step_duration_seconds",
                "Step run time by block type.",
                ("block_type",),
                self.step_seconds,
            )
            _counter(
                lines,
                "visionflow_errors_total",
                "Error answers by error type and visionflow error code.",
                ("error_type", "code"),
                self.errors,
            )
            _counter(
                lines,
                "visionflow_runs_rejected_total",
                "Runs refused before running (queue full).",
                ("reason",),
                self.rejected,
            )
            lines += [
                "# HELP visionflow_runs_in_flight Runs queued or running.",
                "# TYPE visionflow_runs_in_flight gauge",
                f"visionflow_runs_in_flight {self.in_flight}",
            ]
        models = sorted(loaded_models)
        lines += [
            "# HELP visionflow_models_loaded Models loaded in memory.",
            "# TYPE visionflow_models_loaded gauge",
            f"visionflow_models_loaded {len(models)}",
            "# HELP visionflow_model_loaded A loaded model (always 1).",
            "# TYPE visionflow_model_loaded gauge",
        ]
        lines += [f'visionflow_model_loaded{{model_id="{_escape(m)}"}} 1' for m in models]
        return "\n".join(lines) + "\n"

    def profiler(self, *, keep_trace: bool = False) -> Profiler:
        """A profiler feeding step timings into this registry (and a trace if asked)."""
        return MetricsProfiler(self.observe_step, keep_trace=keep_trace)


class MetricsProfiler(Profiler):
    """Engine profiler hook: step timings go to metrics; events are kept only for a trace.

    Whole-run timings are observed by the server itself, which knows the workflow's name.
    """

    def __init__(self, on_step: Callable[[str, float], None], *, keep_trace: bool = False) -> None:
        super().__init__()
        self._on_step = on_step
        self._keep = keep_trace

    def record(self, name: str, category: str, start: float, end: float, **args: Any) -> None:
        if category == "workflow_step":
            self._on_step(str(args.get("block_type", name)), end - start)
        if self._keep:
            super().record(name, category, start, end, **args)


def _histogram(table: dict[tuple[str], _Histogram], key: tuple[str]) -> _Histogram:
    histogram = table.get(key)
    if histogram is None:
        histogram = table[key] = _Histogram()
    return histogram


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(names: tuple[str, ...], values: tuple[str, ...], extra: str = "") -> str:
    parts = [f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=False)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _counter(
    lines: list[str], name: str, help_: str, names: tuple[str, ...], table: dict[Any, int]
) -> None:
    lines += [f"# HELP {name} {help_}", f"# TYPE {name} counter"]
    lines += [f"{name}{_labels(names, key)} {value}" for key, value in sorted(table.items())]


def _histograms(
    lines: list[str],
    name: str,
    help_: str,
    names: tuple[str, ...],
    table: dict[tuple[str], _Histogram],
) -> None:
    lines += [f"# HELP {name} {help_}", f"# TYPE {name} histogram"]
    for key, histogram in sorted(table.items()):
        cumulative = 0
        for bound, count in zip(_BUCKETS, histogram.counts, strict=False):
            cumulative += count
            le = 'le="' + str(bound) + '"'
            lines.append(f"{name}_bucket{_labels(names, key, le)} {cumulative}")
        lines.append(f"{name}_bucket{_labels(names, key, _LE_INF)} {histogram.count}")
        lines.append(f"{name}_sum{_labels(names, key)} {histogram.total:.6f}")
        lines.append(f"{name}_count{_labels(names, key)} {histogram.count}")


__all__ = ["Metrics", "MetricsProfiler"]
