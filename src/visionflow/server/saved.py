"""HTTP routes of the saved workflows: save (a new version), get, list, versions, delete.

Everything is scoped by the workspace in the path: a workflow saved in one workspace is
invisible from another. Handlers are plain ``def``: FastAPI runs them on its thread pool, so
SQLite and the validation (a compilation) never block the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from visionflow.errors import VisionflowError
from visionflow.server.errors import error_payload
from visionflow.server.schemas import ErrorResponse
from visionflow.server.store import SavedWorkflow, WorkflowStore, bare_definition, not_found

WORKFLOW_PATH = "/workspaces/{workspace}/workflows/{workflow_id}"
LIST_PATH = "/workspaces/{workspace}/workflows"


class SavedWorkflowInfo(BaseModel):
    """What a save answers: the version that now holds the definition."""

    workspace: str
    workflow_id: str
    version: int
    created_at: str


class SavedWorkflowDocument(SavedWorkflowInfo):
    """One version with its definition, wrapped as ``{"specification": {...}}``."""

    specification: dict[str, Any]


class SavedWorkflowEntry(BaseModel):
    """A workflow as listed."""

    workflow_id: str
    latest_version: int
    versions: int
    created_at: str
    updated_at: str


class SavedWorkflowList(BaseModel):
    """The workflows of one workspace, sorted by id."""

    workspace: str
    workflows: list[SavedWorkflowEntry]


class VersionEntry(BaseModel):
    """One entry of a workflow's history."""

    version: int
    created_at: str
    content_hash: str


class VersionList(BaseModel):
    """The history of one workflow, oldest first."""

    workspace: str
    workflow_id: str
    versions: list[VersionEntry]


def _error_response(error: VisionflowError) -> JSONResponse:
    status, body = error_payload(error)
    return JSONResponse(body, status_code=status)


def _info(saved: SavedWorkflow) -> dict[str, Any]:
    return {
        "workspace": saved.workspace,
        "workflow_id": saved.workflow_id,
        "version": saved.version,
        "created_at": saved.created_at.isoformat(),
    }


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "Invalid name, version or definition"},
}
_ERRORS_404: dict[int | str, dict[str, Any]] = {
    **_ERRORS,
    404: {"model": ErrorResponse, "description": "No such workflow (or version) in this workspace"},
}


def saved_workflows_router(
    get_store: Callable[[], WorkflowStore], validate: Callable[[dict[str, Any]], object]
) -> APIRouter:
    """The saved-workflow routes over the store ``get_store()`` returns.

    ``validate`` receives the bare definition before it is saved and raises a
    ``VisionflowError`` when it is invalid; errors are answered as the rest of the server
    answers them (``visionflow.server.errors.error_payload``): 400 for an invalid definition or
    name, 404 for an unknown workflow or version.
    """
    router = APIRouter(tags=["saved workflows"])

    @router.put(
        WORKFLOW_PATH,
        status_code=201,
        response_model=SavedWorkflowInfo,
        responses=_ERRORS,
        summary="Save a new version of a workflow",
    )
    def save_workflow(
        workspace: str,
        workflow_id: str,
        definition: Annotated[
            dict[str, Any],
            Body(description="The workflow definition, bare or as {'specification': {...}}"),
        ],
    ) -> Any:
        """Validate the definition and save it; the same definition as the latest is not
        saved again (the answer names the existing version)."""
        try:
            store = get_store()
            bare = bare_definition(definition)
            validate(bare)
            saved = store.save(workspace, workflow_id, bare)
        except VisionflowError as error:
            return _error_response(error)
        return JSONResponse(_info(saved), status_code=201)

    @router.get(
        WORKFLOW_PATH,
        response_model=SavedWorkflowDocument,
        responses=_ERRORS_404,
        summary="Get a saved workflow (the latest version, or ?version=N)",
    )
    def get_workflow(
        workspace: str,
        workflow_id: str,
        version: Annotated[
            str | None, Query(description="A version number; the latest when absent")
        ] = None,
    ) -> Any:
        try:
            saved = get_store().require(workspace, workflow_id, version)
        except VisionflowError as error:
            return _error_response(error)
        return {**_info(saved), **saved.specification}

    @router.get(
        LIST_PATH,
        response_model=SavedWorkflowList,
        responses=_ERRORS,
        summary="List the workflows of a workspace",
    )
    def list_workflows(workspace: str) -> Any:
        try:
            summaries = get_store().list(workspace)
        except VisionflowError as error:
            return _error_response(error)
        return {
            "workspace": workspace,
            "workflows": [
                {
                    "workflow_id": summary.workflow_id,
                    "latest_version": summary.latest_version,
                    "versions": summary.versions,
                    "created_at": summary.created_at.isoformat(),
                    "updated_at": summary.updated_at.isoformat(),
                }
                for summary in summaries
            ],
        }

    @router.get(
        WORKFLOW_PATH + "/versions",
        response_model=VersionList,
        responses=_ERRORS_404,
        summary="List the versions of a saved workflow",
    )
    def list_versions(workspace: str, workflow_id: str) -> Any:
        try:
            versions = get_store().versions(workspace, workflow_id)
            if not versions:
                raise not_found(workspace, workflow_id)
        except VisionflowError as error:
            return _error_response(error)
        return {
            "workspace": workspace,
            "workflow_id": workflow_id,
            "versions": [
                {
                    "version": entry.version,
                    "created_at": entry.created_at.isoformat(),
                    "content_hash": entry.content_hash,
                }
                for entry in versions
            ],
        }

    @router.delete(
        WORKFLOW_PATH,
        status_code=204,
        response_class=Response,
        responses=_ERRORS_404,
        summary="Delete a workflow with all its versions",
    )
    def delete_workflow(workspace: str, workflow_id: str) -> Response:
        try:
            if not get_store().delete(workspace, workflow_id):
                raise not_found(workspace, workflow_id)
        except VisionflowError as error:
            return _error_response(error)
        return Response(status_code=204)

    return router


__all__ = [
    "SavedWorkflowDocument",
    "SavedWorkflowInfo",
    "SavedWorkflowList",
    "saved_workflows_router",
]
