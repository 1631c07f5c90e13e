"""Request and response bodies of the workflow routes, as the reference defines them.

Unknown fields are ignored (the inference-sdk sends ``use_cache`` and ``enable_profiling`` to
every run route).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")

    api_key: str | None = Field(
        default=None,
        description="API key (also accepted as the `api_key` query parameter or as "
        "`Authorization: Bearer <key>`); needed only when the server has keys configured.",
    )


class WorkflowRunRequest(_Body):
    inputs: dict[str, Any] = Field(
        description="Values of the workflow's declared inputs; images as "
        '{"type": "base64", "value": ...} (or "url" when the server allows URLs).'
    )
    excluded_fields: list[str] | None = Field(
        default=None, description="Outputs to leave out of the response."
    )
    enable_profiling: bool = Field(
        default=False, description="Return a Chrome trace of the run in `profiler_trace`."
    )
    debug: bool = False
    workflow_id: str | None = Field(default=None, description="A name for metrics and logs.")
    disable_sinks: bool = False
    use_cache: bool = True


class WorkflowSpecificationRunRequest(WorkflowRunRequest):
    specification: dict[str, Any] = Field(description="The workflow definition.")
    is_preview: bool = False


class PredefinedWorkflowRunRequest(WorkflowRunRequest):
    workflow_version_id: str | None = Field(
        default=None, description="A saved version; the latest when absent."
    )


class DescribeInterfaceRequest(_Body):
    specification: dict[str, Any]


class PredefinedDescribeInterfaceRequest(_Body):
    use_cache: bool = True
    workflow_version_id: str | None = None


class DescribeBlocksRequest(_Body):
    dynamic_blocks_definitions: list[dict[str, Any]] = Field(default_factory=list)
    execution_engine_version: str | None = None


class WorkflowRunResponse(BaseModel):
    outputs: list[dict[str, Any]] = Field(description="One dict per input image, in order.")
    profiler_trace: list[dict[str, Any]] | None = None


class DescribeInterfaceResponse(BaseModel):
    inputs: dict[str, list[str]]
    outputs: dict[str, list[str] | dict[str, list[str]]]
    typing_hints: dict[str, str]
    kinds_schemas: dict[str, dict[str, Any] | list[dict[str, Any]]]


class ValidationStatus(BaseModel):
    status: str


class ExecutionEngineVersions(BaseModel):
    versions: list[str]


class ServerInfo(BaseModel):
    name: str
    version: str
    uuid: str


class BlockError(BaseModel):
    block_id: str | None = None
    block_type: str | None = None
    block_details: str | None = None
    property_name: str | None = None
    property_details: str | None = None


class ErrorResponse(BaseModel):
    """Every error answer of the server (the reference's shape plus ``error_code``)."""

    message: str
    error_type: str
    context: str | None = None
    inner_error_type: str | None = None
    inner_error_message: str | None = None
    blocks_errors: list[BlockError] = Field(default_factory=list)
    error_code: str | None = None


__all__ = [
    "DescribeBlocksRequest",
    "DescribeInterfaceRequest",
    "DescribeInterfaceResponse",
    "ErrorResponse",
    "ExecutionEngineVersions",
    "PredefinedDescribeInterfaceRequest",
    "PredefinedWorkflowRunRequest",
    "ServerInfo",
    "ValidationStatus",
    "WorkflowRunRequest",
    "WorkflowRunResponse",
    "WorkflowSpecificationRunRequest",
]
