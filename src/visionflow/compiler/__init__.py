"""The compiler: a workflow document in, a frozen ``Plan`` out (pure, cached by content)."""

from visionflow.compiler.core import (
    clear_compile_cache,
    compile_workflow,
    definition_digest,
    validate_workflow,
)
from visionflow.compiler.plan import Binding, InputNode, OutputNode, Plan, StepNode
from visionflow.compiler.schema import definition_schema

__all__ = [
    "Binding",
    "InputNode",
    "OutputNode",
    "Plan",
    "StepNode",
    "clear_compile_cache",
    "compile_workflow",
    "definition_digest",
    "definition_schema",
    "validate_workflow",
]
