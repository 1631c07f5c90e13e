"""Inline Python blocks on a repeated document: compile + run per request.

The reference compiles the Python code of ``dynamic_blocks_definitions`` on every engine
initialisation (its server initialises an engine per request): 100+ ms. visionflow compiles
each definition once per process (keyed by its hash) and each document once (plan cache).
Target (issue 3): under 1 ms for a repeated document.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import IMAGE_INPUT, best_of, ms, print_table, us, write_results
from bench_engine import reference_python

from visionflow import ExecutionEngine

CODE = """
def run(self, image, factor):
    h, w = image.numpy_image.shape[:2]
    return {"area": int(h * w * factor)}
"""

DOCUMENT: dict[str, Any] = {
    "version": "1.0",
    "inputs": [IMAGE_INPUT],
    "dynamic_blocks_definitions": [
        {
            "type": "DynamicBlockDefinition",
            "manifest": {
                "type": "ManifestDescription",
                "block_type": "Area",
                "inputs": {
                    "image": {"type": "DynamicInputDefinition", "selector_types": ["input_image"]},
                    "factor": {"type": "DynamicInputDefinition", "value_types": ["float"]},
                },
                "outputs": {"area": {"type": "DynamicOutputDefinition", "kind": ["integer"]}},
            },
            "code": {"type": "PythonCode", "run_function_code": CODE},
        }
    ],
    "steps": [{"type": "Area", "name": "area", "image": "$inputs.image", "factor": 0.5}],
    "outputs": [{"type": "JsonField", "name": "area", "selector": "$steps.area.area"}],
}


def main() -> None:
    image = np.zeros((64, 64, 3), dtype=np.uint8)

    def request() -> None:
        engine = ExecutionEngine.init(workflow_definition=DOCUMENT, allow_python_blocks=True)
        engine.run(runtime_parameters={"image": image})

    ours = best_of(request, number=200)
    reference = None
    python = reference_python()
    if python:
        spec = {
            "repeat": 3,
            "number": 10,
            "cases": {"python": {"definition": DOCUMENT, "batch": 1, "init_each_run": True}},
        }
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            json.dump(spec, handle)
        script = Path(__file__).parent / "reference_engine.py"
        completed = subprocess.run(
            [python, str(script), handle.name],
            capture_output=True,
            text=True,
            timeout=900,
            env={"ALLOW_CUSTOM_PYTHON_EXECUTION_IN_WORKFLOWS": "True", "PATH": "/usr/bin:/bin"},
        )
        if completed.returncode == 0:
            reference = json.loads(completed.stdout.strip().splitlines()[-1])["runs"]["python"]
        else:
            print(f"reference engine failed:\n{completed.stderr[-1500:]}")
    rows = [["visionflow (compile + run, repeated document)", us(ours)]]
    if reference is not None:
        rows.append(["reference (init + run, as its server does per request)", ms(reference)])
        rows.append(["ratio", f"{reference / ours:.0f}x"])
    else:
        rows.append(["reference", "not installed (make bench-reference)"])
    print_table("Inline Python block: one request", ["what", "time"], rows)
    print(f"target < 1 ms for a repeated document: {'met' if ours < 1e-3 else 'MISSED'}")
    print(
        f"results: {write_results('python_blocks', {'visionflow_s': ours, 'reference_s': reference})}"
    )


if __name__ == "__main__":
    main()
