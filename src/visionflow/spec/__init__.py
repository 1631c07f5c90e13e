"""The JSON contract: documents, selectors and kinds. Imports nothing else of visionflow."""

from visionflow.spec.document import (
    CoordinatesSystem,
    JsonField,
    WorkflowBatchInput,
    WorkflowImage,
    WorkflowParameter,
    WorkflowSpec,
    WorkflowVideoMetadata,
)
from visionflow.spec.kinds import Kind, kinds_compatible
from visionflow.spec.selectors import Selector, parse_selector

__all__ = [
    "CoordinatesSystem",
    "JsonField",
    "Kind",
    "Selector",
    "WorkflowBatchInput",
    "WorkflowImage",
    "WorkflowParameter",
    "WorkflowSpec",
    "WorkflowVideoMetadata",
    "kinds_compatible",
    "parse_selector",
]
