"""Small ONNX models whose outputs are known, and raw outputs in each YOLO layout.

``constant_model`` ignores the pixels and returns fixed tensors (repeated over the batch);
``channel_mean_model`` returns each channel's mean, so its scores follow the image's colour.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from visionflow.models.package import ModelManifest

OPSET = [helper.make_opsetid("", 17)]


def _save(
    path: Path,
    nodes: list[onnx.NodeProto],
    inputs: list[onnx.ValueInfoProto],
    outputs: list[onnx.ValueInfoProto],
    initializers: list[onnx.TensorProto],
    metadata: dict[str, str] | None,
) -> Path:
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=initializers)
    model = helper.make_model(graph, opset_imports=OPSET)
    model.ir_version = 8
    for key, value in (metadata or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def _image_input(
    batch: int | str, size: tuple[int, int], channels: int, elem_type: int
) -> onnx.ValueInfoProto:
    width, height = size
    return helper.make_tensor_value_info("images", elem_type, [batch, channels, height, width])


def constant_model(
    path: Path,
    outputs: Sequence[np.ndarray],
    *,
    batch: int | str = 1,
    size: tuple[int, int] = (64, 64),
    channels: int = 3,
    elem_type: int = TensorProto.FLOAT,
    metadata: dict[str, str] | None = None,
) -> Path:
    """A model returning ``outputs`` (each shaped ``(1, ...)``) for every image of the batch."""
    nodes = [
        helper.make_node("Cast", ["images"], ["x"], to=TensorProto.FLOAT),
        helper.make_node("ReduceMean", ["x"], ["mean"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Mul", ["mean", "zero"], ["zeros4"]),
    ]
    initializers = [numpy_helper.from_array(np.zeros((), np.float32), "zero")]
    declared = []
    for index, value in enumerate(outputs):
        value = np.asarray(value, dtype=np.float32)
        rank = value.ndim
        shape_name, const_name, name = f"shape{index}", f"const{index}", f"output{index}"
        initializers += [
            numpy_helper.from_array(np.array([0] + [1] * (rank - 1), np.int64), shape_name),
            numpy_helper.from_array(value, const_name),
        ]
        nodes += [
            helper.make_node("Reshape", ["zeros4", shape_name], [f"z{index}"]),
            helper.make_node("Add", [f"z{index}", const_name], [name]),
        ]
        dims = [batch, *value.shape[1:]]
        declared.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, dims))
    image = _image_input(batch, size, channels, elem_type)
    return _save(path, nodes, [image], declared, initializers, metadata)


def channel_mean_model(
    path: Path, *, batch: int | str = "batch", size: tuple[int, int] = (32, 32)
) -> Path:
    """A model returning the mean of each input channel, ``(B, 3)``."""
    nodes = [helper.make_node("ReduceMean", ["images"], ["output0"], axes=[2, 3], keepdims=0)]
    output = helper.make_tensor_value_info("output0", TensorProto.FLOAT, [batch, 3])
    return _save(path, nodes, [_image_input(batch, size, 3, TensorProto.FLOAT)], [output], [], None)


def package(folder: Path, model: Path | None = None, **manifest: Any) -> Path:
    """Write ``model.json`` beside ``folder/model.onnx`` (built by the caller) and return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    fields: dict[str, Any] = {"model_id": "test-model", "input_size": (64, 64), **manifest}
    ModelManifest(**fields).write(folder)
    return folder


def yolov8_output(
    rows: Sequence[tuple[float, float, float, float, int, float]],
    num_classes: int,
    extra: Sequence[Sequence[float]] | None = None,
) -> np.ndarray:
    """``(1, 4 + C + E, N)`` from (cx, cy, w, h, class, score) rows (+ extra values per row)."""
    width = 4 + num_classes + (len(extra[0]) if extra else 0)
    out = np.zeros((len(rows), width), np.float32)
    for i, (cx, cy, w, h, cls, score) in enumerate(rows):
        out[i, :4] = cx, cy, w, h
        out[i, 4 + cls] = score
        if extra:
            out[i, 4 + num_classes :] = extra[i]
    return out.T[None]


def yolov5_output(
    rows: Sequence[tuple[float, float, float, float, float, int, float]], num_classes: int
) -> np.ndarray:
    """``(1, N, 5 + C)`` from (cx, cy, w, h, objectness, class, class score) rows."""
    out = np.zeros((len(rows), 5 + num_classes), np.float32)
    for i, (cx, cy, w, h, obj, cls, score) in enumerate(rows):
        out[i, :5] = cx, cy, w, h, obj
        out[i, 5 + cls] = score
    return out[None]
