"""Zone visualizations (polygon zones, counting line, reference path) and the image grid."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from visionflow.blocks.base import BlockContext
from visionflow.blocks.visualizations.zones import (
    GridVisualizationBlock,
    GridVisualizationManifest,
    LineCounterVisualizationBlock,
    PolygonZoneVisualizationBlock,
    ReferencePathVisualizationBlock,
    ReferencePathVisualizationManifest,
    fit_into,
    flatten_images,
)
from visionflow.data.image import Image, Origin

HEIGHT, WIDTH = 100, 160


def _image(value: int = 40) -> Image:
    return Image(np.full((HEIGHT, WIDTH, 3), value, dtype=np.uint8), parent_id="image")


def _block(cls: type) -> Any:
    return cls(BlockContext(step_name="viz", block_type="test"))


def _changed(before: Image, after: Image) -> np.ndarray:
    return np.any(before.numpy_image != after.numpy_image, axis=2)


# ---------------------------------------------------------------------------------------------
# polygon_zone_visualization
# ---------------------------------------------------------------------------------------------
SQUARE = [[20, 20], [60, 20], [60, 60], [20, 60]]
OTHER = [[100, 50], [150, 50], [150, 90], [100, 90]]


@pytest.mark.parametrize(
    ("zone", "inside", "outside"),
    [
        ([], [], [(40, 40), (70, 120)]),
        (SQUARE, [(40, 40)], [(70, 120), (5, 5)]),
        ([SQUARE, OTHER], [(40, 40), (70, 120)], [(5, 5), (80, 80)]),
    ],
    ids=["empty zone", "one polygon", "two polygons"],
)
def test_polygon_zone_tints_inside_only(zone, inside, outside) -> None:
    image = _image()
    out = _block(PolygonZoneVisualizationBlock).run(
        image, zone=zone, copy_image=True, color="rgb(255, 0, 0)", opacity=0.5
    )["image"]
    for y, x in inside:
        # the reference adds opacity x colour: red channel (BGR index 2) 40 + 128
        assert out.numpy_image[y, x].tolist() == [40, 40, 168]
    for y, x in outside:
        assert out.numpy_image[y, x].tolist() == [40, 40, 40]
    assert out is not image and out.parent_id == "image"
    assert np.all(image.numpy_image == 40), "the input image is left untouched"


def test_polygon_zone_mask_is_built_once_per_zone() -> None:
    block = _block(PolygonZoneVisualizationBlock)
    for _ in range(3):
        block.run(_image(), zone=SQUARE, copy_image=True, color="WHITE", opacity=0.3)
    assert len(block.annotators) == 1


# ---------------------------------------------------------------------------------------------
# line_counter_visualization
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("zone", "error"),
    [
        ([], "two points"),
        ([[10, 80]], "two points"),
        ([[10, 80], [150, 80]], None),
        ([[10.4, 80.6], [150, 80]], None),
    ],
)
def test_line_counter(zone, error) -> None:
    block = _block(LineCounterVisualizationBlock)
    kwargs: dict[str, Any] = {
        "copy_image": True,
        "color": "WHITE",
        "thickness": 4,
        "text_thickness": 1,
        "text_scale": 0.5,
        "count_in": 3,
        "count_out": 7,
        "opacity": 1.0,
    }
    if error:
        with pytest.raises(ValueError, match=error):
            block.run(_image(), zone=zone, **kwargs)
        return
    image = _image()
    out = block.run(image, zone=zone, **kwargs)["image"]
    changed = _changed(image, out)
    assert changed[81, 100], "the line is drawn"
    assert not changed[20:60, 60:].any(), "far from the line and its text nothing changes"
    # the counts are written on a white background around the line's first point
    assert (out.numpy_image[60:100, 0:60] == 255).all(axis=2).any()


# ---------------------------------------------------------------------------------------------
# reference_path_visualization
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "drawn"),
    [
        ([], []),
        ([[10, 50], [150, 50]], [(50, 10), (50, 80), (50, 150)]),
        ([[10, 10, 0], [80, 90, 5], [150, 10, 9]], [(10, 10), (90, 80), (10, 150)]),
    ],
    ids=["empty path", "two points", "points with extra values"],
)
def test_reference_path(path, drawn) -> None:
    image = _image()
    out = _block(ReferencePathVisualizationBlock).run(
        image, reference_path=path, copy_image=True, color="#00FF00", thickness=3
    )["image"]
    for y, x in drawn:
        assert out.numpy_image[y, x].tolist() == [0, 255, 0]
    changed = _changed(image, out)
    assert changed.any() == bool(path)
    assert not changed[90:, 60:75].any()


def test_reference_path_without_copy_draws_on_the_input() -> None:
    image = _image()
    out = _block(ReferencePathVisualizationBlock).run(
        image, reference_path=[[0, 5], [159, 5]], copy_image=False, color="WHITE", thickness=1
    )["image"]
    assert out.numpy_image is image.numpy_image
    assert image.numpy_image[5, 80].tolist() == [255, 255, 255]


def test_reference_path_thickness_must_be_positive() -> None:
    with pytest.raises(ValidationError, match="at least 1"):
        ReferencePathVisualizationManifest.model_validate(
            {
                "type": "roboflow_core/reference_path_visualization@v1",
                "name": "p",
                "image": "$inputs.image",
                "reference_path": [[0, 0], [1, 1]],
                "thickness": 0,
            }
        )


# ---------------------------------------------------------------------------------------------
# grid_visualization
# ---------------------------------------------------------------------------------------------
def _solid(value: int, height: int = 40, width: int = 80) -> Image:
    return Image(np.full((height, width, 3), value, dtype=np.uint8), parent_id=f"img{value}")


@pytest.mark.parametrize(
    ("images", "cells"),
    [
        ([], []),
        ([_solid(200)], [((50, 100), 200)]),
        ([_solid(100), _solid(200)], [((25, 50), 100), ((25, 150), 200), ((75, 50), 0)]),
        ([[_solid(100), _solid(150)], _solid(200)], [((25, 50), 100), ((25, 150), 150)]),
        ([_solid(100), None, _solid(250)], [((25, 50), 100), ((25, 150), 0), ((75, 50), 250)]),
    ],
    ids=["no images", "one image", "two images", "a list and an image", "a missing image"],
)
def test_grid_places_each_image_in_its_cell(images, cells) -> None:
    out = _block(GridVisualizationBlock).run(images, width=200, height=100)["image"]
    assert out.numpy_image.shape == (100, 200, 3)
    if not images:
        assert not out.numpy_image.any(), "no images: a black canvas"
    for (y, x), value in cells:
        assert out.numpy_image[y, x].tolist() == [value] * 3


def test_grid_keeps_the_first_image_lineage() -> None:
    first = Image(
        np.zeros((10, 10, 3), dtype=np.uint8),
        parent_id="crop",
        origin=Origin(1, 2, 30, 40),
    )
    out = _block(GridVisualizationBlock).run([first, _solid(9)], width=20, height=20)["image"]
    assert out.parent_id == "crop" and out.origin == first.origin


def test_grid_reuses_thumbnails_of_repeated_images() -> None:
    block = _block(GridVisualizationBlock)
    image = _solid(77)
    block.run([image], width=100, height=100)
    cached = next(iter(block._thumbnails.values()))
    block.run([image], width=100, height=100)
    assert next(iter(block._thumbnails.values())) is cached
    block.run([_solid(78)], width=100, height=100)
    assert len(block._thumbnails) == 1, "thumbnails of images no longer shown are dropped"


def test_grid_helpers() -> None:
    assert flatten_images([[1, 2], 3, (4,)]) == [1, 2, 3, 4]
    assert fit_into(np.zeros((40, 80, 3), dtype=np.uint8), 100, 100).shape == (50, 100, 3)


def test_grid_manifest_accepts_a_single_selector() -> None:
    manifest = GridVisualizationManifest.model_validate(
        {"type": "roboflow_core/grid_visualization@v1", "name": "g", "images": "$steps.b.output"}
    )
    assert manifest.images == ["$steps.b.output"]
    assert (manifest.width, manifest.height) == (2560, 1440)
