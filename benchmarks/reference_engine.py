"""Runs inside the reference's environment (roboflow_workflows); prints JSON timings.

Used by bench_engine.py and bench_import.py to measure the reference side by side with
visionflow in the same run. Reads the documents to run from argv[1] (a JSON file).
"""

from __future__ import annotations

import json
import statistics
import sys
import time


def main() -> None:
    with open(sys.argv[1]) as handle:
        spec = json.load(handle)
    started = time.perf_counter()
    from roboflow_workflows.execution_engine.core import ExecutionEngine

    import_s = time.perf_counter() - started
    import numpy as np

    image = np.zeros((64, 64, 3), dtype=np.uint8)
    results = {"import_s": import_s, "runs": {}}
    init_parameters = {"workflows_core.model_manager": None, "workflows_core.api_key": None}
    for key, case in spec["cases"].items():

        def init(definition: dict = case["definition"]) -> ExecutionEngine:
            return ExecutionEngine.init(
                workflow_definition=definition,
                init_parameters=init_parameters,
                max_concurrent_steps=1,
            )

        engine = init()
        runtime = {"image": [image] * case["batch"]}
        engine.run(runtime_parameters=runtime)
        rounds = []
        for _ in range(spec["repeat"]):
            start = time.perf_counter()
            for _ in range(spec["number"]):
                # "init_each_run": what a server does per request (the reference's does)
                (init() if case.get("init_each_run") else engine).run(runtime_parameters=runtime)
            rounds.append((time.perf_counter() - start) / spec["number"])
        results["runs"][key] = statistics.median(rounds)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
