"""Model packages on disk: one folder per model id, holding the ONNX file and ``model.json``.

``model.json`` says how to feed the network and read its outputs::

    {
      "format": 1,
      "model_id": "yolov3-tiny-416",
      "task": "object-detection",
      "file": "model.onnx",
      "class_names": ["person", "bicycle", ...],
      "input_size": [416, 416],
      "resize": "letterbox",             # letterbox | stretch | center-crop
      "resize_short_side": null,         # center-crop: short side resized to this first
      "pad_value": 114,                  # letterbox border (grey, as ultralytics)
      "channel_order": "rgb",            # rgb | bgr
      "scale": 0.00392156862745098,      # pixel * scale, then (x - mean) / std per channel
      "mean": [0, 0, 0],
      "std": [1, 1, 1],
      "output_layout": "yolov8",         # yolov8 | yolov5 | yolov8-seg | yolov8-pose | logits | probabilities
      "activation": null,                # classification: softmax | sigmoid | null (already probabilities)
      "keypoint_names": [],
      "sha256": "..."                    # of the ONNX file; checked when the package is loaded
    }

Models exported by ultralytics describe themselves in their ONNX metadata (``names``,
``imgsz``, ``task``, ``stride``, ``kpt_shape``); ``manifest_from_ultralytics_metadata`` turns
that into a manifest so they import with nothing to write.
"""

from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from visionflow.errors import ModelError
from visionflow.models.base import ModelTask

MANIFEST_FILE = "model.json"
FORMAT_VERSION = 1

ResizeMode = Literal["letterbox", "stretch", "center-crop"]
OutputLayout = Literal[
    "yolov8", "yolov5", "yolov8-seg", "yolov8-pose", "logits", "probabilities", "ocr"
]


class ModelManifest(BaseModel):
    """The contents of ``model.json``."""

    model_config = ConfigDict(extra="ignore", protected_namespaces=())

    format: int = FORMAT_VERSION
    model_id: str
    task: ModelTask
    file: str = "model.onnx"
    class_names: list[str] = Field(default_factory=list)
    input_size: Optional[tuple[int, int]] = None
    resize: ResizeMode = "letterbox"
    #: center-crop: the short side is resized to this first (ImageNet's 256 for 224 inputs)
    resize_short_side: Optional[int] = None
    pad_value: int = 114
    channel_order: Literal["rgb", "bgr"] = "rgb"
    scale: float = 1.0 / 255.0
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    output_layout: OutputLayout = "yolov8"
    activation: Optional[Literal["softmax", "sigmoid"]] = None
    keypoint_names: list[str] = Field(default_factory=list)
    sha256: Optional[str] = None
    source: Optional[str] = None

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / MANIFEST_FILE
        path.write_text(json.dumps(self.model_dump(mode="json"), indent=2) + "\n")
        return path

    @classmethod
    def read(cls, folder: Path) -> ModelManifest:
        path = folder / MANIFEST_FILE
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError:
            raise ModelError(
                f"'{folder}' is not a model package: it has no {MANIFEST_FILE}",
                code="model.invalid_package",
                loc=str(path),
            ) from None
        except json.JSONDecodeError as error:
            raise ModelError(
                f"{path} is not valid JSON: {error}", code="model.invalid_package", loc=str(path)
            ) from None
        try:
            return cls.model_validate(raw)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
            )
            raise ModelError(
                f"{path} does not describe a model: {problems}",
                code="model.invalid_package",
                loc=str(path),
            ) from None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


_ULTRALYTICS_TASKS: dict[str, tuple[ModelTask, OutputLayout]] = {
    "detect": (ModelTask.OBJECT_DETECTION, "yolov8"),
    "segment": (ModelTask.INSTANCE_SEGMENTATION, "yolov8-seg"),
    "pose": (ModelTask.KEYPOINT_DETECTION, "yolov8-pose"),
    "classify": (ModelTask.CLASSIFICATION, "probabilities"),
}


def manifest_from_ultralytics_metadata(
    model_id: str, metadata: dict[str, str], *, task: ModelTask | None = None
) -> ModelManifest | None:
    """A manifest from an ultralytics export's ONNX metadata, or None when it has none."""
    if "names" not in metadata:
        return None
    names = _literal(metadata["names"])
    if isinstance(names, dict):
        class_names = [str(names[k]) for k in sorted(names, key=lambda k: int(k))]
    else:
        class_names = [str(n) for n in names]
    size = _literal(metadata.get("imgsz", "[640, 640]"))
    if isinstance(size, int):
        size = [size, size]
    known = _ULTRALYTICS_TASKS.get(metadata.get("task", "detect"))
    if known is None and task is None:
        raise ModelError(
            f"the model says its task is '{metadata.get('task')}', which visionflow does not "
            f"run; pass --task ({', '.join(t.value for t in ModelTask)})",
            code="model.unsupported_task",
        )
    detected_task, layout = known or (ModelTask.OBJECT_DETECTION, "yolov8")
    chosen = task or detected_task
    classification = chosen in (ModelTask.CLASSIFICATION, ModelTask.MULTI_LABEL_CLASSIFICATION)
    return ModelManifest(
        model_id=model_id,
        task=chosen,
        class_names=class_names,
        input_size=(int(size[1]), int(size[0])),  # ultralytics gives [height, width]
        resize="center-crop" if classification else "letterbox",
        output_layout=layout,
        activation=None,
        source="ultralytics",
    )


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise ModelError(
            f"cannot read the model's metadata value {text!r}", code="model.invalid_package"
        ) from None


__all__ = [
    "FORMAT_VERSION",
    "MANIFEST_FILE",
    "ModelManifest",
    "file_sha256",
    "manifest_from_ultralytics_metadata",
]
