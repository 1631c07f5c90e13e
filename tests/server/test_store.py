"""The saved-workflow store: versions, scoping, names, and concurrent writers."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from visionflow.errors import SpecError
from visionflow.server.errors import ServerError
from visionflow.server.store import (
    InvalidWorkflowNameError,
    WorkflowStore,
    default_store_path,
)


def definition(output: str = "out") -> dict[str, Any]:
    """A tiny valid definition; ``output`` makes versions differ."""
    return {
        "version": "1.0",
        "inputs": [{"type": "WorkflowImage", "name": "image"}],
        "steps": [],
        "outputs": [{"type": "JsonField", "name": output, "selector": "$inputs.image"}],
    }


@pytest.fixture
def store(tmp_path: Path) -> Any:
    with WorkflowStore(tmp_path / "workflows.sqlite3") as opened:
        yield opened


def test_each_changed_save_is_a_new_version(store: WorkflowStore) -> None:
    first = store.save("ws", "wf", definition("a"))
    second = store.save("ws", "wf", {"specification": definition("b")})  # wrapped is accepted
    assert (first.version, second.version) == (1, 2)
    assert second.definition == definition("b")
    assert second.specification == {"specification": definition("b")}
    assert second.created_at >= first.created_at
    assert first.content_hash != second.content_hash


def test_saving_the_latest_definition_again_returns_it(store: WorkflowStore) -> None:
    store.save("ws", "wf", definition("a"))
    again = store.save("ws", "wf", {"specification": definition("a")})
    assert again.version == 1
    assert [v.version for v in store.versions("ws", "wf")] == [1]
    # an older definition is a change relative to the latest, so it becomes a new version
    store.save("ws", "wf", definition("b"))
    assert store.save("ws", "wf", definition("a")).version == 3


@pytest.mark.parametrize(
    ("version", "expected"),
    [(None, "c"), ("latest", "c"), (1, "a"), ("2", "b"), (3, "c"), (4, None), ("9", None)],
)
def test_get_latest_or_a_version(store: WorkflowStore, version: Any, expected: str | None) -> None:
    for name in "abc":
        store.save("ws", "wf", definition(name))
    saved = store.get("ws", "wf", version)
    if expected is None:
        assert saved is None
    else:
        assert saved is not None
        assert saved.definition == definition(expected)
        assert saved.specification["specification"]["outputs"][0]["name"] == expected


def test_unknown_workflow(store: WorkflowStore) -> None:
    assert store.get("ws", "nope") is None
    assert store.versions("ws", "nope") == []
    assert store.delete("ws", "nope") is False
    with pytest.raises(ServerError, match="'nope' was not found in workspace 'ws'"):
        store.require("ws", "nope")
    store.save("ws", "wf", definition())
    with pytest.raises(ServerError, match="version '7'") as caught:
        store.require("ws", "wf", "7")
    assert (caught.value.code, caught.value.http_status) == ("server.workflow_not_found", 404)


def test_list_versions_and_delete(store: WorkflowStore) -> None:
    store.save("ws", "b", definition("1"))
    store.save("ws", "b", definition("2"))
    store.save("ws", "a", definition("1"))
    listed = store.list("ws")
    assert [(s.workflow_id, s.latest_version, s.versions) for s in listed] == [
        ("a", 1, 1),
        ("b", 2, 2),
    ]
    assert listed[1].updated_at >= listed[1].created_at
    history = store.versions("ws", "b")
    assert [v.version for v in history] == [1, 2]
    assert all(len(v.content_hash) == 64 for v in history)

    assert store.delete("ws", "b") is True
    assert store.get("ws", "b") is None and store.get("ws", "b", 1) is None
    assert [s.workflow_id for s in store.list("ws")] == ["a"]
    # versions are gone with the workflow: saving again starts over
    assert store.save("ws", "b", definition("3")).version == 1


def test_workspaces_are_isolated(store: WorkflowStore) -> None:
    store.save("alpha", "wf", definition("a"))
    store.save("beta", "wf", definition("b"))
    store.save("beta", "wf", definition("c"))
    alpha = store.get("alpha", "wf")
    assert alpha is not None and alpha.version == 1 and alpha.definition == definition("a")
    assert store.get("gamma", "wf") is None
    assert [s.workflow_id for s in store.list("gamma")] == []
    assert store.delete("alpha", "wf")
    beta = store.get("beta", "wf")
    assert beta is not None and beta.version == 2


@pytest.mark.parametrize(
    ("workspace", "workflow_id"),
    [
        ("", "wf"),
        ("ws", ""),
        ("ws", "a/b"),
        ("ws", "../etc"),
        ("ws", ".."),
        ("my ws", "wf"),
        ("ws", "wf\n"),
        ("ws", "é"),
        ("ws", "x" * 129),
    ],
)
def test_invalid_names_are_refused(store: WorkflowStore, workspace: str, workflow_id: str) -> None:
    for call in (
        lambda: store.save(workspace, workflow_id, definition()),
        lambda: store.get(workspace, workflow_id),
        lambda: store.delete(workspace, workflow_id),
    ):
        with pytest.raises(InvalidWorkflowNameError, match="letters, digits") as caught:
            call()
        assert caught.value.code == "server.invalid_name"
        assert caught.value.http_status == 400


def test_valid_names(store: WorkflowStore) -> None:
    saved = store.save("Team_1.prod-line", "detect.crop_classify-v2", definition())
    assert saved.workspace == "Team_1.prod-line"


@pytest.mark.parametrize("version", ["abc", "0", "-1", 0, "1.5", True])
def test_invalid_versions_are_refused(store: WorkflowStore, version: Any) -> None:
    with pytest.raises(InvalidWorkflowNameError, match="not a workflow version"):
        store.get("ws", "wf", version)


@pytest.mark.parametrize(
    ("document", "code"),
    [
        ([1, 2], "spec.not_an_object"),
        ({"specification": "x"}, "spec.not_an_object"),
        ({"version": "1.0", "steps": [], "x": {1, 2}}, "spec.not_json"),
    ],
)
def test_definitions_must_be_json_objects(store: WorkflowStore, document: Any, code: str) -> None:
    with pytest.raises(SpecError) as caught:
        store.save("ws", "wf", document)
    assert caught.value.code == code
    assert store.get("ws", "wf") is None


def test_reopened_store_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "store.sqlite3"
    with WorkflowStore(path) as store:
        store.save("ws", "wf", definition("a"))
        store.save("ws", "wf", definition("b"))
    with WorkflowStore(path) as store:
        saved = store.get("ws", "wf")
        assert saved is not None and saved.version == 2
    with pytest.raises(RuntimeError, match="closed"):
        store.list("ws")


def test_default_path_follows_visionflow_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VISIONFLOW_HOME", str(tmp_path))
    assert default_store_path() == tmp_path / "workflows.sqlite3"
    monkeypatch.delenv("VISIONFLOW_HOME")
    assert default_store_path().name == "workflows.sqlite3"
    assert "visionflow" in str(default_store_path())


def assert_intact(path: Path) -> None:
    connection = sqlite3.connect(path)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        connection.close()


SAVES_PER_WRITER = 15


def test_concurrent_saves_from_threads(store: WorkflowStore) -> None:
    barrier = threading.Barrier(8)
    versions: list[int] = []
    errors: list[BaseException] = []

    def writer(index: int) -> None:
        try:
            barrier.wait()
            for n in range(SAVES_PER_WRITER):
                saved = store.save("ws", "shared", definition(f"t{index}_{n}"))
                versions.append(saved.version)
                store.save("ws", f"own{index}", definition(f"t{n}"))
                assert store.get("ws", "shared") is not None
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    total = 8 * SAVES_PER_WRITER
    assert sorted(versions) == list(range(1, total + 1))  # every version distinct, no gap
    assert [v.version for v in store.versions("ws", "shared")] == list(range(1, total + 1))
    assert {s.workflow_id: s.versions for s in store.list("ws")} == {
        "shared": total,
        **{f"own{i}": SAVES_PER_WRITER for i in range(8)},
    }
    assert_intact(store.path)


def _process_writer(path: str, index: int, start: Any, results: Any) -> None:
    # each process opens the store itself, as separate servers or CLI calls would
    with WorkflowStore(Path(path)) as store:
        start.wait()
        for n in range(SAVES_PER_WRITER):
            results.put(store.save("ws", "shared", definition(f"p{index}_{n}")).version)


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_concurrent_saves_from_processes(tmp_path: Path, method: str) -> None:
    context = multiprocessing.get_context(method)
    path = tmp_path / "workflows.sqlite3"
    with WorkflowStore(path) as parent:  # open in the parent too: a forked child must not reuse it
        parent.save("ws", "shared", definition("parent"))
        start = context.Barrier(3)
        results = context.Queue()
        processes = [
            context.Process(target=_process_writer, args=(str(path), i, start, results))
            for i in range(3)
        ]
        for process in processes:
            process.start()
        versions = [results.get(timeout=60) for _ in range(3 * SAVES_PER_WRITER)]
        for process in processes:
            process.join(timeout=60)
            assert process.exitcode == 0
        total = 1 + 3 * SAVES_PER_WRITER
        assert sorted(versions) == list(range(2, total + 1))
        assert [v.version for v in parent.versions("ws", "shared")] == list(range(1, total + 1))
    assert_intact(path)
