"""Where runs execute: one engine per compiled plan, a bounded pool of run workers.

- ``EngineCache`` keeps one ``ExecutionEngine`` per plan digest (LRU), so block state, the
  step pool and model handles are reused across requests; the plan itself comes from
  ``compile_workflow``'s content cache.
- ``RunPool`` runs jobs on ``max_concurrent_runs`` threads and admits at most
  ``max_queued_runs`` more waiting; beyond that a request is refused at once (503 with
  ``Retry-After``) instead of piling up. A run that outlives ``run_timeout_s`` gets a 504
  promptly; Python threads cannot be killed, so the run finishes in the background and its slot
  (and its place in the admission count) is only released when it ends: a stuck workflow
  degrades capacity visibly (``visionflow_runs_in_flight``) rather than overcommitting.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from visionflow.compiler import Plan, compile_workflow
from visionflow.engine import ExecutionEngine, InputPolicy
from visionflow.server.errors import run_timeout, server_busy
from visionflow.server.metrics import Metrics

T = TypeVar("T")

#: the server reads no files and fetches URLs itself (``server.urls``), never the engine
_ENGINE_INPUTS = InputPolicy(allow_file=False, allow_url=False)


class EngineCache:
    """One engine per plan digest, least recently used evicted first."""

    def __init__(
        self,
        *,
        size: int,
        max_concurrent_steps: int,
        allow_python_blocks: bool,
        metrics: Metrics,
    ) -> None:
        self._size = size
        self._steps = max_concurrent_steps
        self._allow_python = allow_python_blocks
        self._metrics = metrics
        self._engines: OrderedDict[str, ExecutionEngine] = OrderedDict()
        self._lock = threading.Lock()

    def plan(self, definition: Mapping[str, Any]) -> Plan:
        """Compile (or fetch the cached plan of) a definition, bare or wrapped."""
        return compile_workflow(dict(definition), allow_python_blocks=self._allow_python)

    def engine(self, plan: Plan) -> ExecutionEngine:
        with self._lock:
            engine = self._engines.get(plan.digest)
            if engine is not None:
                self._engines.move_to_end(plan.digest)
                return engine
        # built outside the lock: block constructors may take a while (model handles)
        engine = self.fresh_engine(plan)
        with self._lock:
            engine = self._engines.setdefault(plan.digest, engine)
            self._engines.move_to_end(plan.digest)
            while len(self._engines) > self._size:
                # not closed: a run may still be using it; its pool winds down when collected
                self._engines.popitem(last=False)
        return engine

    def fresh_engine(self, plan: Plan, *, keep_trace: bool = False) -> ExecutionEngine:
        """An engine of its own (a profiled run must not mix its trace with others')."""
        return ExecutionEngine(
            plan,
            max_concurrent_steps=self._steps,
            input_policy=_ENGINE_INPUTS,
            profiler=self._metrics.profiler(keep_trace=keep_trace),
        )

    def __len__(self) -> int:
        return len(self._engines)


class RunPool:
    """A bounded pool of run workers with an admission limit and a per-run timeout."""

    def __init__(
        self,
        *,
        max_concurrent: int,
        max_queued: int,
        timeout_s: float,
        metrics: Metrics,
        retry_after_s: int = 1,
    ) -> None:
        self._max_concurrent = max_concurrent
        self._executor: ThreadPoolExecutor | None = None
        self._capacity = max_concurrent + max_queued
        self._timeout = timeout_s
        self._metrics = metrics
        self._retry_after = retry_after_s
        self._pending = 0
        self._lock = threading.Lock()

    @property
    def pending(self) -> int:
        """Runs admitted and not finished (queued, running, or timed out and still running)."""
        return self._pending

    async def run(self, job: Callable[..., T], *args: Any) -> T:
        """Run ``job(*args)`` on a worker; 503 when full, 504 past the timeout."""
        with self._lock:
            if self._pending >= self._capacity:
                self._metrics.count_rejected("queue_full")
                raise server_busy(self._retry_after)
            self._pending += 1
        self._metrics.add_in_flight(1)
        try:
            future: Future[T] = self._workers().submit(job, *args)
        except BaseException:
            self._release(None)
            raise
        future.add_done_callback(self._release)
        try:
            # cancelling the wrapper on timeout also cancels a job that has not started yet
            return await asyncio.wait_for(asyncio.wrap_future(future), self._timeout)
        except asyncio.TimeoutError:
            self._metrics.count_rejected("timeout")
            raise run_timeout(self._timeout) from None

    def _release(self, _future: Future[Any] | None) -> None:
        with self._lock:
            self._pending -= 1
        self._metrics.add_in_flight(-1)

    def _workers(self) -> ThreadPoolExecutor:
        # created on first use, and again after a shutdown: an app's lifespan may run twice
        # (tests, embedding), and a closed pool must not turn every later run into a 500
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    self._max_concurrent, thread_name_prefix="visionflow-run"
                )
            return self._executor

    def shutdown(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)


__all__ = ["EngineCache", "RunPool"]
