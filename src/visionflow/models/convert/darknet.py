"""Darknet (``.cfg`` + ``.weights``) to ONNX, with the YOLO heads decoded inside the graph.

The graph takes ``images`` ``(batch, 3, H, W)`` RGB in [0, 1] and gives one output shaped like
an ultralytics YOLOv8 export, ``(batch, 4 + classes, N)``: rows cx, cy, w, h in input pixels,
then per-class scores ``sigmoid(objectness) * sigmoid(class)``. One decoder then serves this
model and every ultralytics export. Supported sections: ``[net]``, ``[convolutional]`` (with or
without ``batch_normalize``; ``leaky`` or ``linear``), ``[maxpool]``, ``[upsample]``,
``[route]`` and ``[yolo]``: all that YOLOv3-tiny uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from visionflow.errors import ModelError
from visionflow.models.convert import IR_VERSION, OPSET

#: darknet's batch-norm epsilon is tiny; folding with this one matches its outputs
BN_EPSILON = 1e-5
LEAKY_SLOPE = 0.1


@dataclass(frozen=True)
class Section:
    """One ``[kind]`` block of a darknet cfg with its ``key=value`` options."""

    kind: str
    options: dict[str, str]
    line: int

    def integer(self, key: str, default: int | None = None) -> int:
        if key not in self.options:
            if default is None:
                raise ModelError(
                    f"the [{self.kind}] section on line {self.line} has no '{key}'",
                    code="model.invalid_source",
                    loc=f"line {self.line}",
                )
            return default
        values = self.integers(key)
        if len(values) != 1:
            raise ModelError(
                f"'{key}' in the [{self.kind}] section on line {self.line} should be one whole "
                f"number, not {self.options[key]!r}",
                code="model.invalid_source",
                loc=f"line {self.line}",
            )
        return values[0]

    def integers(self, key: str) -> list[int]:
        text = self.options.get(key, "")
        try:
            return [int(v) for v in text.split(",") if v.strip()]
        except ValueError:
            raise ModelError(
                f"'{key}' in the [{self.kind}] section on line {self.line} should be whole "
                f"numbers, not {text!r}",
                code="model.invalid_source",
                loc=f"line {self.line}",
            ) from None


def parse_cfg(text: str) -> list[Section]:
    """The sections of a darknet cfg, in order (comments and blank lines dropped)."""
    sections: list[Section] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            sections.append(Section(line[1:-1].strip().lower(), {}, number))
        elif "=" in line and sections:
            key, value = line.split("=", 1)
            sections[-1].options[key.strip()] = value.strip()
        else:
            raise ModelError(
                f"line {number} of the darknet cfg is neither a [section] nor key=value: {raw!r}",
                code="model.invalid_source",
                loc=f"line {number}",
            )
    if not sections or sections[0].kind not in ("net", "network"):
        raise ModelError(
            "a darknet cfg starts with a [net] section; this one does not",
            code="model.invalid_source",
        )
    return sections


class _Weights:
    """Reads the float32 arrays of a darknet weights file in order, after its header."""

    def __init__(self, data: bytes) -> None:
        major, minor = np.frombuffer(data[:8].ljust(8, b"\0"), dtype="<i4")
        # the images-seen counter grew from int32 to int64 in format 0.2
        offset = 12 + (8 if int(major) * 10 + int(minor) >= 2 else 4)
        if len(data) < offset or (len(data) - offset) % 4:
            raise ModelError(
                f"a darknet weights file is a {offset}-byte header and float32 values; this one "
                f"has {len(data)} bytes",
                code="model.invalid_source",
            )
        self.values = np.frombuffer(data, dtype="<f4", offset=offset)
        self.position = 0

    def take(self, count: int) -> np.ndarray:
        end = self.position + count
        if end > self.values.size:
            raise ModelError(
                f"the darknet weights file ends after {self.values.size} values but the cfg needs "
                "more; the cfg and weights files do not belong together",
                code="model.invalid_source",
            )
        chunk = self.values[self.position : end]
        self.position = end
        return chunk


@dataclass
class _Layer:
    name: str  # the graph value holding this layer's output
    channels: int
    height: int
    width: int


class _Graph:
    """Collects nodes and initializers with stable, readable names."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []

    def const(self, name: str, array: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, inputs: Sequence[str], name: str, **attributes: Any) -> str:
        self.nodes.append(helper.make_node(op, list(inputs), [name], name=name, **attributes))
        return name


def darknet_to_onnx(
    cfg_text: str,
    weights: bytes,
    class_names: Sequence[str],
    *,
    dynamic_batch: bool = True,
    metadata: dict[str, str] | None = None,
) -> onnx.ModelProto:
    """Build the ONNX graph of a darknet YOLO network from its cfg text and weights bytes."""
    sections = parse_cfg(cfg_text)
    net = sections[0]
    height, width, channels = (
        net.integer("height"),
        net.integer("width"),
        net.integer("channels", 3),
    )
    reader = _Weights(weights)
    graph = _Graph()
    layers: list[_Layer] = []
    heads: list[str] = []
    boxes = 0  # candidate boxes over all heads: the output's last dimension
    current = _Layer("images", channels, height, width)
    for index, section in enumerate(sections[1:]):
        prefix = f"{index:03d}_{section.kind}"
        if section.kind == "convolutional":
            current = _convolution(graph, reader, section, current, prefix)
        elif section.kind == "maxpool":
            current = _maxpool(graph, section, current, prefix)
        elif section.kind == "upsample":
            stride = section.integer("stride", 2)
            scales = graph.const(f"{prefix}_scales", np.array([1, 1, stride, stride], np.float32))
            out = graph.node("Resize", [current.name, "", scales], prefix, mode="nearest")
            current = _Layer(out, current.channels, current.height * stride, current.width * stride)
        elif section.kind == "route":
            targets = [i if i >= 0 else index + i for i in section.integers("layers")]
            if not targets or any(not 0 <= t < index for t in targets):
                raise ModelError(
                    f"the [route] section on line {section.line} refers to layers {targets}; "
                    f"only earlier layers (0 to {index - 1}) exist",
                    code="model.invalid_source",
                    loc=f"line {section.line}",
                )
            sources = [layers[t] for t in targets]
            if len(sources) == 1:
                current = sources[0]
            else:
                out = graph.node("Concat", [s.name for s in sources], prefix, axis=1)
                total = sum(s.channels for s in sources)
                current = _Layer(out, total, sources[0].height, sources[0].width)
        elif section.kind == "yolo":
            heads.append(
                _yolo_head(graph, section, current, height, width, len(class_names), prefix)
            )
            boxes += len(section.integers("mask")) * current.height * current.width
        else:
            raise ModelError(
                f"the darknet converter does not support [{section.kind}] sections (line "
                f"{section.line}); it knows convolutional, maxpool, upsample, route and yolo",
                code="model.invalid_source",
                loc=f"line {section.line}",
            )
        layers.append(current)
    if reader.position != reader.values.size:
        raise ModelError(
            f"the darknet weights file holds {reader.values.size} values but the cfg uses "
            f"{reader.position}; the cfg and weights files do not belong together",
            code="model.invalid_source",
        )
    if not heads:
        raise ModelError("the darknet cfg has no [yolo] section", code="model.invalid_source")
    output = graph.node("Concat", heads, "output0", axis=2) if len(heads) > 1 else heads[0]
    if output != "output0":
        output = graph.node("Identity", [output], "output0")
    batch: str | int = "batch" if dynamic_batch else 1
    model = helper.make_model(
        helper.make_graph(
            graph.nodes,
            "darknet",
            [
                helper.make_tensor_value_info(
                    "images", TensorProto.FLOAT, [batch, channels, height, width]
                )
            ],
            [
                helper.make_tensor_value_info(
                    "output0", TensorProto.FLOAT, [batch, 4 + len(class_names), boxes]
                )
            ],
            graph.initializers,
        ),
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="visionflow",
        ir_version=IR_VERSION,
    )
    for key, value in (metadata or {}).items():
        model.metadata_props.add(key=key, value=value)
    return model


def _convolution(
    graph: _Graph, reader: _Weights, section: Section, source: _Layer, prefix: str
) -> _Layer:
    filters, size = section.integer("filters"), section.integer("size", 1)
    stride = section.integer("stride", 1)
    padding = size // 2 if section.integer("pad", 0) else section.integer("padding", 0)
    if section.integer("groups", 1) != 1:
        raise ModelError(
            f"grouped darknet convolutions are not supported (line {section.line})",
            code="model.invalid_source",
        )
    if section.integer("batch_normalize", 0):
        beta, gamma, mean, variance = (reader.take(filters).astype(np.float64) for _ in range(4))
    else:
        bias = reader.take(filters).astype(np.float64)
    kernel = reader.take(filters * source.channels * size * size).astype(np.float64)
    kernel = kernel.reshape(filters, source.channels, size, size)
    if section.integer("batch_normalize", 0):
        # fold in float64 so the float32 result does not depend on the order of operations
        factor = gamma / np.sqrt(variance + BN_EPSILON)
        kernel = kernel * factor[:, None, None, None]
        bias = beta - mean * factor
    w = graph.const(f"{prefix}_w", kernel.astype(np.float32))
    b = graph.const(f"{prefix}_b", bias.astype(np.float32))
    out = graph.node(
        "Conv",
        [source.name, w, b],
        prefix,
        kernel_shape=[size, size],
        strides=[stride, stride],
        pads=[padding] * 4,
    )
    activation = section.options.get("activation", "logistic")
    if activation == "leaky":
        out = graph.node("LeakyRelu", [out], f"{prefix}_leaky", alpha=LEAKY_SLOPE)
    elif activation != "linear":
        raise ModelError(
            f"darknet activation '{activation}' is not supported (line {section.line}); "
            "the converter knows leaky and linear",
            code="model.invalid_source",
        )
    out_h = (source.height + 2 * padding - size) // stride + 1
    out_w = (source.width + 2 * padding - size) // stride + 1
    return _Layer(out, filters, out_h, out_w)


def _maxpool(graph: _Graph, section: Section, source: _Layer, prefix: str) -> _Layer:
    size = section.integer("size", section.integer("stride", 1))
    stride = section.integer("stride", 1)
    padding = section.integer("padding", size - 1)
    # darknet pads by padding // 2 in front and lets windows run past the end: the rest of the
    # padding goes bottom/right; ONNX MaxPool ignores padded cells (as -inf), as darknet does
    begin = padding // 2
    out_h = (source.height + padding - size) // stride + 1
    out_w = (source.width + padding - size) // stride + 1
    end_h = max(0, (out_h - 1) * stride + size - source.height - begin)
    end_w = max(0, (out_w - 1) * stride + size - source.width - begin)
    out = graph.node(
        "MaxPool",
        [source.name],
        prefix,
        kernel_shape=[size, size],
        strides=[stride, stride],
        pads=[begin, begin, end_h, end_w],
    )
    return _Layer(out, source.channels, out_h, out_w)


def _yolo_head(
    graph: _Graph,
    section: Section,
    source: _Layer,
    input_height: int,
    input_width: int,
    classes: int,
    prefix: str,
) -> str:
    """Decode one [yolo] head to ``(batch, 4 + classes, anchors * cells)``."""
    if section.integer("classes") != classes:
        raise ModelError(
            f"the [yolo] section on line {section.line} has {section.integer('classes')} classes "
            f"but {classes} class names were given",
            code="model.invalid_source",
        )
    mask = section.integers("mask")
    pairs = np.array(section.integers("anchors"), dtype=np.float32).reshape(-1, 2)
    anchors = pairs[mask]  # (A, 2) in input pixels
    count, cells = len(mask), source.height * source.width
    if source.channels != count * (5 + classes):
        raise ModelError(
            f"the layer before the [yolo] section on line {section.line} has {source.channels} "
            f"channels; {count} anchors x (5 + {classes}) = {count * (5 + classes)} were expected",
            code="model.invalid_source",
        )
    stride_y, stride_x = input_height / source.height, input_width / source.width
    ys, xs = np.meshgrid(np.arange(source.height), np.arange(source.width), indexing="ij")
    grid = np.stack([xs.ravel(), ys.ravel()]).astype(np.float32)[None, None]  # (1, 1, 2, cells)
    strides = np.array([stride_x, stride_y], np.float32).reshape(1, 1, 2, 1)
    shaped = graph.node(
        "Reshape",
        [source.name, graph.const(f"{prefix}_shape", np.array([0, count, 5 + classes, cells]))],
        f"{prefix}_raw",
    )

    def part(start: int, end: int, name: str) -> str:
        bounds = [
            graph.const(f"{prefix}_{name}_{k}", np.array([v]))
            for k, v in (("s", start), ("e", end))
        ]
        axis = graph.const(f"{prefix}_{name}_axis", np.array([2]))
        return graph.node("Slice", [shaped, *bounds, axis], f"{prefix}_{name}")

    xy = graph.node("Sigmoid", [part(0, 2, "xy")], f"{prefix}_xy_sig")
    xy = graph.node("Add", [xy, graph.const(f"{prefix}_grid", grid)], f"{prefix}_xy_cell")
    xy = graph.node("Mul", [xy, graph.const(f"{prefix}_stride", strides)], f"{prefix}_xy_px")
    wh = graph.node("Exp", [part(2, 4, "wh")], f"{prefix}_wh_exp")
    anchor_sizes = graph.const(f"{prefix}_anchors", anchors.reshape(1, count, 2, 1))
    wh = graph.node("Mul", [wh, anchor_sizes], f"{prefix}_wh_px")
    objectness = graph.node("Sigmoid", [part(4, 5, "obj")], f"{prefix}_obj_sig")
    scores = graph.node("Sigmoid", [part(5, 5 + classes, "cls")], f"{prefix}_cls_sig")
    scores = graph.node("Mul", [objectness, scores], f"{prefix}_scores")
    rows = graph.node("Concat", [xy, wh, scores], f"{prefix}_rows", axis=2)  # (B, A, 4+C, cells)
    rows = graph.node("Transpose", [rows], f"{prefix}_t", perm=[0, 2, 1, 3])  # (B, 4+C, A, cells)
    flat = graph.const(f"{prefix}_flat", np.array([0, 4 + classes, count * cells]))
    return graph.node("Reshape", [rows, flat], f"{prefix}_out")


def convert_darknet(
    cfg_path: Path,
    weights_path: Path,
    class_names: Sequence[str],
    *,
    dynamic_batch: bool = True,
    metadata: dict[str, str] | None = None,
) -> onnx.ModelProto:
    """Read a darknet cfg and weights file from disk and build the ONNX graph."""
    return darknet_to_onnx(
        cfg_path.read_text(encoding="utf-8"),
        weights_path.read_bytes(),
        class_names,
        dynamic_batch=dynamic_batch,
        metadata=metadata,
    )


def ultralytics_metadata(
    class_names: Sequence[str], input_size: tuple[int, int], stride: int, description: str
) -> dict[str, str]:
    """ONNX metadata like an ultralytics detect export's, so the model describes itself."""
    width, height = input_size
    return {
        "description": description,
        "task": "detect",
        "stride": str(stride),
        "imgsz": str([height, width]),
        "names": str(dict(enumerate(class_names))),
    }


__all__ = [
    "BN_EPSILON",
    "Section",
    "convert_darknet",
    "darknet_to_onnx",
    "parse_cfg",
    "ultralytics_metadata",
]
