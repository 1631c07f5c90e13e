"""Visualizations drawn from each detection's box: boxes, corners, circles, ellipses, markers.

>>> import numpy as np
>>> import supervision as sv
>>> from visionflow.blocks.base import BlockContext
>>> from visionflow.data.image import Image
>>> block = BoundingBoxVisualizationBlock(BlockContext("boxes", BoundingBoxManifest.identifier()))
>>> image = Image(np.zeros((40, 40, 3), dtype=np.uint8), parent_id="image")
>>> boxes = sv.Detections(xyxy=np.array([[10.0, 10.0, 30.0, 30.0]]), class_id=np.array([0]))
>>> out = block.run(image, boxes, True, "DEFAULT", 10, [], "CLASS", 2, 0.0)["image"]
>>> bool(out.numpy_image[10, 20].any()), bool(out.numpy_image[20, 20].any())
(True, False)
"""

from __future__ import annotations

from typing import Any, Literal, Union

import supervision as sv
from pydantic import Field

from visionflow.blocks.base import BlockInfo, DataSelector
from visionflow.blocks.registry import register_block
from visionflow.blocks.visualizations._base import (
    ColorableVisualizationManifest,
    FloatZeroToOne,
    PositionName,
    VisualizationBlock,
    build_position,
)
from visionflow.data.image import Image
from visionflow.spec.kinds import FLOAT_ZERO_TO_ONE_KIND, INTEGER_KIND, STRING_KIND


def _int_field(default: int, description: str, name: str) -> Any:
    return Field(default=default, description=description, examples=[default, f"$inputs.{name}"])


_POSITION_DESCRIPTION = "Anchor point of the marker on each detection's box."


# ---------------------------------------------------------------------------------------------
# roboflow_core/bounding_box_visualization@v1
# ---------------------------------------------------------------------------------------------
class BoundingBoxManifest(ColorableVisualizationManifest):
    type: Literal["roboflow_core/bounding_box_visualization@v1", "BoundingBoxVisualization"]
    thickness: Union[int, DataSelector(INTEGER_KIND)] = _int_field(
        2, "Width of the box outline in pixels.", "thickness"
    )
    roundness: Union[FloatZeroToOne, DataSelector(FLOAT_ZERO_TO_ONE_KIND)] = Field(
        default=0.0,
        description="How rounded the corners are: 0 square, 1 fully rounded.",
        examples=[0.0, "$inputs.roundness"],
    )

    block_info = BlockInfo(
        name="Bounding Box Visualization",
        short="Draw a box around each detected object.",
        category="visualization",
    )


@register_block
class BoundingBoxVisualizationBlock(VisualizationBlock):
    """Box outlines, square (``roundness`` 0) or rounded."""

    manifest = BoundingBoxManifest

    def run(
        self,
        image: Image,
        predictions: sv.Detections,
        copy_image: bool,
        color_palette: str,
        palette_size: int,
        custom_colors: list[str],
        color_axis: str,
        thickness: int,
        roundness: float,
    ) -> dict[str, Any]:
        def build(palette: sv.ColorPalette, lookup: sv.ColorLookup) -> Any:
            if roundness == 0:
                return sv.BoxAnnotator(color=palette, color_lookup=lookup, thickness=thickness)
            return sv.RoundBoxAnnotator(
                color=palette, color_lookup=lookup, thickness=thickness, roundness=roundness
            )

        annotator = self.colored_annotator(
            color_palette, palette_size, custom_colors, color_axis, build, thickness, roundness
        )
        return self.draw(image, copy_image, annotator, detections=predictions)


# ---------------------------------------------------------------------------------------------
# roboflow_core/dot_visualization@v1
# ---------------------------------------------------------------------------------------------
class DotManifest(ColorableVisualizationManifest):
    type: Literal["roboflow_core/dot_visualization@v1", "DotVisualization"]
    position: Union[PositionName, DataSelector(STRING_KIND)] = Field(
        default="CENTER",
        description=_POSITION_DESCRIPTION,
        examples=["CENTER", "$inputs.position"],
    )
    radius: Union[int, DataSelector(INTEGER_KIND)] = _int_field(
        4, "Radius of the dot in pixels.", "radius"
    )
    outline_thickness: Union[int, DataSelector(INTEGER_KIND)] = _int_field(
        0, "Width of a black outline around the dot (0: none).", "outline_thickness"
    )

    block_info = BlockInfo(
        name="Dot Visualization",
        short="Mark each detected object with a dot.",
        category="visualization",
    )


@register_block
class DotVisualizationBlock(VisualizationBlock):
    """A filled dot at an anchor point of each box."""

    manifest = DotManifest

    def run(
        self,
        image: Image,
        predictions: sv.Detections,
        copy_image: bool,
        color_palette: str,
        palette_size: int,
        custom_colors: list[str],
        color_axis: str,
        position: str,
        radius: int,
        outline_thickness: int,
    ) -> dict[str, Any]:
        annotator = self.colored_annotator(
            color_palette,
            palette_size,
            custom_colors,
            color_axis,
            lambda palette, lookup: sv.DotAnnotator(
                color=palette,
                color_lookup=lookup,
                position=build_position(position),
                radius=radius,
                outline_thickness=outline_thickness,
            ),
            position,
            radius,
            outline_thickness,
        )
        return self.draw(image, copy_image, annotator, detections=predictions)


# ---------------------------------------------------------------------------------------------
# roboflow_core/circle_visualization@v1
# ---------------------------------------------------------------------------------------------
class CircleManifest(ColorableVisualizationManifest):
    type: Literal["roboflow_core/circle_visualization@v1", "CircleVisualization"]
    thickness: Union[int, DataSelector(INTEGER_KIND)] = _int_field(
        2, "Width of the circle's line in pixels.", "thickness"
    )

    block_info = BlockInfo(
        name="Circle Visualization",
        short="Draw a circle around each detected object.",
        category="visualization",
    )


@register_block
class CircleVisualizationBlock(VisualizationBlock):
    """A circle through the corners of each box."""

    manifest = CircleManifest

    def run(
        self,
        image: Image,
        predictions: sv.Detections,
        copy_image: bool,
        color_palette: str,
        palette_size: int,
        custom_colors: list[str],
        color_axis: str,
        thickness: int,
    ) -> dict[str, Any]:
        annotator = self.colored_annotator(
            color_palette,
            palette_size,
            custom_colors,
            color_axis,
            lambda palette, lookup: sv.CircleAnnotator(
                color=palette, color_lookup=lookup, thickness=thickness
            ),
            thickness,
        )
        return self.draw(image, copy_image, annotator, detections=predictions)


# ---------------------------------------------------------------------------------------------
# roboflow_core/corner_visualization@v1
# ---------------------------------------------------------------------------------------------
class CornerManifest(ColorableVisualizationManifest):
    type: Literal["roboflow_core/corner_visualization@v1", "CornerVisualization"]
    thickness: Union[int, DataSelector(INTEGER_KIND)] = _int_field(
        4, "Width of the corner lines in pixels.", "thickness"
    )
    corner_length: Union[int, DataSelector(INTEGER_KIND)] = _int_field(
        15, "Length of each corner line in pixels.", "corner_length"
    )

    block_info = BlockInfo(
        name="Corner Visualization",
        short="Draw the corners of each detected object's box.",
        category="visualization",
    )


@register_block
class CornerVisualizationBlock(VisualizationBlock):
    """The four corners of each box, as short L-shaped lines."""

    manifest = CornerManifest

    def run(
        self,
        image: Image,
        predictions: sv.Detections,
        copy_image: bool,
        color_palette: str,
        palette_size: int,
        custom_colors: list[str],
        color_axis: str,
        thickness: int,
        corner_length: int,
    ) -> dict[str, Any]:
        annotator = self.colored_annotator(
            color_palette,
            palette_size,
            custom_colors,
            color_axis,
            lambda palette, lookup: sv.BoxCornerAnnotator(
                color=palette,
                color_lookup=lookup,
                thickness=thickness,
                corner_length=corner_length,
            ),
            thickness,
            corner_length,
        )
        return self.draw(image, copy_image, annotator, detections=predictions)


# ---------------------------------------------------------------------------------------------
# roboflow_core/ellipse_visualization@v1
# ---------------------------------------------------------------------------------------------
class EllipseManifest(ColorableVisualizationManifest):
    type: Literal["roboflow_core/ellipse_visualization@v1", "EllipseVisualization"]
    thickness: Union[int, DataSelector(INTEGER_KIND)] = _int_field(
        2, "Width of the ellipse's line in pixels.", "thickness"
    )
    start_angle: Union[int, DataSelector(INTEGER_KIND)] = _int_field(
        -45, "Angle (degrees) where the arc starts.", "start_angle"
    )
    end_angle: Union[int, DataSelector(INTEGER_KIND)] = _int_field(
        235, "Angle (degrees) where the arc ends.", "end_angle"
    )

    block_info = BlockInfo(
        name="Ellipse Visualization",
        short="Draw an elliptical arc under each detected object.",
        category="visualization",
    )


@register_block
class EllipseVisualizationBlock(VisualizationBlock):
    """An elliptical arc at the bottom of each box (a "spotlight" marker)."""

    manifest = EllipseManifest

    def run(
        self,
        image: Image,
        predictions: sv.Detections,
        copy_image: bool,
        color_palette: str,
        palette_size: int,
        custom_colors: list[str],
        color_axis: str,
        thickness: int,
        start_angle: int,
        end_angle: int,
    ) -> dict[str, Any]:
        annotator = self.colored_annotator(
            color_palette,
            palette_size,
            custom_colors,
            color_axis,
            lambda palette, lookup: sv.EllipseAnnotator(
                color=palette,
                color_lookup=lookup,
                thickness=thickness,
                start_angle=start_angle,
                end_angle=end_angle,
            ),
            thickness,
            start_angle,
            end_angle,
        )
        return self.draw(image, copy_image, annotator, detections=predictions)


# ---------------------------------------------------------------------------------------------
# roboflow_core/triangle_visualization@v1
# ---------------------------------------------------------------------------------------------
class TriangleManifest(ColorableVisualizationManifest):
    type: Literal["roboflow_core/triangle_visualization@v1", "TriangleVisualization"]
    position: Union[PositionName, DataSelector(STRING_KIND)] = Field(
        default="TOP_CENTER",
        description=_POSITION_DESCRIPTION,
        examples=["CENTER", "$inputs.position"],
    )
    base: Union[int, DataSelector(INTEGER_KIND)] = _int_field(
        10, "Width of the triangle's base in pixels.", "base"
    )
    height: Union[int, DataSelector(INTEGER_KIND)] = _int_field(
        10, "Height of the triangle in pixels.", "height"
    )
    outline_thickness: Union[int, DataSelector(INTEGER_KIND)] = _int_field(
        0, "Width of a black outline around the triangle (0: none).", "outline_thickness"
    )

    block_info = BlockInfo(
        name="Triangle Visualization",
        short="Mark each detected object with a triangle.",
        category="visualization",
    )


@register_block
class TriangleVisualizationBlock(VisualizationBlock):
    """A filled triangle pointing at an anchor point of each box."""

    manifest = TriangleManifest

    def run(
        self,
        image: Image,
        predictions: sv.Detections,
        copy_image: bool,
        color_palette: str,
        palette_size: int,
        custom_colors: list[str],
        color_axis: str,
        position: str,
        base: int,
        height: int,
        outline_thickness: int,
    ) -> dict[str, Any]:
        annotator = self.colored_annotator(
            color_palette,
            palette_size,
            custom_colors,
            color_axis,
            lambda palette, lookup: sv.TriangleAnnotator(
                color=palette,
                color_lookup=lookup,
                position=build_position(position),
                base=base,
                height=height,
                outline_thickness=outline_thickness,
            ),
            position,
            base,
            height,
            outline_thickness,
        )
        return self.draw(image, copy_image, annotator, detections=predictions)
