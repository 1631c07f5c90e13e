"""Per-step timings, exported as a Chrome trace (``chrome://tracing``, Perfetto).

Costs nothing when unused: the engine only calls a profiler that was asked for.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from typing import Any


class Profiler:
    """Collects complete events (``ph: "X"``) for steps and whole runs.

    Keeps the newest ``max_events`` until exported, so a profiler left on in a long-running
    process cannot grow without bound.
    """

    def __init__(self, max_events: int = 100_000) -> None:
        self._events: deque[dict[str, Any]] = deque(maxlen=max_events)
        self._lock = threading.Lock()
        self._origin = time.perf_counter()
        self._pid = os.getpid()

    def _us(self, t: float) -> float:
        return round((t - self._origin) * 1e6, 3)

    def record(self, name: str, category: str, start: float, end: float, **args: Any) -> None:
        event = {
            "name": name,
            "cat": category,
            "ph": "X",
            "ts": self._us(start),
            "dur": round((end - start) * 1e6, 3),
            "pid": self._pid,
            "tid": threading.get_ident(),
            "args": args,
        }
        with self._lock:
            self._events.append(event)

    def record_step(self, step: str, block_type: str, start: float, end: float) -> None:
        self.record(step, "workflow_step", start, end, block_type=block_type)

    def export_trace(self, *, clear: bool = True) -> list[dict[str, Any]]:
        """The recorded events, oldest first."""
        with self._lock:
            events = list(self._events)
            if clear:
                self._events.clear()
        return events
