"""Errors in the reference's HTTP body shape, and the server's own errors.

Every error answer is ``{"message", "error_type", "context", "inner_error_type",
"inner_error_message", "blocks_errors": [...]}`` (compat.md section 6) plus ``error_code``,
visionflow's stable code (documented in ``docs/errors.md``). Tracebacks appear only in debug
mode, under ``traceback``.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from visionflow.errors import StepExecutionError, VisionflowError

logger = logging.getLogger("visionflow.server")


class ServerError(VisionflowError):
    """A refusal by the server itself: auth, limits, unknown saved workflow, overload."""

    default_code = "server.error"

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str,
        error_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.http_status = status
        self.error_type = error_type
        self.headers = headers or {}


def unauthorized() -> ServerError:
    return ServerError(
        "a valid API key is required: pass it as the query parameter `api_key`, the "
        "`Authorization: Bearer <key>` header or the `api_key` field of the JSON body",
        status=401,
        code="server.unauthorized",
        error_type="UnauthorizedError",
    )


def workflow_not_found(workspace: str, workflow_id: str, version: str | None) -> ServerError:
    which = f" version '{version}'" if version else ""
    return ServerError(
        f"workflow '{workflow_id}'{which} was not found in workspace '{workspace}'; save it "
        f"with PUT /workspaces/{workspace}/workflows/{workflow_id}",
        status=404,
        code="server.workflow_not_found",
        error_type="NotFoundError",
    )


def body_too_large(limit: int) -> ServerError:
    return ServerError(
        f"the request body exceeds the server's limit of {limit} bytes (setting max_body_bytes)",
        status=413,
        code="server.body_too_large",
        error_type="PayloadTooLargeError",
    )


def server_busy(retry_after_s: int) -> ServerError:
    return ServerError(
        "the server is busy: every run slot and queue place is taken; retry after "
        f"{retry_after_s} s (settings max_concurrent_runs, max_queued_runs)",
        status=503,
        code="server.busy",
        error_type="ServiceUnavailableError",
        headers={"Retry-After": str(retry_after_s)},
    )


def run_timeout(limit_s: float) -> ServerError:
    return ServerError(
        f"the workflow run did not finish within {limit_s:g} s (setting run_timeout_s)",
        status=504,
        code="server.timeout",
        error_type="WorkflowTimeoutError",
    )


#: visionflow code prefix -> (reference error type, reference context)
_REFERENCE_NAMES: dict[str, tuple[str, str]] = {
    "spec.": ("WorkflowSyntaxError", "workflow_compilation | workflow_definition_parsing"),
    "compile.unknown_block": (
        "WorkflowSyntaxError",
        "workflow_compilation | workflow_definition_parsing",
    ),
    "compile.invalid_step": (
        "WorkflowSyntaxError",
        "workflow_compilation | workflow_definition_parsing",
    ),
    "compile.dangling_selector": (
        "InvalidReferenceTargetError",
        "workflow_compilation | execution_graph_construction",
    ),
    "compile.unknown_output": (
        "InvalidReferenceTargetError",
        "workflow_compilation | execution_graph_construction",
    ),
    "compile.kind_mismatch": (
        "ReferenceTypeError",
        "workflow_compilation | execution_graph_construction",
    ),
    "compile.cycle": (
        "ExecutionGraphStructureError",
        "workflow_compilation | execution_graph_construction",
    ),
    "compile.control_dimensionality": (
        "ControlFlowDefinitionError",
        "workflow_compilation | execution_graph_construction",
    ),
    "compile.dimensionality": (
        "StepInputDimensionalityError",
        "workflow_compilation | execution_graph_construction",
    ),
    "compile.lineage_mismatch": (
        "StepInputDimensionalityError",
        "workflow_compilation | execution_graph_construction",
    ),
    "compile.batch_field": (
        "StepInputDimensionalityError",
        "workflow_compilation | execution_graph_construction",
    ),
    "compile.inner_workflow": (
        "InnerWorkflowInvalidStepEntryError",
        "workflow_compilation | inner_workflow_spec_resolution",
    ),
    "compile.python_blocks_disabled": (
        "WorkflowEnvironmentConfigurationError",
        "workflow_compilation | dynamic_blocks_compilation",
    ),
    "compile.invalid_python_block": (
        "DynamicBlockError",
        "workflow_compilation | dynamic_blocks_compilation",
    ),
    "compile.python_block_error": (
        "DynamicBlockCodeError",
        "workflow_compilation | dynamic_blocks_compilation",
    ),
    "compile.": ("WorkflowDefinitionError", "workflow_compilation | execution_graph_construction"),
    "input.": ("RuntimeInputError", "workflow_execution | runtime_input_validation"),
    "step.": ("StepExecutionError", "workflow_execution | step_execution"),
    "uql.": ("InvalidInputTypeError", "workflow_execution | step_execution"),
    "model.": ("ModelError", "workflow_execution | model_loading"),
    "source.": ("InputImageLoadError", "workflow_execution | runtime_input_validation"),
}


def _reference_names(code: str) -> tuple[str, str]:
    # the longest matching prefix wins: "compile.cycle" before "compile."
    for prefix in sorted(_REFERENCE_NAMES, key=len, reverse=True):
        if code.startswith(prefix):
            return _REFERENCE_NAMES[prefix]
    return "WorkflowError", "workflow_execution"


def error_payload(error: VisionflowError, *, debug: bool = False) -> tuple[int, dict[str, Any]]:
    """The status and JSON body the reference sends for an error of this family."""
    if isinstance(error, ServerError):
        body = _body(
            message=error.message,
            error_type=error.error_type,
            context="server",
            code=error.code,
        )
        return error.http_status, body
    if isinstance(error, StepExecutionError):
        return 500, _step_body(error, debug)
    error_type, context = _reference_names(error.code)
    status = error.http_status
    blocks = [
        {
            "block_id": d.step,
            "block_type": d.block_type,
            "block_details": d.loc,
            "property_name": d.property_name,
            "property_details": d.message,
        }
        for d in error.details
        if d.step or d.block_type or d.property_name
    ]
    body = _body(
        message=error.message,
        error_type=error_type,
        context=context,
        code=error.code,
        inner_error_type=type(error).__name__,
        inner_error_message=str(error),
        blocks_errors=blocks,
    )
    if debug:
        body["traceback"] = traceback.format_exception(error)
    return status, body


def _step_body(error: StepExecutionError, debug: bool) -> dict[str, Any]:
    inner = error.inner if error.inner is not None else error.__cause__
    inner_message = _public_inner(inner) if inner is not None else error.message
    body = _body(
        message=error.message,
        error_type="StepExecutionError",
        context="workflow_execution | step_execution",
        code=error.code,
        inner_error_type=type(inner).__name__ if inner is not None else None,
        inner_error_message=inner_message,
        blocks_errors=[
            {
                "block_id": error.step,
                "block_type": error.block_type,
                "block_details": (
                    f"element {list(error.element)}" if error.element is not None else None
                ),
                "property_name": None,
                "property_details": inner_message,
            }
        ],
    )
    if debug:
        body["traceback"] = traceback.format_exception(error)
    return body


def _public_inner(inner: BaseException) -> str:
    if isinstance(inner, VisionflowError):
        return inner.message
    return str(inner)


def _body(
    *,
    message: str,
    error_type: str,
    context: str,
    code: str,
    inner_error_type: str | None = None,
    inner_error_message: str | None = None,
    blocks_errors: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "message": message,
        "error_type": error_type,
        "context": context,
        "inner_error_type": inner_error_type,
        "inner_error_message": inner_error_message,
        "blocks_errors": blocks_errors or [],
        "error_code": code,
    }


def validation_payload(errors: list[dict[str, Any]]) -> dict[str, Any]:
    """FastAPI's request validation errors (422, as the reference) in the error body shape."""
    parts = []
    for item in errors:
        where = ".".join(str(p) for p in item.get("loc", ()))
        parts.append(f"{where}: {item.get('msg', 'invalid')}")
    body = _body(
        message="invalid request: " + "; ".join(parts),
        error_type="RequestValidationError",
        context="request_validation",
        code="server.invalid_request",
        inner_error_type="RequestValidationError",
        inner_error_message="; ".join(parts),
    )
    # kept for clients that read FastAPI's own key (the inference-sdk reads `detail` too)
    body["detail"] = [
        {k: v for k, v in item.items() if k in ("type", "loc", "msg")} for item in errors
    ]
    return body


def http_payload(status: int, detail: Any) -> dict[str, Any]:
    """A plain HTTP error (unknown route, wrong method) in the error body shape."""
    message = detail if isinstance(detail, str) else "HTTP error"
    return _body(
        message=message,
        error_type="HTTPException",
        context="server",
        code="server.not_found" if status == 404 else "server.http_error",
    )


def internal_payload(error: BaseException, *, debug: bool) -> dict[str, Any]:
    """An unexpected failure: a generic message; the details go to the log, not the client."""
    body = _body(
        message="internal error while handling the request; the server log has the details",
        error_type="InternalServerError",
        context="server",
        code="server.internal",
        inner_error_type=type(error).__name__ if debug else None,
        inner_error_message=str(error) if debug else None,
    )
    if debug:
        body["traceback"] = traceback.format_exception(error)
    return body


__all__ = [
    "ServerError",
    "body_too_large",
    "error_payload",
    "http_payload",
    "internal_payload",
    "run_timeout",
    "server_busy",
    "unauthorized",
    "validation_payload",
    "workflow_not_found",
]
