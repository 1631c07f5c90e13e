"""EfficientNet-Lite0 from a legacy (pre-zip) torch pickle to ONNX, without torch.

The pickle is read by a restricted unpickler that knows exactly four globals (the ordered dict,
the tensor rebuild function and the storage types); anything else is refused, so a hostile
file cannot run code. Tensors are rebuilt from their storages with numpy strides.

The network (facts from the published TF model): a 3x3 stride-2 stem to 32 channels, MBConv
stages without squeeze-excitation, a 1x1 head to 1280, global average pooling and a fully
connected layer to 1000 logits. ReLU6 everywhere, batch norm eps 1e-3 (folded into the convs),
TensorFlow "SAME" padding (the extra row/column of stride-2 layers goes bottom/right).
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from visionflow.errors import ModelError
from visionflow.models.convert import IR_VERSION, OPSET

BN_EPSILON = 1e-3
INPUT_SIZE = 224
#: (kernel, stride, expand ratio, output channels, repeats) per MBConv stage
STAGES = (
    (3, 1, 1, 16, 1),
    (3, 2, 6, 24, 2),
    (5, 2, 6, 40, 2),
    (3, 2, 6, 80, 3),
    (5, 1, 6, 112, 3),
    (5, 2, 6, 192, 4),
    (3, 1, 6, 320, 1),
)
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_STORAGE_DTYPES = {
    "FloatStorage": "<f4",
    "DoubleStorage": "<f8",
    "HalfStorage": "<f2",
    "LongStorage": "<i8",
    "IntStorage": "<i4",
    "ShortStorage": "<i2",
    "CharStorage": "i1",
    "ByteStorage": "u1",
    "BoolStorage": "?",
}


class _StateDict(dict):  # type: ignore[type-arg]
    """Stands in for ``collections.OrderedDict``; torch sets ``_metadata`` on it (BUILD)."""


@dataclass(frozen=True)
class _StorageRef:
    key: str
    dtype: str


@dataclass(frozen=True)
class _TensorRef:
    storage: _StorageRef
    offset: int
    shape: tuple[int, ...]
    strides: tuple[int, ...]


def _rebuild_tensor(
    storage: _StorageRef, offset: int, shape: Any, strides: Any, *_: Any
) -> _TensorRef:
    return _TensorRef(storage, int(offset), tuple(shape), tuple(strides))


class _Unpickler(pickle.Unpickler):
    """Resolves only the globals a legacy torch state dict needs; refuses everything else."""

    def find_class(self, module: str, name: str) -> Any:
        allowed: dict[tuple[str, str], Any] = {
            ("collections", "OrderedDict"): _StateDict,
            ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
        }
        if (module, name) in allowed:
            return allowed[(module, name)]
        if module == "torch" and name in _STORAGE_DTYPES:
            return name
        raise ModelError(
            f"the torch file refers to '{module}.{name}'; only plain tensor state dicts are read "
            "(nothing in the file is executed)",
            code="model.invalid_source",
        )

    def persistent_load(self, pid: Any) -> _StorageRef:
        if not (isinstance(pid, tuple) and len(pid) >= 3 and pid[0] == "storage"):
            raise ModelError(
                f"unexpected persistent id {pid!r} in the torch file", code="model.invalid_source"
            )
        return _StorageRef(str(pid[2]), _STORAGE_DTYPES[pid[1]])


def load_legacy_state_dict(data: bytes) -> dict[str, np.ndarray]:
    """The tensors of a legacy (pre-zip) ``torch.save`` file as float/int numpy arrays."""
    stream = io.BytesIO(data)

    def plain() -> Any:
        # the header pickles hold only ints and dicts of ints: no globals to resolve
        return _Unpickler(stream).load()

    try:
        if plain() != _LEGACY_MAGIC:
            raise ModelError(
                "the file is not a legacy torch pickle (wrong magic number)",
                code="model.invalid_source",
            )
        plain()  # protocol version
        system = plain()  # endianness, type sizes
        if isinstance(system, dict) and system.get("little_endian") is False:
            raise ModelError(
                "the torch file was saved on a big-endian machine; only little-endian files "
                "are read",
                code="model.invalid_source",
            )
        state = _Unpickler(stream).load()
        keys = plain()
    except (pickle.UnpicklingError, EOFError, ValueError, KeyError, TypeError) as error:
        raise ModelError(
            f"cannot read the torch file: {error}", code="model.invalid_source"
        ) from None
    if not isinstance(state, dict) or not isinstance(keys, list):
        raise ModelError("the torch file does not hold a state dict", code="model.invalid_source")
    dtypes = {t.storage.key: t.storage.dtype for t in state.values() if isinstance(t, _TensorRef)}
    storages: dict[str, np.ndarray] = {}
    for key in keys:
        # each storage: an int64 element count, then the raw little-endian elements
        head = stream.read(8)
        count = int(np.frombuffer(head, dtype="<i8")[0]) if len(head) == 8 else -1
        dtype = np.dtype(dtypes.get(key, "u1"))
        raw = stream.read(count * dtype.itemsize) if count >= 0 else b""
        if count < 0 or len(raw) != count * dtype.itemsize:
            raise ModelError("the torch file is truncated", code="model.invalid_source")
        storages[key] = np.frombuffer(raw, dtype=dtype)
    tensors: dict[str, np.ndarray] = {}
    for name, ref in state.items():
        if not isinstance(ref, _TensorRef):
            continue
        storage = storages.get(ref.storage.key)
        if storage is None or not _fits(ref, storage.size):
            # as_strided trusts its arguments: a view past the storage would read stray memory
            raise ModelError(
                f"tensor '{name}' of the torch file lies outside its storage",
                code="model.invalid_source",
            )
        flat = storage[ref.offset :]
        itemsize = flat.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(
            flat, shape=ref.shape, strides=[s * itemsize for s in ref.strides], writeable=False
        )
        tensors[name] = view.astype(flat.dtype.newbyteorder("="), order="C")  # a copy
    return tensors


def _fits(ref: _TensorRef, size: int) -> bool:
    """Whether every element of the strided view lies inside a storage of ``size`` elements."""
    if ref.offset < 0 or any(n < 0 for n in ref.shape) or any(s < 0 for s in ref.strides):
        return False
    if len(ref.shape) != len(ref.strides):
        return False
    if 0 in ref.shape:
        return ref.offset <= size
    last = ref.offset + sum((n - 1) * s for n, s in zip(ref.shape, ref.strides, strict=True))
    return last < size


class _Builder:
    """Adds conv + folded BN + ReLU6 units with stable names."""

    def __init__(self, state: Mapping[str, np.ndarray]) -> None:
        self.state = state
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.zero = self._const("relu6_min", np.array(0.0, np.float32))
        self.six = self._const("relu6_max", np.array(6.0, np.float32))
        self.size = INPUT_SIZE  # spatial size of the current feature map (square input)

    def _const(self, name: str, array: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def tensor(self, key: str) -> np.ndarray:
        if key not in self.state:
            raise ModelError(
                f"the EfficientNet-Lite0 weights have no '{key}'; the file is not the expected "
                "model",
                code="model.invalid_source",
            )
        return self.state[key].astype(np.float64)

    def conv_bn(
        self, source: str, conv: str, bn: str, *, size: int, stride: int, groups: int, relu6: bool
    ) -> tuple[str, int]:
        """Conv ``conv`` with BN ``bn`` folded in, TF "SAME" padding for the fixed input size."""
        kernel = self.tensor(f"{conv}.weight")
        factor = self.tensor(f"{bn}.weight") / np.sqrt(
            self.tensor(f"{bn}.running_var") + BN_EPSILON
        )
        bias = self.tensor(f"{bn}.bias") - self.tensor(f"{bn}.running_mean") * factor
        kernel = kernel * factor[:, None, None, None]
        size_in = self.size
        size_out = -(-size_in // stride)
        total = max((size_out - 1) * stride + size - size_in, 0)
        begin = total // 2
        out = conv.replace(".", "_")
        self.nodes.append(
            helper.make_node(
                "Conv",
                [
                    source,
                    self._const(f"{out}_w", kernel.astype(np.float32)),
                    self._const(f"{out}_b", bias.astype(np.float32)),
                ],
                [out],
                name=out,
                kernel_shape=[size, size],
                strides=[stride, stride],
                pads=[begin, begin, total - begin, total - begin],
                group=groups,
            )
        )
        self.size = size_out
        if relu6:
            self.nodes.append(
                helper.make_node(
                    "Clip", [out, self.zero, self.six], [f"{out}_relu6"], name=f"{out}_relu6"
                )
            )
            out = f"{out}_relu6"
        return out, kernel.shape[0]


def efficientnet_lite0_to_onnx(
    state: Mapping[str, np.ndarray], *, metadata: Mapping[str, str] | None = None
) -> onnx.ModelProto:
    """The ONNX graph of EfficientNet-Lite0: ``input`` ``(batch, 3, 224, 224)`` to logits ``(batch, 1000)``."""
    build = _Builder(state)
    x, channels = build.conv_bn(
        "input", "_conv_stem", "_bn0", size=3, stride=2, groups=1, relu6=True
    )
    index = 0
    for kernel, first_stride, expand, out_channels, repeats in STAGES:
        for repeat in range(repeats):
            stride = first_stride if repeat == 0 else 1
            block = f"_blocks.{index}"
            source, in_channels = x, channels
            if expand != 1:
                x, channels = build.conv_bn(
                    x,
                    f"{block}._expand_conv",
                    f"{block}._bn0",
                    size=1,
                    stride=1,
                    groups=1,
                    relu6=True,
                )
            x, channels = build.conv_bn(
                x,
                f"{block}._depthwise_conv",
                f"{block}._bn1",
                size=kernel,
                stride=stride,
                groups=channels,
                relu6=True,
            )
            x, channels = build.conv_bn(
                x,
                f"{block}._project_conv",
                f"{block}._bn2",
                size=1,
                stride=1,
                groups=1,
                relu6=False,
            )
            if channels != out_channels:
                raise ModelError(
                    f"block {index} of the weights gives {channels} channels; the "
                    f"EfficientNet-Lite0 layout expects {out_channels}",
                    code="model.invalid_source",
                )
            if stride == 1 and in_channels == out_channels:
                residual = f"{block.replace('.', '_')}_add"
                build.nodes.append(helper.make_node("Add", [x, source], [residual], name=residual))
                x = residual
            index += 1
    x, channels = build.conv_bn(x, "_conv_head", "_bn1", size=1, stride=1, groups=1, relu6=True)
    build.nodes.append(helper.make_node("GlobalAveragePool", [x], ["pooled"], name="pooled"))
    build.nodes.append(
        helper.make_node("Flatten", ["pooled"], ["features"], name="features", axis=1)
    )
    weight = build._const("fc_w", build.tensor("_fc.weight").astype(np.float32))
    bias = build._const("fc_b", build.tensor("_fc.bias").astype(np.float32))
    build.nodes.append(
        helper.make_node("Gemm", ["features", weight, bias], ["logits"], name="logits", transB=1)
    )
    classes = int(state["_fc.bias"].shape[0])
    model = helper.make_model(
        helper.make_graph(
            build.nodes,
            "efficientnet_lite0",
            [
                helper.make_tensor_value_info(
                    "input", TensorProto.FLOAT, ["batch", 3, INPUT_SIZE, INPUT_SIZE]
                )
            ],
            [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", classes])],
            build.initializers,
        ),
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="visionflow",
        ir_version=IR_VERSION,
    )
    for key, value in (metadata or {}).items():
        model.metadata_props.add(key=key, value=value)
    return model


def convert_efficientnet_lite0(
    path: Path, *, metadata: Mapping[str, str] | None = None
) -> onnx.ModelProto:
    """Read the legacy torch file at ``path`` and build the ONNX graph."""
    return efficientnet_lite0_to_onnx(load_legacy_state_dict(path.read_bytes()), metadata=metadata)


#: kept for tests: the exact globals the unpickler resolves
ALLOWED_GLOBALS: tuple[tuple[str, str], ...] = (
    ("collections", "OrderedDict"),
    ("torch._utils", "_rebuild_tensor_v2"),
    *(("torch", name) for name in _STORAGE_DTYPES),
)
__all__ = [
    "ALLOWED_GLOBALS",
    "BN_EPSILON",
    "STAGES",
    "convert_efficientnet_lite0",
    "efficientnet_lite0_to_onnx",
    "load_legacy_state_dict",
]
