"""The ONNX Runtime adapter on small ONNX models whose outputs are known."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto
from onnx_graphs import (
    channel_mean_model,
    constant_model,
    package,
    yolov5_output,
    yolov8_output,
)

from visionflow.errors import ModelError
from visionflow.models.base import (
    ClassificationParams,
    ClassScores,
    DetectionParams,
    ModelAdapter,
    ModelTask,
    RawDetections,
)
from visionflow.models.onnx import OnnxModel, read_onnx_metadata, resolve_providers
from visionflow.models.package import file_sha256

NAMES = ["person", "dog", "cat"]
#: a landscape (200x100) and a portrait (100x200) image, letterboxed into 64x64 (ratio 0.32)
LANDSCAPE = np.full((100, 200, 3), 90, np.uint8)
PORTRAIT = np.full((200, 100, 3), 90, np.uint8)
#: one box in input pixels (10, 20, 30, 40) and where it lands in each image
BOX = (20.0, 30.0, 20.0, 20.0)
IN_LANDSCAPE = [31.25, 12.5, 93.75, 75.0]
IN_PORTRAIT = [0.0, 62.5, 43.75, 125.0]


def build(folder: Path, outputs: list[np.ndarray], **manifest: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    batch = manifest.pop("batch", 1)
    constant_model(folder / "model.onnx", outputs, batch=batch)
    return package(folder, class_names=manifest.pop("class_names", NAMES), **manifest)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One package per layout, built once."""
    root = tmp_path_factory.mktemp("onnx-models")
    detection = yolov8_output([(*BOX, 1, 0.9), (20.0, 30.0, 22.0, 20.0, 1, 0.8)], 3)
    protos = np.full((1, 1, 16, 16), 10.0, np.float32)
    keypoints = [[10.0, 20.0, 0.9, 30.0, 40.0, 0.8]]
    return {
        "yolov8": build(
            root / "yolov8",
            [detection],
            task=ModelTask.OBJECT_DETECTION,
            output_layout="yolov8",
            batch="batch",
        ),
        "yolov5": build(
            root / "yolov5",
            [yolov5_output([(*BOX, 0.5, 1, 0.9), (*BOX, 0.5, 2, 0.5)], 3)],
            task=ModelTask.OBJECT_DETECTION,
            output_layout="yolov5",
        ),
        "seg": build(
            root / "seg",
            [yolov8_output([(*BOX, 2, 0.9)], 3, [[1.0]]), protos],
            task=ModelTask.INSTANCE_SEGMENTATION,
            output_layout="yolov8-seg",
        ),
        "pose": build(
            root / "pose",
            [yolov8_output([(*BOX, 0, 0.9)], 1, keypoints)],
            task=ModelTask.KEYPOINT_DETECTION,
            output_layout="yolov8-pose",
            class_names=["person"],
            keypoint_names=["nose", "eye"],
            batch="batch",
        ),
        "softmax": build(
            root / "softmax",
            [np.array([[0.0, 0.0, np.log(2.0)]], np.float32)],
            task=ModelTask.CLASSIFICATION,
            output_layout="logits",
            activation="softmax",
            resize="center-crop",
        ),
        "sigmoid": build(
            root / "sigmoid",
            [np.array([[0.0, 2.0, -2.0]], np.float32)],
            task=ModelTask.MULTI_LABEL_CLASSIFICATION,
            output_layout="logits",
            activation="sigmoid",
        ),
        "probabilities": build(
            root / "probabilities",
            [np.array([[0.1, 0.7, 0.2]], np.float32)],
            task=ModelTask.CLASSIFICATION,
            output_layout="probabilities",
            batch="batch",
        ),
    }


@pytest.fixture(scope="module")
def loaded(models: dict[str, Path]) -> dict[str, OnnxModel]:
    return {name: OnnxModel(folder) for name, folder in models.items()}


@pytest.mark.parametrize("name", ["yolov8", "yolov5"])
def test_detection_boxes_in_original_pixels(loaded: dict[str, OnnxModel], name: str) -> None:
    model = loaded[name]
    assert isinstance(model, ModelAdapter)
    landscape, portrait = model.infer([LANDSCAPE, PORTRAIT], DetectionParams(confidence=0.4))
    for found, expected in ((landscape, IN_LANDSCAPE), (portrait, IN_PORTRAIT)):
        assert isinstance(found, RawDetections)
        assert found.class_id.tolist() == [1]  # the overlapping second box is suppressed
        np.testing.assert_allclose(found.xyxy, [expected], atol=1e-4)
    np.testing.assert_allclose(landscape.confidence, [0.9 if name == "yolov8" else 0.45])


def test_default_detection_params(loaded: dict[str, OnnxModel]) -> None:
    (found,) = loaded["yolov8"].infer([LANDSCAPE])
    assert len(found) == 1


def test_segmentation_masks(loaded: dict[str, OnnxModel]) -> None:
    landscape, portrait = loaded["seg"].infer([LANDSCAPE, PORTRAIT])
    # the prototype is positive everywhere: each mask is its box (pixel centres inside)
    for found, (x1, y1, x2, y2), size in (
        (landscape, (31, 12, 94, 75), (100, 200)),
        (portrait, (0, 62, 44, 125), (200, 100)),
    ):
        assert isinstance(found, RawDetections) and found.masks is not None
        assert found.masks.shape == (1, *size)
        wanted = np.zeros(size, bool)
        wanted[y1:y2, x1:x2] = True
        np.testing.assert_array_equal(found.masks[0], wanted)


def test_pose_keypoints(loaded: dict[str, OnnxModel]) -> None:
    (found,) = loaded["pose"].infer([LANDSCAPE])
    assert isinstance(found, RawDetections)
    assert found.keypoints_xy is not None and found.keypoints_confidence is not None
    np.testing.assert_allclose(found.keypoints_xy, [[[31.25, 12.5], [93.75, 75.0]]], atol=1e-4)
    np.testing.assert_allclose(found.keypoints_confidence, [[0.9, 0.8]], atol=1e-6)
    assert loaded["pose"].info.keypoint_names == ("nose", "eye")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("softmax", [0.25, 0.25, 0.5]),
        ("sigmoid", [0.5, 0.880797, 0.119203]),
        ("probabilities", [0.1, 0.7, 0.2]),
    ],
)
def test_classification(loaded: dict[str, OnnxModel], name: str, expected: list[float]) -> None:
    results = loaded[name].infer([LANDSCAPE, PORTRAIT], ClassificationParams())
    assert len(results) == 2
    for scores in results:
        assert isinstance(scores, ClassScores)
        np.testing.assert_allclose(scores.scores, expected, atol=1e-6)


def test_logits_without_activation_follow_the_task(tmp_path: Path) -> None:
    logits = [np.array([[0.0, 0.0, np.log(2.0)]], np.float32)]
    single = build(tmp_path / "a", logits, task=ModelTask.CLASSIFICATION, output_layout="logits")
    multi = build(
        tmp_path / "b", logits, task=ModelTask.MULTI_LABEL_CLASSIFICATION, output_layout="logits"
    )
    (scores,) = OnnxModel(single).infer([LANDSCAPE])
    assert isinstance(scores, ClassScores)
    np.testing.assert_allclose(scores.scores, [0.25, 0.25, 0.5], atol=1e-6)
    (scores,) = OnnxModel(multi).infer([LANDSCAPE])
    assert isinstance(scores, ClassScores)
    np.testing.assert_allclose(scores.scores, [0.5, 0.5, 2 / 3], atol=1e-6)


def test_wrong_params_type(loaded: dict[str, OnnxModel]) -> None:
    with pytest.raises(TypeError):
        loaded["yolov8"].infer([LANDSCAPE], ClassificationParams())


def test_images_keep_their_order_in_a_batch(tmp_path: Path) -> None:
    channel_mean_model(tmp_path / "model.onnx", size=(32, 32))
    folder = package(
        tmp_path,
        task=ModelTask.CLASSIFICATION,
        class_names=["r", "g", "b"],
        input_size=(32, 32),
        resize="stretch",
        output_layout="probabilities",
    )
    images = [np.full((10 + i, 20, 3), (i, 2 * i, 3 * i), np.uint8) for i in range(40)]
    results = OnnxModel(folder, max_batch_size=16).infer(images)
    for i, scores in enumerate(results):
        assert isinstance(scores, ClassScores)
        np.testing.assert_allclose(scores.scores, np.array([3 * i, 2 * i, i]) / 255, atol=1e-6)


@pytest.fixture
def run_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Batch sizes of every ``InferenceSession.run`` call."""
    calls: list[int] = []
    original = ort.InferenceSession.run

    def counting(self: Any, output_names: Any, feed: dict[str, np.ndarray], *a: Any) -> Any:
        calls.append(len(next(iter(feed.values()))))
        return original(self, output_names, feed, *a)

    monkeypatch.setattr(ort.InferenceSession, "run", counting)
    return calls


@pytest.mark.parametrize(
    ("batch", "max_batch_size", "images", "expected_calls"),
    [
        (1, 32, 0, []),
        (1, 32, 3, [1, 1, 1]),  # a fixed batch of 1: one call per image
        ("batch", 32, 3, [3]),  # a dynamic batch: one call
        ("batch", 32, 40, [32, 8]),
        ("batch", 4, 9, [4, 4, 1]),
        (2, 32, 3, [2, 2]),  # a fixed batch of 2: the last call is padded
    ],
)
def test_session_calls_follow_the_batch_dimension(
    tmp_path: Path,
    run_calls: list[int],
    batch: int | str,
    max_batch_size: int,
    images: int,
    expected_calls: list[int],
) -> None:
    output = yolov8_output([(*BOX, 0, 0.9)], 3)
    folder = build(
        tmp_path, [output], task=ModelTask.OBJECT_DETECTION, output_layout="yolov8", batch=batch
    )
    model = OnnxModel(folder, max_batch_size=max_batch_size)
    assert model.info.max_batch_size == (batch if isinstance(batch, int) else None)
    results = model.infer([LANDSCAPE] * images)
    assert run_calls == expected_calls
    assert len(results) == images and all(len(r) == 1 for r in results)


def test_one_session_shared_by_threads(loaded: dict[str, OnnxModel]) -> None:
    model = loaded["yolov8"]
    expected = model.infer([LANDSCAPE, PORTRAIT])
    results: list[Any] = []

    def work() -> None:
        for _ in range(5):
            results.append(model.infer([LANDSCAPE, PORTRAIT]))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 20
    for got in results:
        for a, b in zip(got, expected, strict=True):
            np.testing.assert_array_equal(a.xyxy, b.xyxy)


def test_info_and_describe(loaded: dict[str, OnnxModel], models: dict[str, Path]) -> None:
    model = loaded["yolov8"]
    assert model.info.model_id == "test-model"
    assert model.info.class_names == tuple(NAMES)
    assert model.info.input_size == (64, 64)
    assert model.info.providers == ("CPUExecutionProvider",)
    described = model.describe()
    assert described["task"] == "object-detection"
    assert described["output_layout"] == "yolov8"
    assert described["max_batch_size"] is None
    assert described["path"] == str(models["yolov8"] / "model.onnx")


def test_float16_input(tmp_path: Path) -> None:
    constant_model(
        tmp_path / "model.onnx",
        [np.array([[0.1, 0.7, 0.2]], np.float32)],
        elem_type=TensorProto.FLOAT16,
    )
    package(tmp_path, task=ModelTask.CLASSIFICATION, output_layout="probabilities")
    (scores,) = OnnxModel(tmp_path).infer([LANDSCAPE])
    assert isinstance(scores, ClassScores)
    np.testing.assert_allclose(scores.scores, [0.1, 0.7, 0.2], atol=1e-6)


def test_input_size_taken_from_the_network(tmp_path: Path) -> None:
    constant_model(tmp_path / "model.onnx", [yolov8_output([(*BOX, 0, 0.9)], 3)], size=(96, 64))
    package(tmp_path, task=ModelTask.OBJECT_DETECTION, class_names=NAMES, input_size=None)
    model = OnnxModel(tmp_path)
    assert model.info.input_size == (96, 64)


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("corrupt", "model.corrupt_file"),
        ("empty", "model.corrupt_file"),
        ("one channel", "model.input_mismatch"),
        ("size disagrees", "model.input_mismatch"),
        ("checksum", "model.checksum_mismatch"),
        ("ocr task", "model.unsupported_task"),
        ("layout for another task", "model.unsupported_task"),
        ("missing file", "model.invalid_package"),
        ("no manifest", "model.invalid_package"),
    ],
)
def test_errors(tmp_path: Path, case: str, code: str) -> None:
    onnx_path = tmp_path / "model.onnx"
    output = [yolov8_output([(*BOX, 0, 0.9)], 3)]
    fields: dict[str, Any] = {"task": ModelTask.OBJECT_DETECTION, "class_names": NAMES}
    if case == "corrupt":
        onnx_path.write_bytes(b"this is not an ONNX model")
    elif case == "empty":
        onnx_path.write_bytes(b"")
    elif case == "one channel":
        constant_model(onnx_path, output, channels=1)
    elif case == "size disagrees":
        constant_model(onnx_path, output, size=(64, 64))
        fields["input_size"] = (640, 640)
    elif case == "checksum":
        constant_model(onnx_path, output)
        fields["sha256"] = "0" * 64
    elif case == "ocr task":
        constant_model(onnx_path, output)
        fields.update(task=ModelTask.OCR, output_layout="ocr")
    elif case == "layout for another task":
        constant_model(onnx_path, output)
        fields["output_layout"] = "logits"
    elif case == "missing file":
        pass
    if case != "no manifest":
        package(tmp_path, **fields)
    with pytest.raises(ModelError) as caught:
        OnnxModel(tmp_path)
    assert caught.value.code == code
    if code in ("model.corrupt_file", "model.checksum_mismatch", "model.input_mismatch"):
        assert str(onnx_path) in str(caught.value)


def test_matching_checksum_loads(tmp_path: Path) -> None:
    path = constant_model(tmp_path / "model.onnx", [yolov8_output([(*BOX, 0, 0.9)], 3)])
    package(tmp_path, task=ModelTask.OBJECT_DETECTION, class_names=NAMES, sha256=file_sha256(path))
    assert OnnxModel(tmp_path).info.model_id == "test-model"


def test_output_that_does_not_match_the_classes(tmp_path: Path) -> None:
    build(tmp_path, [yolov8_output([(*BOX, 0, 0.9)], 5)], task=ModelTask.OBJECT_DETECTION)
    with pytest.raises(ModelError) as caught:
        OnnxModel(tmp_path).infer([LANDSCAPE])
    assert caught.value.code == "model.output_mismatch"


@pytest.mark.parametrize(
    ("requested", "env", "expected", "missing"),
    [
        (None, "", ["CPUExecutionProvider"], []),
        (["cpu"], "", ["CPUExecutionProvider"], []),
        (None, "cuda, cpu", ["CPUExecutionProvider"], ["CUDAExecutionProvider"]),
        (["NoSuchExecutionProvider"], "", ["CPUExecutionProvider"], ["NoSuchExecutionProvider"]),
    ],
)
def test_providers(
    monkeypatch: pytest.MonkeyPatch,
    requested: list[str] | None,
    env: str,
    expected: list[str],
    missing: list[str],
) -> None:
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CPUExecutionProvider"])
    monkeypatch.setenv("VISIONFLOW_PROVIDERS", env)
    assert resolve_providers(requested) == (expected, missing)


def test_unavailable_providers_are_reported(
    loaded: dict[str, OnnxModel], models: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VISIONFLOW_PROVIDERS", "NoSuchExecutionProvider")
    model = OnnxModel(models["yolov8"], intra_op_num_threads=1)
    assert model.info.providers == ("CPUExecutionProvider",)
    assert model.info.extra["unavailable_providers"] == ["NoSuchExecutionProvider"]


@pytest.mark.parametrize(("env", "ok"), [("", True), ("2", True), ("2,1", True), ("two", False)])
def test_thread_settings(
    models: dict[str, Path], monkeypatch: pytest.MonkeyPatch, env: str, ok: bool
) -> None:
    monkeypatch.setenv("VISIONFLOW_ORT_THREADS", env)
    if ok:
        assert len(OnnxModel(models["softmax"]).infer([LANDSCAPE])) == 1
    else:
        with pytest.raises(ModelError) as caught:
            OnnxModel(models["softmax"])
        assert caught.value.code == "model.invalid_option"


@pytest.mark.parametrize(
    "metadata",
    [{}, {"names": "{0: 'person', 1: 'dog'}", "imgsz": "[640, 640]", "task": "detect"}],
)
def test_read_onnx_metadata(tmp_path: Path, metadata: dict[str, str]) -> None:
    path = constant_model(
        tmp_path / "model.onnx", [yolov8_output([(*BOX, 0, 0.9)], 3)], metadata=metadata
    )
    assert read_onnx_metadata(path) == metadata
    loaded = onnx.load(str(path))
    assert {p.key: p.value for p in loaded.metadata_props} == metadata
    package(tmp_path, task=ModelTask.OBJECT_DETECTION, class_names=NAMES)
    assert OnnxModel(tmp_path).metadata == metadata


@pytest.mark.parametrize("content", [b"", b"not an onnx model", b"\x08\x08\x3a\xff\xff"])
def test_read_onnx_metadata_of_a_damaged_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(content)
    with pytest.raises(ModelError) as caught:
        read_onnx_metadata(path)
    assert caught.value.code == "model.corrupt_file"
    assert str(path) in str(caught.value)
