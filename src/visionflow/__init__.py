"""visionflow: run computer-vision workflows locally, on your own models.

>>> import visionflow
>>> sorted(visionflow.__all__)[:3]
['CompileError', 'ExecutionEngine', 'ModelError']

The engine is imported on first use of ``Workflow`` or ``ExecutionEngine`` so that
``import visionflow`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from visionflow._version import __version__
from visionflow.errors import (
    CompileError,
    ModelError,
    RuntimeInputError,
    SourceError,
    SpecError,
    StepExecutionError,
    VisionflowError,
)

if TYPE_CHECKING:
    from visionflow.engine import ExecutionEngine, Workflow

__all__ = [
    "CompileError",
    "ExecutionEngine",
    "ModelError",
    "RuntimeInputError",
    "SourceError",
    "SpecError",
    "StepExecutionError",
    "VisionflowError",
    "Workflow",
    "__version__",
]


def __getattr__(name: str) -> Any:
    if name in ("Workflow", "ExecutionEngine"):
        from visionflow import engine

        return getattr(engine, name)
    raise AttributeError(f"module 'visionflow' has no attribute {name!r}")
