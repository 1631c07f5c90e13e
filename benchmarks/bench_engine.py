"""Engine overhead per run: 1-step and 10-step documents of cheap blocks, 1 image and 8.

The steps are property definitions without operations, so a run's time is almost all engine
overhead (input decoding, scheduling, output assembly). Overhead = time of a run minus the time
spent inside the blocks' ``run()``. When the
reference engine is installed (``make bench-reference``), the same documents run through it
in the same benchmark and the table prints the ratio.
Targets (issue 2): under 50 µs of overhead per step; at least 10x below the reference.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_of, cheap_document, print_table, us, write_results

from visionflow import ExecutionEngine

CASES = {f"{steps}-step x{batch}": (steps, batch) for steps in (1, 10) for batch in (1, 8)}
REPEAT, NUMBER = 5, 300


def _instrument(engine: ExecutionEngine) -> list[float]:
    spent = [0.0]
    for block in engine._blocks.values():
        original = block.run

        def timed(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                spent[0] += time.perf_counter() - start

        block.run = timed  # type: ignore[method-assign]
    return spent


def measure_visionflow() -> dict[str, dict[str, float]]:
    image = np.zeros((64, 64, 3), dtype=np.uint8)
    results = {}
    for key, (steps, batch) in CASES.items():
        engine = ExecutionEngine.init(workflow_definition=cheap_document(steps))
        runtime = {"image": [image] * batch}
        total = best_of(
            lambda e=engine, r=runtime: e.run(runtime_parameters=r), repeat=REPEAT, number=NUMBER
        )
        spent = _instrument(engine)
        calls = 0
        start = time.perf_counter()
        while time.perf_counter() - start < 0.5:
            engine.run(runtime_parameters=runtime)
            calls += 1
        instrumented = (time.perf_counter() - start) / calls
        in_blocks = spent[0] / calls
        results[key] = {
            "run_s": total,
            "in_blocks_s": in_blocks,
            # the instrumented run pays for the timers too: compare against it
            "overhead_s": max(instrumented - in_blocks, 0.0),
            "steps": steps,
            "batch": batch,
        }
    return results


def reference_python() -> str | None:
    candidate = os.environ.get("VISIONFLOW_REFERENCE_PYTHON") or str(
        Path(__file__).parent / ".reference-venv" / "bin" / "python"
    )
    return candidate if Path(candidate).exists() else None


def measure_reference(python: str) -> dict[str, Any] | None:
    spec = {
        "repeat": REPEAT,
        "number": 50,
        "cases": {
            key: {"definition": cheap_document(steps), "batch": batch}
            for key, (steps, batch) in CASES.items()
        },
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(spec, handle)
    script = Path(__file__).parent / "reference_engine.py"
    completed = subprocess.run(
        [python, str(script), handle.name], capture_output=True, text=True, timeout=900
    )
    if completed.returncode != 0:
        print(f"reference engine failed:\n{completed.stderr[-2000:]}")
        return None
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    ours = measure_visionflow()
    python = reference_python()
    reference = measure_reference(python) if python else None
    rows = []
    for key, values in ours.items():
        ref = reference["runs"][key] if reference else None
        rows.append(
            [
                key,
                us(values["run_s"]),
                us(values["overhead_s"]),
                us(ref) if ref else "not installed",
                f"{ref / values['run_s']:.1f}x" if ref else "-",
            ]
        )
    print_table(
        "Engine: time per run (chains of cheap property_definition steps on a 64x64 image)",
        ["case", "visionflow run", "overhead", "reference run", "speed-up"],
        rows,
    )
    # A run costs a fixed part (decoding the inputs, assembling the outputs) plus a part per
    # step; the 1-step and 10-step documents separate the two.
    split_rows = []
    worst_step = 0.0
    for batch in (1, 8):
        one, ten = ours[f"1-step x{batch}"], ours[f"10-step x{batch}"]
        per_step = (ten["overhead_s"] - one["overhead_s"]) / 9
        worst_step = max(worst_step, per_step)
        split_rows.append([f"batch of {batch}", us(one["overhead_s"] - per_step), us(per_step)])
    print_table(
        "Engine overhead split", ["case", "per run (inputs, outputs)", "per step"], split_rows
    )
    print(
        f"target overhead < 50 µs per step: {'met' if worst_step < 50e-6 else 'MISSED'} "
        f"(worst {us(worst_step)})"
    )
    if reference is not None:
        worst_ratio = min(reference["runs"][k] / v["run_s"] for k, v in ours.items())
        print(
            f"target at least 10x below the reference: "
            f"{'met' if worst_ratio >= 10 else 'MISSED'} (worst {worst_ratio:.1f}x)"
        )
    if reference is None:
        print(
            "reference engine: not installed here; `make bench-reference` installs it "
            "(roboflow-workflows with torch, several GB) for a side-by-side ratio"
        )
    path = write_results("engine", {"visionflow": ours, "reference": reference})
    print(f"results: {path}")


if __name__ == "__main__":
    main()
