from __future__ import annotations

import base64
import copy
import functools
import http.server
import io
import pickle
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np
import pytest
import supervision as sv

from visionflow.data import (
    Image,
    VideoMetadata,
    deserialize_by_kind,
    deserialize_classification,
    deserialize_detections,
    load_image,
    serialize_detections,
    serialize_image,
)
from visionflow.errors import RuntimeInputError

EXAMPLE_DOG = Path(__file__).resolve().parents[2] / "examples" / "images" / "dog.jpg"


def _bgr(h: int = 6, w: int = 8) -> np.ndarray:
    array = np.zeros((h, w, 3), dtype=np.uint8)
    array[..., 2] = 200  # red in BGR
    return array


def _png(array: np.ndarray) -> bytes:
    return cv2.imencode(".png", array)[1].tobytes()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _pil(array: np.ndarray):
    from PIL import Image as PILImage  # a dependency (pillow)

    return PILImage.fromarray(array[:, :, ::-1].copy())


# -- load_image: accepted values --------------------------------------------------------------
@pytest.mark.parametrize(
    "make",
    [
        lambda a: a,
        lambda a: a[:, :, 0],
        lambda a: np.dstack([a, np.full(a.shape[:2], 255, np.uint8)]),
        lambda a: _png(a),
        lambda a: _b64(_png(a)),
        lambda a: "data:image/png;base64," + _b64(_png(a)),
        lambda a: {"type": "base64", "value": _b64(_png(a))},
        lambda a: {"type": "numpy_object", "value": a},
        lambda a: {"type": "numpy", "value": _npy(a)},
        lambda a: {"type": "numpy_object", "value": a.tolist()},
        lambda a: {"type": "multipart", "value": _png(a)},
        lambda a: {"type": "pil", "value": _pil(a)},
        lambda a: _pil(a),
    ],
)
def test_load_image_accepts(make) -> None:
    array = _bgr()
    value = make(array)
    image = load_image(value, input_name="image")
    assert image.numpy_image.shape == (6, 8, 3)
    if value is not array and not (isinstance(value, np.ndarray) and value.ndim == 2):
        assert image.numpy_image[0, 0].tolist() == [0, 0, 200]


def test_load_image_returns_image_as_is(root_image: Image) -> None:
    assert load_image(root_image, input_name="image", index=3) is root_image


def test_load_image_decodes_a_real_jpeg() -> None:
    value = {"type": "base64", "value": _b64(EXAMPLE_DOG.read_bytes())}
    image = load_image(value, input_name="image", index=0)
    assert image.numpy_image.ndim == 3 and image.numpy_image.shape[2] == 3
    assert image.width > 100 and image.height > 100
    # the original JPEG is reused when the image is sent back
    assert serialize_image(image)["value"] == value["value"]


@pytest.mark.parametrize(
    ("index", "value", "expected_parent", "expected_root"),
    [
        (None, _bgr(), "image", "image"),
        (2, _bgr(), "image.[2]", "image.[2]"),
        ((1, 0), _bgr(), "image.[1].[0]", "image.[1].[0]"),
        (0, {"type": "numpy_object", "value": _bgr(), "parent_id": "mine"}, "mine", "mine"),
    ],
)
def test_load_image_parent_ids(index, value, expected_parent: str, expected_root: str) -> None:
    image = load_image(value, input_name="image", index=index)
    assert image.parent_id == expected_parent
    assert image.root_id == expected_root
    assert image.origin is None


def test_load_image_reads_crop_lineage_and_video_metadata() -> None:
    value = {
        "type": "base64",
        "value": _b64(_png(_bgr())),
        "parent_id": "crop-9",
        "parent_origin": {"offset_x": 3, "offset_y": 4, "width": 50, "height": 40},
        "root_parent_id": "frame",
        "root_parent_origin": {"offset_x": 13, "offset_y": 14, "width": 500, "height": 400},
        "video_metadata": {
            "video_identifier": "cam-1",
            "frame_number": 12,
            "frame_timestamp": "2024-01-02T03:04:05",
            "fps": 30,
        },
    }
    image = load_image(value, input_name="image", index=0)
    assert image.parent_id == "crop-9"
    assert image.origin is not None and image.origin.offset_x == 3
    assert image.root_id == "frame"
    assert image.root_offset() == (13, 14)
    assert image.root_size() == (500, 400)
    assert isinstance(image.video_metadata, VideoMetadata)
    assert image.video_metadata.frame_number == 12
    assert image.video_metadata.frame_timestamp == datetime(2024, 1, 2, 3, 4, 5)
    serialized = serialize_image(image)
    assert serialized["root_parent_origin"] == value["root_parent_origin"]
    assert serialized["parent_origin"] == value["parent_origin"]


# -- load_image: refused and malformed values -------------------------------------------------
class _Boom:
    """Unpickling this would flip a flag: the loader must never unpickle input."""

    triggered = False

    def __reduce__(self):
        return (_trigger, ())


def _trigger() -> None:
    _Boom.triggered = True


@pytest.mark.parametrize(
    ("value", "index", "loc", "needle"),
    [
        (b"", None, "inputs.image", "bytes"),
        (np.zeros((0, 8, 3), dtype=np.uint8), 0, "inputs.image[0]", "no pixels"),
        ("", 0, "inputs.image[0]", "string"),
        (b"not an image at all", 1, "inputs.image[1]", "could not decode"),
        ("!!!notbase64!!!", 2, "inputs.image[2]", "base64"),
        ({"type": "base64"}, 3, "inputs.image[3]", "'value'"),
        ({"type": "base64", "value": 12}, 0, "inputs.image[0]", "int"),
        (np.zeros((4, 4, 3), dtype=np.float32), 0, "inputs.image[0]", "uint8"),
        (np.zeros((4, 4, 5), dtype=np.uint8), 0, "inputs.image[0]", "shape"),
        ({"type": "numpy", "value": pickle.dumps(_Boom())}, 0, "inputs.image[0]", "pickle"),
        (
            {"type": "numpy", "value": _npy(np.array([_Boom()], dtype=object))},
            0,
            "inputs.image[0]",
            "pickle",
        ),
        ({"type": "numpy_object", "value": [[300, 1]]}, 0, "inputs.image[0]", "0..255"),
        (
            {"type": "numpy_object", "value": _bgr(), "parent_origin": {"offset_x": 1}},
            (0, 1),
            "inputs.image[0][1].parent_origin",
            "offset_x",
        ),
        (
            {"type": "numpy_object", "value": _bgr(), "video_metadata": "yesterday"},
            0,
            "inputs.image[0].video_metadata",
            "video_identifier",
        ),
        (3.5, 0, "inputs.image[0]", "float"),
    ],
)
def test_load_image_rejects_with_location(value, index, loc: str, needle: str) -> None:
    with pytest.raises(RuntimeInputError) as caught:
        load_image(value, input_name="image", index=index)
    assert caught.value.loc == loc
    assert caught.value.code in {"input.invalid_image", "input.invalid_value"}
    assert needle in caught.value.message
    assert not _Boom.triggered


@pytest.mark.parametrize(
    "value",
    [
        {"type": "url", "value": "http://127.0.0.1:9/x.jpg"},
        "https://example.com/dog.jpg",
        {"type": "file", "value": "/etc/hostname"},
        "/definitely/not/here.jpg",
    ],
)
def test_load_image_refuses_urls_and_files_unless_allowed(value) -> None:
    with pytest.raises(RuntimeInputError) as caught:
        load_image(value, input_name="image", index=0)
    assert caught.value.code == "input.source_refused"
    assert caught.value.loc == "inputs.image[0]"
    assert "allow_" in caught.value.message


def test_load_image_reads_files_when_allowed(tmp_path: Path) -> None:
    path = tmp_path / "tiny.png"
    path.write_bytes(_png(_bgr()))
    for value in ({"type": "file", "value": str(path)}, str(path)):
        assert load_image(value, input_name="image", allow_file=True).numpy_image.shape == (6, 8, 3)
    with pytest.raises(RuntimeInputError) as caught:
        load_image(str(path), input_name="image", allow_file=True, max_bytes=10)
    assert "exceeds" in caught.value.message
    with pytest.raises(RuntimeInputError) as caught:
        load_image(
            {"type": "file", "value": str(tmp_path / "missing.png")},
            input_name="image",
            allow_file=True,
        )
    assert caught.value.code == "input.invalid_image"


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args, **kwargs: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", tmp_path
    finally:
        server.shutdown()
        server.server_close()


def test_load_image_downloads_urls_when_allowed(http_root: tuple[str, Path]) -> None:
    base, folder = http_root
    (folder / "tiny.png").write_bytes(_png(_bgr()))
    image = load_image(f"{base}/tiny.png", input_name="image", allow_url=True, url_timeout_s=5)
    assert image.numpy_image.shape == (6, 8, 3)
    with pytest.raises(RuntimeInputError) as caught:
        load_image(f"{base}/tiny.png", input_name="image", allow_url=True, max_bytes=10)
    assert "exceeds" in caught.value.message
    with pytest.raises(RuntimeInputError) as caught:
        load_image(
            {"type": "url", "value": f"{base}/missing.png"}, input_name="image", allow_url=True
        )
    assert "could not download" in caught.value.message


# -- detections -------------------------------------------------------------------------------
def _prediction(**extra) -> dict:
    base = {
        "width": 20.0,
        "height": 10.0,
        "x": 20.0,
        "y": 15.0,
        "confidence": 0.9,
        "class_id": 1,
        "class": "dog",
        "detection_id": "d-1",
        "parent_id": "image",
    }
    base.update(extra)
    return base


WIRE_PAYLOADS = [
    {"image": {"width": 64, "height": 48}, "predictions": []},
    {"image": {"width": 64, "height": 48}, "predictions": [_prediction()]},
    {
        "image": {"width": 64, "height": 48},
        "predictions": [
            _prediction(tracker_id=3),
            _prediction(detection_id="d-2", x=40.0, tracker_id=4, class_id=0, **{"class": "cat"}),
        ],
    },
    {
        "image": {"width": 64, "height": 48},
        "predictions": [
            _prediction(
                points=[
                    {"x": 10.0, "y": 10.0},
                    {"x": 10.0, "y": 20.0},
                    {"x": 30.0, "y": 20.0},
                    {"x": 30.0, "y": 10.0},
                ]
            )
        ],
    },
    {
        "image": {"width": 64, "height": 48},
        "predictions": [
            _prediction(
                parent_id="crop-1",
                parent_origin={"offset_x": 5, "offset_y": 6, "width": 640, "height": 480},
                root_parent_id="image",
                root_parent_origin={"offset_x": 5, "offset_y": 6, "width": 640, "height": 480},
                keypoints=[
                    {"class_id": 0, "class": "nose", "confidence": 0.5, "x": 12.0, "y": 13.0},
                    {"class_id": 1, "class": "eye", "confidence": 0.25, "x": 14.0, "y": 15.0},
                ],
                time_in_zone=2.5,
                velocity=[1.0, 2.0],
            ),
            _prediction(
                detection_id="d-2",
                parent_id="crop-1",
                parent_origin={"offset_x": 5, "offset_y": 6, "width": 640, "height": 480},
                root_parent_id="image",
                root_parent_origin={"offset_x": 5, "offset_y": 6, "width": 640, "height": 480},
                keypoints=[
                    {"class_id": 0, "class": "nose", "confidence": 0.75, "x": 1.0, "y": 2.0}
                ],
                time_in_zone=0.0,
                velocity=[0.0, 0.0],
            ),
        ],
    },
]


@pytest.mark.parametrize("payload", WIRE_PAYLOADS)
def test_detections_wire_round_trip(payload: dict) -> None:
    original = copy.deepcopy(payload)
    detections = deserialize_detections(payload, input_name="image")
    assert serialize_detections(detections) == original
    assert payload == original  # the input is not modified
    again = sv.Detections.from_inference(serialize_detections(detections))
    assert len(again) == len(payload["predictions"])


def test_deserialized_empty_detections_keep_image_facts() -> None:
    detections = deserialize_detections(WIRE_PAYLOADS[0], input_name="dets", index=1)
    assert len(detections) == 0
    assert detections.metadata["image_dimensions"] == [48, 64]
    assert detections.metadata["parent_id"] == "dets.[1]"
    assert detections.metadata["root_parent_dimensions"] == [48, 64]


def test_deserialize_detections_columns_and_masks() -> None:
    detections = deserialize_detections(WIRE_PAYLOADS[3], input_name="image")
    assert detections.mask is not None and detections.mask.shape == (1, 48, 64)
    assert detections.mask[0, 10:21, 10:31].all() and detections.mask.sum() == 21 * 11
    np.testing.assert_allclose(detections.xyxy, [[10, 10, 30, 20]])
    assert detections.data["image_dimensions"].tolist() == [[48, 64]]
    assert list(detections.data["class_name"]) == ["dog"]


def test_deserialize_detections_defaults_for_bare_lists() -> None:
    raw = [{"x": 5, "y": 5, "width": 4, "height": 2, "class": "a", "confidence": 0.5}]
    detections = deserialize_detections(raw, input_name="boxes", index=2)
    assert list(detections.data["parent_id"]) == ["boxes.[2]"]
    assert list(detections.data["root_parent_id"]) == ["boxes.[2]"]
    assert len(detections.data["detection_id"][0]) == 36  # a generated uuid
    assert detections.metadata["image_dimensions"] == [6, 7]  # the smallest canvas holding it
    assert detections.class_id.tolist() == [0]


def test_deserialize_detections_drops_short_polygons_like_the_reference() -> None:
    payload = {
        "image": {"width": 64, "height": 48},
        "predictions": [_prediction(points=[{"x": 1, "y": 1}, {"x": 2, "y": 2}])],
    }
    assert len(deserialize_detections(payload, input_name="image")) == 0


def test_deserialize_detections_keeps_sv_detections() -> None:
    detections = sv.Detections.empty()
    assert deserialize_detections(detections, input_name="image") is detections


@pytest.mark.parametrize(
    ("value", "loc"),
    [
        ({}, "inputs.dets[0]"),
        ("boxes", "inputs.dets[0]"),
        ({"predictions": [{"x": 1, "y": 2, "width": 3}]}, "inputs.dets[0].predictions[0]"),
        (
            {"predictions": [{"x": 1, "y": 2, "width": 3, "height": 4}]},
            "inputs.dets[0].predictions[0]",
        ),
        ({"predictions": [7]}, "inputs.dets[0].predictions[0]"),
        (
            {
                "image": {"width": 9, "height": 9},
                "predictions": [_prediction(points=[{"x": 1}] * 3)],
            },
            "inputs.dets[0]",
        ),
        ({"image": {"width": "wide", "height": 2}, "predictions": []}, "inputs.dets[0].image"),
    ],
)
def test_deserialize_detections_rejects(value, loc: str) -> None:
    with pytest.raises(RuntimeInputError) as caught:
        deserialize_detections(value, input_name="dets", index=0)
    assert caught.value.code == "input.invalid_detections"
    assert caught.value.loc == loc


# -- classification and kinds -----------------------------------------------------------------
@pytest.mark.parametrize(
    "value",
    [
        {"image": {"width": 1, "height": 1}, "predictions": [], "top": "", "confidence": 0.0},
        {"predictions": {"a": {"confidence": 0.9, "class_id": 0}}, "predicted_classes": ["a"]},
    ],
)
def test_deserialize_classification_fills_defaults(value: dict) -> None:
    result = deserialize_classification(value, input_name="cls", index=4)
    assert result["parent_id"] == "cls.[4]"
    assert result["root_parent_id"] == "cls.[4]"
    assert result["prediction_type"] == "classification"
    assert isinstance(result["inference_id"], str)
    assert "parent_id" not in value


@pytest.mark.parametrize("value", [{}, {"predictions": []}, [1, 2]])
def test_deserialize_classification_rejects(value) -> None:
    with pytest.raises(RuntimeInputError) as caught:
        deserialize_classification(value, input_name="cls", index=0)
    assert caught.value.code == "input.invalid_classification"
    assert caught.value.loc == "inputs.cls[0]"


@pytest.mark.parametrize(
    ("value", "kinds", "expected"),
    [
        ([], ["list_of_values"], []),
        (None, ["integer"], None),
        ({"any": 1}, ["*"], {"any": 1}),
        ("x", ["some_future_kind"], "x"),
        ("x", [], "x"),
        ((1, 2), ["list_of_values"], [1, 2]),
        ([1, 2.5, 9], ["point"], (1, 2.5)),
        ([[0, 0], [1, 0], [1, 1]], ["zone"], [[0, 0], [1, 0], [1, 1]]),
        (3, ["float"], 3.0),
        (0.25, ["float_zero_to_one"], 0.25),
        (7, ["integer"], 7),
        (False, ["boolean"], False),
        ("yolo", ["roboflow_model_id"], "yolo"),
        (None, ["roboflow_api_key"], None),
        ([255, 0, 0, 9], ["rgb_color"], (255, 0, 0)),
        ("#FF0000", ["rgb_color"], "#FF0000"),
        ("AAE=", ["bytes"], b"\x00\x01"),
        ("2024-01-02T03:04:05", ["timestamp"], datetime(2024, 1, 2, 3, 4, 5)),
        ("7", ["integer", "string"], "7"),
        ([[1, 2]], ["numpy_array"], np.array([[1, 2]])),
    ],
)
def test_deserialize_by_kind(value, kinds: list[str], expected) -> None:
    result = deserialize_by_kind(value, kinds, input_name="p")
    if isinstance(expected, np.ndarray):
        np.testing.assert_array_equal(result, expected)
    else:
        assert result == expected
        assert type(result) is type(expected)


def test_deserialize_by_kind_structured_values() -> None:
    image = deserialize_by_kind(_bgr(), ["image"], input_name="image", index=1)
    assert isinstance(image, Image) and image.parent_id == "image.[1]"
    detections = deserialize_by_kind(
        WIRE_PAYLOADS[1], ["object_detection_prediction"], input_name="d"
    )
    assert isinstance(detections, sv.Detections) and len(detections) == 1
    metadata = deserialize_by_kind(
        {"video_identifier": "v", "frame_number": 1}, ["video_metadata"], input_name="m"
    )
    assert isinstance(metadata, VideoMetadata)
    classification = deserialize_by_kind(
        {"predictions": [], "top": "", "confidence": 0.0},
        ["classification_prediction"],
        input_name="c",
    )
    assert classification["parent_id"] == "c"


@pytest.mark.parametrize(
    ("value", "kinds", "code", "needle", "loc"),
    [
        ([], ["point"], "input.invalid_value", "point", "inputs.p[0]"),
        ("3", ["integer"], "input.invalid_value", "integer", "inputs.p[0]"),
        (1.5, ["float_zero_to_one"], "input.invalid_value", "between", "inputs.p[0]"),
        ([[0, 0], [1, 1]], ["zone"], "input.invalid_value", "at least 3", "inputs.p[0]"),
        ([[0, 0], [1, 1], ["a", 1]], ["zone"], "input.invalid_value", "numbers", "inputs.p[0][2]"),
        (1, ["boolean"], "input.invalid_value", "true or false", "inputs.p[0]"),
        ("yesterday", ["timestamp"], "input.invalid_value", "ISO", "inputs.p[0]"),
        ([1], ["integer", "string"], "input.invalid_value", "fits none", "inputs.p[0]"),
        ("not-an-image", ["image"], "input.invalid_image", "decodable", "inputs.p[0]"),
        ("http://x.test/a.jpg", ["image", "string"], "input.source_refused", "URLs", "inputs.p[0]"),
        (
            5,
            ["object_detection_prediction"],
            "input.invalid_detections",
            "predictions",
            "inputs.p[0]",
        ),
    ],
)
def test_deserialize_by_kind_rejects(
    value, kinds: list[str], code: str, needle: str, loc: str
) -> None:
    with pytest.raises(RuntimeInputError) as caught:
        deserialize_by_kind(value, kinds, input_name="p", index=0)
    assert caught.value.code == code
    assert caught.value.loc == loc
    assert needle in caught.value.message
