"""Text display: a block of text anywhere on the image, with values of the workflow
interpolated into it.

>>> format_text("{{ $parameters.n }} dogs, {{$parameters.missing}}", {"n": 3}, {})
'3 dogs, {{$parameters.missing}}'
>>> box_origin("bottom_right", -10, -10, box_width=50, box_height=20, width=200, height=100)
(140, 70)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Union

import cv2
import numpy as np
from pydantic import Field, field_validator

from visionflow.blocks._uql_cache import CompiledCache
from visionflow.blocks.base import BlockContext, BlockInfo, DataSelector
from visionflow.blocks.query_language import AllOperationsType, build_operations_chain
from visionflow.blocks.registry import register_block
from visionflow.blocks.visualizations._base import (
    FloatZeroToOne,
    VisualizationBlock,
    VisualizationManifest,
    prepare_canvas,
    str_to_color,
    visualization_result,
)
from visionflow.data.image import Image
from visionflow.spec.kinds import (
    FLOAT_KIND,
    FLOAT_ZERO_TO_ONE_KIND,
    INTEGER_KIND,
    STRING_KIND,
)

# ---------------------------------------------------------------------------------------------
# roboflow_core/text_display@v1
# ---------------------------------------------------------------------------------------------
_PLACEHOLDER = re.compile(r"({{\s*\$parameters\.(\w+)\s*}})")
_FONT = cv2.FONT_HERSHEY_SIMPLEX

#: Where each ``anchor`` sits, as fractions of the image's (and the box's) width and height.
ANCHORS: dict[str, tuple[float, float]] = {
    "top_left": (0.0, 0.0),
    "top_center": (0.5, 0.0),
    "top_right": (1.0, 0.0),
    "center_left": (0.0, 0.5),
    "center": (0.5, 0.5),
    "center_right": (1.0, 0.5),
    "bottom_left": (0.0, 1.0),
    "bottom_center": (0.5, 1.0),
    "bottom_right": (1.0, 1.0),
}


class TextDisplayManifest(VisualizationManifest):
    type: Literal["roboflow_core/text_display@v1"]
    text: str = Field(
        description=(
            "The text; `{{ $parameters.name }}` is replaced by the value of `name` in "
            "`text_parameters`. Line breaks start new lines."
        ),
        examples=["Detections: {{ $parameters.count }}", "Hello World"],
    )
    text_parameters: dict[str, Union[DataSelector(), str, int, float, bool]] = Field(
        default_factory=dict,
        description="Values to put into the text, by name (selectors or literals).",
        examples=[{"count": "$steps.model.predictions", "class_name": "$inputs.target_class"}],
    )
    text_parameters_operations: dict[str, list[AllOperationsType]] = Field(
        default_factory=dict,
        description="UQL operations applied to a parameter before it is put into the text.",
        examples=[{"count": [{"type": "SequenceLength"}]}],
    )
    text_color: Union[str, DataSelector(STRING_KIND)] = Field(
        default="WHITE",
        description="Colour of the text: a name (WHITE), '#RRGGBB', 'rgb(R,G,B)' or 'bgr(B,G,R)'.",
        examples=["WHITE", "#FF0000", "$inputs.text_color"],
    )
    background_color: Union[str, DataSelector(STRING_KIND)] = Field(
        default="BLACK",
        description="Colour of the box behind the text (same formats), or 'transparent'.",
        examples=["BLACK", "transparent", "$inputs.bg_color"],
    )
    background_opacity: Union[FloatZeroToOne, DataSelector(FLOAT_ZERO_TO_ONE_KIND)] = Field(
        default=1.0,
        description="Opacity of the background box (0: invisible, 1: opaque).",
        examples=[1.0, 0.5, "$inputs.bg_opacity"],
    )
    font_scale: Union[float, DataSelector(FLOAT_KIND)] = Field(
        default=1.0,
        description="Size of the font (OpenCV scale, 0.1 to 10).",
        examples=[1.0, "$inputs.font_scale"],
    )
    font_thickness: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=2,
        description="Stroke thickness of the text (1 to 10).",
        examples=[2, "$inputs.font_thickness"],
    )
    padding: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=10,
        description="Space between the text and the edge of its box, in pixels.",
        examples=[10, "$inputs.padding"],
    )
    text_align: Union[Literal["left", "center", "right"], DataSelector(STRING_KIND)] = Field(
        default="left",
        description="Alignment of the lines inside the box.",
        examples=["left", "center", "right"],
    )
    border_radius: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=0,
        description="Radius of the box's corners in pixels (0: square).",
        examples=[0, 10, "$inputs.border_radius"],
    )
    position_mode: Union[Literal["absolute", "relative"], DataSelector(STRING_KIND)] = Field(
        default="relative",
        description=(
            "'absolute': the box's top-left corner at (`position_x`, `position_y`); "
            "'relative': at `anchor` of the image, moved by (`offset_x`, `offset_y`)."
        ),
        examples=["absolute", "relative"],
    )
    position_x: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=0,
        description="Absolute mode: x of the box's left edge in pixels.",
        examples=[10, "$inputs.x"],
    )
    position_y: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=0,
        description="Absolute mode: y of the box's top edge in pixels.",
        examples=[10, "$inputs.y"],
    )
    anchor: Union[
        Literal[
            "center",
            "top_left",
            "top_center",
            "top_right",
            "bottom_left",
            "bottom_center",
            "bottom_right",
            "center_left",
            "center_right",
        ],
        DataSelector(STRING_KIND),
    ] = Field(
        default="top_left",
        description="Relative mode: the point of the image (and of the box) that are aligned.",
        examples=["center", "top_left", "bottom_right"],
    )
    offset_x: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=10,
        description="Relative mode: horizontal shift of the box (positive: right).",
        examples=[10, -20, "$inputs.offset_x"],
    )
    offset_y: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=10,
        description="Relative mode: vertical shift of the box (positive: down).",
        examples=[10, -20, "$inputs.offset_y"],
    )

    block_info = BlockInfo(
        name="Text Display",
        short="Write text (with values from the workflow) on an image.",
        category="visualization",
    )

    @field_validator("font_scale")
    @classmethod
    def _font_scale_range(cls, value: Any) -> Any:
        if isinstance(value, (int, float)) and not 0.1 <= value <= 10.0:
            raise ValueError("font_scale must be between 0.1 and 10")
        return value

    @field_validator("font_thickness")
    @classmethod
    def _font_thickness_range(cls, value: Any) -> Any:
        if isinstance(value, int) and not 1 <= value <= 10:
            raise ValueError("font_thickness must be between 1 and 10")
        return value

    @field_validator("padding", "border_radius")
    @classmethod
    def _not_negative(cls, value: Any) -> Any:
        if isinstance(value, int) and value < 0:
            raise ValueError("must not be negative")
        return value


def format_text(
    text: str,
    parameters: Mapping[str, Any],
    operations: Mapping[str, Any],
    chain_for: Callable[[Any], Callable[..., Any]] = build_operations_chain,
) -> str:
    """``text`` with each ``{{ $parameters.name }}`` replaced by ``str(value)``.

    Names missing from ``parameters`` are left as written; ``operations[name]`` is applied to a
    value first.
    """
    rendered: dict[str, str] = {}

    def replace(match: re.Match[str]) -> str:
        name = match.group(2)
        if name not in parameters:
            return match.group(0)
        if name not in rendered:
            value = parameters[name]
            if operations.get(name):
                value = chain_for(operations[name])(value, {})
            rendered[name] = str(value)
        return rendered[name]

    return _PLACEHOLDER.sub(replace, text)


def box_origin(
    anchor: str,
    offset_x: int,
    offset_y: int,
    *,
    box_width: int,
    box_height: int,
    width: int,
    height: int,
) -> tuple[int, int]:
    """Top-left corner of a box whose ``anchor`` point sits on the image's, plus the offset."""
    try:
        fx, fy = ANCHORS[anchor.lower()]
    except KeyError:
        raise ValueError(f"unknown anchor {anchor!r}: expected one of {sorted(ANCHORS)}") from None
    x = round(fx * width) - round(fx * box_width) + offset_x
    y = round(fy * height) - round(fy * box_height) + offset_y
    return x, y


@dataclass(frozen=True)
class TextLayout:
    """Lines of text, their widths, and the box that holds them (inside the image)."""

    lines: list[str]
    widths: list[int]
    text_height: int  # height above the baseline of a line
    line_step: int  # from one line's top to the next one's
    x: int
    y: int
    box_width: int
    box_height: int

    @property
    def max_width(self) -> int:
        return max(self.widths, default=0)


def layout_text(
    text: str,
    font_scale: float,
    thickness: int,
    padding: int,
    position: tuple[str, int, int, str, int, int],
    width: int,
    height: int,
) -> TextLayout:
    """Measure ``text`` and place its box; ``position`` is (mode, x, y, anchor, dx, dy).

    A box that does not fit is moved inside the image (to 0 when larger than the image).
    """
    lines = text.split("\n") if text else [""]
    (_, text_height), baseline = cv2.getTextSize("Ag", _FONT, font_scale, thickness)
    advance = text_height + baseline
    spacing = max(1, round(0.25 * advance))
    widths = [
        cv2.getTextSize(line, _FONT, font_scale, thickness)[0][0] if line.strip() else 0
        for line in lines
    ]
    box_width = max(widths, default=0) + 2 * padding
    box_height = len(lines) * advance + max(0, len(lines) - 1) * spacing + 2 * padding
    mode, position_x, position_y, anchor, offset_x, offset_y = position
    if mode == "absolute":
        x, y = position_x, position_y
    else:
        x, y = box_origin(
            anchor,
            offset_x,
            offset_y,
            box_width=box_width,
            box_height=box_height,
            width=width,
            height=height,
        )
    x = 0 if box_width > width else max(0, min(x, width - box_width))
    y = 0 if box_height > height else max(0, min(y, height - box_height))
    return TextLayout(lines, widths, text_height, advance + spacing, x, y, box_width, box_height)


def fill_rounded_rectangle(
    scene: np.ndarray, corner1: tuple[int, int], corner2: tuple[int, int], color: Any, radius: int
) -> None:
    """Fill the rectangle between two inclusive corners, with rounded corners of ``radius``."""
    (x1, y1), (x2, y2) = corner1, corner2
    if x2 <= x1 or y2 <= y1:
        return
    radius = min(radius, (x2 - x1) // 2, (y2 - y1) // 2)
    if radius <= 0:
        cv2.rectangle(scene, corner1, corner2, color, -1)
        return
    cv2.rectangle(scene, (x1 + radius, y1), (x2 - radius, y2), color, -1)
    cv2.rectangle(scene, (x1, y1 + radius), (x2, y2 - radius), color, -1)
    for centre, start_angle in (
        ((x1 + radius, y1 + radius), 180),
        ((x2 - radius, y1 + radius), 270),
        ((x1 + radius, y2 - radius), 90),
        ((x2 - radius, y2 - radius), 0),
    ):
        cv2.ellipse(scene, centre, (radius, radius), start_angle, 0, 90, color, -1)


def draw_text_box(
    scene: np.ndarray,
    layout: TextLayout,
    style: tuple[Any, Any, float, int, int, float, int, str],
) -> None:
    """Draw the background box and the lines of ``layout`` on ``scene``, in place.

    ``style`` is (text BGR, background BGR or None, opacity, radius, padding, font scale,
    thickness, alignment).
    """
    text_bgr, background_bgr, opacity, radius, padding, font_scale, thickness, align = style
    height, width = scene.shape[:2]
    x1, y1 = max(0, layout.x), max(0, layout.y)
    x2 = min(width, layout.x + layout.box_width)
    y2 = min(height, layout.y + layout.box_height)
    if background_bgr is not None and opacity > 0 and x2 > x1 and y2 > y1:
        if opacity < 1:
            region = scene[y1:y2, x1:x2]
            overlay = region.copy()
            fill_rounded_rectangle(
                overlay, (0, 0), (x2 - x1 - 1, y2 - y1 - 1), background_bgr, radius
            )
            scene[y1:y2, x1:x2] = cv2.addWeighted(overlay, opacity, region, 1 - opacity, 0)
        else:
            fill_rounded_rectangle(scene, (x1, y1), (x2 - 1, y2 - 1), background_bgr, radius)
    top = layout.y + padding
    for line, line_width in zip(layout.lines, layout.widths, strict=True):
        if line.strip():
            shift = 0
            if align == "center":
                shift = (layout.max_width - line_width) // 2
            elif align == "right":
                shift = layout.max_width - line_width
            x, baseline_y = layout.x + padding + shift, top + layout.text_height
            if baseline_y > 0 and top < height and x < width:
                cv2.putText(
                    scene,
                    line,
                    (x, baseline_y),
                    _FONT,
                    font_scale,
                    text_bgr,
                    thickness,
                    cv2.LINE_AA,
                )
        top += layout.line_step


@register_block
class TextDisplayBlock(VisualizationBlock):
    """Writes ``text`` (with its parameters filled in) in a box on the image."""

    manifest = TextDisplayManifest

    def __init__(self, context: BlockContext) -> None:
        super().__init__(context)
        self._chains: CompiledCache[Any] = CompiledCache(build_operations_chain)

    def run(
        self,
        image: Image,
        text: str,
        text_parameters: dict[str, Any],
        text_parameters_operations: dict[str, Any],
        text_color: str,
        background_color: str,
        background_opacity: float,
        font_scale: float,
        font_thickness: int,
        padding: int,
        text_align: str,
        border_radius: int,
        position_mode: str,
        position_x: int,
        position_y: int,
        anchor: str,
        offset_x: int,
        offset_y: int,
        copy_image: bool,
    ) -> dict[str, Any]:
        formatted = format_text(
            text, text_parameters, text_parameters_operations, chain_for=self._chains.get
        )
        text_bgr = str_to_color(text_color).as_bgr()
        background_bgr = (
            None
            if background_color.lower() == "transparent"
            else str_to_color(background_color).as_bgr()
        )
        scene = prepare_canvas(image, copy_image)
        height, width = scene.shape[:2]
        layout = layout_text(
            formatted,
            font_scale,
            font_thickness,
            padding,
            (position_mode, position_x, position_y, anchor, offset_x, offset_y),
            width,
            height,
        )
        style = (
            text_bgr,
            background_bgr,
            background_opacity,
            border_radius,
            padding,
            font_scale,
            font_thickness,
            text_align,
        )
        draw_text_box(scene, layout, style)
        return visualization_result(image, scene)


__all__ = [
    "ANCHORS",
    "TextDisplayBlock",
    "TextDisplayManifest",
    "TextLayout",
    "box_origin",
    "draw_text_box",
    "fill_rounded_rectangle",
    "format_text",
    "layout_text",
]
