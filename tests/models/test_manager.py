"""The model manager: LRU cache, one load per id, loads in its own threads, errors retried."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from visionflow.errors import ModelError
from visionflow.models.base import ClassScores, ModelAdapter, ModelInfo, ModelTask, Prediction
from visionflow.models.manager import (
    INIT_PARAMETER,
    ModelManager,
    default_model_manager,
    model_manager_from,
)
from visionflow.models.package import ModelManifest
from visionflow.models.store import ModelStore

IDS = ["a", "b", "c", "project/3"]


class FakeModel:
    """A classifier that remembers which thread loaded it."""

    def __init__(self, folder: Path) -> None:
        manifest = ModelManifest.read(folder)
        self.info = ModelInfo(manifest.model_id, manifest.task, tuple(manifest.class_names))
        self.loaded_by = threading.current_thread().name

    def infer(self, images: Sequence[np.ndarray], params: Any = None) -> list[Prediction]:
        return [ClassScores(np.ones(1, dtype=np.float32)) for _ in images]

    def describe(self) -> dict[str, Any]:
        return self.info.describe()


class Factory:
    """Counts loads; a model id can be made slow (wait on an event) or failing."""

    def __init__(self) -> None:
        self.loads: Counter[str] = Counter()
        self.gates: dict[str, threading.Event] = {}
        self.failures: dict[str, int] = {}
        self.lock = threading.Lock()

    def __call__(self, folder: Path) -> ModelAdapter:
        model_id = ModelManifest.read(folder).model_id
        with self.lock:
            self.loads[model_id] += 1
        if model_id in self.gates:
            assert self.gates[model_id].wait(10)
        if self.failures.get(model_id, 0) > 0:
            self.failures[model_id] -= 1
            raise RuntimeError(f"weights of {model_id} are corrupt")
        return FakeModel(folder)


@pytest.fixture
def store(tmp_path: Path) -> ModelStore:
    store = ModelStore(tmp_path)
    for model_id in IDS:
        ModelManifest(model_id=model_id, task=ModelTask.CLASSIFICATION, class_names=["x"]).write(
            store.folder(model_id)
        )
    return store


@pytest.fixture
def factory() -> Factory:
    return Factory()


@pytest.fixture
def manager(store: ModelStore, factory: Factory) -> ModelManager:
    return ModelManager(store, max_loaded=2, adapter_factory=factory)


@pytest.mark.parametrize(
    ("requests", "expected"),
    [
        ([], []),
        (["a"], ["a"]),
        (["a", "b"], ["a", "b"]),
        (["a", "b", "c"], ["b", "c"]),  # a, least recently used, goes
        (["a", "b", "a", "c"], ["a", "c"]),  # using a again keeps it
        (["a", "b", "c", "a"], ["c", "a"]),
    ],
)
def test_the_least_recently_used_model_is_evicted(
    manager: ModelManager, factory: Factory, requests: list[str], expected: list[str]
) -> None:
    for model_id in requests:
        assert manager.get(model_id).info.model_id == model_id
    assert manager.loaded() == expected
    assert sum(factory.loads.values()) == len(set(requests)) + (requests == ["a", "b", "c", "a"])


def test_loads_run_in_the_loader_threads(manager: ModelManager) -> None:
    model = manager.get("project/3")
    assert isinstance(model, FakeModel)
    assert model.loaded_by.startswith("visionflow-model-loader")


def test_concurrent_gets_of_one_id_load_it_once(manager: ModelManager, factory: Factory) -> None:
    factory.gates["a"] = threading.Event()
    results: list[ModelAdapter] = []
    threads = [threading.Thread(target=lambda: results.append(manager.get("a"))) for _ in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(0.05)
    factory.gates["a"].set()
    for thread in threads:
        thread.join(10)
    assert len(results) == 8 and all(r is results[0] for r in results)
    assert factory.loads["a"] == 1


def test_a_slow_load_does_not_block_a_loaded_model(manager: ModelManager, factory: Factory) -> None:
    fast = manager.get("a")
    factory.gates["b"] = threading.Event()
    slow = manager.prefetch("b")
    assert not slow.done()
    started = time.perf_counter()
    assert manager.get("a") is fast
    with pytest.raises(ModelError) as caught:
        manager.get("b", timeout=0.05)
    assert caught.value.code == "model.load_timeout"
    assert time.perf_counter() - started < 1.0
    factory.gates["b"].set()
    assert slow.result(10) is manager.get("b")
    assert factory.loads["b"] == 1


def test_prefetch_of_a_loaded_model_is_done(manager: ModelManager) -> None:
    model = manager.get("a")
    future = manager.prefetch("a")
    assert future.done() and future.result() is model


def test_a_load_error_reaches_every_waiter_and_is_retried(
    manager: ModelManager, factory: Factory
) -> None:
    factory.gates["a"] = threading.Event()
    factory.failures["a"] = 1
    errors: list[BaseException] = []

    def wait() -> None:
        try:
            manager.get("a")
        except ModelError as error:
            errors.append(error)

    threads = [threading.Thread(target=wait) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(0.05)
    factory.gates["a"].set()
    for thread in threads:
        thread.join(10)
    assert len(errors) == 4 and all(e is errors[0] for e in errors)
    error = errors[0]
    assert isinstance(error, ModelError) and error.code == "model.load_failed"
    assert "weights of a are corrupt" in error.message and error.loc == "a"
    assert factory.loads["a"] == 1 and manager.loaded() == []
    assert manager.get("a").info.model_id == "a"  # not cached: tried again
    assert factory.loads["a"] == 2


@pytest.mark.parametrize("model_id", ["missing", "yolov8n"])
def test_an_unknown_id_fails_with_the_store_error(manager: ModelManager, model_id: str) -> None:
    for _ in range(2):  # also on the second try: nothing cached
        with pytest.raises(ModelError) as caught:
            manager.get(model_id)
        assert caught.value.code == "model.not_found"


def test_evict_and_clear(manager: ModelManager, factory: Factory) -> None:
    manager.get("a")
    manager.get("b")
    assert manager.evict("a") and not manager.evict("a")
    assert manager.loaded() == ["b"]
    manager.clear()
    assert manager.loaded() == []
    manager.get("b")
    assert factory.loads["b"] == 2


def test_the_default_factory_knows_the_builtin_ocr_model(tmp_path: Path) -> None:
    manager = ModelManager(ModelStore(tmp_path), max_loaded=1)
    future = manager.prefetch("pp-ocr")
    model = future.result(60)
    assert model.info.task == ModelTask.OCR and model.info.model_id == "pp-ocr"
    assert manager.get("pp-ocr") is model


def test_the_default_factory_runs_onnx_packages(default_models_dir: Path) -> None:
    from visionflow.models.onnx import OnnxModel

    manager = ModelManager(ModelStore(default_models_dir))
    futures = [manager.prefetch(i) for i in ("yolov3-tiny-416", "efficientnet-lite0-224")]
    detector, classifier = (future.result(60) for future in futures)
    assert isinstance(detector, OnnxModel) and isinstance(classifier, OnnxModel)
    assert detector.info.task == ModelTask.OBJECT_DETECTION and len(detector.info.class_names) == 80
    assert classifier.info.task == ModelTask.CLASSIFICATION
    assert sorted(manager.loaded()) == ["efficientnet-lite0-224", "yolov3-tiny-416"]


@pytest.mark.parametrize(
    ("make", "same"),
    [
        (lambda m: {}, False),
        (lambda m: {INIT_PARAMETER: None}, False),
        (lambda m: {INIT_PARAMETER: "not a manager"}, False),
        (lambda m: {INIT_PARAMETER: m}, True),
    ],
)
def test_model_manager_from_init_parameters(
    manager: ModelManager, make: Callable[[ModelManager], dict[str, Any]], same: bool
) -> None:
    chosen = model_manager_from(make(manager))
    assert (chosen is manager) == same
    if not same:
        assert chosen is default_model_manager()


@pytest.mark.parametrize(("max_loaded", "loader_threads"), [(0, 1), (1, 0)])
def test_sizes_must_be_positive(max_loaded: int, loader_threads: int) -> None:
    with pytest.raises(ValueError):
        ModelManager(max_loaded=max_loaded, loader_threads=loader_threads)


@pytest.mark.parametrize(("value", "expected"), [("", 8), ("3", 3), ("0", None), ("many", None)])
def test_the_default_cache_size_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: int | None
) -> None:
    import visionflow.models.manager as module

    monkeypatch.setattr(module, "_default", None)
    monkeypatch.setenv("VISIONFLOW_MAX_LOADED_MODELS", value)
    if expected is None:
        with pytest.raises(ModelError) as caught:
            default_model_manager()
        assert caught.value.code == "model.invalid_setting"
    else:
        assert default_model_manager().max_loaded == expected
