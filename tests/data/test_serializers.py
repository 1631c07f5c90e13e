from __future__ import annotations

import base64
import json
from datetime import datetime, timezone

import cv2
import numpy as np
import pytest
import supervision as sv

from visionflow.data import (
    Image,
    VideoMetadata,
    make_detections,
    serialize_detections,
    serialize_image,
    serialize_value,
)
from visionflow.data.detections import (
    KEYPOINTS_CLASS_ID_KEY_IN_SV_DETECTIONS,
    KEYPOINTS_CLASS_NAME_KEY_IN_SV_DETECTIONS,
    KEYPOINTS_CONFIDENCE_KEY_IN_SV_DETECTIONS,
    KEYPOINTS_XY_KEY_IN_SV_DETECTIONS,
)
from visionflow.data.serializers import mask_to_polygon


@pytest.mark.parametrize(
    ("xyxy", "expected_predictions"),
    [
        (np.empty((0, 4)), []),
        (
            [[10, 20, 30, 60]],
            [{"x": 20.0, "y": 40.0, "width": 20.0, "height": 40.0, "confidence": 0.5}],
        ),
        (
            [[0, 0, 2, 2], [5, 5, 9, 7]],
            [
                {"x": 1.0, "y": 1.0, "width": 2.0, "height": 2.0, "confidence": 0.5},
                {"x": 7.0, "y": 6.0, "width": 4.0, "height": 2.0, "confidence": 0.5},
            ],
        ),
    ],
)
def test_serialize_detections_boxes_and_image_size(
    root_image: Image, xyxy, expected_predictions: list[dict]
) -> None:
    n = len(expected_predictions)
    detections = make_detections(xyxy, [0.5] * n, [1] * n, ["a", "dog"], root_image)
    result = serialize_detections(detections)
    assert result["image"] == {"width": 200, "height": 100}
    assert len(result["predictions"]) == n
    for got, expected in zip(result["predictions"], expected_predictions, strict=True):
        assert {k: got[k] for k in expected} == expected
        assert got["class"] == "dog"
        assert got["class_id"] == 1
        assert got["parent_id"] == "image"
        assert isinstance(got["detection_id"], str)
        # the root image is its own root: no crop lineage on the wire
        assert "parent_origin" not in got and "root_parent_id" not in got
    json.dumps(result)  # plain JSON types only


def test_serialize_detections_without_any_image_facts() -> None:
    assert serialize_detections(sv.Detections.empty()) == {
        "image": {"width": None, "height": None},
        "predictions": [],
    }


@pytest.mark.parametrize("n", [0, 1, 2])
def test_serialize_detections_on_crop_carries_lineage(nested_crop_image: Image, n: int) -> None:
    detections = make_detections(
        np.tile([[1, 1, 5, 5]], (n, 1)), [0.9] * n, [0] * n, ["a"], nested_crop_image
    )
    result = serialize_detections(detections)
    assert result["image"] == {"width": 20, "height": 20}
    for prediction in result["predictions"]:
        assert prediction["parent_id"] == "crop-2"
        assert prediction["parent_origin"] == {
            "offset_x": 5,
            "offset_y": 10,
            "width": 50,
            "height": 40,
        }
        assert prediction["root_parent_id"] == "image"
        assert prediction["root_parent_origin"] == {
            "offset_x": 35,
            "offset_y": 30,
            "width": 200,
            "height": 100,
        }


def test_serialize_detections_masks_tracker_keypoints_and_extras(root_image: Image) -> None:
    mask = np.zeros((2, 100, 200), dtype=bool)
    mask[0, 10:21, 10:31] = True
    mask[1, 50:60, 50:60] = True
    keypoints = {
        KEYPOINTS_XY_KEY_IN_SV_DETECTIONS: np.array(
            [[[12, 12], [20, 15]], [[55, 55], [0, 0]]], dtype=np.float32
        ),
        KEYPOINTS_CONFIDENCE_KEY_IN_SV_DETECTIONS: np.array([[0.9, 0.8], [0.7, 0.0]]),
        KEYPOINTS_CLASS_ID_KEY_IN_SV_DETECTIONS: np.array([[0, 1], [0, 0]]),
        KEYPOINTS_CLASS_NAME_KEY_IN_SV_DETECTIONS: np.array(
            [["nose", "eye"], ["nose", ""]], dtype=object
        ),
        "time_in_zone": np.array([1.5, 0.0]),
        "velocity": np.array([[1.0, 2.0], [0.0, 0.0]]),
        "area_px": np.array([231, 100]),
        "data": np.array(["qr-text", "other"]),
    }
    detections = make_detections(
        [[10, 10, 30, 20], [50, 50, 59, 59]],
        [0.9, 0.8],
        [0, 0],
        ["person"],
        root_image,
        mask=mask,
        tracker_id=[7, 8],
        data=keypoints,
        prediction_type="keypoint-detection",
    )
    first, second = serialize_detections(detections)["predictions"]
    assert first["points"] == [
        {"x": 10.0, "y": 10.0},
        {"x": 10.0, "y": 20.0},
        {"x": 30.0, "y": 20.0},
        {"x": 30.0, "y": 10.0},
    ]
    assert first["tracker_id"] == 7 and second["tracker_id"] == 8
    assert [k["class"] for k in first["keypoints"]] == ["nose", "eye"]
    # the padding slot of the second box is not emitted
    assert second["keypoints"] == [
        {"class_id": 0, "class": "nose", "confidence": pytest.approx(0.7), "x": 55.0, "y": 55.0}
    ]
    assert first["time_in_zone"] == 1.5
    assert first["velocity"] == [1.0, 2.0]
    assert first["area_px"] == 231.0
    assert first["data"] == "qr-text"
    json.dumps(first)


def test_serialize_detections_skips_instances_with_empty_masks(root_image: Image) -> None:
    mask = np.zeros((2, 100, 200), dtype=bool)
    mask[1, 5:10, 5:10] = True
    detections = make_detections(
        [[0, 0, 1, 1], [5, 5, 9, 9]], [0.9, 0.8], [0, 1], ["a", "b"], root_image, mask=mask
    )
    predictions = serialize_detections(detections)["predictions"]
    assert [p["class"] for p in predictions] == ["b"]


def test_serialized_detections_read_back_by_supervision(root_image: Image) -> None:
    mask = np.zeros((1, 100, 200), dtype=bool)
    mask[0, 10:21, 10:31] = True
    detections = make_detections(
        [[10, 10, 30, 20]], [0.75], [3], {3: "cat"}, root_image, mask=mask, tracker_id=[4]
    )
    again = sv.Detections.from_inference(serialize_detections(detections))
    np.testing.assert_allclose(again.xyxy, detections.xyxy)
    np.testing.assert_allclose(again.confidence, [0.75])
    assert again.class_id.tolist() == [3]
    assert again.tracker_id.tolist() == [4]
    assert list(again.data["class_name"]) == ["cat"]
    assert (again.mask == mask).all()


@pytest.mark.parametrize(
    ("mask", "expected"),
    [
        (np.zeros((5, 5), dtype=bool), None),
        (np.pad(np.ones((1, 1), dtype=bool), 2), [[2, 2]] * 3),
    ],
)
def test_mask_to_polygon_edge_cases(mask: np.ndarray, expected) -> None:
    polygon = mask_to_polygon(mask)
    assert (polygon if polygon is None else polygon.tolist()) == expected


def test_mask_to_polygon_keeps_largest_contour() -> None:
    mask = np.zeros((30, 30), dtype=bool)
    mask[1:3, 1:3] = True
    mask[10:25, 10:25] = True
    polygon = mask_to_polygon(mask)
    assert polygon.min(axis=0).tolist() == [10, 10]
    assert polygon.max(axis=0).tolist() == [24, 24]


def test_serialize_image_of_root_image(root_image: Image) -> None:
    result = serialize_image(root_image)
    assert set(result) == {"type", "value", "video_metadata"}
    assert result["type"] == "base64"
    # not a video frame: the reference's defaults, named after the image
    metadata = result["video_metadata"]
    assert metadata["video_identifier"] == root_image.parent_id
    assert (metadata["frame_number"], metadata["fps"]) == (0, 30)
    assert isinstance(metadata["frame_timestamp"], str)
    decoded = cv2.imdecode(np.frombuffer(base64.b64decode(result["value"]), np.uint8), 1)
    assert decoded.shape == (100, 200, 3)


def test_serialize_image_of_crop_carries_origins(nested_crop_image: Image) -> None:
    nested_crop_image.video_metadata = VideoMetadata(
        "cam", 3, datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc), fps=25.0
    )
    result = serialize_image(nested_crop_image)
    assert result["parent_id"] == "crop-2"
    assert result["parent_origin"] == {"offset_x": 5, "offset_y": 10, "width": 50, "height": 40}
    assert result["root_parent_id"] == "image"
    assert result["root_parent_origin"] == {
        "offset_x": 35,
        "offset_y": 30,
        "width": 200,
        "height": 100,
    }
    assert result["video_metadata"]["frame_timestamp"] == "2024-01-02T03:04:05+00:00"
    assert result["video_metadata"]["fps"] == 25.0
    json.dumps(result)


SENTINEL = object()


@pytest.mark.parametrize(
    ("value", "kinds", "expected"),
    [
        (None, None, None),
        ([], None, []),
        ({}, None, {}),
        (3, ["integer"], 3),
        ("text", ["string"], "text"),
        (np.int64(7), None, 7),
        (np.float32(0.5), None, 0.5),
        (np.bool_(True), None, True),
        (np.array([[1, 2], [3, 4]]), ["numpy_array"], [[1, 2], [3, 4]]),
        ((1, np.int32(2)), None, [1, 2]),
        (datetime(2024, 5, 6, 7, 8, 9), ["timestamp"], "2024-05-06T07:08:09"),
        (b"\x00\x01", ["bytes"], "AAE="),
        ({"a": [np.float64(1.5), {"b": np.array([1])}]}, ["*"], {"a": [1.5, {"b": [1]}]}),
        ("short", ["secret"], "********"),
        ("my-long-secret", ["secret"], "my********et"),
        (["my-long-secret", "x"], ["secret"], ["my********et", "********"]),
        (
            {"predictions": [{"class": "a", "class_id": 0, "confidence": 0.5}], "top": "a"},
            ["classification_prediction"],
            {"predictions": [{"class": "a", "class_id": 0, "confidence": 0.5}], "top": "a"},
        ),
    ],
)
def test_serialize_value(value, kinds, expected) -> None:
    result = serialize_value(value, kinds)
    assert result == expected
    json.dumps(result)


def test_serialize_value_plain_values_are_returned_as_is() -> None:
    text = "x" * 100
    assert serialize_value(text) is text


def test_serialize_value_walks_into_images_detections_and_video_metadata(
    root_image: Image,
) -> None:
    detections = make_detections([[0, 0, 4, 4]], [0.9], [0], ["a"], root_image)
    metadata = VideoMetadata("cam", 1, datetime(2024, 1, 1))
    result = serialize_value(
        {"image": root_image, "nested": [[detections]], "frame": metadata}, ["*"]
    )
    assert result["image"]["type"] == "base64"
    assert result["nested"][0][0]["predictions"][0]["class"] == "a"
    assert result["frame"]["video_identifier"] == "cam"
    assert result["frame"]["frame_timestamp"] == "2024-01-01T00:00:00"
    json.dumps(result)


@pytest.mark.parametrize("n", [0, 1])
def test_root_coordinates_then_serialize(nested_crop_image: Image, n: int) -> None:
    from visionflow.data import detections_to_root_coordinates

    detections = make_detections(
        np.tile([[1.0, 2.0, 5.0, 6.0]], (n, 1)), [0.9] * n, [0] * n, ["a"], nested_crop_image
    )
    result = serialize_detections(detections_to_root_coordinates(detections))
    assert result["image"] == {"width": 200, "height": 100}
    for prediction in result["predictions"]:
        assert (prediction["x"], prediction["y"]) == (3.0 + 35, 4.0 + 30)
        assert prediction["parent_id"] == "image"
        assert "parent_origin" not in prediction
