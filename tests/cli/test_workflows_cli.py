"""``visionflow workflows``: save, list, show, delete and import, with messages and exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from visionflow.cli import app
from visionflow.server.store import WorkflowStore


def definition(output: str = "out") -> dict[str, Any]:
    return {
        "version": "1.0",
        "inputs": [{"type": "WorkflowImage", "name": "image"}],
        "steps": [],
        "outputs": [{"type": "JsonField", "name": output, "selector": "$inputs.image"}],
    }


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    monkeypatch.setenv("VISIONFLOW_HOME", str(folder))
    monkeypatch.delenv("VISIONFLOW_WORKSPACE", raising=False)
    return folder


def write(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document))
    return path


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["workflows", *args])
    return result.exit_code, result.stdout, result.stderr


def listed(workspace: str = "ws") -> list[dict[str, Any]]:
    code, out, err = invoke("list", "--workspace", workspace, "--json")
    assert code == 0, err
    rows: list[dict[str, Any]] = json.loads(out)
    return rows


def test_save_list_show_delete(home: Path, tmp_path: Path) -> None:
    file = write(tmp_path / "a.json", definition("first"))
    code, out, err = invoke("save", str(file), "--workspace", "ws", "--id", "detect")
    assert code == 0, err
    assert "saved ws/detect version 1" in out
    write(file, {"specification": definition("second")})
    code, out, _ = invoke("save", str(file), "-w", "ws", "--id", "detect")
    assert "version 2" in out
    code, out, _ = invoke("save", str(file), "-w", "ws", "--id", "detect")
    assert code == 0 and "unchanged" in out and "version 2" in out

    rows = listed()
    assert [(r["workflow_id"], r["latest_version"], r["versions"]) for r in rows] == [
        ("detect", 2, 2)
    ]
    code, out, _ = invoke("list", "-w", "ws")
    assert code == 0 and "detect" in out

    code, out, _ = invoke("show", "detect", "--workspace", "ws")
    assert code == 0 and json.loads(out) == definition("second")
    code, out, _ = invoke("show", "detect", "--workspace", "ws", "--version", "1")
    assert json.loads(out) == definition("first")

    code, out, _ = invoke("delete", "detect", "--workspace", "ws")
    assert code == 0 and "deleted ws/detect" in out
    assert listed() == []
    # the CLI writes the file the server reads
    assert (home / "workflows.sqlite3").is_file()


def test_the_store_is_shared_with_the_server_side(home: Path, tmp_path: Path) -> None:
    with WorkflowStore(home / "workflows.sqlite3") as store:
        store.save("ws", "from-server", definition())
    assert [r["workflow_id"] for r in listed()] == ["from-server"]
    file = write(tmp_path / "x.json", definition("cli"))
    invoke("save", str(file), "-w", "ws", "--id", "from-cli")
    with WorkflowStore(home / "workflows.sqlite3") as store:
        saved = store.get("ws", "from-cli")
        assert saved is not None and saved.definition == definition("cli")


def test_workspace_from_the_environment(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VISIONFLOW_WORKSPACE", "env-ws")
    file = write(tmp_path / "a.json", definition())
    assert invoke("save", str(file), "--id", "wf")[0] == 0
    assert [r["workflow_id"] for r in listed("env-ws")] == ["wf"]
    assert listed("other") == []


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("show", "nope", "-w", "ws"), 1, "'nope' was not found in workspace 'ws'"),
        (("show", "wf", "-w", "ws", "--version", "9"), 1, "version '9' was not found"),
        (("show", "wf", "-w", "ws", "--version", "x"), 2, "not a workflow version"),
        (("delete", "nope", "-w", "ws"), 1, "was not found"),
        (("show", "bad/id", "-w", "ws"), 2, "not a valid workflow id"),
        (("list", "-w", "bad ws"), 2, "not a valid workspace"),
        (("save", "{file}", "-w", "ws", "--id", "a b"), 2, "not a valid workflow id"),
        (("save", "{missing}", "-w", "ws", "--id", "wf"), 2, "cannot read workflow file"),
        (("save", "{invalid}", "-w", "ws", "--id", "wf"), 2, "NoSuchBlock"),
    ],
)
def test_errors_and_exit_codes(
    home: Path, tmp_path: Path, args: tuple[str, ...], code: int, message: str
) -> None:
    good = write(tmp_path / "good.json", definition())
    invalid = write(
        tmp_path / "invalid.json", {**definition(), "steps": [{"type": "NoSuchBlock", "name": "s"}]}
    )
    invoke("save", str(good), "-w", "ws", "--id", "wf")
    paths = {"file": str(good), "invalid": str(invalid), "missing": str(tmp_path / "none.json")}
    exit_code, _, err = invoke(*(arg.format(**paths) for arg in args))
    assert exit_code == code
    assert message in " ".join(err.split())


def test_workspace_is_required(home: Path) -> None:
    exit_code, _, err = invoke("list")
    assert exit_code == 2 and "--workspace" in err


def test_import_a_folder(home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    write(folder / "detect.json", definition("a"))
    write(folder / "crop.v2.json", {"specification": definition("b")})
    write(folder / "broken.json", {**definition(), "steps": [{"type": "NoSuchBlock", "name": "s"}]})
    (folder / "not-json.json").write_text("{nope")
    write(folder / "bad name.json", definition())
    (folder / "notes.txt").write_text("ignored")

    exit_code, out, err = invoke("import", str(folder), "--workspace", "ws")
    assert exit_code == 1
    err = " ".join(err.split())
    assert "broken.json" in err and "NoSuchBlock" in err
    assert "not-json.json" in err and "not valid JSON" in err
    assert "bad name.json" in err and "not a valid workflow id" in err
    assert "2 of 5 workflows imported" in err
    assert "saved ws/crop.v2 version 1" in out and "saved ws/detect version 1" in out
    assert [r["workflow_id"] for r in listed()] == ["crop.v2", "detect"]

    # importing again changes nothing and succeeds for the good files
    for bad in ("broken.json", "not-json.json", "bad name.json"):
        (folder / bad).unlink()
    exit_code, out, _ = invoke("import", str(folder), "-w", "ws")
    assert exit_code == 0
    assert out.count("unchanged") == 2 and "2 of 2 workflows imported" in out
    assert [r["latest_version"] for r in listed()] == [1, 1]


def test_import_an_empty_folder(home: Path, tmp_path: Path) -> None:
    exit_code, _, err = invoke("import", str(tmp_path), "-w", "ws")
    assert exit_code == 2 and "no *.json files" in err
