"""The client's exceptions: one base class, each carrying what the server said."""

from __future__ import annotations

from typing import Any

from visionflow.errors import VisionflowError


class ClientError(VisionflowError):
    """Base of every error the client raises (a ``VisionflowError`` with a ``client.*`` code)."""

    default_code = "client.error"


class InvalidInputError(ClientError):
    """An argument cannot be sent: an image of an unknown type, a missing file, bad parameters."""

    default_code = "client.invalid_input"


class ServerConnectionError(ClientError):
    """The server could not be reached (refused, DNS, reset) even after the retries."""

    default_code = "client.connection_failed"


class RequestTimeoutError(ClientError):
    """The server took longer than the client's ``timeout`` to answer."""

    default_code = "client.timeout"


class HTTPCallError(ClientError):
    """The server answered with an error status; carries its ``message`` and details.

    ``body`` is the decoded JSON error body (or ``None`` when the answer was not JSON), so
    ``error.body["blocks_errors"]`` names the offending steps for a 400; ``error_code`` is a
    visionflow server's stable code (``compile.unknown_block``, ``server.busy``...), ``None``
    from other servers.
    """

    default_code = "client.http_error"

    def __init__(
        self,
        status_code: int,
        message: str,
        inner_error_message: str | None = None,
        error_type: str | None = None,
        body: Any = None,
    ) -> None:
        self.status_code = status_code
        self.inner_error_message = inner_error_message
        self.error_type = error_type
        self.body = body
        code = body.get("error_code") if isinstance(body, dict) else None
        self.error_code = code if isinstance(code, str) else None
        text = f"HTTP {status_code}"
        if error_type:
            text += f" ({error_type})"
        text += f": {message}"
        if inner_error_message and inner_error_message not in message:
            text += f". More details: {inner_error_message}"
        super().__init__(text)
        # ``str(error)`` reads the whole story; ``.message`` is the server's own words
        self.message = message


__all__ = [
    "ClientError",
    "HTTPCallError",
    "InvalidInputError",
    "RequestTimeoutError",
    "ServerConnectionError",
]
