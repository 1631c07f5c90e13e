"""``visionflow run``: images and parameters from the command line to a JSON result."""

from __future__ import annotations

import base64
import sys
from pathlib import Path
from typing import Any

import orjson

from visionflow.engine import Workflow


def run_command(
    workflow_path: Path,
    images: list[str],
    params: list[str],
    output_dir: Path | None,
    max_concurrent_steps: int,
    profile: bool,
) -> None:
    from visionflow.cli import _UsageError

    workflow = Workflow.load(
        workflow_path,
        max_concurrent_steps=max_concurrent_steps,
        allow_file_input=True,
        enable_profiling=profile,
    )
    image_inputs = [
        name
        for name, node in workflow.plan.inputs.items()
        if node.type in ("WorkflowImage", "InferenceImage")
    ]
    inputs: dict[str, Any] = {}
    for item in images:
        name, path = _split_named(item, image_inputs)
        if name is None:
            if not image_inputs:
                raise _UsageError(f"{workflow_path} declares no image input; drop --image")
            name = image_inputs[0]
        elif name not in image_inputs:
            raise _UsageError(
                f"--image {item}: the workflow has no image input '{name}' "
                f"(its image inputs: {', '.join(image_inputs) or 'none'})"
            )
        if not Path(path).is_file():
            raise _UsageError(f"--image {item}: no such file '{path}'")
        inputs.setdefault(name, []).append({"type": "file", "value": str(path)})
    for item in params:
        if "=" not in item:
            raise _UsageError(f"--param {item!r}: expected NAME=VALUE")
        name, raw = item.split("=", 1)
        inputs[name] = _parse_value(raw)
    for name in image_inputs:
        if isinstance(inputs.get(name), list) and len(inputs[name]) == 1:
            inputs[name] = inputs[name][0]  # one image: not a batch of one (ids as the reference)
    missing = [n for n in image_inputs if n not in inputs]
    if missing:
        raise _UsageError(f"image input(s) {', '.join(missing)} need --image")
    result = workflow.run(serialize=True, **inputs)
    if output_dir is not None:
        # images go to files; what is printed names them instead of holding base64
        _write_outputs(output_dir, result)
        if profile:
            (output_dir / "trace.json").write_bytes(orjson.dumps(workflow.trace()))
    sys.stdout.write(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() + "\n")


def _split_named(item: str, names: list[str]) -> tuple[str | None, str]:
    if "=" in item:
        name, path = item.split("=", 1)
        if name in names or not Path(item).exists():
            return name, path
    return None, item


def _parse_value(raw: str) -> Any:
    from visionflow.cli import _UsageError

    if raw.startswith("@"):
        path = Path(raw[1:])
        try:
            return orjson.loads(path.read_bytes())
        except OSError as error:
            raise _UsageError(f"cannot read '{path}': {error.strerror}") from error
        except orjson.JSONDecodeError as error:
            raise _UsageError(f"'{path}' is not valid JSON: {error}") from error
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw


def _write_outputs(output_dir: Path, result: list[dict[str, Any]]) -> None:
    """Write image outputs as JPEG files and the rest as result.json (images by file name)."""
    output_dir.mkdir(parents=True, exist_ok=True)
    for position, row in enumerate(result):
        for name, value in row.items():
            row[name] = _extract_images(value, output_dir, f"{position}_{name}")
    (output_dir / "result.json").write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))


def _extract_images(value: Any, directory: Path, stem: str) -> Any:
    if isinstance(value, dict):
        if value.get("type") == "base64" and isinstance(value.get("value"), str):
            path = directory / f"{stem}.jpg"
            path.write_bytes(base64.b64decode(value["value"]))
            return {**value, "type": "file", "value": path.name}
        return {k: _extract_images(v, directory, f"{stem}_{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_extract_images(v, directory, f"{stem}_{i}") for i, v in enumerate(value)]
    return value
