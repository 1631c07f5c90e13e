"""The load generator of bench_server.py: processes of keep-alive client threads.

A module of its own so that the spawned load processes can import the worker (a function
defined in a script run through ``run_all.py`` could not be found by them).
"""

from __future__ import annotations

import multiprocessing
import statistics
import threading
import time
from typing import Any

import httpx

#: client threads per load-generator process: more would measure the generator's own GIL
THREADS_PER_PROCESS = 8


def _load_worker(args: tuple[str, bytes, int, float, float]) -> tuple[list[float], int]:
    """One load-generator process: ``threads`` keep-alive clients posting until ``stop_at``."""
    url, body, threads, start_at, stop_at = args
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors = [0] * threads
    headers = {"Content-Type": "application/json"}

    def loop(slot: int) -> None:
        with httpx.Client(timeout=120.0) as client:
            client.post(url, content=body, headers=headers)  # opens the connection
            while time.time() < start_at:
                time.sleep(0.001)
            while time.time() < stop_at:
                began = time.perf_counter()
                response = client.post(url, content=body, headers=headers)
                elapsed = time.perf_counter() - began
                if response.status_code == 200:
                    latencies[slot].append(elapsed)
                else:
                    errors[slot] += 1

    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return [x for per_thread in latencies for x in per_thread], sum(errors)


def load(url: str, body: bytes, concurrency: int, duration: float) -> dict[str, Any]:
    """``concurrency`` clients posting ``body`` for ``duration`` seconds."""
    processes = max(1, concurrency // THREADS_PER_PROCESS)
    per_process = [concurrency // processes] * processes
    for i in range(concurrency % processes):
        per_process[i] += 1
    # every client connects first; the clock starts for all at once
    start_at = time.time() + 1.0 + 0.1 * processes
    stop_at = start_at + duration
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes) as pool:
        parts = pool.map(_load_worker, [(url, body, n, start_at, stop_at) for n in per_process])
    latencies = sorted(x for part, _ in parts for x in part)
    errors = sum(e for _, e in parts)
    if not latencies:
        raise RuntimeError(f"no successful request at concurrency {concurrency} ({errors} errors)")
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    return {
        "concurrency": concurrency,
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / duration,
        "p50_s": p50,
        "p99_s": p99,
        "p99_over_p50": p99 / p50,
    }
