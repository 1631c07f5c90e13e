"""``visionflow models``: import, list, remove, prepare, with their messages and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper
from typer.testing import CliRunner

from visionflow.cli import app

NAMES = "{0: 'person', 1: 'bicycle', 2: 'car'}"


def tiny_onnx(path: Path, names: str | None = NAMES) -> Path:
    """A (1, 3, 64, 64) identity model; ``names`` as an ultralytics export writes them."""
    dims = [1, 3, 64, 64]
    graph = helper.make_graph(
        [helper.make_node("Identity", ["images"], ["output0"])],
        "g",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, dims)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if names is not None:
        for key, value in {"names": names, "imgsz": "[64, 64]", "task": "detect"}.items():
            entry = model.metadata_props.add()
            entry.key, entry.value = key, value
    onnx.save(model, str(path))
    return path


@pytest.fixture
def models_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "models"
    monkeypatch.setenv("VISIONFLOW_MODELS_DIR", str(folder))
    return folder


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["models", *args])
    return result.exit_code, result.stdout, result.stderr


def listed() -> list[dict[str, object]]:
    code, out, _ = invoke("list", "--json")
    assert code == 0
    rows: list[dict[str, object]] = json.loads(out)
    return rows


def test_import_list_and_remove(models_dir: Path, tmp_path: Path) -> None:
    assert [row["model_id"] for row in listed()] == ["pp-ocr"]
    code, out, _ = invoke("import", str(tiny_onnx(tmp_path / "best.onnx")), "--id", "project/3")
    assert code == 0, out
    assert "imported project/3" in out and "3 classes" in out and "64x64" in out
    assert (models_dir / "project--3" / "model.json").is_file()
    rows = {row["model_id"]: row for row in listed()}
    assert rows["project/3"]["classes"] == 3 and rows["project/3"]["input_size"] == [64, 64]
    assert rows["project/3"]["file_size"] == (tmp_path / "best.onnx").stat().st_size
    assert rows["pp-ocr"]["builtin"] is True
    code, out, _ = invoke("list")
    assert code == 0 and "project/3" in out and "pp-ocr" in out
    code, out, _ = invoke("remove", "project/3")
    assert code == 0 and "removed project/3" in out
    assert [row["model_id"] for row in listed()] == ["pp-ocr"]


def test_import_without_metadata_takes_task_classes_and_size(
    models_dir: Path, tmp_path: Path
) -> None:
    source = tiny_onnx(tmp_path / "plain.onnx", names=None)
    names = tmp_path / "names.txt"
    names.write_text("cat\ndog\n")
    code, out, _ = invoke(
        "import", str(source), "--id", "pets", "--task", "classification",
        "--classes", str(names), "--input-size", "224x224",
    )  # fmt: skip
    assert code == 0, out
    manifest = json.loads((models_dir / "pets" / "model.json").read_text())
    assert manifest["class_names"] == ["cat", "dog"] and manifest["input_size"] == [224, 224]
    assert manifest["task"] == "classification"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        ([], 2, "Missing option '--id'"),
        (["--id", "m", "--input-size", "big"], 2, "expected WIDTHxHEIGHT"),
        (["--id", "m", "--task", "ocr"], 2, "Invalid value for '--task'"),
        (["--id", "m", "--classes", ","], 2, "no class names"),
        (["--id", "pp-ocr"], 1, "built-in model id"),
    ],
)
def test_import_usage_and_model_errors(
    models_dir: Path, tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    exit_code, _, err = invoke("import", str(tiny_onnx(tmp_path / "m.onnx")), *args)
    assert exit_code == code
    assert message in err
    assert not (models_dir / "m").exists()


def test_importing_twice_needs_force(models_dir: Path, tmp_path: Path) -> None:
    source = str(tiny_onnx(tmp_path / "m.onnx"))
    assert invoke("import", source, "--id", "m")[0] == 0
    code, _, err = invoke("import", source, "--id", "m")
    assert code == 1 and "--force" in err and "model.already_exists" in err
    assert invoke("import", source, "--id", "m", "--force")[0] == 0


def test_a_missing_file_is_a_usage_error(models_dir: Path, tmp_path: Path) -> None:
    code, _, err = invoke("import", str(tmp_path / "nope.onnx"), "--id", "m")
    assert code == 2 and "does not exist" in err


def test_an_unknown_id_says_did_you_mean(models_dir: Path, tmp_path: Path) -> None:
    invoke("import", str(tiny_onnx(tmp_path / "m.onnx")), "--id", "yolov8n-640")
    code, _, err = invoke("remove", "yolov8n-64")
    assert code == 1
    assert "Did you mean 'yolov8n-640'?" in err and "model.not_found" in err
    assert "visionflow models import FILE.onnx --id NAME" in err
    code, _, err = invoke("remove", "pp-ocr")
    assert code == 1 and "cannot be removed" in err


def test_prepare_calls_the_default_models_builder(
    models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Path, bool]] = []

    def prepare_default_models(root: Path, *, force: bool = False) -> None:
        calls.append((root, force))
        tiny_onnx(tmp_path / "d.onnx")

    # the builder converts real weights (its own tests cover that); here only the wiring
    module = types.ModuleType("visionflow.models.defaults")
    module.prepare_default_models = prepare_default_models  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "visionflow.models.defaults", module)
    code, out, _ = invoke("prepare", "--force")
    assert code == 0 and "default models ready" in out
    assert calls == [(models_dir, True)]


def test_the_models_command_runs_as_a_program_without_loading_onnxruntime(
    models_dir: Path,
) -> None:
    # `visionflow --help` and the sub-app must stay quick to start
    probe = (
        "import sys, visionflow.cli, visionflow.cli._models;"
        "print(sorted(m for m in ('onnxruntime', 'rapidocr', 'onnx') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr
    result = subprocess.run(
        [sys.executable, "-m", "visionflow.cli", "models", "list", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert [row["model_id"] for row in json.loads(result.stdout)] == ["pp-ocr"]
