"""What the sync and async clients share: the requests they send, the retry policy, how an
answer becomes a value or an exception. No I/O here, so both clients stay thin loops.

The run requests are byte-for-byte those of ``inference_sdk.InferenceHTTPClient`` (routes,
body keys and their order, ``api_key`` in the body); every request also carries the key as
``Authorization: Bearer`` so that it never travels in a URL (and so never in an error text).
"""

from __future__ import annotations

import email.utils
import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from visionflow.client._errors import ClientError, HTTPCallError, InvalidInputError

DEFAULT_API_URL = "http://127.0.0.1:9001"
#: answers that mean "try again later" (as inference-sdk): too many requests, busy, timeout
RETRYABLE_STATUS_CODES = frozenset({429, 503, 504})
#: never wait longer than this between two attempts, whatever Retry-After says
MAX_RETRY_DELAY_S = 60.0


@dataclass(frozen=True)
class Call:
    """One HTTP request, before it is sent."""

    method: str
    path: str
    json: Any = None
    params: dict[str, str] | None = None


def _segment(value: str, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidInputError(f"{what} must be a non-empty string, got {value!r}")
    # quoted so that a name can never escape its path segment
    return quote(value, safe="")


def check_run_target(
    workspace_name: str | None, workflow_id: str | None, specification: dict[str, Any] | None
) -> None:
    """Either a saved workflow (workspace and id) or a specification, as inference-sdk."""
    named = workspace_name is not None and workflow_id is not None
    if named == (specification is not None):
        raise InvalidInputError(
            "pass either workspace_name and workflow_id (a saved workflow) or specification "
            "(a definition), not both and not neither"
        )


def run_call(
    api_key: str | None,
    *,
    workspace_name: str | None,
    workflow_id: str | None,
    specification: dict[str, Any] | None,
    inputs: dict[str, Any],
    excluded_fields: list[str] | None,
    legacy_endpoints: bool,
    use_cache: bool,
    enable_profiling: bool,
    workflow_version_id: str | None,
    disable_sinks: bool,
) -> Call:
    """The request of ``run_workflow`` / ``infer_from_workflow`` (inference-sdk's body)."""
    payload: dict[str, Any] = {
        "api_key": api_key,
        "use_cache": use_cache,
        "enable_profiling": enable_profiling,
    }
    if disable_sinks:
        payload["disable_sinks"] = True
    payload["inputs"] = inputs
    if excluded_fields is not None:
        payload["excluded_fields"] = excluded_fields
    if specification is not None:
        payload["specification"] = specification
        path = "/infer/workflows" if legacy_endpoints else "/workflows/run"
        return Call("POST", path, payload)
    if workflow_version_id is not None:
        payload["workflow_version_id"] = workflow_version_id
    workspace = _segment(workspace_name or "", "workspace_name")
    workflow = _segment(workflow_id or "", "workflow_id")
    if legacy_endpoints:
        return Call("POST", f"/infer/workflows/{workspace}/{workflow}", payload)
    return Call("POST", f"/{workspace}/workflows/{workflow}", payload)


def saved_workflow_path(workspace: str, workflow_id: str | None = None) -> str:
    path = f"/workspaces/{_segment(workspace, 'workspace')}/workflows"
    return path if workflow_id is None else f"{path}/{_segment(workflow_id, 'workflow_id')}"


def get_workflow_call(workspace: str, workflow_id: str, version: str | int | None) -> Call:
    params = None if version is None else {"version": str(version)}
    return Call("GET", saved_workflow_path(workspace, workflow_id), params=params)


def describe_blocks_call(
    api_key: str | None, dynamic_blocks_definitions: list[dict[str, Any]] | None
) -> Call:
    if dynamic_blocks_definitions is None:
        return Call("GET", "/workflows/blocks/describe")
    body = {"api_key": api_key, "dynamic_blocks_definitions": dynamic_blocks_definitions}
    return Call("POST", "/workflows/blocks/describe", body)


def auth_headers(api_key: str | None) -> dict[str, str]:
    return {} if api_key is None else {"Authorization": f"Bearer {api_key}"}


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date), if usable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def retry_delay(attempt: int, backoff: float, response: httpx.Response | None) -> float:
    """Seconds before attempt ``attempt + 1``: the server's ``Retry-After`` when it gives one
    (it knows when it will have room), else ``backoff * 2 ** attempt``; capped."""
    delay = backoff * (2**attempt)
    if response is not None:
        server_says = parse_retry_after(response.headers.get("Retry-After"))
        if server_says is not None:
            delay = server_says
    return min(delay, MAX_RETRY_DELAY_S)


def http_error(response: httpx.Response) -> HTTPCallError:
    """The exception for an error answer, with the server's ``message`` and details."""
    body: Any = None
    try:
        body = response.json()
    except ValueError:
        body = None
    inner = error_type = None
    if isinstance(body, dict):
        message = body.get("message") or body.get("detail") or response.reason_phrase
        if not isinstance(message, str):  # FastAPI's 422 lists its problems
            message = json.dumps(message)
        inner = body.get("inner_error_message")
        error_type = body.get("error_type")
    else:
        message = response.text.strip()[:1000] or response.reason_phrase
    return HTTPCallError(
        response.status_code,
        message,
        inner_error_message=inner if isinstance(inner, str) else None,
        error_type=error_type if isinstance(error_type, str) else None,
        body=body,
    )


def parse_response(response: httpx.Response) -> Any:
    """The decoded JSON of a successful answer (``None`` when empty), else ``HTTPCallError``."""
    if not response.is_success:
        raise http_error(response)
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError as error:
        raise ClientError(
            f"the server answered {response.status_code} with a body that is not JSON",
            code="client.bad_response",
        ) from error


def run_outputs(body: Any) -> list[Any]:
    if not isinstance(body, dict) or not isinstance(body.get("outputs"), list):
        raise ClientError(
            "the server's answer to a run has no 'outputs' list", code="client.bad_response"
        )
    return body["outputs"]


def save_profiler_trace(directory: str | Path, trace: Any) -> Path:
    """Write a run's Chrome trace where inference-sdk would (``workflow_execution_tack_*.json``)."""
    folder = Path(directory).absolute()
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y_%m_%d_%H_%M_%S")
    path = folder / f"workflow_execution_tack_{stamp}.json"
    path.write_text(json.dumps(trace or []))
    return path


def url_fetch_error(url: str, error: Exception | int) -> InvalidInputError:
    reason = f"HTTP {error}" if isinstance(error, int) else f"{type(error).__name__}: {error}"
    return InvalidInputError(f"cannot download image {url}: {reason}")
