"""Shared visualization parts: manifests, palettes, colour lookups, canvases, annotator caches."""

from __future__ import annotations

import numpy as np
import pytest
import supervision as sv
from pydantic import ValidationError

from visionflow.blocks.base import BlockContext
from visionflow.blocks.visualizations._base import (
    AnnotatorCache,
    ColorableVisualizationManifest,
    NegativeSafeColorPalette,
    build_color_lookup,
    build_position,
    freeze,
    palette_from,
    prepare_canvas,
    str_to_color,
    visualization_result,
)
from visionflow.blocks.visualizations.boxes import BoundingBoxVisualizationBlock
from visionflow.data.image import Image, VideoMetadata


@pytest.mark.parametrize(
    ("palette", "size", "custom", "expected"),
    [
        ("CUSTOM", 10, [], []),
        ("CUSTOM", 10, ["#FF0000", "rgb(0, 0, 255)"], [(255, 0, 0), (0, 0, 255)]),
        ("DEFAULT", 10, [], sv.ColorPalette.DEFAULT.colors),
        ("ROBOFLOW", 3, ["#FFFFFF"], sv.ColorPalette.ROBOFLOW.colors),
        ("Matplotlib Viridis", 3, [], sv.ColorPalette.from_matplotlib("viridis", 3).colors),
        ("Matplotlib Pastel1", 4, [], sv.ColorPalette.from_matplotlib("Pastel1", 4).colors),
        ("Matplotlib Tab20b", 5, [], sv.ColorPalette.from_matplotlib("tab20b", 5).colors),
    ],
)
def test_palette_from(palette, size, custom, expected) -> None:
    result = palette_from(palette, size, custom)
    assert isinstance(result, NegativeSafeColorPalette)
    expected_rgb = [c if isinstance(c, tuple) else c.as_rgb() for c in expected]
    assert [c.as_rgb() for c in result.colors] == expected_rgb


def test_palette_unknown_name_fails_clearly() -> None:
    with pytest.raises(ValueError, match="unknown color_palette 'Nope'"):
        palette_from("Nope", 10, [])


def test_empty_custom_palette_fails_only_when_drawing() -> None:
    palette = palette_from("CUSTOM", 10, [])
    with pytest.raises(ValueError, match="custom_colors"):
        palette.by_idx(0)
    assert palette.by_idx(-1) == sv.Color.GREY


@pytest.mark.parametrize(
    ("index", "expected"),
    [
        (-1, sv.Color.GREY),
        (-7, sv.Color.GREY),
        (0, sv.Color.RED),
        (1, sv.Color.BLUE),
        (2, sv.Color.RED),
    ],
)
def test_negative_ids_are_grey_others_wrap(index, expected) -> None:
    palette = palette_from("CUSTOM", 10, ["RED", "BLUE"])
    assert palette.by_idx(index) == expected


@pytest.mark.parametrize(
    ("text", "rgb"),
    [
        ("#00FF00", (0, 255, 0)),
        ("rgb(1, 2, 3)", (1, 2, 3)),
        ("bgr(1, 2, 3)", (3, 2, 1)),
        ("white", (255, 255, 255)),
        ("BLACK", (0, 0, 0)),
    ],
)
def test_str_to_color(text, rgb) -> None:
    assert str_to_color(text).as_rgb() == rgb


@pytest.mark.parametrize("text", ["", "chartreuse-ish", "rgb(1, 2)", "by_idx"])
def test_str_to_color_rejects(text) -> None:
    with pytest.raises(ValueError, match="invalid colour"):
        str_to_color(text)


@pytest.mark.parametrize(
    ("axis", "expected"),
    [
        ("INDEX", sv.ColorLookup.INDEX),
        ("CLASS", sv.ColorLookup.CLASS),
        ("TRACK", sv.ColorLookup.TRACK),
    ],
)
def test_build_color_lookup(axis, expected) -> None:
    assert build_color_lookup(axis) is expected


def test_lookup_and_position_errors_name_the_choices() -> None:
    with pytest.raises(ValueError, match="INDEX, CLASS or TRACK"):
        build_color_lookup("COLOUR")
    with pytest.raises(ValueError, match="TOP_LEFT"):
        build_position("UPPER")
    assert build_position("CENTER_OF_MASS") is sv.Position.CENTER_OF_MASS


def test_colorable_manifest_defaults_and_aliases() -> None:
    class Manifest(ColorableVisualizationManifest):
        pass

    manifest = Manifest.model_validate(
        {"name": "v", "images": "$inputs.image", "predictions": "$steps.m.predictions"}
    )
    assert manifest.image == "$inputs.image"
    assert (manifest.copy_image, manifest.color_palette, manifest.palette_size) == (
        True,
        "DEFAULT",
        10,
    )
    assert (manifest.custom_colors, manifest.color_axis) == ([], "CLASS")
    assert [o.name for o in Manifest.outputs] == ["image"]
    specs = Manifest.field_specs()
    assert specs["predictions"].selector_kinds == (
        "object_detection_prediction",
        "instance_segmentation_prediction",
        "keypoint_detection_prediction",
    )
    assert specs["copy_image"].selector_kinds == ("boolean",)
    assert specs["custom_colors"].selector_kinds == ("list_of_values",)
    with pytest.raises(ValidationError):
        Manifest.model_validate(
            {"name": "v", "image": "$inputs.image", "predictions": "$inputs.p", "color_axis": "X"}
        )


@pytest.mark.parametrize(
    ("make", "copy_image", "same_buffer"),
    [
        (lambda: np.zeros((4, 6, 3), np.uint8), True, False),
        (lambda: np.zeros((4, 6, 3), np.uint8), False, True),
        # a crop is a view of its parent: OpenCV needs contiguous memory, so it is copied
        (lambda: np.zeros((8, 8, 3), np.uint8)[2:6, 1:7], False, False),
    ],
)
def test_prepare_canvas(make, copy_image, same_buffer) -> None:
    array = make()
    canvas = prepare_canvas(Image(array, parent_id="image"), copy_image)
    assert canvas.shape == array.shape
    assert np.shares_memory(canvas, array) is same_buffer


def test_read_only_image_is_copied() -> None:
    array = np.zeros((4, 4, 3), np.uint8)
    array.flags.writeable = False
    canvas = prepare_canvas(Image(array, parent_id="image"), copy_image=False)
    assert canvas.flags.writeable and not np.shares_memory(canvas, array)


def test_result_keeps_lineage() -> None:
    metadata = VideoMetadata.default_for("image")
    image = Image(np.zeros((4, 4, 3), np.uint8), parent_id="image", video_metadata=metadata)
    result = visualization_result(image, np.ones((4, 4, 3), np.uint8))["image"]
    assert result.parent_id == "image" and result.video_metadata is metadata
    assert int(result.numpy_image.sum()) == 48


def test_annotator_cache_builds_once_per_key_and_stays_bounded() -> None:
    cache = AnnotatorCache(max_entries=2)
    built: list[str] = []

    def build(name: str):
        return lambda: built.append(name) or name

    assert cache.get("a", build("a")) == "a"
    assert cache.get("a", build("a2")) == "a"
    cache.get("b", build("b"))
    cache.get("c", build("c"))
    assert built == ["a", "b", "c"] and len(cache) == 2


def test_freeze_makes_parameters_hashable() -> None:
    assert freeze([1, ["#FF0000", "#00FF00"], {"b": [1], "a": 2}]) == (
        1,
        ("#FF0000", "#00FF00"),
        (("a", 2), ("b", (1,))),
    )


def test_block_reuses_its_annotator_across_images() -> None:
    block = BoundingBoxVisualizationBlock(BlockContext("b", "BoundingBoxVisualization"))
    image = Image(np.zeros((20, 20, 3), np.uint8), parent_id="image")
    boxes = sv.Detections(xyxy=np.array([[2.0, 2.0, 9.0, 9.0]]), class_id=np.array([0]))
    args = ("DEFAULT", 10, [], "CLASS", 2, 0.0)
    block.run(image, boxes, True, *args)
    block.run(image, boxes, True, *args)
    assert len(block.annotators) == 1
    # custom colours are part of the key (the reference's v1 blocks forget them)
    block.run(image, boxes, True, "CUSTOM", 10, ["#FF0000"], "CLASS", 2, 0.0)
    block.run(image, boxes, True, "CUSTOM", 10, ["#00FF00"], "CLASS", 2, 0.0)
    assert len(block.annotators) == 3
