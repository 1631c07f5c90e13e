"""The Python API: ``Workflow`` (idiomatic) and ``ExecutionEngine`` (the reference's shapes)."""

from __future__ import annotations

import threading
import time
from collections.abc import Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson

from visionflow.blocks.base import Block, BlockContext
from visionflow.blocks.registry import BlockRegistry
from visionflow.compiler.core import compile_workflow
from visionflow.compiler.plan import Plan
from visionflow.engine.executor import execute_plan
from visionflow.engine.inputs import InputPolicy, assemble_inputs
from visionflow.engine.outputs import assemble_outputs
from visionflow.engine.profiling import Profiler
from visionflow.engine.state import RunState
from visionflow.errors import SpecError, StepExecutionError


class ExecutionEngine:
    """Compiles a definition once and runs it many times.

    >>> engine = ExecutionEngine.init(workflow_definition={
    ...     "version": "1.0",
    ...     "inputs": [{"type": "WorkflowParameter", "name": "x", "default_value": 3}],
    ...     "steps": [],
    ...     "outputs": [{"type": "JsonField", "name": "x", "selector": "$inputs.x"}],
    ... })
    >>> engine.run(runtime_parameters={})
    [{'x': 3}]
    """

    def __init__(
        self,
        plan: Plan,
        *,
        init_parameters: Mapping[str, Any] | None = None,
        max_concurrent_steps: int = 1,
        input_policy: InputPolicy | None = None,
        profiler: Profiler | None = None,
    ) -> None:
        self.plan = plan
        self.init_parameters = dict(init_parameters or {})
        self.max_concurrent_steps = max(1, int(max_concurrent_steps))
        self.input_policy = input_policy or InputPolicy()
        self.profiler = profiler
        self._blocks = {step.name: self._make_block(step) for step in plan.steps}
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    @classmethod
    def init(
        cls,
        workflow_definition: Mapping[str, Any],
        init_parameters: Mapping[str, Any] | None = None,
        max_concurrent_steps: int = 1,
        prevent_local_images_loading: bool = True,
        workflow_id: str | None = None,
        profiler: Profiler | None = None,
        *,
        allow_url_input: bool = False,
        allow_python_blocks: bool | None = None,
        enable_profiling: bool = False,
        registry: BlockRegistry | None = None,
    ) -> ExecutionEngine:
        """Compile ``workflow_definition`` (bare or ``{"specification": ...}``) into an engine.

        File paths and URLs as image inputs are refused unless ``prevent_local_images_loading``
        is False or ``allow_url_input`` is True. Inline Python blocks are refused unless
        ``allow_python_blocks`` is True (or None with ``VISIONFLOW_ALLOW_PYTHON_BLOCKS=1``).
        """
        plan = compile_workflow(
            dict(workflow_definition), registry=registry, allow_python_blocks=allow_python_blocks
        )
        if enable_profiling and profiler is None:
            profiler = Profiler()
        return cls(
            plan,
            init_parameters=init_parameters,
            max_concurrent_steps=max_concurrent_steps,
            input_policy=InputPolicy(
                allow_file=not prevent_local_images_loading, allow_url=allow_url_input
            ),
            profiler=profiler,
        )

    def _make_block(self, step: Any) -> Block:
        context = BlockContext(
            step_name=step.name, block_type=step.block_type, init_parameters=self.init_parameters
        )
        try:
            return step.entry.block_class(context)
        except Exception as error:
            raise StepExecutionError(
                f"could not initialise the block: {type(error).__name__}: {error}",
                step=step.name,
                block_type=step.block_type,
                code="step.init_failed",
            ) from error

    def _executor(self) -> ThreadPoolExecutor | None:
        if self.max_concurrent_steps <= 1:
            return None
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    self.max_concurrent_steps, thread_name_prefix="visionflow-step"
                )
        return self._pool

    def run(
        self,
        runtime_parameters: Mapping[str, Any],
        fps: float = 0,
        _is_preview: bool = False,
        serialize_results: bool = False,
        *,
        excluded_fields: Collection[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Run once; one result dict per top-level input element, in input order.

        ``serialize_results=True`` returns exactly what the HTTP API sends (JSON-ready).
        """
        profiler = self.profiler
        start = time.perf_counter() if profiler is not None else 0.0
        inputs = assemble_inputs(self.plan, dict(runtime_parameters), self.input_policy)
        state = RunState(self.plan, inputs)
        execute_plan(self.plan, state, self._blocks, self._executor(), profiler)
        results = assemble_outputs(
            self.plan, state, serialize=serialize_results, excluded_fields=excluded_fields
        )
        if profiler is not None:
            profiler.record(
                "workflow_run",
                "workflow_run",
                start,
                time.perf_counter(),
                workflow=self.plan.spec.id or self.plan.digest[:12],
            )
        return results

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def __del__(self) -> None:  # pragma: no cover - best effort
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown(wait=False)


class Workflow:
    """A compiled workflow you can run on images.

    >>> import numpy as np
    >>> workflow = Workflow.load({
    ...     "version": "1.0",
    ...     "inputs": [{"type": "WorkflowImage", "name": "image"}],
    ...     "steps": [{"type": "roboflow_core/absolute_static_crop@v1", "name": "crop",
    ...                "images": "$inputs.image", "x_center": 50, "y_center": 50,
    ...                "width": 20, "height": 20}],
    ...     "outputs": [{"type": "JsonField", "name": "crop", "selector": "$steps.crop.crops"}],
    ... })
    >>> result = workflow.run(image=np.zeros((100, 100, 3), dtype=np.uint8))
    >>> result[0]["crop"].numpy_image.shape
    (20, 20, 3)
    """

    def __init__(self, engine: ExecutionEngine, source: str | None = None) -> None:
        self.engine = engine
        self.source = source

    @classmethod
    def load(
        cls,
        definition: str | Path | Mapping[str, Any],
        *,
        init_parameters: Mapping[str, Any] | None = None,
        max_concurrent_steps: int = 1,
        allow_file_input: bool = True,
        allow_url_input: bool = False,
        allow_python_blocks: bool | None = None,
        enable_profiling: bool = False,
    ) -> Workflow:
        """Compile a definition given as a dict or as the path of a JSON file.

        Local file paths are accepted as image inputs (this is your own process);
        URLs only with ``allow_url_input=True``; inline Python blocks only with
        ``allow_python_blocks=True`` (or ``VISIONFLOW_ALLOW_PYTHON_BLOCKS=1``).
        """
        source = None
        if isinstance(definition, (str, Path)):
            source = str(definition)
            definition = read_definition(definition)
        engine = ExecutionEngine.init(
            workflow_definition=definition,
            init_parameters=init_parameters,
            max_concurrent_steps=max_concurrent_steps,
            prevent_local_images_loading=not allow_file_input,
            allow_url_input=allow_url_input,
            allow_python_blocks=allow_python_blocks,
            enable_profiling=enable_profiling,
        )
        return cls(engine, source)

    @property
    def plan(self) -> Plan:
        return self.engine.plan

    def run(self, *, serialize: bool = False, **inputs: Any) -> list[dict[str, Any]]:
        """Run on the given inputs (``image=...`` and parameters by name)."""
        inputs = {k: (str(v) if isinstance(v, Path) else v) for k, v in inputs.items()}
        return self.engine.run(runtime_parameters=inputs, serialize_results=serialize)

    def describe_interface(self) -> dict[str, Any]:
        return self.plan.describe_interface()

    def trace(self) -> list[dict[str, Any]]:
        """Chrome-trace events of the runs since the last call (needs ``enable_profiling``)."""
        if self.engine.profiler is None:
            return []
        return self.engine.profiler.export_trace()


def read_definition(path: str | Path) -> dict[str, Any]:
    """Read a workflow JSON file with an error that names the file and the position."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise SpecError(
            f"cannot read workflow file '{path}': {error.strerror}",
            code="spec.unreadable_file",
            loc=str(path),
        ) from error
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise SpecError(
            f"'{path}' is not valid JSON: {error}", code="spec.invalid_json", loc=str(path)
        ) from error
    if not isinstance(document, dict):
        raise SpecError(
            f"'{path}' must hold a JSON object (the workflow definition)",
            code="spec.not_an_object",
            loc=str(path),
        )
    return document
