"""Loaded models, shared: an LRU cache of adapters filled by a dedicated loader thread pool.

Loading an ONNX model takes from milliseconds to seconds. It runs in the manager's own threads,
never in the caller's (the engine's step workers), so ``prefetch`` at compile time overlaps
loading with other work and a slow load blocks only the callers that need that model.

- ``get`` returns a loaded adapter at once; otherwise it waits for that model's load only.
  Concurrent requests for one id share one load.
- A failed load raises the same ``ModelError`` in every waiter and is forgotten, so a later
  request tries again (the file may have been fixed or installed since).
- At most ``max_loaded`` adapters stay cached; the least recently used is dropped first.
  Whoever still holds an evicted adapter can go on using it.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

from visionflow.errors import ModelError
from visionflow.models.base import ModelAdapter, ModelTask
from visionflow.models.package import ModelManifest
from visionflow.models.store import ModelStore

MAX_LOADED_ENV = "VISIONFLOW_MAX_LOADED_MODELS"
#: the init-parameter name under which the reference passes its model manager to blocks
INIT_PARAMETER = "workflows_core.model_manager"

AdapterFactory = Callable[[Path], ModelAdapter]


def default_adapter_factory(folder: Path) -> ModelAdapter:
    """The adapter of a package folder: OCR for the ``ocr`` task, ONNX Runtime for the others."""
    manifest = ModelManifest.read(folder)
    if manifest.task == ModelTask.OCR:
        from visionflow.models.ocr import RapidOcrModel

        return RapidOcrModel(folder, model_id=manifest.model_id)
    from visionflow.models.onnx import OnnxModel

    return OnnxModel(folder)


class ModelManager:
    """Loads models by id on demand and keeps the most recently used ones in memory."""

    def __init__(
        self,
        store: ModelStore | None = None,
        *,
        max_loaded: int = 8,
        loader_threads: int = 2,
        adapter_factory: AdapterFactory | None = None,
    ) -> None:
        if max_loaded < 1:
            raise ValueError(f"max_loaded must be at least 1, got {max_loaded}")
        if loader_threads < 1:
            raise ValueError(f"loader_threads must be at least 1, got {loader_threads}")
        self.store = store if store is not None else ModelStore()
        self.max_loaded = max_loaded
        self._factory: AdapterFactory = adapter_factory or default_adapter_factory
        self._loaded: OrderedDict[str, ModelAdapter] = OrderedDict()
        self._loading: dict[str, Future[ModelAdapter]] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(
            max_workers=loader_threads, thread_name_prefix="visionflow-model-loader"
        )

    def __repr__(self) -> str:
        return f"ModelManager({self.store!r}, loaded={self.loaded()}, max_loaded={self.max_loaded})"

    def prefetch(self, model_id: str) -> Future[ModelAdapter]:
        """Start loading ``model_id`` in the background (no-op when loaded or loading)."""
        with self._lock:
            adapter = self._loaded.get(model_id)
            if adapter is not None:
                self._loaded.move_to_end(model_id)
                done: Future[ModelAdapter] = Future()
                done.set_result(adapter)
                return done
            return self._start(model_id)

    def get(self, model_id: str, timeout: float | None = None) -> ModelAdapter:
        """The adapter of ``model_id``, loading it when needed (waiting at most ``timeout`` s)."""
        with self._lock:
            adapter = self._loaded.get(model_id)
            if adapter is not None:
                self._loaded.move_to_end(model_id)
                return adapter
            future = self._start(model_id)
        try:
            return future.result(timeout=timeout)
        except FutureTimeout:
            raise ModelError(
                f"model '{model_id}' did not finish loading within {timeout} s; it is still "
                "loading in the background, try again or allow a longer timeout",
                code="model.load_timeout",
                loc=model_id,
            ) from None

    def loaded(self) -> list[str]:
        """Ids of the cached adapters, least recently used first."""
        with self._lock:
            return list(self._loaded)

    def evict(self, model_id: str) -> bool:
        """Drop ``model_id`` from the cache; True when it was cached."""
        with self._lock:
            return self._loaded.pop(model_id, None) is not None

    def clear(self) -> None:
        """Drop every cached adapter (loads in progress still complete and are cached)."""
        with self._lock:
            self._loaded.clear()

    def close(self) -> None:
        """Drop the cache and stop the loader threads once current loads finish."""
        self.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- internals (called with the lock held) ----------------------------------------------

    def _start(self, model_id: str) -> Future[ModelAdapter]:
        future = self._loading.get(model_id)
        if future is None:
            future = self._pool.submit(self._load, model_id)
            self._loading[model_id] = future
        return future

    def _load(self, model_id: str) -> ModelAdapter:
        try:
            adapter = self._factory(self.store.resolve(model_id))
        except ModelError:
            self._forget(model_id)
            raise
        except Exception as error:
            self._forget(model_id)
            raise ModelError(
                f"model '{model_id}' failed to load: {type(error).__name__}: {error}",
                code="model.load_failed",
                loc=model_id,
            ) from error
        except BaseException:
            self._forget(model_id)
            raise
        with self._lock:
            self._loading.pop(model_id, None)
            self._loaded[model_id] = adapter
            self._loaded.move_to_end(model_id)
            while len(self._loaded) > self.max_loaded:
                self._loaded.popitem(last=False)
        return adapter

    def _forget(self, model_id: str) -> None:
        # not cached: the next request loads again
        with self._lock:
            self._loading.pop(model_id, None)


_default: ModelManager | None = None
_default_lock = threading.Lock()


def default_model_manager() -> ModelManager:
    """The process-wide manager over the default store (``$VISIONFLOW_MAX_LOADED_MODELS`` cached)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = ModelManager(max_loaded=_max_loaded_from_env())
        return _default


def model_manager_from(init_parameters: Mapping[str, Any]) -> ModelManager:
    """The manager given to a workflow (``workflows_core.model_manager``), else the default."""
    given = init_parameters.get(INIT_PARAMETER)
    return given if isinstance(given, ModelManager) else default_model_manager()


def _max_loaded_from_env() -> int:
    raw = os.environ.get(MAX_LOADED_ENV)
    if not raw:
        return 8
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ModelError(
            f"{MAX_LOADED_ENV}={raw!r}: expected a whole number of models, at least 1",
            code="model.invalid_setting",
            loc=MAX_LOADED_ENV,
        )
    return value


__all__ = [
    "INIT_PARAMETER",
    "MAX_LOADED_ENV",
    "AdapterFactory",
    "ModelManager",
    "default_adapter_factory",
    "default_model_manager",
    "model_manager_from",
]
