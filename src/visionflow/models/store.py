"""Where models live: one package folder per model id under the models directory.

The directory is ``$VISIONFLOW_MODELS_DIR`` or, by default, ``<user cache>/visionflow/models``.
Each package holds ``model.json`` (see ``visionflow.models.package``) and the ONNX file. The id
in ``model.json`` is the truth; the folder name is derived from it so that ids such as
``project/3`` map to a safe, reversible folder name (``project--3``).

``pp-ocr`` is built in: its package ships inside visionflow (``models/builtin/pp-ocr``) and the
OCR engine uses the ONNX files of the ``rapidocr`` wheel, so it resolves with nothing installed.
A user package with the same id cannot be imported over it.
"""

from __future__ import annotations

import builtins
import difflib
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from visionflow.errors import ModelError
from visionflow.models.base import ModelTask
from visionflow.models.package import (
    MANIFEST_FILE,
    ModelManifest,
    OutputLayout,
    ResizeMode,
    file_sha256,
    manifest_from_ultralytics_metadata,
)

logger = logging.getLogger(__name__)

MODELS_DIR_ENV = "VISIONFLOW_MODELS_DIR"
#: ids whose packages ship inside visionflow (folder under ``models/builtin``)
BUILTIN_DIR = Path(__file__).parent / "builtin"
BUILTIN_MODELS: tuple[str, ...] = ("pp-ocr",)
IMPORT_HINT = (
    "import one with `visionflow models import FILE.onnx --id NAME`, or run "
    "`visionflow models prepare` to build the default models"
)

# characters kept as they are in folder names; everything else is escaped as ~XX (UTF-8 bytes)
_SAFE = re.compile(r"[A-Za-z0-9._-]")
# how a model without ultralytics metadata is read, by task (the user may edit model.json after)
_TASK_DEFAULTS: dict[ModelTask, tuple[OutputLayout, ResizeMode]] = {
    ModelTask.OBJECT_DETECTION: ("yolov8", "letterbox"),
    ModelTask.INSTANCE_SEGMENTATION: ("yolov8-seg", "letterbox"),
    ModelTask.KEYPOINT_DETECTION: ("yolov8-pose", "letterbox"),
    ModelTask.CLASSIFICATION: ("probabilities", "center-crop"),
    ModelTask.MULTI_LABEL_CLASSIFICATION: ("probabilities", "center-crop"),
}


def default_models_dir() -> Path:
    """``$VISIONFLOW_MODELS_DIR``, else ``platformdirs.user_cache_dir("visionflow")/models``."""
    configured = os.environ.get(MODELS_DIR_ENV)
    if configured:
        return Path(configured).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("visionflow")) / "models"


def folder_name(model_id: str) -> str:
    """The folder name of ``model_id``: ``/`` becomes ``--``; unsafe characters become ``~XX``.

    A literal ``-`` next to another ``-`` or a ``/`` is escaped too, so ``--`` in a folder name
    always means ``/`` and ``model_id_from_folder`` inverts this exactly.
    """
    check_model_id(model_id)
    parts: list[str] = []
    for index, char in enumerate(model_id):
        before = model_id[index - 1] if index else ""
        after = model_id[index + 1] if index + 1 < len(model_id) else ""
        if char == "/":
            parts.append("--")
        elif char == "-" and ("-" in (before, after) or "/" in (before, after)):
            parts.append("~2D")
        elif char == "." and index in (0, len(model_id) - 1):
            parts.append("~2E")  # no hidden folders, no '.' or '..', no trailing dot (Windows)
        elif _SAFE.fullmatch(char):
            parts.append(char)
        else:
            parts.append("".join(f"~{byte:02X}" for byte in char.encode("utf-8")))
    return "".join(parts)


def model_id_from_folder(name: str) -> str:
    """The model id a folder name stands for (the inverse of ``folder_name``)."""
    text = name.replace("--", "/")
    raw = bytearray()
    index = 0
    while index < len(text):
        if text[index] == "~" and _is_hex(text[index + 1 : index + 3]):
            raw.append(int(text[index + 1 : index + 3], 16))
            index += 3
        else:
            raw.extend(text[index].encode("utf-8"))
            index += 1
    return raw.decode("utf-8", errors="replace")


def _is_hex(text: str) -> bool:
    return len(text) == 2 and all(c in "0123456789ABCDEFabcdef" for c in text)


def check_model_id(model_id: str) -> None:
    """Refuse ids that cannot name a model: empty, padded with spaces, or with control characters."""
    if (
        not isinstance(model_id, str)
        or not model_id.strip()
        or model_id != model_id.strip()
        or any(ord(c) < 32 or ord(c) == 127 for c in model_id)
    ):
        raise ModelError(
            f"{model_id!r} is not a model id: expected a non-empty name without leading or "
            "trailing spaces or control characters, such as 'yolov8n-640' or 'project/3'",
            code="model.invalid_id",
            loc=str(model_id),
        )


def parse_class_names(value: str) -> list[str]:
    """Class names from a text file (one per line) or a comma-separated list."""
    path = Path(value).expanduser()
    if "," not in value and path.is_file():
        lines = path.read_text(encoding="utf-8").splitlines()
        return [line.strip() for line in lines if line.strip()]
    return [name.strip() for name in value.split(",") if name.strip()]


class ModelStore:
    """The model packages under one directory."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_models_dir()

    def __repr__(self) -> str:
        return f"ModelStore({str(self.root)!r})"

    def folder(self, model_id: str) -> Path:
        """The package folder of ``model_id`` in this store (whether it exists or not)."""
        return self.root / folder_name(model_id)

    def list(self) -> builtins.list[ModelManifest]:
        """Every installed package and the built-in ones, sorted by id."""
        found: dict[str, ModelManifest] = {}
        for folder in self._package_folders():
            try:
                manifest = ModelManifest.read(folder)
            except ModelError as error:
                # one broken package must not hide the others (nor block removing it)
                logger.warning("skipping %s: %s", folder, error)
                continue
            found.setdefault(manifest.model_id, manifest)
        for model_id in BUILTIN_MODELS:
            found.setdefault(model_id, ModelManifest.read(BUILTIN_DIR / model_id))
        return [found[key] for key in sorted(found)]

    def ids(self) -> builtins.list[str]:
        return [manifest.model_id for manifest in self.list()]

    def resolve(self, model_id: str) -> Path:
        """The package folder of ``model_id``; ``ModelError(model.not_found)`` when there is none."""
        check_model_id(model_id)
        candidate = self.folder(model_id)
        if self._holds(candidate, model_id):
            return candidate
        # a folder renamed by hand still counts: the id in model.json is the truth
        for folder in self._package_folders():
            if folder != candidate and self._holds(folder, model_id):
                return folder
        if model_id in BUILTIN_MODELS:
            return BUILTIN_DIR / model_id
        raise self._not_found(model_id)

    def manifest(self, model_id: str) -> ModelManifest:
        return ModelManifest.read(self.resolve(model_id))

    def import_onnx(
        self,
        path: Path,
        model_id: str,
        *,
        task: ModelTask | str | None = None,
        class_names: Sequence[str] | None = None,
        input_size: tuple[int, int] | None = None,
        force: bool = False,
    ) -> ModelManifest:
        """Copy an ONNX model into the store as ``model_id`` and describe it in ``model.json``.

        Ultralytics exports describe themselves (class names, image size, task); any other model
        needs ``task`` and ``class_names``. ``input_size`` is (width, height).
        """
        check_model_id(model_id)
        path = Path(path).expanduser()
        chosen_task = _task(task)
        if model_id in BUILTIN_MODELS:
            raise ModelError(
                f"'{model_id}' is a built-in model id; import the file under another --id",
                code="model.already_exists",
                loc=model_id,
            )
        if not path.is_file():
            raise ModelError(
                f"cannot import '{path}': no such file (expected an .onnx model file)",
                code="model.file_not_found",
                loc=str(path),
            )
        target = self.folder(model_id)
        if target.exists() and not force:
            raise ModelError(
                f"a model '{model_id}' is already installed in {target}; pass --force "
                "(force=True) to replace it, or choose another --id",
                code="model.already_exists",
                loc=model_id,
            )
        metadata, network_size = _read_onnx(path)
        manifest = manifest_from_ultralytics_metadata(model_id, metadata, task=chosen_task)
        if manifest is None:
            manifest = _manifest_without_metadata(model_id, path, chosen_task, class_names)
        elif class_names is not None:
            manifest.class_names = builtins.list(class_names)
        size = input_size or (manifest.input_size if "imgsz" in metadata else None) or network_size
        if size is None:
            raise ModelError(
                f"'{path.name}' takes images of any size and says nothing about the size it was "
                "trained at; pass --input-size WIDTHxHEIGHT (e.g. 640x640)",
                code="model.missing_metadata",
                loc=str(path),
            )
        manifest.input_size = size
        manifest.sha256 = file_sha256(path)
        self._install(path, manifest, target)
        return manifest

    def remove(self, model_id: str) -> Path:
        """Delete the package of ``model_id``; returns the folder that was removed."""
        folder = self.resolve(model_id)
        if folder.parent == BUILTIN_DIR:
            raise ModelError(
                f"'{model_id}' is built into visionflow and cannot be removed",
                code="model.builtin",
                loc=model_id,
            )
        shutil.rmtree(folder)
        return folder

    # -- internals ---------------------------------------------------------------------------

    def _package_folders(self) -> builtins.list[Path]:
        if not self.root.is_dir():
            return []
        return sorted(
            child
            for child in self.root.iterdir()
            if child.is_dir()
            and not child.name.startswith(".")
            and (child / MANIFEST_FILE).is_file()
        )

    @staticmethod
    def _holds(folder: Path, model_id: str) -> bool:
        if not (folder / MANIFEST_FILE).is_file():
            return False
        try:
            return ModelManifest.read(folder).model_id == model_id
        except ModelError:
            # a broken package under the expected name is still the one asked for: loading it
            # reports what is wrong, which helps more than "not found"
            return folder.name == folder_name(model_id)

    def _not_found(self, model_id: str) -> ModelError:
        installed = self.ids()
        close = difflib.get_close_matches(model_id, installed, n=3, cutoff=0.5)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        listing = ", ".join(installed) if installed else "none"
        return ModelError(
            f"no model '{model_id}' is installed in {self.root}.{hint} Installed: {listing}. "
            f"To add it, {IMPORT_HINT}.",
            code="model.not_found",
            loc=model_id,
        )

    def _install(self, source: Path, manifest: ModelManifest, target: Path) -> None:
        # build the package beside its final place and swap it in, so a failed copy never
        # leaves a half-written package (and --force keeps the old one until the new is ready)
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".import-", dir=self.root))
        try:
            shutil.copyfile(source, staging / manifest.file)
            manifest.write(staging)
            if target.exists():
                old = Path(tempfile.mkdtemp(prefix=".old-", dir=self.root))
                os.replace(target, old / "package")
                os.replace(staging, target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _task(task: ModelTask | str | None) -> ModelTask | None:
    if task is None or isinstance(task, ModelTask):
        return task
    try:
        return ModelTask(task)
    except ValueError:
        choices = ", ".join(t.value for t in ModelTask if t != ModelTask.OCR)
        raise ModelError(
            f"unknown task '{task}': expected one of {choices}",
            code="model.unsupported_task",
        ) from None


def _manifest_without_metadata(
    model_id: str, path: Path, task: ModelTask | None, class_names: Sequence[str] | None
) -> ModelManifest:
    if task is None or not class_names:
        missing = " and ".join(
            text
            for text, absent in (("--task", task is None), ("--classes", not class_names))
            if absent
        )
        raise ModelError(
            f"'{path.name}' carries no ultralytics metadata (no 'names' in its ONNX metadata), "
            f"so visionflow cannot tell what it predicts; pass {missing} (class names as a text "
            "file, one per line, or a comma-separated list)",
            code="model.missing_metadata",
            loc=str(path),
        )
    if task not in _TASK_DEFAULTS:
        choices = ", ".join(t.value for t in _TASK_DEFAULTS)
        raise ModelError(
            f"task '{task.value}' cannot be imported from an ONNX file (OCR is built in as "
            f"'pp-ocr'); expected one of {choices}",
            code="model.unsupported_task",
            loc=str(path),
        )
    layout, resize = _TASK_DEFAULTS[task]
    return ModelManifest(
        model_id=model_id,
        task=task,
        class_names=builtins.list(class_names),
        resize=resize,
        output_layout=layout,
        source="onnx",
    )


def _read_onnx(path: Path) -> tuple[dict[str, str], tuple[int, int] | None]:
    """The ONNX metadata of ``path`` and the (width, height) of its image input when fixed."""
    import onnxruntime

    from visionflow.models.onnx import read_onnx_metadata

    metadata = read_onnx_metadata(path)
    try:
        # opening it also checks that ONNX Runtime can run the file before it is copied
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own pybind exception types
        raise ModelError(
            f"onnxruntime cannot load {path}: {error}. The file is damaged or not an ONNX model",
            code="model.corrupt_file",
            loc=str(path),
        ) from None
    shape = session.get_inputs()[0].shape
    if len(shape) == 4 and all(isinstance(d, int) and d > 0 for d in shape[2:]):
        return metadata, (int(shape[3]), int(shape[2]))
    return metadata, None


__all__ = [
    "BUILTIN_MODELS",
    "MODELS_DIR_ENV",
    "ModelStore",
    "check_model_id",
    "default_models_dir",
    "folder_name",
    "model_id_from_folder",
    "parse_class_names",
]
