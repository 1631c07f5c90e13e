"""``import visionflow`` time, and import until an engine can run (target: < 0.3 s)."""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import ms, print_table, write_results
from bench_engine import reference_python

SNIPPETS = {
    "import visionflow": "import visionflow",
    "import + engine ready": (
        "import visionflow; from visionflow.compiler import compile_workflow; "
        "from visionflow.blocks.registry import default_registry; default_registry.ensure_loaded()"
    ),
}
REFERENCE = "from roboflow_workflows.execution_engine.core import ExecutionEngine"


def timed_import(python: str, snippet: str, repeat: int = 5) -> float:
    code = f"import time; t=time.perf_counter(); {snippet}; print(time.perf_counter()-t)"
    runs = []
    for _ in range(repeat):
        out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
        runs.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(runs)


def main() -> None:
    results = {name: timed_import(sys.executable, code) for name, code in SNIPPETS.items()}
    rows = [[name, ms(seconds)] for name, seconds in results.items()]
    reference = reference_python()
    if reference:
        results["reference engine import"] = timed_import(reference, REFERENCE, repeat=3)
        rows.append(["reference engine import", ms(results["reference engine import"])])
        rows.append(
            [
                "ratio (reference / visionflow ready)",
                f"{results['reference engine import'] / results['import + engine ready']:.0f}x",
            ]
        )
    else:
        rows.append(["reference engine import", "not installed (make bench-reference)"])
    print_table("Import time (median of fresh interpreters)", ["what", "time"], rows)
    print(f"target import < 0.3 s: {'met' if results['import visionflow'] < 0.3 else 'MISSED'}")
    print(f"results: {write_results('import', results)}")


if __name__ == "__main__":
    main()
