"""What the client sends and how it reads answers, at the ``httpx.MockTransport`` seam.

The server side of each exchange is tested for real in ``test_client.py``; here the answers
are scripted, so retries, error bodies and every image type can be checked exactly.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest

from visionflow.client import (
    Client,
    ClientError,
    HTTPCallError,
    InvalidInputError,
    RequestTimeoutError,
    ServerConnectionError,
)
from visionflow.client._core import parse_retry_after, retry_delay
from visionflow.client._images import decode_outputs, encode_image

REPO = Path(__file__).resolve().parents[2]
DOG = REPO / "examples" / "images" / "dog.jpg"
SPEC = {"version": "1.0", "inputs": [], "steps": [], "outputs": []}
OK = {"outputs": [{"out": 1}], "profiler_trace": None}


class Recorder:
    """A scripted server: answers in order (the last one repeats), requests kept."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers) or [httpx.Response(200, json=OK)]
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers[min(len(self.requests), len(self.answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    @property
    def body(self) -> Any:
        return json.loads(self.requests[-1].content)


def make_client(recorder: Recorder, **options: Any) -> tuple[Client, list[float]]:
    client = Client(
        "http://server:9001/", api_key=options.pop("api_key", "key"),
        transport=httpx.MockTransport(recorder), **options,
    )  # fmt: skip
    slept: list[float] = []
    client._sleep = slept.append  # type: ignore[method-assign]
    return client, slept


@pytest.mark.parametrize(
    ("kwargs", "method", "route"),
    [
        ({"specification": SPEC}, "run_workflow", "/workflows/run"),
        ({"specification": SPEC}, "infer_from_workflow", "/infer/workflows"),
        ({"workspace_name": "w", "workflow_id": "f"}, "run_workflow", "/w/workflows/f"),
        (
            {"workspace_name": "w", "workflow_name": "f"},
            "infer_from_workflow",
            "/infer/workflows/w/f",
        ),
        ({"workspace_name": "a b", "workflow_id": "x/y"}, "run_workflow", "/a%20b/workflows/x%2Fy"),
    ],
)
def test_run_routes(kwargs: dict[str, Any], method: str, route: str) -> None:
    recorder = Recorder()
    client, _ = make_client(recorder)
    assert getattr(client, method)(**kwargs) == [{"out": 1}]
    request = recorder.requests[0]
    assert (request.method, request.url.raw_path.decode()) == ("POST", route)
    assert request.headers["Authorization"] == "Bearer key"


def test_run_body_is_inference_sdks() -> None:
    recorder = Recorder()
    client, _ = make_client(recorder)
    client.run_workflow(
        specification=SPEC,
        images={"image": b"abc"},
        parameters={"confidence": 0.3, "image": "overridden by a parameter"},
        excluded_fields=["x"],
        enable_profiling=True,
        disable_sinks=True,
    )
    body = recorder.body
    assert list(body) == [
        "api_key", "use_cache", "enable_profiling", "disable_sinks", "inputs",
        "excluded_fields", "specification",
    ]  # fmt: skip
    assert body["api_key"] == "key"
    assert body["inputs"] == {"image": "overridden by a parameter", "confidence": 0.3}


def test_saved_run_body_and_defaults() -> None:
    recorder = Recorder()
    client, _ = make_client(recorder, api_key=None)
    client.run_workflow(workspace_name="w", workflow_id="f", workflow_version_id="2")
    assert recorder.body == {
        "api_key": None, "use_cache": True, "enable_profiling": False, "inputs": {},
        "workflow_version_id": "2",
    }  # fmt: skip
    assert "Authorization" not in recorder.requests[0].headers


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"workspace_name": "w"},
        {"workspace_name": "w", "workflow_id": "f", "specification": SPEC},
    ],
)
def test_run_needs_one_target(kwargs: dict[str, Any]) -> None:
    client, _ = make_client(Recorder())
    with pytest.raises(InvalidInputError, match="either workspace_name"):
        client.run_workflow(**kwargs)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_image_types(tmp_path: Path) -> None:
    from PIL import Image as PILImage

    array = np.full((8, 8, 3), 200, dtype=np.uint8)
    raw = DOG.read_bytes()
    rgba = PILImage.new("RGBA", (4, 4))
    assert encode_image(str(DOG)) == {"type": "base64", "value": _b64(raw)}
    assert encode_image(DOG) == {"type": "base64", "value": _b64(raw)}
    assert encode_image(raw) == {"type": "base64", "value": _b64(raw)}
    assert encode_image("aGVsbG8=") == {"type": "base64", "value": "aGVsbG8="}
    url_input = {"type": "url", "value": "http://x/y.jpg"}
    assert encode_image(url_input) is url_input
    sent = base64.b64decode(encode_image(array)["value"])
    assert sent == cv2.imencode(".jpg", array)[1].tobytes()
    decoded = cv2.imdecode(
        np.frombuffer(base64.b64decode(encode_image(rgba)["value"]), np.uint8), 1
    )
    assert decoded.shape == (4, 4, 3)
    with pytest.raises(InvalidInputError, match="cannot read image file"):
        encode_image(tmp_path / "missing.jpg")
    with pytest.raises(InvalidInputError, match="type int"):
        encode_image(3)


def test_batches_stay_lists_and_urls_are_fetched_without_the_key() -> None:
    recorder = Recorder(httpx.Response(200, content=b"jpeg-bytes"), httpx.Response(200, json=OK))
    client, _ = make_client(recorder)
    url = "https://images.example/cat.jpg"
    client.run_workflow(specification=SPEC, images={"image": [url, [b"a", b"b"]]})
    fetch, run = recorder.requests
    assert str(fetch.url) == url and "Authorization" not in fetch.headers
    assert json.loads(run.content)["inputs"]["image"] == [
        {"type": "base64", "value": _b64(b"jpeg-bytes")},
        [{"type": "base64", "value": _b64(b"a")}, {"type": "base64", "value": _b64(b"b")}],
    ]


def test_url_that_cannot_be_fetched() -> None:
    client, _ = make_client(Recorder(httpx.Response(404)))
    with pytest.raises(InvalidInputError, match="HTTP 404"):
        client.run_workflow(specification=SPEC, images={"image": "http://x/y.jpg"})


def test_image_outputs_as_base64_or_arrays() -> None:
    jpeg = _b64(cv2.imencode(".png", np.full((2, 3, 3), 7, np.uint8))[1].tobytes())
    image = {"type": "base64", "value": jpeg, "video_metadata": {}}
    outputs = [{"a": image, "b": [{"c": image}, [image]], "n": 1}]
    as_sdk = decode_outputs(outputs, decode_images=False)
    assert as_sdk == [{"a": jpeg, "b": [{"c": jpeg}, [jpeg]], "n": 1}]
    arrays = decode_outputs(outputs, decode_images=True)[0]
    assert arrays["a"].shape == (2, 3, 3) and int(arrays["b"][1][0][0, 0, 0]) == 7
    with pytest.raises(ClientError, match="cannot be decoded"):
        decode_outputs([{"a": {"type": "base64", "value": "bm9wZQ=="}}], decode_images=True)


def test_retries_honour_retry_after_then_succeed() -> None:
    recorder = Recorder(
        httpx.Response(503, headers={"Retry-After": "2"}),
        httpx.Response(429),
        httpx.Response(200, json=OK),
    )
    client, slept = make_client(recorder, backoff=0.1)
    assert client.run_workflow(specification=SPEC) == [{"out": 1}]
    assert slept == [2.0, 0.2]


def test_retries_give_up_with_the_last_answer() -> None:
    body = {"message": "busy", "error_type": "Overloaded"}
    recorder = Recorder(httpx.Response(504, json=body))
    client, slept = make_client(recorder, retries=2, backoff=1)
    with pytest.raises(HTTPCallError) as caught:
        client.info()
    assert caught.value.status_code == 504 and caught.value.message == "busy"
    assert slept == [1, 2] and len(recorder.requests) == 3


@pytest.mark.parametrize("status", [400, 401, 404, 500])
def test_other_errors_are_not_retried(status: int) -> None:
    body = {
        "message": "Step execution failed",
        "error_type": "StepExecutionError",
        "inner_error_message": "boom",
        "blocks_errors": [{"block_id": "crop"}],
    }
    recorder = Recorder(httpx.Response(status, json=body))
    client, slept = make_client(recorder)
    with pytest.raises(HTTPCallError) as caught:
        client.run_workflow(specification=SPEC)
    error = caught.value
    assert (error.status_code, error.message, error.inner_error_message) == (
        status, "Step execution failed", "boom",
    )  # fmt: skip
    assert error.error_type == "StepExecutionError" and error.body == body
    assert "More details: boom" in str(error) and "key" not in str(error)
    assert slept == [] and len(recorder.requests) == 1


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (httpx.Response(422, json={"detail": [{"loc": ["body"]}]}), '[{"loc": ["body"]}]'),
        (httpx.Response(502, text="bad gateway from nginx"), "bad gateway from nginx"),
        (httpx.Response(500), "Internal Server Error"),
    ],
)
def test_error_bodies_that_are_not_ours(answer: httpx.Response, message: str) -> None:
    client, _ = make_client(Recorder(answer))
    with pytest.raises(HTTPCallError) as caught:
        client.healthz()
    assert caught.value.message == message


def test_connection_errors_are_retried_then_reported() -> None:
    recorder = Recorder(httpx.ConnectError("refused"))
    client, slept = make_client(recorder, retries=1, backoff=0.5)
    with pytest.raises(ServerConnectionError, match="cannot connect to http://server:9001"):
        client.info()
    assert slept == [0.5]
    recorder = Recorder(httpx.ConnectError("refused"), httpx.Response(200, json={"name": "x"}))
    client, _ = make_client(recorder)
    assert client.info() == {"name": "x"}


@pytest.mark.parametrize(
    ("error", "raised"),
    [
        (httpx.ReadTimeout("slow"), RequestTimeoutError),
        (httpx.RemoteProtocolError("reset"), ServerConnectionError),
    ],
)
def test_transport_failures_after_sending_are_not_retried(
    error: Exception, raised: type[ClientError]
) -> None:
    recorder = Recorder(error)
    client, _ = make_client(recorder)
    with pytest.raises(raised):
        client.run_workflow(specification=SPEC)
    assert len(recorder.requests) == 1


def test_answers_that_are_not_a_run() -> None:
    client, _ = make_client(Recorder(httpx.Response(200, json={"nothing": 1})))
    with pytest.raises(ClientError, match="no 'outputs'"):
        client.run_workflow(specification=SPEC)
    client, _ = make_client(Recorder(httpx.Response(200, text="<html>")))
    with pytest.raises(ClientError, match="not JSON"):
        client.info()


@pytest.mark.parametrize(
    ("call", "method", "path", "body"),
    [
        (lambda c: c.save_workflow("w", "f", SPEC), "PUT", "/workspaces/w/workflows/f",
         {"specification": SPEC}),
        (lambda c: c.list_workflows("w"), "GET", "/workspaces/w/workflows", None),
        (lambda c: c.get_workflow("w", "f"), "GET", "/workspaces/w/workflows/f", None),
        (lambda c: c.get_workflow("w", "f", version=2), "GET",
         "/workspaces/w/workflows/f?version=2", None),
        (lambda c: c.delete_workflow("w", "f"), "DELETE", "/workspaces/w/workflows/f", None),
        (lambda c: c.list_workflow_versions("w", "f"), "GET",
         "/workspaces/w/workflows/f/versions", None),
        (lambda c: c.info(), "GET", "/info", None),
        (lambda c: c.healthz(), "GET", "/healthz", None),
        (lambda c: c.validate(SPEC), "POST", "/workflows/validate", SPEC),
        (lambda c: c.describe_interface(SPEC), "POST", "/workflows/describe_interface",
         {"api_key": "key", "specification": SPEC}),
        (lambda c: c.describe_blocks(), "GET", "/workflows/blocks/describe", None),
        (lambda c: c.describe_blocks([]), "POST", "/workflows/blocks/describe",
         {"api_key": "key", "dynamic_blocks_definitions": []}),
    ],
)  # fmt: skip
def test_other_calls(call: Any, method: str, path: str, body: Any) -> None:
    recorder = Recorder(httpx.Response(200, json={"status": "ok"}))
    client, _ = make_client(recorder)
    assert call(client) == {"status": "ok"}
    request = recorder.requests[0]
    assert (request.method, request.url.raw_path.decode()) == (method, path)
    assert (json.loads(request.content) if request.content else None) == body
    assert request.headers["Authorization"] == "Bearer key"


def test_empty_answer_is_none() -> None:
    client, _ = make_client(Recorder(httpx.Response(204)))
    assert client.delete_workflow("w", "f") is None


def test_profiler_trace_is_saved_where_asked(tmp_path: Path) -> None:
    trace = [{"name": "run", "ph": "X", "ts": 0, "dur": 1}]
    recorder = Recorder(httpx.Response(200, json={"outputs": [], "profiler_trace": trace}))
    client, _ = make_client(recorder, profiling_directory=tmp_path)
    client.run_workflow(specification=SPEC, enable_profiling=True)
    (saved,) = tmp_path.glob("workflow_execution_tack_*.json")
    assert json.loads(saved.read_text()) == trace


@pytest.mark.parametrize(
    ("header", "seconds"),
    [(None, None), ("", None), ("3", 3.0), ("-1", 0.0), ("soon", None),
     ("Thu, 01 Jan 1970 00:00:10 GMT", 5.0)],
)  # fmt: skip
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, now=5.0) == seconds


def test_retry_delay_is_capped() -> None:
    assert retry_delay(3, 0.5, None) == 4.0
    assert retry_delay(0, 0.5, httpx.Response(503, headers={"Retry-After": "3600"})) == 60.0


def test_public_names() -> None:
    import visionflow.client
    from visionflow import VisionflowError

    assert sorted(visionflow.client.__all__) == [
        "AsyncClient", "Client", "ClientError", "HTTPCallError", "InvalidInputError",
        "RequestTimeoutError", "ServerConnectionError",
    ]  # fmt: skip
    assert issubclass(ClientError, VisionflowError)
    assert HTTPCallError(500, "m").code == "client.http_error"
