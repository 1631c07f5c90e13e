"""Saved workflows: versioned definitions in one SQLite file, scoped by workspace.

The file is ``$VISIONFLOW_HOME/workflows.sqlite3`` (default
``platformdirs.user_data_dir("visionflow")``); the server and ``visionflow workflows`` share it.

- Every ``save`` of a changed definition adds a version: 1, 2, 3... per workflow. Saving the
  same definition as the latest version again adds nothing and returns that version, so a
  repeated ``PUT`` (a retried request, a re-run import) is idempotent. Identity is the SHA-256
  of the canonical JSON of the bare definition (``visionflow.compiler.definition_digest``, the
  key of the compiled-plan cache too).
- ``delete`` removes a workflow with all its versions; saving it again starts at version 1.
- Workspace and workflow names are 1-128 letters, digits, ``_``, ``-`` and ``.`` (not only dots).

Concurrency: WAL journal, one connection per thread (and per process: a forked child opens its
own), writes in ``BEGIN IMMEDIATE`` transactions so that two writers never read the same
"latest version" and the busy timeout makes the second wait instead of failing.
"""

from __future__ import annotations

import builtins
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from visionflow.compiler import definition_digest
from visionflow.errors import SpecError
from visionflow.server.errors import ServerError, workflow_not_found
from visionflow.spec.document import unwrap_document

HOME_ENV = "VISIONFLOW_HOME"
STORE_FILE = "workflows.sqlite3"
#: seconds a writer waits for another process's transaction before giving up
BUSY_TIMEOUT_S = 30.0
MAX_NAME_LENGTH = 128

_NAME_RE = re.compile(r"[A-Za-z0-9_.-]+")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS workflows (
    id INTEGER PRIMARY KEY,
    workspace TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    latest_version INTEGER NOT NULL,
    UNIQUE (workspace, workflow_id)
);
CREATE TABLE IF NOT EXISTS versions (
    workflow INTEGER NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    specification TEXT NOT NULL,
    PRIMARY KEY (workflow, version)
);
"""


class InvalidWorkflowNameError(ServerError):
    """A workspace, workflow id or version that cannot name anything in the store (400)."""

    def __init__(self, message: str) -> None:
        super().__init__(
            message, status=400, code="server.invalid_name", error_type="InvalidWorkflowNameError"
        )


@dataclass(frozen=True)
class SavedWorkflow:
    """One version of a saved workflow."""

    workspace: str
    workflow_id: str
    version: int
    created_at: datetime
    #: the bare definition (``{"version", "inputs", "steps", "outputs"}``)
    definition: dict[str, Any]
    #: SHA-256 of the canonical JSON of ``definition``
    content_hash: str

    @property
    def specification(self) -> dict[str, Any]:
        """The definition wrapped as the reference stores it: ``{"specification": {...}}``."""
        return {"specification": self.definition}


@dataclass(frozen=True)
class SavedWorkflowSummary:
    """A workflow as listed: its latest version and how many versions it has."""

    workspace: str
    workflow_id: str
    latest_version: int
    versions: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class WorkflowVersion:
    """One entry of a workflow's history."""

    version: int
    created_at: datetime
    content_hash: str


def default_store_path() -> Path:
    """``$VISIONFLOW_HOME/workflows.sqlite3``, else under ``platformdirs.user_data_dir``."""
    configured = os.environ.get(HOME_ENV)
    if configured:
        return Path(configured).expanduser() / STORE_FILE
    import platformdirs

    return Path(platformdirs.user_data_dir("visionflow", appauthor=False)) / STORE_FILE


def check_name(value: object, what: str = "workflow id") -> str:
    """Return ``value`` if it can name a workspace or a workflow, else raise a clear error."""
    if (
        not isinstance(value, str)
        or not _NAME_RE.fullmatch(value)
        or len(value) > MAX_NAME_LENGTH
        or set(value) == {"."}
    ):
        raise InvalidWorkflowNameError(
            f"{value!r} is not a valid {what}: use 1 to {MAX_NAME_LENGTH} letters, digits, "
            "'_', '-' and '.' (not only dots), such as 'factory-line' or 'detect_and_crop.v2'"
        )
    return value


def parse_version(version: str | int | None) -> int | None:
    """``None`` or ``"latest"`` -> None (the latest); ``3`` or ``"3"`` -> 3; else an error."""
    if version is None:
        return None
    if isinstance(version, str):
        text = version.strip()
        if text.lower() in ("", "latest"):
            return None
        if text.isascii() and text.isdigit() and len(text) <= 18:
            version = int(text)
    if isinstance(version, int) and not isinstance(version, bool) and version >= 1:
        return version
    raise InvalidWorkflowNameError(
        f"{version!r} is not a workflow version: expected a positive integer or 'latest'"
    )


def bare_definition(document: Any) -> dict[str, Any]:
    """The bare definition of ``document`` (bare or ``{"specification": ...}``), JSON-checked."""
    bare = unwrap_document(document)
    if not isinstance(bare, dict):  # unwrap_document guarantees it; keeps mypy informed
        raise SpecError("a workflow definition must be a JSON object", code="spec.not_an_object")
    return bare


def not_found(workspace: str, workflow_id: str, version: str | int | None = None) -> ServerError:
    """The 404 error for a workflow (or a version of it) that this workspace does not have."""
    number = parse_version(version)
    return workflow_not_found(workspace, workflow_id, None if number is None else str(number))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


class WorkflowStore:
    """Versioned workflow definitions in one SQLite file, safe across threads and processes."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else default_store_path()
        self._local = threading.local()
        self._lock = threading.Lock()
        #: (process id, connection): a child closes only what it opened itself
        self._connections: builtins.list[tuple[int, sqlite3.Connection]] = []
        self._closed = False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._initialise()

    # -- connections -------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        # autocommit mode: transactions are opened explicitly (BEGIN IMMEDIATE for writes)
        connection = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute("PRAGMA synchronous = NORMAL")  # durable enough with WAL
        return connection

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise RuntimeError(f"the workflow store {self.path} is closed")
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        # a connection inherited through fork() must not be used by the child
        if connection is None or self._local.pid != os.getpid():
            connection = self._connect()
            self._local.connection = connection
            self._local.pid = os.getpid()
            with self._lock:
                self._connections.append((os.getpid(), connection))
        return connection

    def _initialise(self) -> None:
        connection = self._connection()
        # switching to WAL needs a moment without other writers; several processes opening the
        # store at once may see SQLITE_BUSY here despite the timeout, so retry briefly
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                connection.execute("PRAGMA journal_mode = WAL")
                break
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
        with self._write() as connection:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    connection.execute(statement)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, holding the database's write lock from its first statement."""
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def close(self) -> None:
        """Close every connection this store opened (in any thread)."""
        with self._lock:
            self._closed = True
            connections, self._connections = self._connections, []
        for pid, connection in connections:
            if pid != os.getpid():
                continue
            with suppress(sqlite3.Error):
                connection.close()

    def __enter__(self) -> WorkflowStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- API ---------------------------------------------------------------------------------

    def save(self, workspace: str, workflow_id: str, definition: dict[str, Any]) -> SavedWorkflow:
        """Save ``definition`` (bare or wrapped) as the next version; unchanged -> the latest.

        The caller validates the definition first (the server compiles it); the store only
        checks that it is a JSON object.
        """
        check_name(workspace, "workspace")
        check_name(workflow_id)
        bare = bare_definition(definition)
        try:
            digest = definition_digest(bare)
            text = orjson.dumps({"specification": bare}).decode()
        except TypeError as error:
            raise SpecError(
                f"the workflow definition is not plain JSON: {error}", code="spec.not_json"
            ) from error
        now = _now()
        with self._write() as connection:
            row = connection.execute(
                "SELECT w.id, w.latest_version, v.content_hash, v.created_at FROM workflows w "
                "JOIN versions v ON v.workflow = w.id AND v.version = w.latest_version "
                "WHERE w.workspace = ? AND w.workflow_id = ?",
                (workspace, workflow_id),
            ).fetchone()
            if row is not None and row[2] == digest:
                return SavedWorkflow(workspace, workflow_id, row[1], _time(row[3]), bare, digest)
            if row is None:
                key = connection.execute(
                    "INSERT INTO workflows (workspace, workflow_id, created_at, updated_at, "
                    "latest_version) VALUES (?, ?, ?, ?, 1)",
                    (workspace, workflow_id, now, now),
                ).lastrowid
                version = 1
            else:
                key, version = row[0], row[1] + 1
                connection.execute(
                    "UPDATE workflows SET latest_version = ?, updated_at = ? WHERE id = ?",
                    (version, now, key),
                )
            connection.execute(
                "INSERT INTO versions (workflow, version, created_at, content_hash, "
                "specification) VALUES (?, ?, ?, ?, ?)",
                (key, version, now, digest, text),
            )
        return SavedWorkflow(workspace, workflow_id, version, _time(now), bare, digest)

    def get(
        self, workspace: str, workflow_id: str, version: str | int | None = None
    ) -> SavedWorkflow | None:
        """The latest version (``version`` None or ``"latest"``) or the one asked for; None if absent."""
        check_name(workspace, "workspace")
        check_name(workflow_id)
        number = parse_version(version)
        query = (
            "SELECT v.version, v.created_at, v.content_hash, v.specification FROM workflows w "
            "JOIN versions v ON v.workflow = w.id WHERE w.workspace = ? AND w.workflow_id = ? "
            "AND v.version = "
        )
        connection = self._connection()
        if number is None:
            row = connection.execute(
                query + "w.latest_version", (workspace, workflow_id)
            ).fetchone()
        else:
            row = connection.execute(query + "?", (workspace, workflow_id, number)).fetchone()
        if row is None:
            return None
        definition = orjson.loads(row[3])["specification"]
        return SavedWorkflow(workspace, workflow_id, row[0], _time(row[1]), definition, row[2])

    def require(
        self, workspace: str, workflow_id: str, version: str | int | None = None
    ) -> SavedWorkflow:
        """As ``get``, but an unknown workflow or version raises a 404 ``ServerError``."""
        saved = self.get(workspace, workflow_id, version)
        if saved is None:
            raise not_found(workspace, workflow_id, version)
        return saved

    def list(self, workspace: str) -> builtins.list[SavedWorkflowSummary]:
        """Every workflow of ``workspace``, sorted by id."""
        check_name(workspace, "workspace")
        rows = (
            self._connection()
            .execute(
                "SELECT w.workflow_id, w.latest_version, w.created_at, w.updated_at, "
                "(SELECT COUNT(*) FROM versions v WHERE v.workflow = w.id) FROM workflows w "
                "WHERE w.workspace = ? ORDER BY w.workflow_id",
                (workspace,),
            )
            .fetchall()
        )
        return [
            SavedWorkflowSummary(workspace, row[0], row[1], row[4], _time(row[2]), _time(row[3]))
            for row in rows
        ]

    def versions(self, workspace: str, workflow_id: str) -> builtins.list[WorkflowVersion]:
        """The history of a workflow, oldest first; empty when it is not saved."""
        check_name(workspace, "workspace")
        check_name(workflow_id)
        rows = (
            self._connection()
            .execute(
                "SELECT v.version, v.created_at, v.content_hash FROM workflows w "
                "JOIN versions v ON v.workflow = w.id WHERE w.workspace = ? "
                "AND w.workflow_id = ? ORDER BY v.version",
                (workspace, workflow_id),
            )
            .fetchall()
        )
        return [WorkflowVersion(row[0], _time(row[1]), row[2]) for row in rows]

    def delete(self, workspace: str, workflow_id: str) -> bool:
        """Remove a workflow with all its versions; False when there was none."""
        check_name(workspace, "workspace")
        check_name(workflow_id)
        with self._write() as connection:
            cursor = connection.execute(
                "DELETE FROM workflows WHERE workspace = ? AND workflow_id = ?",
                (workspace, workflow_id),
            )
            return cursor.rowcount > 0


__all__ = [
    "HOME_ENV",
    "STORE_FILE",
    "InvalidWorkflowNameError",
    "SavedWorkflow",
    "SavedWorkflowSummary",
    "WorkflowStore",
    "WorkflowVersion",
    "bare_definition",
    "check_name",
    "default_store_path",
    "not_found",
    "parse_version",
]
