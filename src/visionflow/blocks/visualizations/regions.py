"""Visualizations that change whole regions: blur, pixelate, colour fill, zoomed crops, background.

>>> import numpy as np
>>> import supervision as sv
>>> from visionflow.blocks.base import BlockContext
>>> from visionflow.data.image import Image
>>> block = BackgroundColorVisualizationBlock(BlockContext("bg", "BackgroundColorVisualization"))
>>> image = Image(np.full((20, 20, 3), 200, dtype=np.uint8), parent_id="image")
>>> boxes = sv.Detections(xyxy=np.array([[5.0, 5.0, 15.0, 15.0]]))
>>> out = block.run(image, boxes, True, "BLACK", 0.5)["image"].numpy_image
>>> int(out[10, 10, 0]), int(out[0, 0, 0])
(200, 100)
"""

from __future__ import annotations

from typing import Any, Literal, Union

import supervision as sv
from pydantic import Field

from visionflow.blocks.base import BlockInfo, DataSelector
from visionflow.blocks.registry import register_block
from visionflow.blocks.visualizations._annotators import MaskAwareBlurAnnotator
from visionflow.blocks.visualizations._base import (
    ColorableVisualizationManifest,
    FloatZeroToOne,
    PositionName,
    PredictionsVisualizationManifest,
    VisualizationBlock,
    build_position,
    str_to_color,
)
from visionflow.data.image import Image
from visionflow.spec.kinds import FLOAT_KIND, FLOAT_ZERO_TO_ONE_KIND, INTEGER_KIND, STRING_KIND


# ---------------------------------------------------------------------------------------------
# roboflow_core/blur_visualization@v1
# ---------------------------------------------------------------------------------------------
class BlurManifest(PredictionsVisualizationManifest):
    type: Literal["roboflow_core/blur_visualization@v1", "BlurVisualization"]
    kernel_size: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=15,
        description="Size of the averaging kernel in pixels: larger blurs more.",
        examples=[15, "$inputs.kernel_size"],
    )
    padding: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=0,
        description="Extra pixels blurred around each box or mask.",
        examples=[0, 10, "$inputs.blur_padding"],
    )

    block_info = BlockInfo(
        name="Blur Visualization",
        short="Blur detected objects (their masks when they have them).",
        category="visualization",
    )


@register_block
class BlurVisualizationBlock(VisualizationBlock):
    """Blurs each detection: its mask when there are masks, otherwise its box."""

    manifest = BlurManifest

    def run(
        self,
        image: Image,
        predictions: sv.Detections,
        copy_image: bool,
        kernel_size: int,
        padding: int = 0,
    ) -> dict[str, Any]:
        padding = padding or 0
        annotator = self.annotator(
            ("blur", kernel_size, padding), lambda: MaskAwareBlurAnnotator(kernel_size, padding)
        )
        return self.draw(image, copy_image, annotator, detections=predictions)


# ---------------------------------------------------------------------------------------------
# roboflow_core/pixelate_visualization@v1
# ---------------------------------------------------------------------------------------------
class PixelateManifest(PredictionsVisualizationManifest):
    type: Literal["roboflow_core/pixelate_visualization@v1", "PixelateVisualization"]
    pixel_size: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=20,
        description="Side of the square blocks, in pixels: larger hides more.",
        examples=[20, "$inputs.pixel_size"],
    )

    block_info = BlockInfo(
        name="Pixelate Visualization",
        short="Pixelate the box of each detected object.",
        category="visualization",
    )


@register_block
class PixelateVisualizationBlock(VisualizationBlock):
    """Replaces each box by large square blocks of its average colours."""

    manifest = PixelateManifest

    def run(
        self, image: Image, predictions: sv.Detections, copy_image: bool, pixel_size: int
    ) -> dict[str, Any]:
        annotator = self.annotator(
            ("pixelate", pixel_size), lambda: sv.PixelateAnnotator(pixel_size=pixel_size)
        )
        return self.draw(image, copy_image, annotator, detections=predictions)


# ---------------------------------------------------------------------------------------------
# roboflow_core/color_visualization@v1
# ---------------------------------------------------------------------------------------------
class ColorManifest(ColorableVisualizationManifest):
    type: Literal["roboflow_core/color_visualization@v1", "ColorVisualization"]
    opacity: Union[FloatZeroToOne, DataSelector(FLOAT_ZERO_TO_ONE_KIND)] = Field(
        default=0.5,
        description="Opacity of the colour laid over each box: 0 invisible, 1 solid.",
        examples=[0.5, "$inputs.opacity"],
    )

    block_info = BlockInfo(
        name="Color Visualization",
        short="Fill the box of each detected object with a translucent colour.",
        category="visualization",
    )


@register_block
class ColorVisualizationBlock(VisualizationBlock):
    """A translucent fill over each box, in the detection's colour."""

    manifest = ColorManifest

    def run(
        self,
        image: Image,
        predictions: sv.Detections,
        copy_image: bool,
        color_palette: str,
        palette_size: int,
        custom_colors: list[str],
        color_axis: str,
        opacity: float,
    ) -> dict[str, Any]:
        annotator = self.colored_annotator(
            color_palette,
            palette_size,
            custom_colors,
            color_axis,
            lambda palette, lookup: sv.ColorAnnotator(
                color=palette, color_lookup=lookup, opacity=opacity
            ),
            opacity,
        )
        return self.draw(image, copy_image, annotator, detections=predictions)


# ---------------------------------------------------------------------------------------------
# roboflow_core/crop_visualization@v1
# ---------------------------------------------------------------------------------------------
class CropManifest(ColorableVisualizationManifest):
    type: Literal["roboflow_core/crop_visualization@v1", "CropVisualization"]
    position: Union[PositionName, DataSelector(STRING_KIND)] = Field(
        default="TOP_CENTER",
        description="Anchor point of each detection's box where its enlarged crop is placed.",
        examples=["CENTER", "$inputs.position"],
    )
    scale_factor: Union[float, DataSelector(FLOAT_KIND)] = Field(
        default=2.0,
        description="How much each crop is enlarged.",
        examples=[2.0, "$inputs.scale_factor"],
    )
    border_thickness: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=2,
        description="Width of the border around each enlarged crop, in pixels.",
        examples=[2, "$inputs.border_thickness"],
    )

    block_info = BlockInfo(
        name="Crop Visualization",
        short="Show an enlarged copy of each detected object next to it.",
        category="visualization",
    )


@register_block
class CropVisualizationBlock(VisualizationBlock):
    """Pastes an enlarged, framed copy of each box at an anchor point of the box."""

    manifest = CropManifest

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
        scale_factor: float,
        border_thickness: int,
    ) -> dict[str, Any]:
        annotator = self.colored_annotator(
            color_palette,
            palette_size,
            custom_colors,
            color_axis,
            lambda palette, lookup: sv.CropAnnotator(
                border_color=palette,
                border_color_lookup=lookup,
                position=build_position(position),
                scale_factor=scale_factor,
                border_thickness=border_thickness,
            ),
            position,
            scale_factor,
            border_thickness,
        )
        return self.draw(image, copy_image, annotator, detections=predictions)


# ---------------------------------------------------------------------------------------------
# roboflow_core/background_color_visualization@v1
# ---------------------------------------------------------------------------------------------
class BackgroundColorManifest(PredictionsVisualizationManifest):
    type: Literal["roboflow_core/background_color_visualization@v1", "BackgroundColorVisualization"]
    color: Union[str, DataSelector(STRING_KIND)] = Field(
        default="BLACK",
        description=(
            "Colour laid over everything outside the detections: '#RRGGBB', 'rgb(R, G, B)' "
            "or a name such as 'BLACK'."
        ),
        examples=["WHITE", "#FFFFFF", "rgb(255, 255, 255)", "$inputs.background_color"],
    )
    opacity: Union[FloatZeroToOne, DataSelector(FLOAT_ZERO_TO_ONE_KIND)] = Field(
        default=0.5,
        description="Opacity of that colour: 0 invisible, 1 solid.",
        examples=[0.5, "$inputs.opacity"],
    )

    block_info = BlockInfo(
        name="Background Color Visualization",
        short="Cover everything outside the detected objects with a colour.",
        category="visualization",
    )


@register_block
class BackgroundColorVisualizationBlock(VisualizationBlock):
    """Tints all pixels outside the masks (or boxes); with no detections, the whole image."""

    manifest = BackgroundColorManifest

    def run(
        self,
        image: Image,
        predictions: sv.Detections,
        copy_image: bool,
        color: str,
        opacity: float,
    ) -> dict[str, Any]:
        annotator = self.annotator(
            ("background", color, opacity),
            lambda: sv.BackgroundOverlayAnnotator(color=str_to_color(color), opacity=opacity),
        )
        return self.draw(image, copy_image, annotator, detections=predictions)
