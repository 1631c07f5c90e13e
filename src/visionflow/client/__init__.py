"""The HTTP client of a visionflow server (it also talks to Roboflow's ``inference`` server).

``Client`` and ``AsyncClient`` take the arguments of ``inference_sdk.InferenceHTTPClient``'s
``run_workflow`` and ``infer_from_workflow`` and send the same requests, plus calls for saved
workflows, validation and descriptions. Every error is a ``ClientError``; an error answer is an
``HTTPCallError`` with the server's ``message`` and ``inner_error_message``.

>>> from visionflow.client import Client
>>> Client("http://127.0.0.1:9001/", api_key="secret")
Client('http://127.0.0.1:9001')
"""

from __future__ import annotations

from visionflow.client._async import AsyncClient
from visionflow.client._errors import (
    ClientError,
    HTTPCallError,
    InvalidInputError,
    RequestTimeoutError,
    ServerConnectionError,
)
from visionflow.client._sync import Client

__all__ = [
    "AsyncClient",
    "Client",
    "ClientError",
    "HTTPCallError",
    "InvalidInputError",
    "RequestTimeoutError",
    "ServerConnectionError",
]
