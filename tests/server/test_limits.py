"""Run admission and timeouts: a full queue answers 503 with Retry-After, an overrun 504."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx

from .servers import RunningServer, parameter_workflow, sleep_workflow


def _in_flight(client: httpx.Client) -> int:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("visionflow_runs_in_flight "):
            return int(line.split()[1])
    raise AssertionError("no visionflow_runs_in_flight in /metrics")


def _wait_in_flight(client: httpx.Client, count: int, timeout_s: float = 5) -> None:
    deadline = time.monotonic() + timeout_s
    while _in_flight(client) != count:
        assert time.monotonic() < deadline, f"never reached {count} runs in flight"
        time.sleep(0.01)


def test_full_queue_answers_503_with_retry_after(
    make_server: Callable[..., RunningServer],
) -> None:
    running = make_server(max_concurrent_runs=1, max_queued_runs=1)
    slow = {"specification": sleep_workflow(0.6), "inputs": {}}
    answers: list[int] = []

    def call() -> None:
        with running.client() as own:
            answers.append(own.post("/workflows/run", json=slow).status_code)

    threads = [threading.Thread(target=call) for _ in range(2)]
    with running.client() as client:
        for thread in threads:
            thread.start()
        _wait_in_flight(client, 2)  # one running, one queued: capacity reached
        refused = client.post("/workflows/run", json=slow)
        assert refused.status_code == 503
        assert refused.headers["Retry-After"] == "1"
        assert refused.json()["error_code"] == "server.busy"
        for thread in threads:
            thread.join()
        assert answers == [200, 200]
        # capacity is back once the runs are done
        fast = client.post(
            "/workflows/run", json={"specification": parameter_workflow(), "inputs": {}}
        )
        assert fast.status_code == 200
        assert (
            'visionflow_runs_rejected_total{reason="queue_full"} 1' in client.get("/metrics").text
        )


def test_overrun_answers_504_promptly_and_holds_its_slot_until_it_ends(
    make_server: Callable[..., RunningServer],
) -> None:
    running = make_server(max_concurrent_runs=1, max_queued_runs=0, run_timeout_s=0.2)
    with running.client() as client:
        start = time.monotonic()
        response = client.post(
            "/workflows/run", json={"specification": sleep_workflow(1.0), "inputs": {}}
        )
        elapsed = time.monotonic() - start
        assert response.status_code == 504
        assert response.json()["error_code"] == "server.timeout"
        assert elapsed < 0.8, "the client is answered at the timeout, not when the run ends"
        # the overrunning run still holds the only slot: new work is refused, not overcommitted
        busy = client.post(
            "/workflows/run", json={"specification": parameter_workflow(), "inputs": {}}
        )
        assert busy.status_code == 503
        _wait_in_flight(client, 0)
        again = client.post(
            "/workflows/run", json={"specification": parameter_workflow(), "inputs": {}}
        )
        assert again.status_code == 200


def test_runs_do_not_block_the_event_loop(make_server: Callable[..., RunningServer]) -> None:
    running = make_server(max_concurrent_runs=2)
    with running.client() as client:
        thread = threading.Thread(
            target=lambda: client.post(
                "/workflows/run", json={"specification": sleep_workflow(0.5), "inputs": {}}
            )
        )
        thread.start()
        _wait_in_flight(client, 1)
        start = time.monotonic()
        assert client.get("/healthz").status_code == 200
        assert time.monotonic() - start < 0.3
        thread.join()
