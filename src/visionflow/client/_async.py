"""``AsyncClient``: ``Client`` for asyncio, on ``httpx.AsyncClient``; URLs are fetched concurrently."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from visionflow._version import __version__
from visionflow.client import _core
from visionflow.client._errors import RequestTimeoutError, ServerConnectionError
from visionflow.client._images import UrlBytes, build_inputs, decode_outputs, iter_urls


class AsyncClient:
    """Runs workflows on a server without blocking the event loop; same calls as ``Client``.

    Example (a server on the default port)::

        from visionflow.client import AsyncClient

        async with AsyncClient("http://127.0.0.1:9001") as client:
            result = await client.run_workflow(
                specification=definition,
                images={"image": "dog.jpg"},
                parameters={"confidence": 0.5},
            )

    ``timeout`` is per request (seconds). Answers 429, 503 and 504 and refused connections
    are retried ``retries`` times, waiting ``Retry-After`` or ``backoff * 2 ** attempt``
    seconds. Images in the outputs come back as base64 strings, as with inference-sdk, or as
    BGR numpy arrays with ``decode_images=True``. With ``profiling_directory`` set, the trace
    of each ``enable_profiling`` run is written there. ``transport`` is handed to
    ``httpx.AsyncClient`` (an ``httpx.MockTransport`` in tests).
    """

    def __init__(
        self,
        api_url: str = _core.DEFAULT_API_URL,
        api_key: str | None = None,
        *,
        timeout: float = 60,
        retries: int = 3,
        backoff: float = 0.5,
        decode_images: bool = False,
        profiling_directory: str | Path | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.api_key = api_key
        self.retries = max(0, int(retries))
        self.backoff = backoff
        self.decode_images = decode_images
        self.profiling_directory = profiling_directory
        self._http = httpx.AsyncClient(
            base_url=self.api_url,
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": f"visionflow-client/{__version__}"},
        )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AsyncClient({self.api_url!r})"

    # the loop every call goes through

    async def _sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    async def _send(self, call: _core.Call) -> Any:
        headers = _core.auth_headers(self.api_key)
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = await self._http.request(
                    call.method, call.path, json=call.json, params=call.params, headers=headers
                )
            except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                # nothing reached the server: always safe to try again
                if last:
                    raise ServerConnectionError(
                        f"cannot connect to {self.api_url}: {error}"
                    ) from error
                await self._sleep(_core.retry_delay(attempt, self.backoff, None))
                continue
            except httpx.TimeoutException as error:
                raise RequestTimeoutError(
                    f"{call.method} {call.path} got no answer in time: {error}"
                ) from error
            except httpx.TransportError as error:
                raise ServerConnectionError(
                    f"{call.method} {call.path} failed: {type(error).__name__}: {error}"
                ) from error
            if response.status_code in _core.RETRYABLE_STATUS_CODES and not last:
                await self._sleep(_core.retry_delay(attempt, self.backoff, response))
                continue
            return _core.parse_response(response)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _fetch_urls(self, images: dict[str, Any] | None) -> UrlBytes:
        urls = sorted(set(iter_urls(images or {})))
        contents = await asyncio.gather(*(self._fetch_url(url) for url in urls))
        return dict(zip(urls, contents, strict=True))

    async def _fetch_url(self, url: str) -> bytes:
        try:
            # no auth headers: the key is for the server, never for a third party
            response = await self._http.get(url, follow_redirects=True)
        except httpx.HTTPError as error:
            raise _core.url_fetch_error(url, error) from error
        if not response.is_success:
            raise _core.url_fetch_error(url, response.status_code)
        return response.content

    # running workflows

    async def run_workflow(
        self,
        workspace_name: str | None = None,
        workflow_id: str | None = None,
        specification: dict[str, Any] | None = None,
        images: dict[str, Any] | None = None,
        parameters: dict[str, Any] | None = None,
        excluded_fields: list[str] | None = None,
        use_cache: bool = True,
        enable_profiling: bool = False,
        workflow_version_id: str | None = None,
        disable_sinks: bool = False,
    ) -> list[dict[str, Any]]:
        """Run a definition (``specification``) or a saved workflow (``workspace_name`` and
        ``workflow_id``) and return one dict of outputs per input image.

        ``images`` maps input names to an image or a list of images (paths, URLs, numpy BGR
        arrays, PIL images, bytes, base64 strings); ``parameters`` are the other inputs.
        """
        return await self._run(
            workspace_name, workflow_id, specification, images, parameters, excluded_fields,
            use_cache, enable_profiling, workflow_version_id, disable_sinks, legacy=False,
        )  # fmt: skip

    async def infer_from_workflow(
        self,
        workspace_name: str | None = None,
        workflow_name: str | None = None,
        specification: dict[str, Any] | None = None,
        images: dict[str, Any] | None = None,
        parameters: dict[str, Any] | None = None,
        excluded_fields: list[str] | None = None,
        use_cache: bool = True,
        enable_profiling: bool = False,
        workflow_version_id: str | None = None,
        disable_sinks: bool = False,
    ) -> list[dict[str, Any]]:
        """``run_workflow`` on the legacy routes (``/infer/workflows...``), as inference-sdk."""
        return await self._run(
            workspace_name, workflow_name, specification, images, parameters, excluded_fields,
            use_cache, enable_profiling, workflow_version_id, disable_sinks, legacy=True,
        )  # fmt: skip

    async def _run(
        self,
        workspace_name: str | None,
        workflow_id: str | None,
        specification: dict[str, Any] | None,
        images: dict[str, Any] | None,
        parameters: dict[str, Any] | None,
        excluded_fields: list[str] | None,
        use_cache: bool,
        enable_profiling: bool,
        workflow_version_id: str | None,
        disable_sinks: bool,
        *,
        legacy: bool,
    ) -> list[dict[str, Any]]:
        _core.check_run_target(workspace_name, workflow_id, specification)
        urls = await self._fetch_urls(images)
        # JPEG-encoding arrays is CPU work: keep it off the event loop
        inputs = (
            await asyncio.to_thread(build_inputs, images, parameters, urls)
            if images
            else build_inputs(images, parameters, urls)
        )
        call = _core.run_call(
            self.api_key,
            workspace_name=workspace_name,
            workflow_id=workflow_id,
            specification=specification,
            inputs=inputs,
            excluded_fields=excluded_fields,
            legacy_endpoints=legacy,
            use_cache=use_cache,
            enable_profiling=enable_profiling,
            workflow_version_id=workflow_version_id,
            disable_sinks=disable_sinks,
        )
        body = await self._send(call)
        outputs = _core.run_outputs(body)
        if enable_profiling and self.profiling_directory is not None:
            _core.save_profiler_trace(self.profiling_directory, body.get("profiler_trace"))
        return decode_outputs(outputs, self.decode_images)

    # definitions

    async def validate(self, definition: dict[str, Any]) -> dict[str, Any]:
        """Check a definition on the server: ``{"status": "ok"}`` or ``HTTPCallError`` (400)."""
        result: dict[str, Any] = await self._send(
            _core.Call("POST", "/workflows/validate", definition)
        )
        return result

    async def describe_interface(self, definition: dict[str, Any]) -> dict[str, Any]:
        """The inputs and outputs of a definition with their kinds."""
        body = {"api_key": self.api_key, "specification": definition}
        result: dict[str, Any] = await self._send(
            _core.Call("POST", "/workflows/describe_interface", body)
        )
        return result

    async def describe_blocks(
        self, dynamic_blocks_definitions: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """The server's block catalogue, kinds and query language."""
        call = _core.describe_blocks_call(self.api_key, dynamic_blocks_definitions)
        result: dict[str, Any] = await self._send(call)
        return result

    # saved workflows

    async def save_workflow(
        self, workspace: str, workflow_id: str, definition: dict[str, Any]
    ) -> dict[str, Any]:
        """Save ``definition`` as the next version of ``workspace/workflow_id``."""
        path = _core.saved_workflow_path(workspace, workflow_id)
        result: dict[str, Any] = await self._send(
            _core.Call("PUT", path, {"specification": definition})
        )
        return result

    async def list_workflows(self, workspace: str) -> Any:
        """The workflows saved in ``workspace``."""
        return await self._send(_core.Call("GET", _core.saved_workflow_path(workspace)))

    async def get_workflow(
        self, workspace: str, workflow_id: str, version: str | int | None = None
    ) -> dict[str, Any]:
        """A saved workflow: the latest version, or ``version``."""
        result: dict[str, Any] = await self._send(
            _core.get_workflow_call(workspace, workflow_id, version)
        )
        return result

    async def list_workflow_versions(self, workspace: str, workflow_id: str) -> dict[str, Any]:
        """The versions of a saved workflow, oldest first."""
        path = _core.saved_workflow_path(workspace, workflow_id) + "/versions"
        result: dict[str, Any] = await self._send(_core.Call("GET", path))
        return result

    async def delete_workflow(self, workspace: str, workflow_id: str) -> Any:
        """Remove a saved workflow with all its versions."""
        path = _core.saved_workflow_path(workspace, workflow_id)
        return await self._send(_core.Call("DELETE", path))

    # the server

    async def info(self) -> dict[str, Any]:
        """``{"name", "version", "uuid"}`` of the server."""
        result: dict[str, Any] = await self._send(_core.Call("GET", "/info"))
        return result

    async def healthz(self) -> Any:
        """The server's health answer (raises when it is not healthy)."""
        return await self._send(_core.Call("GET", "/healthz"))
