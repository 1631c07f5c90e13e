"""``visionflow models``: import, list, prepare and remove the local model packages.

Kept light to import: the store, ONNX Runtime and the converters load inside the commands.
Exit codes as the rest of the CLI: 1 for a model error, 2 for a usage error.
"""

from __future__ import annotations

import re
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from visionflow.errors import ModelError
    from visionflow.models.package import ModelManifest
    from visionflow.models.store import ModelStore

EXIT_MODEL_ERROR = 1
EXIT_USAGE = 2

models_app = typer.Typer(
    name="models",
    help="Manage the local models: import ONNX files, list, prepare the defaults, remove.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class TaskChoice(str, Enum):
    """Tasks an imported ONNX model can have (OCR is built in)."""

    object_detection = "object-detection"
    instance_segmentation = "instance-segmentation"
    keypoint_detection = "keypoint-detection"
    classification = "classification"
    multi_label_classification = "multi-label-classification"


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def _fail(error: ModelError) -> typer.Exit:
    where = f"[cyan]{error.loc}[/]: " if error.loc else ""
    _console(stderr=True).print(
        f"[bold red]error[/]: {where}{error.message} [dim]({error.code})[/]"
    )
    return typer.Exit(EXIT_MODEL_ERROR)


def _usage(message: str) -> typer.Exit:
    _console(stderr=True).print(f"[bold red]usage error[/]: {message}")
    return typer.Exit(EXIT_USAGE)


def _store() -> ModelStore:
    from visionflow.models.store import ModelStore

    return ModelStore()


def _parse_size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if match is None or 0 in (int(match[1]), int(match[2])):
        raise _usage(f"--input-size {text!r}: expected WIDTHxHEIGHT, such as 640x640")
    return int(match[1]), int(match[2])


@models_app.command("import")
def import_(
    file: Annotated[
        Path,
        typer.Argument(
            help="ONNX model file", exists=True, dir_okay=False, readable=True, metavar="FILE"
        ),
    ],
    model_id: Annotated[str, typer.Option("--id", help="Id to use the model by in workflows")],
    task: Annotated[
        TaskChoice | None,
        typer.Option(help="What the model predicts (read from ultralytics metadata when there)"),
    ] = None,
    classes: Annotated[
        str | None,
        typer.Option(help="Class names: a text file, one per line, or a comma-separated list"),
    ] = None,
    input_size: Annotated[
        str | None, typer.Option(help="Network input WIDTHxHEIGHT (when the file does not say)")
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Replace a model installed under the same id")
    ] = False,
) -> None:
    """Copy FILE into the model store as --id, with its description (model.json)."""
    from visionflow.errors import ModelError
    from visionflow.models.store import parse_class_names

    size = _parse_size(input_size) if input_size is not None else None
    names = parse_class_names(classes) if classes is not None else None
    if classes is not None and not names:
        raise _usage(f"--classes {classes!r}: no class names in it")
    store = _store()
    try:
        manifest = store.import_onnx(
            file,
            model_id,
            task=task.value if task is not None else None,
            class_names=names,
            input_size=size,
            force=force,
        )
    except ModelError as error:
        raise _fail(error) from None
    width, height = manifest.input_size or (0, 0)
    _console().print(
        f"[bold green]imported[/] [cyan]{manifest.model_id}[/]: {manifest.task.value}, "
        f"{len(manifest.class_names)} classes, input {width}x{height} -> {store.folder(model_id)}"
    )


@models_app.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable description.")] = False,
) -> None:
    """List the installed models (and the built-in OCR model)."""
    store = _store()
    rows = [_row(store, manifest) for manifest in store.list()]
    if as_json:
        import orjson

        sys.stdout.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    _print_table(rows, store)


@models_app.command()
def prepare(
    force: Annotated[bool, typer.Option(help="Rebuild models that are already there")] = False,
) -> None:
    """Build the default models (COCO detector, ImageNet classifier) from installed weights."""
    from visionflow.errors import ModelError

    store = _store()
    try:
        from visionflow.models.defaults import prepare_default_models

        prepare_default_models(store.root, force=force)
    except ModelError as error:
        raise _fail(error) from None
    _console().print(f"[bold green]default models ready[/] in {store.root}")
    _print_table([_row(store, manifest) for manifest in store.list()], store)


@models_app.command()
def remove(
    model_id: Annotated[str, typer.Argument(help="Id of the model to delete", metavar="ID")],
) -> None:
    """Delete the package of model ID."""
    from visionflow.errors import ModelError

    try:
        folder = _store().remove(model_id)
    except ModelError as error:
        raise _fail(error) from None
    _console().print(f"[bold green]removed[/] [cyan]{model_id}[/] ({folder})")


def _row(store: ModelStore, manifest: ModelManifest) -> dict[str, Any]:
    from visionflow.models.store import BUILTIN_DIR

    folder = store.resolve(manifest.model_id)
    file = folder / manifest.file
    builtin = folder.parent == BUILTIN_DIR
    return {
        "model_id": manifest.model_id,
        "task": manifest.task.value,
        "classes": len(manifest.class_names),
        "input_size": list(manifest.input_size) if manifest.input_size else None,
        "file_size": file.stat().st_size if file.is_file() else None,
        "source": manifest.source,
        "builtin": builtin,
        "path": str(folder),
    }


def _print_table(rows: list[dict[str, Any]], store: ModelStore) -> None:
    from rich.table import Table

    table = Table(title=f"models in {store.root}")
    table.add_column("id", style="cyan", no_wrap=True)
    table.add_column("task")
    table.add_column("classes", justify="right")
    table.add_column("input")
    table.add_column("size", justify="right")
    table.add_column("source")
    for row in rows:
        size = row["input_size"]
        table.add_row(
            row["model_id"],
            row["task"],
            str(row["classes"]) if row["classes"] else "-",
            f"{size[0]}x{size[1]}" if size else "any",
            "built in" if row["builtin"] else _megabytes(row["file_size"]),
            row["source"] or "-",
        )
    _console().print(table)


def _megabytes(size: int | None) -> str:
    if size is None:
        return "missing"
    return f"{size / 1e6:.1f} MB"


__all__ = ["models_app"]
