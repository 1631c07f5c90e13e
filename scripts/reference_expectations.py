"""Fill ``expected`` of the workflow fixtures by running the reference engine.

Run with the reference's interpreter (roboflow-workflows installed), e.g.::

    benchmarks/.reference-venv/bin/python scripts/reference_expectations.py [NAME ...]

Fixtures with a ``reference_differs`` reason (the reference crashes or gives something unusable
there; see docs/compatibility.md) are skipped: their ``expected`` is written and checked by hand.

Only a developer tool: visionflow's tests compare against what it wrote and never need the
reference installed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "workflows"))
import fixtures


def main(names: list[str]) -> None:
    from roboflow_workflows.execution_engine.core import ExecutionEngine

    for path in fixtures.fixture_paths():
        if names and path.stem not in names:
            continue
        fixture = fixtures.load(path)
        if fixture.get("reference_differs"):
            print(f"{path.name}: skipped ({fixture['reference_differs']})")
            continue
        engine = ExecutionEngine.init(
            workflow_definition=fixture["specification"],
            init_parameters={"workflows_core.model_manager": None, "workflows_core.api_key": None},
            max_concurrent_steps=1,
        )
        result = engine.run(
            runtime_parameters=fixtures.runtime_inputs(fixture["inputs"]), serialize_results=True
        )
        stored = json.loads(path.read_text())
        stored["expected"] = fixtures.compared(fixture, json.loads(json.dumps(result, default=str)))
        path.write_text(json.dumps(stored, indent=1) + "\n")
        print(f"{path.name}: {len(stored['expected'])} result(s)")


if __name__ == "__main__":
    main(sys.argv[1:])
