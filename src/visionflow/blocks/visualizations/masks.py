"""Visualizations of segmentation masks: translucent fill, outline polygons, glowing halos.

Detections without masks are drawn from their boxes where the reference does so (polygon:
box outlines; halo: a halo around the box); the mask fill then leaves the image unchanged.

>>> import numpy as np
>>> import supervision as sv
>>> from visionflow.blocks.base import BlockContext
>>> from visionflow.data.image import Image
>>> block = PolygonVisualizationBlockV2(BlockContext("poly", PolygonManifestV2.identifier()))
>>> image = Image(np.zeros((20, 20, 3), dtype=np.uint8), parent_id="image")
>>> mask = np.zeros((1, 20, 20), dtype=bool)
>>> mask[0, 5:15, 5:15] = True
>>> objects = sv.Detections(xyxy=np.array([[5.0, 5.0, 15.0, 15.0]]), mask=mask, class_id=np.array([0]))
>>> out = block.run(image, objects, True, "DEFAULT", 10, [], "CLASS", 1)["image"].numpy_image
>>> bool(out[5, 10].any()), bool(out[10, 10].any())
(True, False)
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, Union

import supervision as sv
from pydantic import Field

from visionflow.blocks.base import BlockInfo, BlockManifest, DataSelector
from visionflow.blocks.registry import register_block
from visionflow.blocks.visualizations._annotators import with_box_masks
from visionflow.blocks.visualizations._base import (
    ColorableVisualizationManifest,
    FloatZeroToOne,
    VisualizationBlock,
    prepare_canvas,
    visualization_result,
)
from visionflow.data.image import Image
from visionflow.spec.kinds import (
    FLOAT_ZERO_TO_ONE_KIND,
    INSTANCE_SEGMENTATION_PREDICTION_KIND,
    INTEGER_KIND,
    SEMANTIC_SEGMENTATION_PREDICTION_KIND,
)

_SEGMENTATION_FIELD = Field(
    description="Instance segmentation predictions (with masks) to draw.",
    examples=["$steps.instance_segmentation_model.predictions"],
)


# ---------------------------------------------------------------------------------------------
# roboflow_core/mask_visualization@v1
# ---------------------------------------------------------------------------------------------
class MaskManifest(ColorableVisualizationManifest):
    type: Literal["roboflow_core/mask_visualization@v1", "MaskVisualization"]
    predictions: DataSelector(
        INSTANCE_SEGMENTATION_PREDICTION_KIND, SEMANTIC_SEGMENTATION_PREDICTION_KIND
    ) = Field(
        description="Segmentation predictions (with masks) to draw.",
        examples=["$steps.instance_segmentation_model.predictions"],
    )
    opacity: Union[FloatZeroToOne, DataSelector(FLOAT_ZERO_TO_ONE_KIND)] = Field(
        default=0.5,
        description="Opacity of the mask colour: 0 invisible, 1 solid.",
        examples=[0.5, "$inputs.opacity"],
    )

    block_info = BlockInfo(
        name="Mask Visualization",
        short="Fill the mask of each segmented object with a translucent colour.",
        category="visualization",
    )


@register_block
class MaskVisualizationBlock(VisualizationBlock):
    """A translucent fill over each mask, in the detection's colour."""

    manifest = MaskManifest

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
            lambda palette, lookup: sv.MaskAnnotator(
                color=palette, color_lookup=lookup, opacity=opacity
            ),
            opacity,
        )
        return self.draw(image, copy_image, annotator, detections=predictions)


# ---------------------------------------------------------------------------------------------
# roboflow_core/polygon_visualization@v1 and @v2
# ---------------------------------------------------------------------------------------------
class _PolygonFields(ColorableVisualizationManifest):
    predictions: DataSelector(INSTANCE_SEGMENTATION_PREDICTION_KIND) = _SEGMENTATION_FIELD
    thickness: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=2,
        description="Width of the outline in pixels.",
        examples=[2, "$inputs.thickness"],
    )

    block_info = BlockInfo(
        name="Polygon Visualization",
        short="Outline the mask of each segmented object.",
        category="visualization",
    )


class PolygonManifest(_PolygonFields):
    type: Literal["roboflow_core/polygon_visualization@v1", "PolygonVisualization"]


class PolygonManifestV2(_PolygonFields):
    type: Literal["roboflow_core/polygon_visualization@v2"]


@register_block
class PolygonVisualizationBlock(VisualizationBlock):
    """The outline of each mask (of each box when the detections have no masks)."""

    manifest: ClassVar[type[BlockManifest]] = PolygonManifest

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
        colors = (color_palette, palette_size, custom_colors, color_axis)
        if predictions.mask is None:
            # boxes have no outline to trace: their rectangles stand in (as in the reference)
            annotator: Any = self.colored_annotator(
                *colors,
                lambda palette, lookup: sv.BoxAnnotator(
                    color=palette, color_lookup=lookup, thickness=thickness
                ),
                "boxes",
                thickness,
            )
        else:
            annotator = self.colored_annotator(
                *colors,
                lambda palette, lookup: sv.PolygonAnnotator(
                    color=palette, color_lookup=lookup, thickness=thickness
                ),
                "polygons",
                thickness,
            )
        return self.draw(image, copy_image, annotator, detections=predictions)


@register_block
class PolygonVisualizationBlockV2(PolygonVisualizationBlock):
    """Same drawing as v1 (v2 fixed the reference's cache ignoring ``custom_colors``)."""

    manifest = PolygonManifestV2


# ---------------------------------------------------------------------------------------------
# roboflow_core/halo_visualization@v1 and @v2
# ---------------------------------------------------------------------------------------------
class _HaloFields(ColorableVisualizationManifest):
    predictions: DataSelector(INSTANCE_SEGMENTATION_PREDICTION_KIND) = _SEGMENTATION_FIELD
    opacity: Union[FloatZeroToOne, DataSelector(FLOAT_ZERO_TO_ONE_KIND)] = Field(
        default=0.8,
        description="Opacity of the halo: 0 invisible, 1 solid.",
        examples=[0.8, "$inputs.opacity"],
    )
    kernel_size: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=40,
        description="Size of the averaging kernel that spreads the halo, in pixels.",
        examples=[40, "$inputs.kernel_size"],
    )

    block_info = BlockInfo(
        name="Halo Visualization",
        short="Paint a soft glow around each segmented object.",
        category="visualization",
    )


class HaloManifest(_HaloFields):
    type: Literal["roboflow_core/halo_visualization@v1", "HaloVisualization"]


class HaloManifestV2(_HaloFields):
    type: Literal["roboflow_core/halo_visualization@v2"]


@register_block
class HaloVisualizationBlock(VisualizationBlock):
    """A blurred glow in the detection's colour around each mask (each box without masks)."""

    manifest: ClassVar[type[BlockManifest]] = HaloManifest

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
        kernel_size: int,
    ) -> dict[str, Any]:
        if len(predictions) == 0:
            return visualization_result(image, prepare_canvas(image, copy_image))
        annotator = self.colored_annotator(
            color_palette,
            palette_size,
            custom_colors,
            color_axis,
            lambda palette, lookup: sv.HaloAnnotator(
                color=palette, color_lookup=lookup, opacity=opacity, kernel_size=kernel_size
            ),
            opacity,
            kernel_size,
        )
        objects = with_box_masks(predictions, (image.height, image.width))
        return self.draw(image, copy_image, annotator, detections=objects)


@register_block
class HaloVisualizationBlockV2(HaloVisualizationBlock):
    """Same drawing as v1 (v2 fixed the reference's v1 ignoring ``kernel_size``)."""

    manifest = HaloManifestV2
