"""Visualization blocks draw where the detections are, leave the rest alone, and return a new image."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import supervision as sv

from visionflow.blocks.base import BlockContext
from visionflow.blocks.registry import default_registry
from visionflow.blocks.visualizations.boxes import (
    BoundingBoxVisualizationBlock,
    CircleVisualizationBlock,
    CornerVisualizationBlock,
    DotVisualizationBlock,
    EllipseVisualizationBlock,
    TriangleVisualizationBlock,
)
from visionflow.blocks.visualizations.keypoints import KeypointVisualizationBlock
from visionflow.blocks.visualizations.labels import (
    LabelVisualizationBlock,
    LabelVisualizationBlockV2,
)
from visionflow.blocks.visualizations.masks import (
    HaloVisualizationBlock,
    HaloVisualizationBlockV2,
    MaskVisualizationBlock,
    PolygonVisualizationBlock,
    PolygonVisualizationBlockV2,
)
from visionflow.blocks.visualizations.regions import (
    BackgroundColorVisualizationBlock,
    BlurVisualizationBlock,
    ColorVisualizationBlock,
    CropVisualizationBlock,
    PixelateVisualizationBlock,
)
from visionflow.data.image import Image

HEIGHT, WIDTH = 120, 160
BOX = (40, 40, 80, 80)  # x1, y1, x2, y2
NEAR_BOX = (slice(25, 95), slice(25, 95))
FAR_CORNER = (slice(100, HEIGHT), slice(120, WIDTH))
ABOVE_BOX = (slice(0, 40), slice(0, WIDTH))


def _scene() -> np.ndarray:
    # noise, so that blurring and pixelation change pixels
    return np.random.default_rng(7).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)


def _detections(count: int = 1, with_mask: bool = True) -> sv.Detections:
    x1, y1, x2, y2 = BOX
    mask = np.zeros((count, HEIGHT, WIDTH), dtype=bool)
    mask[:, y1 + 5 : y2 - 5, x1 + 5 : x2 - 5] = True
    detections = sv.Detections(
        xyxy=np.array([BOX] * count, dtype=float).reshape(-1, 4),
        mask=mask if with_mask else None,
        confidence=np.full(count, 0.9),
        class_id=np.zeros(count, dtype=int),
        data={"class_name": np.array(["dog"] * count)},
    )
    xy = np.array([[[50.0, 50.0], [70.0, 70.0]]] * count, dtype=np.float32).reshape(count, 2, 2)
    detections.data.update(
        keypoints_xy=xy,
        keypoints_confidence=np.full((count, 2), 0.9, dtype=np.float32),
        keypoints_class_id=np.array([[0, 1]] * count, dtype=int).reshape(count, 2),
        keypoints_class_name=np.array([["a", "b"]] * count, dtype=object).reshape(count, 2),
    )
    return detections


def _run(block_class: type, detections: sv.Detections, image: Image | None = None, **overrides):
    manifest = block_class.manifest
    block = block_class(BlockContext("step", manifest.identifier()))
    params: dict[str, Any] = {
        name: field.default
        for name, field in manifest.model_fields.items()
        if name not in ("type", "name", "image", "predictions")
    }
    params.update(overrides)
    image = image or Image(_scene(), parent_id="image")
    return block.run(image=image, predictions=detections, **params)["image"]


def _changed(before: np.ndarray, after: np.ndarray, region: tuple[slice, slice]) -> bool:
    return bool(np.any(before[region] != after[region]))


#: block, overrides, detections, region that must change, region that must stay
CASES = [
    ("empty", BoundingBoxVisualizationBlock, {}, _detections(0), None, (slice(None), slice(None))),
    ("box", BoundingBoxVisualizationBlock, {}, _detections(), NEAR_BOX, FAR_CORNER),
    (
        "round box",
        BoundingBoxVisualizationBlock,
        {"roundness": 0.5},
        _detections(),
        NEAR_BOX,
        FAR_CORNER,
    ),
    ("dot", DotVisualizationBlock, {}, _detections(), NEAR_BOX, FAR_CORNER),
    (
        "dot of mass",
        DotVisualizationBlock,
        {"position": "CENTER_OF_MASS"},
        _detections(),
        NEAR_BOX,
        FAR_CORNER,
    ),
    ("circle", CircleVisualizationBlock, {}, _detections(), NEAR_BOX, FAR_CORNER),
    ("corner", CornerVisualizationBlock, {}, _detections(), NEAR_BOX, FAR_CORNER),
    ("ellipse", EllipseVisualizationBlock, {}, _detections(), NEAR_BOX, FAR_CORNER),
    ("triangle", TriangleVisualizationBlock, {}, _detections(), NEAR_BOX, FAR_CORNER),
    ("label", LabelVisualizationBlock, {}, _detections(), ABOVE_BOX, FAR_CORNER),
    (
        "label v2",
        LabelVisualizationBlockV2,
        {"text_size_mode": "Automatic"},
        _detections(),
        ABOVE_BOX,
        FAR_CORNER,
    ),
    ("blur", BlurVisualizationBlock, {}, _detections(with_mask=False), NEAR_BOX, FAR_CORNER),
    (
        "pixelate",
        PixelateVisualizationBlock,
        {"pixel_size": 8},
        _detections(),
        NEAR_BOX,
        FAR_CORNER,
    ),
    ("color", ColorVisualizationBlock, {}, _detections(), NEAR_BOX, FAR_CORNER),
    ("crop", CropVisualizationBlock, {}, _detections(), ABOVE_BOX, FAR_CORNER),
    ("mask", MaskVisualizationBlock, {}, _detections(), NEAR_BOX, FAR_CORNER),
    ("polygon", PolygonVisualizationBlock, {}, _detections(), NEAR_BOX, FAR_CORNER),
    ("polygon v2", PolygonVisualizationBlockV2, {}, _detections(), NEAR_BOX, FAR_CORNER),
    ("halo", HaloVisualizationBlock, {"kernel_size": 9}, _detections(), NEAR_BOX, FAR_CORNER),
    ("halo v2", HaloVisualizationBlockV2, {}, _detections(), NEAR_BOX, FAR_CORNER),
    (
        "background",
        BackgroundColorVisualizationBlock,
        {},
        _detections(),
        FAR_CORNER,
        (slice(45, 75), slice(45, 75)),
    ),
    (
        "keypoint vertex",
        KeypointVisualizationBlock,
        {"annotator_type": "vertex"},
        _detections(),
        NEAR_BOX,
        FAR_CORNER,
    ),
    (
        "keypoint label",
        KeypointVisualizationBlock,
        {"annotator_type": "vertex_label"},
        _detections(),
        NEAR_BOX,
        FAR_CORNER,
    ),
    (
        "keypoint edge",
        KeypointVisualizationBlock,
        {"edges": [[1, 2]]},
        _detections(),
        NEAR_BOX,
        FAR_CORNER,
    ),
]


@pytest.mark.parametrize(
    ("block_class", "overrides", "detections", "changed", "unchanged"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_draws_at_the_detections_only(
    block_class, overrides, detections, changed, unchanged
) -> None:
    before = _scene()
    image = Image(before.copy(), parent_id="image")
    result = _run(block_class, detections, image, **overrides)
    after = result.numpy_image
    assert after.shape == before.shape and after.dtype == np.uint8
    if changed is not None:
        assert _changed(before, after, changed)
    assert not _changed(before, after, unchanged)
    # copy_image (default True) leaves the input untouched
    assert np.array_equal(image.numpy_image, before)
    assert result.parent_id == image.parent_id


ALL_BLOCKS = sorted(
    {case[1] for case in CASES} - {BackgroundColorVisualizationBlock}, key=lambda c: c.__name__
)


@pytest.mark.parametrize("block_class", ALL_BLOCKS, ids=lambda c: c.__name__)
def test_no_detections_leave_the_image_unchanged(block_class) -> None:
    before = _scene()
    after = _run(block_class, _detections(0), Image(before.copy(), parent_id="image")).numpy_image
    assert np.array_equal(after, before)


def test_background_without_detections_tints_everything() -> None:
    before = np.full((10, 10, 3), 200, dtype=np.uint8)
    after = _run(
        BackgroundColorVisualizationBlock,
        _detections(0),
        Image(before.copy(), parent_id="image"),
        color="#FFFFFF",
        opacity=0.5,
    ).numpy_image
    assert np.all(after == 228)


@pytest.mark.parametrize("copy_image", [True, False])
def test_copy_image_false_draws_on_the_input(copy_image) -> None:
    before = _scene()
    image = Image(before.copy(), parent_id="image")
    result = _run(BoundingBoxVisualizationBlock, _detections(), image, copy_image=copy_image)
    assert np.shares_memory(result.numpy_image, image.numpy_image) is not copy_image
    assert np.array_equal(image.numpy_image, before) is copy_image


def test_blur_follows_masks_not_boxes() -> None:
    before = _scene()
    after = _run(BlurVisualizationBlock, _detections(), Image(before.copy(), parent_id="image"))
    inside_mask = (slice(50, 70), slice(50, 70))
    in_box_outside_mask = (slice(40, 44), slice(40, 80))
    assert _changed(before, after.numpy_image, inside_mask)
    assert not _changed(before, after.numpy_image, in_box_outside_mask)


def test_blur_padding_grows_the_mask() -> None:
    before = _scene()
    after = _run(
        BlurVisualizationBlock, _detections(), Image(before.copy(), parent_id="image"), padding=4
    ).numpy_image
    assert _changed(before, after, (slice(42, 44), slice(50, 70)))
    assert not _changed(before, after, (slice(0, 38), slice(None)))


def test_blur_padding_grows_boxes_without_masks() -> None:
    before = _scene()
    after = _run(
        BlurVisualizationBlock,
        _detections(with_mask=False),
        Image(before.copy(), parent_id="image"),
        padding=5,
    ).numpy_image
    assert _changed(before, after, (slice(35, 40), slice(40, 80)))
    assert not _changed(before, after, (slice(0, 34), slice(None)))


@pytest.mark.parametrize("block_class", [PolygonVisualizationBlock, HaloVisualizationBlockV2])
def test_mask_blocks_fall_back_to_boxes(block_class) -> None:
    before = np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8)
    after = _run(
        block_class, _detections(with_mask=False), Image(before.copy(), parent_id="image")
    ).numpy_image
    assert _changed(before, after, NEAR_BOX)
    assert not _changed(before, after, FAR_CORNER)


def test_mask_block_without_masks_leaves_the_image() -> None:
    before = _scene()
    after = _run(
        MaskVisualizationBlock,
        _detections(with_mask=False),
        Image(before.copy(), parent_id="image"),
    )
    assert np.array_equal(after.numpy_image, before)


def test_color_follows_the_palette_and_axis() -> None:
    before = np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8)
    detections = _detections(2, with_mask=False)
    detections.xyxy[1] = [100, 10, 150, 30]
    after = _run(
        ColorVisualizationBlock,
        detections,
        Image(before.copy(), parent_id="image"),
        color_palette="CUSTOM",
        custom_colors=["#FF0000", "#0000FF"],
        color_axis="INDEX",
        opacity=1.0,
    ).numpy_image
    assert after[60, 60].tolist() == [0, 0, 255]  # BGR red
    assert after[20, 120].tolist() == [255, 0, 0]  # BGR blue


def test_unknown_class_is_grey() -> None:
    before = np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8)
    detections = _detections(with_mask=False)
    detections.class_id = np.array([-1])
    after = _run(ColorVisualizationBlock, detections, Image(before, parent_id="image"), opacity=1.0)
    assert after.numpy_image[60, 60].tolist() == [128, 128, 128]


def test_every_block_is_registered_with_its_aliases() -> None:
    expected = {
        "roboflow_core/bounding_box_visualization@v1": "BoundingBoxVisualization",
        "roboflow_core/label_visualization@v1": "LabelVisualization",
        "roboflow_core/blur_visualization@v1": "BlurVisualization",
        "roboflow_core/pixelate_visualization@v1": "PixelateVisualization",
        "roboflow_core/dot_visualization@v1": "DotVisualization",
        "roboflow_core/circle_visualization@v1": "CircleVisualization",
        "roboflow_core/color_visualization@v1": "ColorVisualization",
        "roboflow_core/corner_visualization@v1": "CornerVisualization",
        "roboflow_core/crop_visualization@v1": "CropVisualization",
        "roboflow_core/ellipse_visualization@v1": "EllipseVisualization",
        "roboflow_core/halo_visualization@v1": "HaloVisualization",
        "roboflow_core/mask_visualization@v1": "MaskVisualization",
        "roboflow_core/polygon_visualization@v1": "PolygonVisualization",
        "roboflow_core/triangle_visualization@v1": "TriangleVisualization",
        "roboflow_core/background_color_visualization@v1": "BackgroundColorVisualization",
        "roboflow_core/keypoint_visualization@v1": "KeypointVisualization",
    }
    for identifier, alias in expected.items():
        assert default_registry.get(identifier) is default_registry.get(alias)
    for identifier in (
        "roboflow_core/label_visualization@v2",
        "roboflow_core/halo_visualization@v2",
        "roboflow_core/polygon_visualization@v2",
    ):
        assert default_registry.get(identifier).aliases == ()
