"""Text display and rich (TrueType) label visualizations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import supervision as sv
from pydantic import ValidationError

from visionflow.blocks.base import BlockContext
from visionflow.blocks.visualizations.rich_labels import (
    FONT_FAMILIES,
    RichLabelVisualizationBlock,
    RichLabelVisualizationManifest,
    effective_font_size,
    font_path,
)
from visionflow.blocks.visualizations.text import (
    TextDisplayBlock,
    TextDisplayManifest,
    box_origin,
    format_text,
    layout_text,
)
from visionflow.data.image import Image

HEIGHT, WIDTH = 200, 400


def _image(value: int = 60) -> Image:
    return Image(np.full((HEIGHT, WIDTH, 3), value, dtype=np.uint8), parent_id="image")


def _block(cls: type) -> Any:
    return cls(BlockContext(step_name="viz", block_type="test"))


def _changed(before: Image, after: Image) -> np.ndarray:
    return np.any(before.numpy_image != after.numpy_image, axis=2)


# ---------------------------------------------------------------------------------------------
# text_display
# ---------------------------------------------------------------------------------------------
TEXT_DEFAULTS: dict[str, Any] = {
    "text_parameters": {},
    "text_parameters_operations": {},
    "text_color": "WHITE",
    "background_color": "BLACK",
    "background_opacity": 1.0,
    "font_scale": 0.5,
    "font_thickness": 1,
    "padding": 10,
    "text_align": "left",
    "border_radius": 0,
    "position_mode": "relative",
    "position_x": 0,
    "position_y": 0,
    "anchor": "top_left",
    "offset_x": 10,
    "offset_y": 10,
    "copy_image": True,
}


def _display(text: str, **overrides: Any) -> tuple[Image, Image]:
    image = _image()
    out = _block(TextDisplayBlock).run(image, text=text, **{**TEXT_DEFAULTS, **overrides})
    return image, out["image"]


@pytest.mark.parametrize(
    ("text", "overrides", "box"),
    [
        ("", {}, (10, 10, 30, None)),
        ("", {"background_color": "transparent"}, None),
        ("hello", {}, (10, 10, None, None)),
        ("hello", {"anchor": "bottom_right", "offset_x": 0, "offset_y": 0}, (None, None, 400, 200)),
        ("hello", {"position_mode": "absolute", "position_x": 100, "position_y": 50}, (100, 50, None, None)),
        ("hello", {"position_mode": "absolute", "position_x": 390, "position_y": 190}, (None, None, 400, 200)),
    ],
    ids=["empty text: only the padded box", "empty and transparent", "top left", "bottom right",
         "absolute", "clamped inside the image"],
)  # fmt: skip
def test_text_display_box(text, overrides, box) -> None:
    image, out = _display(text, **overrides)
    changed = _changed(image, out)
    if box is None:
        assert not changed.any()
        return
    ys, xs = np.nonzero(changed)
    found = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    for expected, actual in zip(box, found, strict=True):
        if expected is not None:
            assert actual == expected, (box, found)
    # the box is black, the text white
    assert (out.numpy_image[changed] == 0).all(axis=1).any()
    if text:
        # anti-aliased strokes: bright, not always pure white at small scales
        assert (out.numpy_image[changed] > 200).all(axis=1).any()


def test_text_display_interpolates_parameters_through_operations() -> None:
    operations = {"n": [{"type": "SequenceLength"}]}
    assert format_text("{{ $parameters.n }} / {{$parameters.x}}", {"n": [1, 2, 3]}, operations) == (
        "3 / {{$parameters.x}}"
    )
    short, long = (
        _display("n={{ $parameters.n }}", text_parameters={"n": 1})[1],
        _display("n={{ $parameters.n }}", text_parameters={"n": 123456789})[1],
    )
    assert _changed(_image(), long).sum() > _changed(_image(), short).sum()


def test_text_display_translucent_background_blends() -> None:
    _, out = _display("", background_opacity=0.5, background_color="WHITE")
    assert out.numpy_image[15, 15].tolist() == [158, 158, 158]


def test_text_display_alignment_moves_short_lines() -> None:
    texts = "a\nlonger line"
    left = _display(texts, text_align="left")[1].numpy_image
    right = _display(texts, text_align="right")[1].numpy_image
    first_line = (slice(15, 30), slice(0, 200))
    assert np.nonzero(np.any(left[first_line] > 200, axis=2))[1].max() < 40
    assert np.nonzero(np.any(right[first_line] > 200, axis=2))[1].min() > 60


def test_text_display_layout_helpers() -> None:
    assert box_origin("center", 0, 0, box_width=10, box_height=10, width=100, height=50) == (45, 20)
    with pytest.raises(ValueError, match="anchor"):
        box_origin("middle", 0, 0, box_width=1, box_height=1, width=1, height=1)
    layout = layout_text("a\n\nb", 1.0, 2, 5, ("absolute", 0, 0, "top_left", 0, 0), 500, 500)
    assert layout.lines == ["a", "", "b"] and layout.widths[1] == 0


def test_text_display_manifest_bounds() -> None:
    base = {
        "type": "roboflow_core/text_display@v1",
        "name": "t",
        "image": "$inputs.image",
        "text": "x",
    }
    assert TextDisplayManifest.model_validate({**base, "font_scale": "$inputs.s"}).font_scale
    for field, value in (("font_scale", 20), ("font_thickness", 0), ("padding", -1)):
        with pytest.raises(ValidationError):
            TextDisplayManifest.model_validate({**base, field: value})


# ---------------------------------------------------------------------------------------------
# rich_label_visualization
# ---------------------------------------------------------------------------------------------
RICH_DEFAULTS: dict[str, Any] = {
    "copy_image": True,
    "color_palette": "DEFAULT",
    "palette_size": 10,
    "custom_colors": [],
    "color_axis": "CLASS",
    "text": "Class",
    "text_position": "TOP_LEFT",
    "text_color": "WHITE",
    "font_family": "Geist Mono",
    "text_size_mode": "Manual",
    "font_size": 14,
    "text_padding": 5,
    "border_radius": 0,
    "max_line_length": None,
}


def _detections(count: int) -> sv.Detections:
    if count == 0:
        return sv.Detections.empty()
    return sv.Detections(
        xyxy=np.array([[100.0, 100.0, 200.0, 180.0]] * count),
        class_id=np.zeros(count, dtype=int),
        confidence=np.full(count, 0.9),
        data={"class_name": np.array(["dog"] * count)},
    )


@pytest.mark.parametrize(
    ("count", "overrides", "region"),
    [
        (0, {}, None),
        (1, {}, (slice(60, 101), slice(95, 200))),
        (1, {"text_position": "BOTTOM_RIGHT", "font_family": "noto_sans"}, (slice(179, 220), slice(100, 205))),
    ],
    ids=["no detections", "top left", "bottom right, legacy font id"],
)  # fmt: skip
def test_rich_label(count, overrides, region) -> None:
    image = _image()
    out = _block(RichLabelVisualizationBlock).run(
        image, _detections(count), **{**RICH_DEFAULTS, **overrides}
    )["image"]
    changed = _changed(image, out)
    if region is None:
        assert not changed.any()
        return
    assert changed[region].any()
    outside = np.ones_like(changed)
    outside[region] = False
    assert not changed[outside].any()


def test_rich_label_fonts_come_from_installed_matplotlib() -> None:
    mono, sans = font_path("Geist Mono"), font_path("inter")
    assert mono is not None and Path(mono).name == "DejaVuSansMono.ttf" and Path(mono).is_file()
    assert sans is not None and Path(sans).name == "DejaVuSans.ttf"
    assert all(font_path(name) for name in FONT_FAMILIES)
    with pytest.raises(ValueError, match="unknown font family"):
        font_path("Comic Sans")


def test_rich_label_automatic_size() -> None:
    assert effective_font_size(1080, 1920, 14, "Manual") == 14
    assert effective_font_size(540, 960, 14, "Automatic") == 8  # 7 pt, raised to the minimum
    assert effective_font_size(2160, 3840, 20, "Automatic") == 40


def test_rich_label_manifest_maps_legacy_font_identifiers() -> None:
    manifest = RichLabelVisualizationManifest.model_validate(
        {
            "type": "roboflow_core/rich_label_visualization@v1",
            "name": "r",
            "image": "$inputs.image",
            "predictions": "$steps.model.predictions",
            "font_family": "jetbrains_mono",
        }
    )
    assert manifest.font_family == "JetBrains Mono"
