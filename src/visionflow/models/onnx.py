"""The ONNX Runtime adapter: a model package folder in, predictions in image pixels out.

One ``InferenceSession`` per model, created when the adapter is built and shared by every
thread (ONNX Runtime allows concurrent ``run`` calls on a session; the adapter keeps no other
mutable state). Images are sent in chunks of the network's batch dimension: one call per image
for a fixed batch of 1, one call for up to ``max_batch_size`` images for a dynamic batch.

Execution providers: ``providers=`` or ``VISIONFLOW_PROVIDERS`` (comma list; full names such as
``CUDAExecutionProvider`` or short ones such as ``cuda``), else CPU. Providers this
onnxruntime build lacks are left out with a warning and listed in ``info.extra``. Threads:
``intra_op_num_threads``/``inter_op_num_threads`` or ``VISIONFLOW_ORT_THREADS`` (``"4"`` or
``"4,1"``: intra, inter).
"""

from __future__ import annotations

import logging
import mmap
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from visionflow.errors import ModelError
from visionflow.models.base import (
    ClassificationParams,
    DetectionParams,
    ModelInfo,
    ModelTask,
    Prediction,
)
from visionflow.models.decoders import (
    decode_classification,
    decode_detections,
    decode_pose,
    decode_segmentation,
)
from visionflow.models.package import ModelManifest, file_sha256
from visionflow.models.preprocessing import ImageTransform, Preprocessor

logger = logging.getLogger(__name__)

PROVIDERS_ENV = "VISIONFLOW_PROVIDERS"
THREADS_ENV = "VISIONFLOW_ORT_THREADS"
#: images sent in one call to a network with a dynamic batch dimension
DEFAULT_MAX_BATCH_SIZE = 32

_PROVIDER_ALIASES = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "trt": "TensorrtExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
    "dml": "DmlExecutionProvider",
    "directml": "DmlExecutionProvider",
    "rocm": "ROCMExecutionProvider",
    "migraphx": "MIGraphXExecutionProvider",
    "qnn": "QNNExecutionProvider",
}

#: the output layouts each task can be decoded from
_LAYOUTS = {
    ModelTask.OBJECT_DETECTION: ("yolov8", "yolov5"),
    ModelTask.INSTANCE_SEGMENTATION: ("yolov8-seg",),
    ModelTask.KEYPOINT_DETECTION: ("yolov8-pose",),
    ModelTask.CLASSIFICATION: ("logits", "probabilities"),
    ModelTask.MULTI_LABEL_CLASSIFICATION: ("logits", "probabilities"),
}

_INPUT_TYPES: dict[str, type[np.floating]] = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
}


def resolve_providers(requested: Sequence[str] | None = None) -> tuple[list[str], list[str]]:
    """(providers to use, requested providers this onnxruntime lacks).

    ``requested`` None reads ``VISIONFLOW_PROVIDERS``; nothing usable falls back to CPU.
    """
    if requested is None:
        requested = [p for p in os.environ.get(PROVIDERS_ENV, "").split(",") if p.strip()]
    names = [_PROVIDER_ALIASES.get(p.strip().lower(), p.strip()) for p in requested]
    available = set(ort.get_available_providers())
    usable = list(dict.fromkeys(n for n in names if n in available))
    missing = list(dict.fromkeys(n for n in names if n not in available))
    if missing:
        logger.warning(
            "execution providers %s are not available in this onnxruntime (available: %s); "
            "install the matching onnxruntime package (e.g. onnxruntime-gpu) to use them",
            ", ".join(missing),
            ", ".join(sorted(available)),
        )
    return usable or ["CPUExecutionProvider"], missing


def session_options(
    intra_op_num_threads: int | None = None, inter_op_num_threads: int | None = None
) -> ort.SessionOptions:
    """Session options with thread counts from the arguments, else ``VISIONFLOW_ORT_THREADS``."""
    env = [p.strip() for p in os.environ.get(THREADS_ENV, "").split(",") if p.strip()]
    try:
        from_env = [int(p) for p in env]
    except ValueError:
        raise ModelError(
            f"{THREADS_ENV}={os.environ[THREADS_ENV]!r} is not a thread count; use '4' (intra-op) "
            "or '4,1' (intra-op, inter-op)",
            code="model.invalid_option",
            loc=THREADS_ENV,
        ) from None
    intra = intra_op_num_threads if intra_op_num_threads is not None else _at(from_env, 0)
    inter = inter_op_num_threads if inter_op_num_threads is not None else _at(from_env, 1)
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: ORT warns about unused initializers etc.
    if intra is not None:
        options.intra_op_num_threads = intra
    if inter is not None:
        options.inter_op_num_threads = inter
    return options


class OnnxModel:
    """A model package (``model.json`` + ONNX file) run by ONNX Runtime; a ``ModelAdapter``."""

    def __init__(
        self,
        folder: str | Path,
        *,
        providers: Sequence[str] | None = None,
        intra_op_num_threads: int | None = None,
        inter_op_num_threads: int | None = None,
        max_batch_size: int = DEFAULT_MAX_BATCH_SIZE,
        verify_checksum: bool = True,
    ) -> None:
        self.folder = Path(folder)
        self.manifest = ModelManifest.read(self.folder)
        manifest = self.manifest
        if manifest.output_layout not in _LAYOUTS.get(manifest.task, ()):
            runnable = ", ".join(f"{t.value} ({'/'.join(ls)})" for t, ls in _LAYOUTS.items())
            raise ModelError(
                f"the ONNX adapter cannot run task '{manifest.task.value}' with output_layout "
                f"'{manifest.output_layout}'; it runs {runnable}",
                code="model.unsupported_task",
                loc=manifest.model_id,
            )
        self.path = self.folder / manifest.file
        if not self.path.is_file():
            raise ModelError(
                f"the package names '{manifest.file}' but {self.path} does not exist; import "
                "the model again",
                code="model.invalid_package",
                loc=str(self.path),
            )
        if verify_checksum and manifest.sha256:
            found = file_sha256(self.path)
            if found.lower() != manifest.sha256.lower():
                raise ModelError(
                    f"{self.path} has sha256 {found}, model.json expects {manifest.sha256}: the "
                    "file was changed or damaged; import the model again (or delete the "
                    "folder so the default model is prepared anew)",
                    code="model.checksum_mismatch",
                    loc=str(self.path),
                )
        chosen, missing = resolve_providers(providers)
        try:
            self._session = ort.InferenceSession(
                str(self.path),
                sess_options=session_options(intra_op_num_threads, inter_op_num_threads),
                providers=chosen,
            )
        except ModelError:
            raise
        except Exception as error:  # onnxruntime raises its own pybind exception types
            raise ModelError(
                f"onnxruntime cannot load {self.path}: {error}. The file is damaged or not an "
                "ONNX model; import the model again",
                code="model.corrupt_file",
                loc=str(self.path),
            ) from None
        self._input = self._session.get_inputs()[0]
        input_size, batch = self._check_input()
        self._batch = batch if batch is not None else max(1, int(max_batch_size))
        self._fixed_batch = batch is not None
        self._preprocess = Preprocessor.from_manifest(
            manifest, input_size=input_size, dtype=_INPUT_TYPES[self._input.type]
        )
        self.metadata: dict[str, str] = dict(self._session.get_modelmeta().custom_metadata_map)
        self.info = ModelInfo(
            model_id=manifest.model_id,
            task=manifest.task,
            class_names=tuple(manifest.class_names),
            input_size=input_size,
            max_batch_size=batch,
            keypoint_names=tuple(manifest.keypoint_names),
            providers=tuple(self._session.get_providers()),
            path=str(self.path),
            extra={
                "output_layout": manifest.output_layout,
                "resize": manifest.resize,
                "batch_chunk": self._batch,
                "unavailable_providers": missing,
            },
        )

    def infer(
        self,
        images: Sequence[np.ndarray],
        params: DetectionParams | ClassificationParams | None = None,
    ) -> list[Prediction]:
        """One prediction per BGR ``uint8`` image, in that image's pixels."""
        classification = self.manifest.output_layout in ("logits", "probabilities")
        if params is None:
            params = ClassificationParams() if classification else DetectionParams()
        expected = ClassificationParams if classification else DetectionParams
        if not isinstance(params, expected):
            raise TypeError(
                f"{self.manifest.model_id} is a {self.manifest.task.value} model: it takes "
                f"{expected.__name__}, not {type(params).__name__}"
            )
        images = list(images)  # any sequence (a Batch of the engine) is sliced below
        results: list[Prediction] = []
        for start in range(0, len(images), self._batch):
            chunk = images[start : start + self._batch]
            batch, transforms = self._preprocess(chunk)
            if self._fixed_batch and len(chunk) < self._batch:
                # a fixed batch larger than the chunk: fill with blank images, drop their outputs
                padding = np.zeros((self._batch - len(chunk), *batch.shape[1:]), batch.dtype)
                batch = np.concatenate([batch, padding])
            outputs = self._session.run(None, {self._input.name: batch})
            results.extend(self._decode([o[: len(chunk)] for o in outputs], transforms, params))
        return results

    def describe(self) -> dict[str, Any]:
        return {
            **self.info.describe(),
            "output_layout": self.manifest.output_layout,
            "resize": self.manifest.resize,
        }

    def _decode(
        self,
        outputs: list[np.ndarray],
        transforms: list[ImageTransform],
        params: DetectionParams | ClassificationParams,
    ) -> list[Prediction]:
        manifest = self.manifest
        names = manifest.class_names
        layout = manifest.output_layout
        if isinstance(params, ClassificationParams):
            activation = manifest.activation
            if layout == "logits" and activation is None:
                single = manifest.task == ModelTask.CLASSIFICATION
                activation = "softmax" if single else "sigmoid"
            if layout == "probabilities":
                activation = None
            return list(decode_classification(outputs[0], activation, names))
        if layout in ("yolov8", "yolov5"):
            return list(decode_detections(outputs[0], transforms, params, names, layout))
        if layout == "yolov8-pose":
            count = len(manifest.keypoint_names) or None
            return list(decode_pose(outputs[0], transforms, params, names, count))
        rank3 = [o for o in outputs if o.ndim == 3]
        rank4 = [o for o in outputs if o.ndim == 4]
        if not rank3 or not rank4:
            raise ModelError(
                "a segmentation network must return detections (B, 4+C+M, N) and prototypes "
                f"(B, M, H/4, W/4); got shapes {[o.shape for o in outputs]}",
                code="model.output_mismatch",
                loc=manifest.model_id,
            )
        return list(decode_segmentation(rank3[0], rank4[0], transforms, params, names))

    def _check_input(self) -> tuple[tuple[int, int], int | None]:
        """(input (width, height), fixed batch or None) after checking the declared input."""
        manifest = self.manifest
        inputs = self._session.get_inputs()
        shape = list(inputs[0].shape)
        problem = None
        if len(inputs) != 1:
            problem = f"one input; it has {len(inputs)} ({', '.join(i.name for i in inputs)})"
        elif len(shape) != 4 or (isinstance(shape[1], int) and shape[1] != 3):
            problem = f"an NCHW input with 3 channels; its input '{inputs[0].name}' is {shape}"
        elif inputs[0].type not in _INPUT_TYPES:
            problem = f"a float input; its input is {inputs[0].type}"
        height, width = shape[2:4] if len(shape) == 4 else (None, None)
        declared = (width, height) if isinstance(width, int) and isinstance(height, int) else None
        size = manifest.input_size
        if problem is None and declared and size and tuple(size) != declared:
            problem = (
                f"the input size {list(size)} of model.json (width, height); the network takes "
                f"{list(declared)}"
            )
        if problem is None and not (size or declared):
            problem = "an input size; neither the network nor model.json gives one"
        if problem is not None:
            raise ModelError(
                f"{self.path} does not fit its package: expected {problem}. Fix input_size in "
                "model.json or export the model with a 3-channel NCHW image input",
                code="model.input_mismatch",
                loc=str(self.path),
            )
        batch = shape[0] if isinstance(shape[0], int) and shape[0] > 0 else None
        return (tuple(size) if size else declared), batch  # type: ignore[return-value]


def read_onnx_metadata(path: str | Path) -> dict[str, str]:
    """The custom metadata map of an ONNX file (ultralytics stores ``names``, ``imgsz``...).

    The top level of the protobuf is scanned without reading the graph (weights stay on disk);
    a file the scan cannot follow is opened with onnxruntime, which reports damaged files.
    """
    path = Path(path)
    try:
        found = _scan_metadata(path)
    except (OSError, ValueError, UnicodeDecodeError):
        found = None
    if found is not None:
        return found
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    try:
        session = ort.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as error:  # onnxruntime raises its own pybind exception types
        raise ModelError(
            f"onnxruntime cannot read {path}: {error}. The file is damaged or not an ONNX model",
            code="model.corrupt_file",
            loc=str(path),
        ) from None
    return dict(session.get_modelmeta().custom_metadata_map)


def _scan_metadata(path: Path) -> dict[str, str] | None:
    """``ModelProto.metadata_props`` (field 14) read from the top-level protobuf fields.

    None unless the whole file parses as top-level fields and holds a graph (field 7).
    """
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        position, end = 0, len(data)
        metadata: dict[str, str] = {}
        has_graph = False
        while position < end:
            key, position = _varint(data, position)
            field, wire = key >> 3, key & 7
            if wire == 0:
                _, position = _varint(data, position)
            elif wire == 1:
                position += 8
            elif wire == 5:
                position += 4
            elif wire == 2:
                length, position = _varint(data, position)
                if field == 14:
                    name, value = _string_pair(data[position : position + length])
                    metadata[name] = value
                has_graph = has_graph or field == 7
                position += length
            else:
                return None
            if field == 0 or position > end:
                return None
        return metadata if has_graph else None


def _string_pair(entry: bytes) -> tuple[str, str]:
    """``StringStringEntryProto``: key (1) and value (2)."""
    values = {1: "", 2: ""}
    position = 0
    while position < len(entry):
        key, position = _varint(entry, position)
        if key & 7 != 2:
            raise ValueError("unexpected wire type in a metadata entry")
        length, position = _varint(entry, position)
        values[key >> 3] = bytes(entry[position : position + length]).decode("utf-8")
        position += length
    return values[1], values[2]


def _varint(data: bytes | mmap.mmap, position: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if position >= len(data) or shift > 63:
            raise ValueError("truncated varint")
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
        shift += 7


def _at(values: list[int], index: int) -> int | None:
    return values[index] if len(values) > index else None


__all__ = [
    "DEFAULT_MAX_BATCH_SIZE",
    "PROVIDERS_ENV",
    "THREADS_ENV",
    "OnnxModel",
    "read_onnx_metadata",
    "resolve_providers",
    "session_options",
]
