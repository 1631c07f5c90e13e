"""The FastAPI application: the reference's workflow routes, secure by default.

>>> from visionflow.server import ServerSettings, create_app
>>> app = create_app(ServerSettings(home="/tmp/visionflow-doctest"))
>>> "/workflows/run" in app.openapi()["paths"]
True
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from visionflow._version import __version__
from visionflow.errors import VisionflowError
from visionflow.server.describe import describe_blocks_response, describe_interface
from visionflow.server.errors import (
    ServerError,
    error_payload,
    http_payload,
    internal_payload,
    unauthorized,
    validation_payload,
)
from visionflow.server.gate import Gate, KeyChecker, body_key_dependency, key_still_pending
from visionflow.server.schemas import (
    DescribeBlocksRequest,
    DescribeInterfaceRequest,
    DescribeInterfaceResponse,
    ErrorResponse,
    ExecutionEngineVersions,
    PredefinedDescribeInterfaceRequest,
    PredefinedWorkflowRunRequest,
    ServerInfo,
    ValidationStatus,
    WorkflowRunResponse,
    WorkflowSpecificationRunRequest,
)
from visionflow.server.service import WorkflowService
from visionflow.server.settings import ServerSettings

logger = logging.getLogger("visionflow.server")

#: what ``/workflows/execution_engine/versions`` reports: the reference's Execution Engine 1.x
EXECUTION_ENGINE_VERSIONS = ["1.15.0"]
SERVER_NAME = "visionflow"

_RUN_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "Invalid definition, inputs or images"},
    401: {"model": ErrorResponse, "description": "Missing or wrong API key"},
    413: {"model": ErrorResponse, "description": "Request body too large"},
    500: {"model": ErrorResponse, "description": "A step failed (named in blocks_errors)"},
    503: {"model": ErrorResponse, "description": "Queue full; retry after Retry-After"},
    504: {"model": ErrorResponse, "description": "The run took longer than allowed"},
}
_SAVED_RUN_ERRORS = {
    **_RUN_ERRORS,
    404: {"model": ErrorResponse, "description": "No such saved workflow"},
}
_JSON = "application/json"


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    """Build the application (``visionflow serve`` runs it with uvicorn)."""
    settings = settings or ServerSettings.load()
    service = WorkflowService(settings)
    keys = KeyChecker(settings.api_keys)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        service.close()

    app = FastAPI(
        title="visionflow",
        version=__version__,
        description="Run Workflows v1 documents; the inference-sdk client works unchanged.",
        debug=False,  # tracebacks never reach clients; settings.debug adds them to error bodies
        lifespan=lifespan,
        dependencies=[Depends(body_key_dependency(keys))],
    )
    app.state.service = service
    app.add_middleware(
        Gate,  # type: ignore[arg-type]
        max_body_bytes=settings.max_body_bytes,
        keys=keys,
        metrics=service.metrics,
    )
    _install_error_handlers(app, service)
    _add_workflow_routes(app, service)
    _add_describe_routes(app, service)
    _add_server_routes(app, service)
    from visionflow.server.saved import saved_workflows_router

    app.include_router(saved_workflows_router(service.store, service.validate))
    return app


def _json(body: bytes, status: int = 200) -> Response:
    return Response(content=body, status_code=status, media_type=_JSON)


def _add_workflow_routes(app: FastAPI, service: WorkflowService) -> None:
    async def run_specification(request: WorkflowSpecificationRunRequest) -> Response:
        """Run the workflow definition given in `specification` on `inputs`."""
        return _json(await service.run(request))

    async def run_saved(
        workspace_name: str, workflow_id: str, request: PredefinedWorkflowRunRequest
    ) -> Response:
        """Run a workflow saved with `PUT /workspaces/{workspace}/workflows/{workflow_id}`."""
        return _json(await service.run(request, saved=(workspace_name, workflow_id)))

    for path, deprecated in (("/workflows/run", False), ("/infer/workflows", True)):
        app.add_api_route(
            path,
            run_specification,
            methods=["POST"],
            response_model=WorkflowRunResponse,
            responses=_RUN_ERRORS,
            deprecated=deprecated,
            summary="Run a workflow given in the request",
            tags=["workflows"],
        )
    for path, deprecated in (
        ("/{workspace_name}/workflows/{workflow_id}", False),
        ("/infer/workflows/{workspace_name}/{workflow_id}", True),
    ):
        app.add_api_route(
            path,
            run_saved,
            methods=["POST"],
            response_model=WorkflowRunResponse,
            responses=_SAVED_RUN_ERRORS,
            deprecated=deprecated,
            summary="Run a saved workflow",
            tags=["workflows"],
        )

    @app.post(
        "/workflows/validate",
        response_model=ValidationStatus,
        responses=_RUN_ERRORS,
        tags=["workflows"],
        summary="Check a workflow definition (the bare definition is the body)",
    )
    async def validate_workflow(
        specification: Annotated[dict[str, Any], Body(description="The workflow definition")],
    ) -> dict[str, str]:
        await run_in_threadpool(service.validate, specification)
        return {"status": "ok"}


def _add_describe_routes(app: FastAPI, service: WorkflowService) -> None:
    @app.post(
        "/workflows/describe_interface",
        response_model=DescribeInterfaceResponse,
        responses=_RUN_ERRORS,
        tags=["workflows"],
        summary="Inputs and outputs of a workflow, with their kinds",
    )
    async def describe_workflow_interface(request: DescribeInterfaceRequest) -> Any:
        plan = await run_in_threadpool(service.validate, request.specification)
        return describe_interface(plan)

    @app.post(
        "/{workspace_name}/workflows/{workflow_id}/describe_interface",
        response_model=DescribeInterfaceResponse,
        responses=_SAVED_RUN_ERRORS,
        tags=["workflows"],
        summary="Inputs and outputs of a saved workflow, with their kinds",
    )
    async def describe_saved_interface(
        workspace_name: str, workflow_id: str, request: PredefinedDescribeInterfaceRequest
    ) -> Any:
        def describe() -> Any:
            definition = service.saved_definition(
                workspace_name, workflow_id, request.workflow_version_id
            )
            return describe_interface(service.validate(definition))

        return await run_in_threadpool(describe)

    async def describe_blocks_get() -> Response:
        """Every block this server knows: schemas, outputs, kinds, connections, UQL."""
        return _json(await run_in_threadpool(_blocks_json, service, None))

    async def describe_blocks_post(request: DescribeBlocksRequest | None = None) -> Response:
        """As GET, plus the inline Python blocks given (when the server allows them)."""
        definitions = request.dynamic_blocks_definitions if request is not None else None
        return _json(await run_in_threadpool(_blocks_json, service, definitions))

    for method, endpoint in (("GET", describe_blocks_get), ("POST", describe_blocks_post)):
        app.add_api_route(
            "/workflows/blocks/describe",
            endpoint,
            methods=[method],
            responses={200: {"description": "The blocks description"}, **_RUN_ERRORS},
            tags=["workflows"],
            summary="Describe the available blocks",
        )

    @app.get(
        "/workflows/definition/schema",
        tags=["workflows"],
        summary="JSON Schema of a workflow definition",
    )
    async def definition_schema_route() -> Response:
        return _json(await run_in_threadpool(_schema_json))

    @app.get(
        "/workflows/execution_engine/versions",
        response_model=ExecutionEngineVersions,
        tags=["workflows"],
    )
    async def execution_engine_versions() -> dict[str, list[str]]:
        return {"versions": list(EXECUTION_ENGINE_VERSIONS)}


_schema_cache: dict[str, bytes] = {}
_blocks_cache: dict[int, bytes] = {}


def _schema_json() -> bytes:
    import orjson

    from visionflow.blocks.registry import default_registry
    from visionflow.compiler import definition_schema

    key = str(default_registry.version)
    cached = _schema_cache.get(key)
    if cached is None:
        _schema_cache.clear()
        cached = _schema_cache[key] = orjson.dumps({"schema": definition_schema()})
    return cached


def _blocks_json(service: WorkflowService, definitions: list[Any] | None) -> bytes:
    import orjson

    from visionflow.blocks.registry import default_registry

    allowed = service.settings.allow_python_blocks
    if definitions:
        return orjson.dumps(describe_blocks_response(definitions, allow_python_blocks=allowed))
    cached = _blocks_cache.get(default_registry.version)
    if cached is None:
        _blocks_cache.clear()
        cached = _blocks_cache[default_registry.version] = orjson.dumps(describe_blocks_response())
    return cached


def _add_server_routes(app: FastAPI, service: WorkflowService) -> None:
    @app.get("/info", response_model=ServerInfo, tags=["server"])
    async def info() -> dict[str, str]:
        """Name, version and the id of this server instance (open even with API keys)."""
        return {"name": SERVER_NAME, "version": __version__, "uuid": service.instance_id}

    @app.get("/healthz", tags=["server"])
    async def healthz() -> dict[str, str]:
        """Liveness probe (open even with API keys)."""
        return {"status": "healthy"}

    @app.get(
        "/metrics",
        tags=["server"],
        response_class=Response,
        responses={200: {"content": {"text/plain": {}}, "description": "Prometheus metrics"}},
    )
    async def metrics() -> Response:
        """Prometheus text format: requests, latencies, step timings, errors, models."""
        text = service.metrics.render(service.loaded_models())
        return Response(text, media_type="text/plain; version=0.0.4; charset=utf-8")


def _install_error_handlers(app: FastAPI, service: WorkflowService) -> None:
    debug = service.settings.debug
    metrics = service.metrics

    async def on_visionflow_error(_: Request, error: Exception) -> Response:
        assert isinstance(error, VisionflowError)
        status, body = error_payload(error, debug=debug)
        metrics.count_error(body["error_type"], error.code)
        if status >= 500:
            logger.error("%s", error, exc_info=error)
        else:
            logger.info("refused (%s): %s", status, error)
        headers = error.headers if isinstance(error, ServerError) else None
        return JSONResponse(body, status_code=status, headers=headers)

    async def on_validation_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        if key_still_pending(request.scope):
            # an unreadable body from a caller without a key: say 401, not what is wrong inside
            return await on_visionflow_error(request, unauthorized())
        metrics.count_error("RequestValidationError", "server.invalid_request")
        # 422 as the reference (FastAPI's default status), in the reference's error body
        return JSONResponse(validation_payload(list(error.errors())), status_code=422)

    async def on_http_error(_: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        body = http_payload(error.status_code, error.detail)
        metrics.count_error(body["error_type"], body["error_code"])
        return JSONResponse(body, status_code=error.status_code, headers=error.headers)

    async def on_unexpected(_: Request, error: Exception) -> Response:
        logger.error("unexpected error", exc_info=error)
        metrics.count_error("InternalServerError", "server.internal")
        return JSONResponse(internal_payload(error, debug=debug), status_code=500)

    app.add_exception_handler(VisionflowError, on_visionflow_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)


#: the settings ``visionflow serve --workers N`` hands to its worker processes (JSON)
SETTINGS_ENV = "VISIONFLOW_SERVER_SETTINGS"


def app_from_environment() -> FastAPI:
    """uvicorn factory for worker processes: settings from ``VISIONFLOW_SERVER_SETTINGS``."""
    import os

    raw = os.environ.get(SETTINGS_ENV)
    if raw:
        return create_app(ServerSettings.model_validate_json(raw))
    return create_app()


__all__ = ["EXECUTION_ENGINE_VERSIONS", "SETTINGS_ENV", "app_from_environment", "create_app"]
