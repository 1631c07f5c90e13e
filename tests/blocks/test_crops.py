"""Crop blocks: dynamic_crop (one crop per detection), absolute and relative static crops."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

import visionflow
from visionflow.blocks.base import Batch, BlockContext
from visionflow.blocks.registry import default_registry
from visionflow.blocks.transformations.crops import (
    AbsoluteStaticCropManifest,
    DynamicCropBlock,
    DynamicCropManifest,
    RelativeStaticCropManifest,
    color_to_bgr,
    crop_detections,
    take_absolute_crop,
    take_relative_crop,
)
from visionflow.data.detections import make_detections
from visionflow.data.image import Image, VideoMetadata


def _image(height: int = 100, width: int = 200) -> Image:
    # Pixel value encodes the column so that crop offsets are visible in the pixels.
    array = np.zeros((height, width, 3), dtype=np.uint8)
    array[:, :, 0] = (np.arange(width) % 256).astype(np.uint8)
    return Image(array, parent_id="image")


def _detections(image: Image, boxes: list[list[float]], ids: list[str] | None = None, mask=None):
    n = len(boxes)
    data = {"detection_id": np.array(ids)} if ids is not None else None
    return make_detections(
        np.array(boxes, dtype=float).reshape(-1, 4),
        [0.9] * n,
        [0] * n,
        ["dog"],
        image,
        mask=mask,
        data=data,
    )


def _wire(boxes: list[tuple[float, float, float, float, str]], width=200, height=100) -> dict:
    """Serialized detections (box centre and size) as a batch input holds them."""
    return {
        "image": {"width": width, "height": height},
        "predictions": [
            {
                "x": x,
                "y": y,
                "width": w,
                "height": h,
                "confidence": 0.9,
                "class": "dog",
                "class_id": 0,
                "detection_id": det_id,
            }
            for x, y, w, h, det_id in boxes
        ],
    }


# ---------------------------------------------------------------------------------------------
# manifests
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("step", "expected_identifier"),
    [
        (
            {
                "type": "roboflow_core/dynamic_crop@v1",
                "images": "$inputs.image",
                "predictions": "$steps.m.predictions",
            },
            "roboflow_core/dynamic_crop@v1",
        ),
        (
            {"type": "DynamicCrop", "image": "$inputs.image", "detections": "$steps.m.predictions"},
            "roboflow_core/dynamic_crop@v1",
        ),
        (
            {"type": "Crop", "image": "$inputs.image", "predictions": "$steps.m.predictions"},
            "roboflow_core/dynamic_crop@v1",
        ),
        (
            {
                "type": "AbsoluteStaticCrop",
                "image": "$inputs.image",
                "x_center": 1,
                "y_center": 1,
                "width": 2,
                "height": 2,
            },
            "roboflow_core/absolute_static_crop@v1",
        ),
        (
            {
                "type": "roboflow_core/relative_statoic_crop@v1",
                "images": "$inputs.image",
                "x_center": 0.5,
                "y_center": 0.5,
                "width": 0.1,
                "height": "$inputs.h",
            },
            "roboflow_core/relative_statoic_crop@v1",
        ),
        (
            {
                "type": "RelativeStaticCrop",
                "images": "$inputs.image",
                "x_center": 0.5,
                "y_center": 0.5,
                "width": 0.1,
                "height": 0.1,
            },
            "roboflow_core/relative_statoic_crop@v1",
        ),
    ],
)
def test_crop_types_and_aliases_resolve(step: dict, expected_identifier: str) -> None:
    entry = default_registry.get(step["type"])
    manifest = entry.manifest.model_validate({"name": "s", **step})
    assert entry.identifier == expected_identifier
    assert manifest.images == "$inputs.image"


def test_dynamic_crop_defaults() -> None:
    manifest = DynamicCropManifest.model_validate(
        {"type": "Crop", "name": "c", "image": "$inputs.image", "predictions": "$steps.m.p"}
    )
    assert manifest.mask_opacity == 0.0
    assert tuple(manifest.background_color) == (0, 0, 0)
    assert DynamicCropManifest.output_dimensionality_offset == 1
    assert [o.name for o in DynamicCropManifest.outputs] == ["crops", "predictions"]


@pytest.mark.parametrize(
    ("manifest", "fields"),
    [
        (
            DynamicCropManifest,
            {"images": "$inputs.image", "predictions": "$steps.m.p", "mask_opacity": 1.5},
        ),
        (DynamicCropManifest, {"images": "$inputs.image", "predictions": "not a selector"}),
        (
            AbsoluteStaticCropManifest,
            {"images": "$inputs.image", "x_center": 0, "y_center": 1, "width": 1, "height": 1},
        ),
        (
            RelativeStaticCropManifest,
            {
                "images": "$inputs.image",
                "x_center": 1.5,
                "y_center": 0.5,
                "width": 0.1,
                "height": 0.1,
            },
        ),
    ],
)
def test_invalid_manifests_are_refused(manifest: Any, fields: dict) -> None:
    with pytest.raises(ValidationError):
        manifest.model_validate({"type": manifest.identifier(), "name": "s", **fields})


# ---------------------------------------------------------------------------------------------
# dynamic crop, called directly
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("boxes", "expected"),
    [
        ([], []),
        ([[10, 20, 50, 40]], [((20, 40), (10, 20))]),
        ([[10, 20, 50, 40], [0, 0, 200, 100]], [((20, 40), (10, 20)), ((100, 200), (0, 0))]),
        ([[10.4, 20.6, 49.5, 40.5]], [((19, 40), (10, 21))]),  # 49.5->50, 40.5->40 (half to even)
        ([[-10, -5, 30, 30]], [((30, 30), (0, 0))]),  # clipped to the image
        ([[10, 10, 10, 30]], [None]),  # no pixels
        ([[250, 10, 300, 30]], [None]),  # outside the image
    ],
)
def test_crop_detections(boxes: list, expected: list) -> None:
    image = _image()
    detections = _detections(image, boxes)
    results = crop_detections(image, detections)
    assert len(results) == len(expected)
    for result, want, det_id in zip(
        results, expected, detections.data["detection_id"], strict=True
    ):
        if want is None:
            assert result == {"crops": None, "predictions": None}
            continue
        (height, width), (x0, y0) = want
        crop, moved = result["crops"], result["predictions"]
        assert crop.numpy_image.shape == (height, width, 3)
        assert crop.parent_id == det_id
        assert (crop.origin.offset_x, crop.origin.offset_y) == (x0, y0)
        assert crop.root_id == "image"
        assert int(crop.numpy_image[0, 0, 0]) == x0  # a view at the right place
        assert len(moved) == 1
        assert moved.data["detection_id"].tolist() == [det_id]


def test_crop_predictions_move_into_crop_coordinates() -> None:
    image = _image()
    detections = _detections(image, [[10, 20, 50, 40], [60, 10, 90, 30]], ids=["a", "b"])
    detections.data["keypoints_xy"] = np.array([[[15.0, 25.0]], [[70.0, 20.0]]])
    results = crop_detections(image, detections)
    second = results[1]["predictions"]
    assert second.xyxy.tolist() == [[0.0, 0.0, 30.0, 20.0]]
    assert second.data["keypoints_xy"].tolist() == [[[10.0, 10.0]]]
    # lineage columns still describe the image the detection was made on (as the reference)
    assert second.data["parent_id"].tolist() == ["image"]
    assert detections.xyxy.tolist()[1] == [60.0, 10.0, 90.0, 30.0]  # input untouched


def test_crop_without_detection_ids_is_refused() -> None:
    image = _image()
    detections = _detections(image, [[0, 0, 10, 10]])
    del detections.data["detection_id"]
    with pytest.raises(ValueError, match="detection_id"):
        crop_detections(image, detections)


@pytest.mark.parametrize(
    ("mask_opacity", "expected_outside", "expected_inside"),
    [
        (0.0, (0, 0, 0), (255, 255, 255)),  # unchanged
        (1.0, (30, 20, 10), (255, 255, 255)),  # background fully replaced (BGR)
        (0.5, (15, 10, 5), (255, 255, 255)),
    ],
)
def test_mask_opacity_replaces_background(
    mask_opacity: float, expected_outside: tuple, expected_inside: tuple
) -> None:
    array = np.zeros((40, 40, 3), dtype=np.uint8)
    array[10:20, 10:20] = 255
    image = Image(array, parent_id="image")
    mask = np.zeros((1, 40, 40), dtype=bool)
    mask[0, 10:20, 10:20] = True
    detections = _detections(image, [[5, 5, 25, 25]], mask=mask)
    (result,) = crop_detections(image, detections, mask_opacity, "#0a141e")
    pixels = result["crops"].numpy_image
    assert tuple(int(v) for v in pixels[0, 0]) == expected_outside
    assert tuple(int(v) for v in pixels[10, 10]) == expected_inside
    assert result["predictions"].mask.shape == (1, 20, 20)
    assert result["crops"].parent_id == detections.data["detection_id"][0]
    assert int(array[5, 5, 0]) == 0  # the input image is never written


@pytest.mark.parametrize(
    ("color", "expected"),
    [
        ((10, 20, 30), (30, 20, 10)),
        ([10, 20, 30], (30, 20, 10)),
        ("#0a141e", (30, 20, 10)),
        ("#fff", (255, 255, 255)),
        ("(10, 20, 30)", (30, 20, 10)),
    ],
)
def test_color_to_bgr(color: Any, expected: tuple) -> None:
    assert color_to_bgr(color) == expected


@pytest.mark.parametrize("color", ["", "red", "#12345", "(1, 2)", "#gggggg", (1, 2)])
def test_invalid_colors_are_refused(color: Any) -> None:
    with pytest.raises(ValueError, match="invalid colour"):
        color_to_bgr(color)


def test_dynamic_crop_block_runs_on_a_batch() -> None:
    block = DynamicCropBlock(BlockContext("crop", "roboflow_core/dynamic_crop@v1"))
    images = [_image(), _image()]
    predictions = [_detections(images[0], []), _detections(images[1], [[0, 0, 10, 10]])]
    result = block.run(
        images=Batch(images, [(0,), (1,)]),
        predictions=Batch(predictions, [(0,), (1,)]),
        mask_opacity=0.0,
        background_color=(0, 0, 0),
    )
    assert [len(r) for r in result] == [0, 1]
    assert result[1][0]["crops"].video_metadata is None


# ---------------------------------------------------------------------------------------------
# static crops, called directly
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("center", "size", "expected"),
    [
        ((500, 500), (10, 10), None),  # the region misses the image
        ((100, 50), (20, 10), ((10, 20), (90, 45))),
        ((5, 5), (20, 20), ((15, 15), (0, 0))),  # clipped at the top-left corner
        ((195, 95), (20, 20), ((15, 15), (185, 85))),  # clipped at the bottom-right corner
        ((11, 11), (3, 3), ((3, 3), (10, 10))),  # 9.5 rounds to 10 (half to even)
    ],
)
def test_absolute_static_crop(center: tuple, size: tuple, expected: Any) -> None:
    crop = take_absolute_crop(_image(), *center, *size)
    if expected is None:
        assert crop is None
        return
    (height, width), (x0, y0) = expected
    assert crop.numpy_image.shape == (height, width, 3)
    assert (crop.origin.offset_x, crop.origin.offset_y) == (x0, y0)
    assert crop.parent_id.startswith("absolute_static_crop.")


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ((0.5, 0.5, 0.0, 0.0), None),  # nothing to crop
        ((0.5, 0.5, 0.1, 0.2), ((20, 20), (90, 40))),
        ((0.5, 0.5, 1.0, 1.0), ((100, 200), (0, 0))),
        ((0.05, 0.5, 0.5, 0.2), ((20, 60), (0, 40))),  # clipped at the left edge
    ],
)
def test_relative_static_crop(values: tuple, expected: Any) -> None:
    crop = take_relative_crop(_image(), *values)
    if expected is None:
        assert crop is None
        return
    (height, width), (x0, y0) = expected
    assert crop.numpy_image.shape == (height, width, 3)
    assert (crop.origin.offset_x, crop.origin.offset_y) == (x0, y0)
    assert crop.parent_id.startswith("relative_static_crop.")


def test_static_crop_names_its_own_video_stream() -> None:
    image = _image()
    image.video_metadata = VideoMetadata(video_identifier="cam", frame_number=7)
    crop = take_absolute_crop(image, 50, 50, 10, 10)
    assert crop.video_metadata.video_identifier == f"cam | crop: {crop.parent_id}"
    assert crop.video_metadata.frame_number == 7
    assert image.video_metadata.video_identifier == "cam"


# ---------------------------------------------------------------------------------------------
# through the engine
# ---------------------------------------------------------------------------------------------
DYNAMIC_CROP_WORKFLOW = {
    "version": "1.0",
    "inputs": [
        {"type": "WorkflowImage", "name": "image"},
        {"type": "WorkflowBatchInput", "name": "dets", "kind": ["object_detection_prediction"]},
    ],
    "steps": [
        {
            "type": "roboflow_core/dynamic_crop@v1",
            "name": "crop",
            "images": "$inputs.image",
            "predictions": "$inputs.dets",
        },
    ],
    "outputs": [
        {"type": "JsonField", "name": "crops", "selector": "$steps.crop.crops"},
        {
            "type": "JsonField",
            "name": "predictions",
            "selector": "$steps.crop.predictions",
            "coordinates_system": "own",
        },
    ],
}


@pytest.mark.parametrize(
    ("per_image_boxes", "expected_shapes"),
    [
        ([[]], [[]]),
        ([[(30, 30, 20, 20, "a")]], [[(20, 20)]]),
        (
            [[(30, 30, 20, 20, "a"), (100, 50, 40, 10, "b")], [], [(5, 5, 10, 10, "c")]],
            [[(20, 20), (10, 40)], [], [(10, 10)]],
        ),
    ],
)
def test_dynamic_crop_through_the_engine(per_image_boxes: list, expected_shapes: list) -> None:
    workflow = visionflow.Workflow.load(DYNAMIC_CROP_WORKFLOW)
    images = [_image().numpy_image for _ in per_image_boxes]
    results = workflow.run(image=images, dets=[_wire(b) for b in per_image_boxes])
    assert len(results) == len(per_image_boxes)
    for row, boxes, shapes in zip(results, per_image_boxes, expected_shapes, strict=True):
        assert [c.numpy_image.shape[:2] for c in row["crops"]] == shapes
        assert [c.parent_id for c in row["crops"]] == [b[4] for b in boxes]
        for detections, (_, _, w, h, _) in zip(row["predictions"], boxes, strict=True):
            assert detections.xyxy.tolist() == [[0.0, 0.0, float(w), float(h)]]


def test_dynamic_crop_serialized_through_the_engine() -> None:
    workflow = visionflow.Workflow.load(DYNAMIC_CROP_WORKFLOW)
    (row,) = workflow.run(
        image=_image().numpy_image, dets=[_wire([(30, 30, 20, 20, "a")])], serialize=True
    )
    (crop,) = row["crops"]
    assert crop["type"] == "base64"
    assert crop["parent_id"] == "a"
    assert crop["parent_origin"] == {"offset_x": 20, "offset_y": 20, "width": 200, "height": 100}
    (prediction,) = row["predictions"][0]["predictions"]
    assert (prediction["x"], prediction["y"], prediction["detection_id"]) == (10.0, 10.0, "a")


@pytest.mark.parametrize(
    ("step", "expected_shape"),
    [
        (
            {
                "type": "AbsoluteStaticCrop",
                "x_center": 500,
                "y_center": 500,
                "width": 10,
                "height": 10,
            },
            None,
        ),
        (
            {
                "type": "AbsoluteStaticCrop",
                "x_center": 100,
                "y_center": 50,
                "width": 20,
                "height": 10,
            },
            (10, 20),
        ),
        (
            {
                "type": "RelativeStaticCrop",
                "x_center": 0.5,
                "y_center": 0.5,
                "width": 0.5,
                "height": 0.5,
            },
            (50, 100),
        ),
    ],
)
def test_static_crops_through_the_engine(step: dict, expected_shape: Any) -> None:
    workflow = visionflow.Workflow.load(
        {
            "version": "1.0",
            "inputs": [{"type": "WorkflowImage", "name": "image"}],
            "steps": [{"name": "crop", "image": "$inputs.image", **step}],
            "outputs": [{"type": "JsonField", "name": "crop", "selector": "$steps.crop.crops"}],
        }
    )
    (row,) = workflow.run(image=_image().numpy_image)
    if expected_shape is None:
        assert row["crop"] is None
    else:
        assert row["crop"].numpy_image.shape[:2] == expected_shape


def test_mask_opacity_accepts_a_selector() -> None:
    from visionflow.blocks.transformations.crops import DynamicCropManifest

    manifest = DynamicCropManifest.model_validate(
        {
            "type": "Crop",
            "name": "c",
            "image": "$inputs.image",
            "predictions": "$inputs.p",
            "mask_opacity": "$inputs.opacity",
        }
    )
    assert manifest.mask_opacity == "$inputs.opacity"
    with pytest.raises(ValueError):
        DynamicCropManifest.model_validate(
            {
                "type": "Crop",
                "name": "c",
                "image": "$inputs.image",
                "predictions": "$inputs.p",
                "mask_opacity": 1.5,
            }
        )
