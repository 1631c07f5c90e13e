"""The ``visionflow`` command line: run, validate, blocks, models, serve.

Exit codes: 0 success, 1 a runtime failure (a step, an input, a model), 2 an invalid definition
or a usage error.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from visionflow.errors import CompileError, SpecError, VisionflowError

app = typer.Typer(
    name="visionflow",
    help="Run computer-vision workflows locally, on your own models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_RUNTIME = 1
EXIT_INVALID = 2


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def _fail(error: VisionflowError) -> typer.Exit:
    console = _console(stderr=True)
    invalid = isinstance(error, (SpecError, CompileError))
    title = "invalid workflow" if invalid else "run failed"
    details = error.details or []
    if len(details) > 1:
        console.print(f"[bold red]{title}[/]: {len(details)} problems")
        for detail in details:
            console.print(
                f"  [cyan]{detail.loc or '-'}[/]: {detail.message} [dim]({detail.code})[/]"
            )
    else:
        where = f"[cyan]{error.loc}[/]: " if error.loc else ""
        console.print(f"[bold red]{title}[/]: {where}{error.message} [dim]({error.code})[/]")
    return typer.Exit(EXIT_INVALID if invalid else EXIT_RUNTIME)


@app.command()
def run(
    workflow: Annotated[Path, typer.Argument(help="Workflow definition (JSON file)")],
    image: Annotated[
        list[str] | None,
        typer.Option(
            "--image", "-i", help="Image file; NAME=PATH for a named input. Repeat for a batch."
        ),
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-p",
            help="Input NAME=VALUE (VALUE parsed as JSON when it can be; @FILE reads a JSON file).",
        ),
    ] = None,
    output_dir: Annotated[
        Path | None,
        typer.Option("--output-dir", "-o", help="Also write result.json and image outputs here."),
    ] = None,
    max_concurrent_steps: Annotated[int, typer.Option(help="Steps allowed to run at once.")] = 4,
    profile: Annotated[
        bool, typer.Option(help="Write a Chrome trace (trace.json) into --output-dir.")
    ] = False,
) -> None:
    """Run WORKFLOW on images and print the serialized result as JSON."""
    from visionflow.cli._run import run_command

    try:
        run_command(workflow, image or [], param or [], output_dir, max_concurrent_steps, profile)
    except VisionflowError as error:
        raise _fail(error) from None
    except _UsageError as error:
        _console(stderr=True).print(f"[bold red]usage error[/]: {error}")
        raise typer.Exit(EXIT_INVALID) from None


@app.command()
def validate(
    workflow: Annotated[Path, typer.Argument(help="Workflow definition (JSON file)")],
) -> None:
    """Check WORKFLOW and print every problem with its location (exit 2 when invalid)."""
    from visionflow.compiler import compile_workflow
    from visionflow.engine import read_definition

    try:
        plan = compile_workflow(read_definition(workflow))
    except VisionflowError as error:
        raise _fail(error) from None
    interface = plan.describe_interface()
    console = _console()
    console.print(f"[bold green]valid[/]: {workflow} ({len(plan.steps)} steps)")
    for section in ("inputs", "outputs"):
        for name, kinds in interface[section].items():
            console.print(f"  {section[:-1]} [cyan]{name}[/]: {', '.join(kinds)}")


@app.command()
def blocks(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable description.")] = False,
) -> None:
    """List the installed blocks."""
    from visionflow.blocks.registry import default_registry, describe_blocks

    if as_json:
        import orjson

        sys.stdout.write(orjson.dumps(describe_blocks(), option=orjson.OPT_INDENT_2).decode())
        sys.stdout.write("\n")
        return
    from rich.table import Table

    table = Table(title=None, show_lines=False)
    table.add_column("identifier", style="cyan", no_wrap=True)
    table.add_column("aliases")
    table.add_column("name")
    table.add_column("outputs")
    for entry in default_registry.entries():
        manifest = entry.manifest
        table.add_row(
            entry.identifier,
            ", ".join(entry.aliases),
            manifest.block_info.name,
            ", ".join(o.name for o in manifest.outputs) or "-",
        )
    _console().print(table)


@app.command()
def demo(
    image: Annotated[
        list[Path] | None,
        typer.Option("--image", "-i", help="Photos to use instead of the bundled samples."),
    ] = None,
    output_dir: Annotated[
        Path, typer.Option("--output-dir", "-o", help="Where the annotated images go.")
    ] = Path("out/demo"),
    max_concurrent_steps: Annotated[int, typer.Option(help="Steps allowed to run at once.")] = 2,
) -> None:
    """Detect -> crop -> classify on sample photos with the default models (built on first use)."""
    from visionflow.cli._demo import run_demo

    try:
        run_demo(image or [], output_dir, max_concurrent_steps)
    except VisionflowError as error:
        raise _fail(error) from None


@app.command()
def serve(
    host: Annotated[
        str | None,
        typer.Option(help="Interface to bind (default 127.0.0.1: this machine only)."),
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 9001).")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (default 1).")] = None,
    config: Annotated[
        Path | None,
        typer.Option(help="Settings file (JSON or TOML); also VISIONFLOW_CONFIG."),
    ] = None,
) -> None:
    """Serve the HTTP API (the inference-sdk client works against it unchanged)."""
    from visionflow.cli._serve import serve_command

    try:
        serve_command(host, port, workers, config)
    except ValueError as error:  # settings that cannot be used (pydantic errors included)
        _console(stderr=True).print(f"[bold red]invalid settings[/]: {error}")
        raise typer.Exit(EXIT_INVALID) from None


def _register_models_app() -> None:
    # the sub-app module imports only typer; the store and ONNX Runtime load inside its commands
    from visionflow.cli._models import models_app

    app.add_typer(
        models_app,
        name="models",
        help="Manage the local models: import ONNX files, list, prepare the defaults, remove.",
    )


_register_models_app()


def _register_workflows_app() -> None:
    # the sub-app module imports only typer; the store and the compiler load inside its commands
    from visionflow.cli._workflows import workflows_app

    app.add_typer(
        workflows_app,
        name="workflows",
        help="Manage saved workflows: save, list, show, delete, import a folder.",
    )


_register_workflows_app()


class _UsageError(Exception):
    """A command-line argument that cannot be used."""


def main() -> None:
    """Entry point of the ``visionflow`` script."""
    app()


__all__ = ["app", "main"]
