"""The command line, run as a user runs it (a subprocess), checked on output and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "examples" / "crop_and_filter.json"
DOG = REPO / "examples" / "images" / "dog.jpg"
PREDICTIONS = REPO / "examples" / "dog_predictions.json"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "visionflow.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )


def broken(tmp_path: Path) -> Path:
    document = json.loads(DEMO.read_text())
    document["steps"][3]["predictions"] = "$steps.wantd.predictions"
    document["outputs"][2]["selector"] = "$steps.crops.crop"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(document))
    return path


def test_validate_a_valid_workflow_lists_its_interface() -> None:
    result = cli("validate", str(DEMO))
    assert result.returncode == 0
    assert "valid" in result.stdout
    assert "input predictions: object_detection_prediction" in result.stdout


def test_validate_prints_every_problem_with_its_location_and_exits_2(tmp_path: Path) -> None:
    result = cli("validate", str(broken(tmp_path)))
    assert result.returncode == 2
    assert "2 problems" in result.stderr
    assert "steps[3].predictions" in result.stderr and "did you mean 'wanted'" in result.stderr
    assert "outputs[2].selector" in result.stderr and "did you mean 'crops'" in result.stderr


def test_validate_a_file_that_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    path.write_text("{nope")
    result = cli("validate", str(path))
    assert result.returncode == 2
    assert "is not valid JSON" in result.stderr and "spec.invalid_json" in result.stderr


def test_run_prints_json_and_writes_image_outputs(tmp_path: Path) -> None:
    result = cli(
        "run",
        str(DEMO),
        "--image",
        str(DOG),
        "--param",
        f"predictions=@{PREDICTIONS}",
        "--param",
        "min_confidence=0.6",
        "--output-dir",
        str(tmp_path / "out"),
    )
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert [p["class"] for p in printed[0]["objects"]["predictions"]] == ["dog"]
    assert printed[0]["count"] == 1
    written = json.loads((tmp_path / "out" / "result.json").read_text())
    crop_file = tmp_path / "out" / written[0]["crops"][0]["value"]
    assert cv2.imread(str(crop_file)).shape == (313, 186, 3)


def test_run_with_a_missing_image_is_a_usage_error() -> None:
    result = cli("run", str(DEMO), "--image", "nope.jpg")
    assert result.returncode == 2
    assert "no such file 'nope.jpg'" in result.stderr


def test_run_with_a_bad_input_value_exits_1() -> None:
    result = cli("run", str(DEMO), "--image", str(DOG), "--param", "predictions=[1, 2]")
    assert result.returncode == 1
    assert "inputs.predictions" in result.stderr


def test_run_an_invalid_workflow_exits_2(tmp_path: Path) -> None:
    result = cli("run", str(broken(tmp_path)), "--image", str(DOG))
    assert result.returncode == 2
    assert "compile.dangling_selector" in result.stderr


def test_blocks_lists_identifiers_and_aliases() -> None:
    result = cli("blocks")
    assert result.returncode == 0
    assert "roboflow_core/dynamic_crop@v1" in result.stdout
    described = json.loads(cli("blocks", "--json").stdout)
    crop = next(
        b for b in described if b["manifest_type_identifier"] == "roboflow_core/dynamic_crop@v1"
    )
    assert crop["manifest_type_identifier_aliases"] == ["DynamicCrop", "Crop"]
    assert crop["output_dimensionality_offset"] == 1
    assert {o["name"] for o in crop["outputs_manifest"]} == {"crops", "predictions"}
