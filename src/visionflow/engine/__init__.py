"""The engine: runs a compiled ``Plan`` on runtime inputs."""

from visionflow.engine.core import ExecutionEngine, Workflow, read_definition
from visionflow.engine.inputs import InputPolicy
from visionflow.engine.profiling import Profiler

__all__ = ["ExecutionEngine", "InputPolicy", "Profiler", "Workflow", "read_definition"]
