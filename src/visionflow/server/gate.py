"""The ASGI layer in front of every route: body size limit, API keys, request metrics.

Written as plain ASGI (not ``BaseHTTPMiddleware``) so it costs a few microseconds per request.
API keys given as the ``api_key`` query parameter or ``Authorization: Bearer`` are checked
here; a request that carries neither is let through to the routes, whose app-wide dependency
(``body_api_key``) looks for ``api_key`` in the JSON body (the inference-sdk sends it there),
reusing FastAPI's parse of the body. Refused keys are logged as a hash prefix, never in clear.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

import orjson
from fastapi import Request

from visionflow.server.errors import ServerError, body_too_large, error_payload, unauthorized
from visionflow.server.metrics import Metrics

logger = logging.getLogger("visionflow.server")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: routes anyone may call, even when keys are configured (liveness probes, version checks)
OPEN_PATHS = frozenset({"/healthz", "/info"})
#: set in the scope when the key must come from the JSON body
PENDING_KEY = "visionflow_auth_pending"


def key_fingerprint(key: str) -> str:
    """What the log shows of a key: a short hash prefix."""
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:8]


class KeyChecker:
    """Constant-time comparison against the configured keys."""

    def __init__(self, keys: list[str]) -> None:
        self._keys = [k.encode() for k in keys]

    @property
    def enabled(self) -> bool:
        return bool(self._keys)

    def accepts(self, key: str) -> bool:
        given = key.encode("utf-8", "replace")
        found = False
        for candidate in self._keys:
            # no early exit: the time taken does not tell which key was close
            found |= hmac.compare_digest(given, candidate)
        return found


class Gate:
    """Body size limit, header/query API keys and per-route metrics around the app."""

    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, keys: KeyChecker, metrics: Metrics
    ) -> None:
        self.app = app
        self.max_body = max_body_bytes
        self.keys = keys
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self._handle(scope, receive, send_status)
        finally:
            route = scope.get("route")
            label = getattr(route, "path", None) or "unmatched"
            self.metrics.observe_request(
                label, scope["method"], status[0], time.perf_counter() - start
            )

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = self._check_key(scope)
        if refusal is not None:
            await self._refuse(send, refusal)
            return
        length = _header(scope, b"content-length")
        if length is not None:
            if not length.isdigit() or int(length) > self.max_body:
                await self._refuse(send, body_too_large(self.max_body))
                return
            await self.app(scope, receive, send)
            return
        if scope["method"] in ("GET", "HEAD", "DELETE", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        # chunked upload: read it here, within the limit, then replay it to the app
        body, more = bytearray(), True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.max_body:
                await self._refuse(send, body_too_large(self.max_body))
                return
            more = message.get("more_body", False)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _check_key(self, scope: Scope) -> ServerError | None:
        if not self.keys.enabled or scope["path"] in OPEN_PATHS:
            return None
        key = _query_key(scope) or _bearer(scope)  # the reference: query > header > body
        if key is None:
            if scope["method"] == "POST":
                scope[PENDING_KEY] = True  # the routes look in the JSON body
                return None
            logger.warning("request without API key refused: %s %s", scope["method"], scope["path"])
            return unauthorized()
        if self.keys.accepts(key):
            return None
        logger.warning("wrong API key %s refused: %s", key_fingerprint(key), scope["path"])
        return unauthorized()

    async def _refuse(self, send: Send, error: ServerError) -> None:
        code, body = error_payload(error)
        self.metrics.count_error(error.error_type, error.code)
        headers = [(b"content-type", b"application/json")]
        headers += [(k.lower().encode(), v.encode()) for k, v in error.headers.items()]
        payload = orjson.dumps(body)
        headers.append((b"content-length", str(len(payload)).encode()))
        await send({"type": "http.response.start", "status": code, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


def body_key_dependency(keys: KeyChecker) -> Callable[[Request], Awaitable[None]]:
    """The app-wide dependency finishing the key check with the body's ``api_key``."""

    async def body_api_key(request: Request) -> None:
        if not request.scope.get(PENDING_KEY):
            return
        try:
            body = await request.json()
        except Exception:
            body = None
        key = body.get("api_key") if isinstance(body, dict) else None
        if not isinstance(key, str):
            logger.warning("request without API key refused: POST %s", request.url.path)
            raise unauthorized()
        if not keys.accepts(key):
            logger.warning("wrong API key %s refused: %s", key_fingerprint(key), request.url.path)
            raise unauthorized()
        request.scope[PENDING_KEY] = False

    return body_api_key


def key_still_pending(scope: Scope) -> bool:
    """True when the request was never authenticated (its body could not even be parsed)."""
    return bool(scope.get(PENDING_KEY))


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _bearer(scope: Scope) -> str | None:
    value = _header(scope, b"authorization")
    if value and value[:7].lower() == "bearer ":
        return value[7:].strip() or None
    return None


def _query_key(scope: Scope) -> str | None:
    query = scope.get("query_string", b"")
    if b"api_key" not in query:
        return None
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if name == "api_key":
            return value
    return None


__all__ = [
    "OPEN_PATHS",
    "Gate",
    "KeyChecker",
    "body_key_dependency",
    "key_fingerprint",
    "key_still_pending",
]
