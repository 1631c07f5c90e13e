"""Every fixture runs through the Python API, the compat API and the CLI, and gives the
reference engine's output (ids and JPEG bytes aside)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fixtures import REPO, compared, fixture_paths, load, runtime_inputs
from typer.testing import CliRunner

import visionflow
from visionflow.cli import app

PATHS = fixture_paths()


def _ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


@pytest.mark.parametrize("path", PATHS, ids=_ids(PATHS))
def test_python_api(path: Path) -> None:
    fixture = load(path)
    workflow = visionflow.Workflow.load(fixture["specification"])
    result = workflow.run(serialize=True, **runtime_inputs(fixture["inputs"]))
    assert compared(fixture, result) == fixture["expected"]


@pytest.mark.parametrize("path", PATHS, ids=_ids(PATHS))
def test_compat_api_in_parallel(path: Path) -> None:
    fixture = load(path)
    engine = visionflow.ExecutionEngine.init(
        workflow_definition={"specification": fixture["specification"]},
        init_parameters={},
        max_concurrent_steps=4,
    )
    result = engine.run(
        runtime_parameters=runtime_inputs(fixture["inputs"]), serialize_results=True
    )
    assert compared(fixture, result) == fixture["expected"]


def _cli_args(fixture: dict[str, Any], tmp_path: Path) -> list[str] | None:
    args: list[str] = []
    for name, value in fixture["inputs"].items():
        values = value if isinstance(value, list) else [value]
        if all(isinstance(v, dict) and "$image" in v for v in values):
            args += [arg for v in values for arg in ("--image", f"{name}={REPO / v['$image']}")]
        elif isinstance(value, dict) and "$json" in value:
            args += ["--param", f"{name}=@{REPO / value['$json']}"]
        elif all(isinstance(v, dict) and "$json" in v for v in values):
            batch = tmp_path / f"{name}.json"
            batch.write_text(
                json.dumps([json.loads((REPO / v["$json"]).read_text()) for v in values])
            )
            args += ["--param", f"{name}=@{batch}"]
        elif any(isinstance(v, dict) and ("$image" in v or "$json" in v) for v in values):
            return None  # mixed forms have no command-line spelling
        else:
            args += ["--param", f"{name}={json.dumps(value)}"]
    return args


@pytest.mark.parametrize("path", PATHS, ids=_ids(PATHS))
def test_cli(path: Path, tmp_path: Path) -> None:
    """The command line's own code (arguments, inputs, JSON printing), run in-process;
    tests/cli runs it as a subprocess too."""
    fixture = load(path)
    args = _cli_args(fixture, tmp_path)
    assert args is not None, "fixture inputs must be expressible on the command line"
    workflow_file = tmp_path / "workflow.json"
    workflow_file.write_text(json.dumps(fixture["specification"]))
    result = CliRunner().invoke(app, ["run", str(workflow_file), *args])
    assert result.exit_code == 0, result.output
    assert compared(fixture, json.loads(result.stdout)) == fixture["expected"]
