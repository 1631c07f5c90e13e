"""What a run request does, away from HTTP: resolve the definition, check inputs, run, encode.

Everything here runs on a run worker (``RunPool``), never on the event loop: compiling a new
definition, reading a saved one from SQLite, downloading URL images, decoding, the run itself
and the JSON encoding of the answer.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Mapping
from functools import partial
from typing import Any

import orjson

from visionflow.compiler import Plan
from visionflow.server.errors import workflow_not_found
from visionflow.server.inputs import ImageLimits, prepare_image_inputs
from visionflow.server.metrics import Metrics
from visionflow.server.runner import EngineCache, RunPool
from visionflow.server.settings import ServerSettings
from visionflow.server.urls import UrlPolicy, fetch_url

_JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


class WorkflowService:
    """The server's state: settings, metrics, engines, run pool and the saved-workflow store."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.instance_id = str(uuid.uuid4())
        self.metrics = Metrics()
        self.engines = EngineCache(
            size=settings.max_cached_engines,
            max_concurrent_steps=settings.max_concurrent_steps,
            allow_python_blocks=settings.allow_python_blocks,
            metrics=self.metrics,
        )
        self.pool = RunPool(
            max_concurrent=settings.max_concurrent_runs,
            max_queued=settings.max_queued_runs,
            timeout_s=settings.run_timeout_s,
            metrics=self.metrics,
        )
        policy = UrlPolicy(
            allow_private=settings.allow_private_urls,
            timeout_s=settings.url_timeout_s,
            max_bytes=settings.url_max_bytes,
        )
        self.limits = ImageLimits(
            max_images=settings.max_images_per_request,
            max_pixels=settings.max_image_pixels,
            allow_url=settings.allow_url_input,
            fetch=(lambda url, loc: fetch_url(url, policy, loc=loc)),
        )
        self._store: Any = None
        self._store_lock = threading.Lock()

    # -- saved workflows --------------------------------------------------------------------
    def store(self) -> Any:
        """The saved-workflow store, opened on first use (``home/workflows.sqlite3``)."""
        with self._store_lock:
            if self._store is None:
                from visionflow.server.store import WorkflowStore

                self._store = WorkflowStore(self.settings.workflows_db)
            return self._store

    def validate(self, definition: Mapping[str, Any]) -> Plan:
        """Compile a definition (cached); raises the compiler's errors."""
        return self.engines.plan(definition)

    def saved_definition(
        self, workspace: str, workflow_id: str, version: str | None
    ) -> dict[str, Any]:
        saved = self.store().get(workspace, workflow_id, version)
        if saved is None:
            raise workflow_not_found(workspace, workflow_id, version)
        return dict(saved.definition)

    # -- runs -------------------------------------------------------------------------------
    async def run(self, request: Any, *, saved: tuple[str, str] | None = None) -> bytes:
        """Run a request body on a worker; the JSON answer as bytes."""
        return await self.pool.run(partial(self._run_job, request, saved))

    def _run_job(self, request: Any, saved: tuple[str, str] | None) -> bytes:
        if saved is not None:
            workspace, workflow_id = saved
            definition = self.saved_definition(
                workspace, workflow_id, getattr(request, "workflow_version_id", None)
            )
            label = f"{workspace}/{workflow_id}"
        else:
            definition = request.specification
            label = ""
        plan = self.engines.plan(definition)
        label = label or request.workflow_id or plan.spec.id or f"digest:{plan.digest[:12]}"
        inputs = prepare_image_inputs(plan, request.inputs, self.limits)
        profiling = bool(request.enable_profiling)
        engine = (
            self.engines.fresh_engine(plan, keep_trace=True)
            if profiling
            else self.engines.engine(plan)
        )
        start = time.perf_counter()
        outputs = engine.run(
            runtime_parameters=inputs,
            serialize_results=True,
            excluded_fields=request.excluded_fields,
        )
        self.metrics.observe_workflow(label, time.perf_counter() - start)
        trace = engine.profiler.export_trace() if profiling and engine.profiler else None
        if profiling:
            engine.close()
        return orjson.dumps(
            {"outputs": outputs, "profiler_trace": trace}, option=_JSON_OPTIONS, default=str
        )

    def loaded_models(self) -> list[str]:
        from visionflow.models.manager import default_model_manager

        return list(default_model_manager().loaded())

    def close(self) -> None:
        self.pool.shutdown()
        with self._store_lock:
            if self._store is not None:
                self._store.close()
                self._store = None


__all__ = ["WorkflowService"]
