"""``visionflow workflows``: save, list, show, delete and import saved workflows.

They work on the local store the server uses (``$VISIONFLOW_HOME/workflows.sqlite3``), so a
workflow saved here runs at ``POST /{workspace}/workflows/{id}``. Kept light to import: the
store and the compiler load inside the commands. Exit codes as the rest of the CLI: 1 for an
unknown workflow or an import with failures, 2 for an invalid definition or a usage error.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from visionflow.errors import VisionflowError
    from visionflow.server.store import SavedWorkflow, WorkflowStore

EXIT_FAILED = 1
EXIT_INVALID = 2

workflows_app = typer.Typer(
    name="workflows",
    help="Manage saved workflows: save, list, show, delete, import a folder.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

Workspace = Annotated[
    str,
    typer.Option(
        "--workspace",
        "-w",
        envvar="VISIONFLOW_WORKSPACE",
        help="Workspace the workflow belongs to (env VISIONFLOW_WORKSPACE).",
    ),
]


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def _fail(error: VisionflowError, prefix: str = "") -> typer.Exit:
    """Print ``error`` (each problem of an invalid document) and choose the exit code."""
    from visionflow.errors import CompileError, SpecError
    from visionflow.server.store import InvalidWorkflowNameError

    console = _console(stderr=True)
    details = error.details if len(error.details) > 1 else []
    where = f"[cyan]{error.loc}[/]: " if error.loc and not details else ""
    console.print(f"[bold red]error[/]: {prefix}{where}{error.message} [dim]({error.code})[/]")
    for detail in details:
        console.print(f"  [cyan]{detail.loc or '-'}[/]: {detail.message} [dim]({detail.code})[/]")
    invalid = isinstance(error, (SpecError, CompileError, InvalidWorkflowNameError))
    return typer.Exit(EXIT_INVALID if invalid else EXIT_FAILED)


def _store() -> WorkflowStore:
    from visionflow.server.store import WorkflowStore

    return WorkflowStore()


def _read_and_validate(file: Path) -> dict[str, Any]:
    """The bare definition in ``file``, compiled once to prove it valid."""
    from visionflow.compiler import compile_workflow
    from visionflow.engine import read_definition
    from visionflow.server.store import bare_definition

    bare = bare_definition(read_definition(file))
    compile_workflow(bare)
    return bare


def _save(store: WorkflowStore, workspace: str, workflow_id: str, file: Path) -> str:
    """Validate and save ``file``; the line to print about it."""
    from visionflow.server.store import check_name

    check_name(workspace, "workspace")
    check_name(workflow_id)
    bare = _read_and_validate(file)
    previous = store.get(workspace, workflow_id)
    saved = store.save(workspace, workflow_id, bare)
    if previous is not None and previous.version == saved.version:
        return f"[bold]unchanged[/] {_name(saved)}: the latest version holds this definition"
    return f"[bold green]saved[/] {_name(saved)}"


def _name(saved: SavedWorkflow) -> str:
    return f"[cyan]{saved.workspace}/{saved.workflow_id}[/] version {saved.version}"


@workflows_app.command()
def save(
    file: Annotated[Path, typer.Argument(help="Workflow definition (JSON file)", metavar="FILE")],
    workspace: Workspace,
    workflow_id: Annotated[str, typer.Option("--id", help="Id to save the workflow under.")],
) -> None:
    """Validate FILE and save it as the next version of workflow --id."""
    from visionflow.errors import VisionflowError

    try:
        with _store() as store:
            line = _save(store, workspace, workflow_id, file)
    except VisionflowError as error:
        raise _fail(error) from None
    _console().print(line)


@workflows_app.command("list")
def list_(
    workspace: Workspace,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable list.")] = False,
) -> None:
    """List the workflows saved in a workspace."""
    from visionflow.errors import VisionflowError

    try:
        with _store() as store:
            summaries = store.list(workspace)
            path = store.path
    except VisionflowError as error:
        raise _fail(error) from None
    rows: list[dict[str, Any]] = [
        {
            "workflow_id": summary.workflow_id,
            "latest_version": summary.latest_version,
            "versions": summary.versions,
            "created_at": summary.created_at.isoformat(),
            "updated_at": summary.updated_at.isoformat(),
        }
        for summary in summaries
    ]
    if as_json:
        import orjson

        sys.stdout.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    from rich.table import Table

    table = Table(title=f"workflows in workspace '{workspace}' ({path})")
    table.add_column("id", style="cyan", no_wrap=True)
    table.add_column("latest", justify="right")
    table.add_column("versions", justify="right")
    table.add_column("updated")
    for row in rows:
        table.add_row(
            row["workflow_id"],
            str(row["latest_version"]),
            str(row["versions"]),
            row["updated_at"][:19].replace("T", " "),
        )
    _console().print(table)


@workflows_app.command()
def show(
    workflow_id: Annotated[str, typer.Argument(help="Id of the workflow", metavar="ID")],
    workspace: Workspace,
    version: Annotated[
        str | None, typer.Option("--version", help="Version to show (the latest if absent).")
    ] = None,
) -> None:
    """Print the definition of a saved workflow as JSON."""
    import orjson

    from visionflow.errors import VisionflowError

    try:
        with _store() as store:
            saved = store.require(workspace, workflow_id, version)
    except VisionflowError as error:
        raise _fail(error) from None
    sys.stdout.write(orjson.dumps(saved.definition, option=orjson.OPT_INDENT_2).decode() + "\n")


@workflows_app.command()
def delete(
    workflow_id: Annotated[str, typer.Argument(help="Id of the workflow", metavar="ID")],
    workspace: Workspace,
) -> None:
    """Delete a saved workflow with all its versions."""
    from visionflow.errors import VisionflowError
    from visionflow.server.store import not_found

    try:
        with _store() as store:
            if not store.delete(workspace, workflow_id):
                raise not_found(workspace, workflow_id)
    except VisionflowError as error:
        raise _fail(error) from None
    _console().print(f"[bold green]deleted[/] [cyan]{workspace}/{workflow_id}[/]")


@workflows_app.command("import")
def import_(
    folder: Annotated[
        Path,
        typer.Argument(
            help="Folder of workflow JSON files", file_okay=False, exists=True, metavar="DIR"
        ),
    ],
    workspace: Workspace,
) -> None:
    """Save every *.json file of DIR, each under its file name (without .json) as id.

    Each file is validated on its own: a bad one is reported and the others are imported;
    the exit code is 1 when any failed.
    """
    from visionflow.errors import VisionflowError
    from visionflow.server.store import check_name

    files = sorted(path for path in folder.glob("*.json") if path.is_file())
    console = _console()
    if not files:
        _console(stderr=True).print(f"[bold red]usage error[/]: no *.json files in {folder}")
        raise typer.Exit(EXIT_INVALID)
    try:
        check_name(workspace, "workspace")
    except VisionflowError as error:
        raise _fail(error) from None
    failed = 0
    with _store() as store:
        for file in files:
            try:
                console.print(_save(store, workspace, file.stem, file))
            except VisionflowError as error:
                failed += 1
                _fail(error, prefix=f"{file.name}: ")
    imported = len(files) - failed
    summary = f"{imported} of {len(files)} workflows imported into workspace '{workspace}'"
    if failed:
        _console(stderr=True).print(f"[bold red]{summary}[/], {failed} failed")
        raise typer.Exit(EXIT_FAILED)
    console.print(f"[bold green]{summary}[/]")


__all__ = ["workflows_app"]
