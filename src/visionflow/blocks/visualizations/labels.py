"""Label visualizations: a text tag per detection (class, confidence, size, tracker id...).

>>> import numpy as np
>>> import supervision as sv
>>> detections = sv.Detections(
...     xyxy=np.array([[0.0, 0.0, 10.0, 20.0]]),
...     confidence=np.array([0.875]),
...     class_id=np.array([1]),
...     data={"class_name": np.array(["dog"])},
... )
>>> detection_labels(detections, "Class and Confidence"), detection_labels(detections, "Dimensions")
(['dog 0.88'], ['5, 10 10x20'])
"""

from __future__ import annotations

from typing import Any, Literal, Union, get_args

import supervision as sv
from pydantic import Field

from visionflow.blocks.base import BlockInfo, DataSelector
from visionflow.blocks.registry import register_block
from visionflow.blocks.visualizations._base import (
    ColorableVisualizationManifest,
    PositionName,
    VisualizationBlock,
    build_position,
    prepare_canvas,
    str_to_color,
    visualization_result,
)
from visionflow.data.detections import (
    AREA_CONVERTED_KEY,
    AREA_KEY,
    CLASS_NAME_KEY,
    TIME_IN_ZONE_KEY,
)
from visionflow.data.image import Image
from visionflow.spec.kinds import FLOAT_KIND, INTEGER_KIND, STRING_KIND

LabelText = Literal[
    "Class",
    "Confidence",
    "Class and Confidence",
    "Index",
    "Dimensions",
    "Area",
    "Area (mask)",
    "Area (converted)",
    "Tracker Id",
    "Time In Zone",
]

TEXT_SIZE_MODE_MANUAL = "Manual"
TEXT_SIZE_MODE_AUTOMATIC = "Automatic"

# "Automatic" text size: the manual scale is meant for an image whose shorter side is 1080 px
# (where 0.7 reads well) and is scaled with the image, within these bounds.
_REFERENCE_SHORT_SIDE_PX = 1080
_MIN_TEXT_SCALE = 0.3
_MAX_TEXT_SCALE = 5.0


def _confidences(predictions: sv.Detections) -> list[str]:
    if predictions.confidence is None:
        return ["N/A"] * len(predictions)
    return [f"{confidence:.2f}" for confidence in predictions.confidence]


def _optional_numbers(predictions: sv.Detections, key: str, prefix: str) -> list[str]:
    values = predictions.data.get(key)
    if values is None:
        return [f"{prefix}: N/A"] * len(predictions)
    return [f"{prefix}: {value:.2f}" if value is not None else f"{prefix}: N/A" for value in values]


def detection_labels(predictions: sv.Detections, text: str) -> list[str] | None:
    """The label of every detection for a ``text`` option (or the name of a data column).

    ``None`` (for ``"Class"`` without class names) lets supervision label by class id.
    """
    if text == "Class":
        names = predictions.data.get(CLASS_NAME_KEY)
        return None if names is None else [str(name) for name in names]
    if text == "Confidence":
        return _confidences(predictions)
    if text == "Class and Confidence":
        names = predictions.data.get(CLASS_NAME_KEY)
        if names is None:
            return _confidences(predictions)
        return [
            f"{name} {score}" for name, score in zip(names, _confidences(predictions), strict=True)
        ]
    if text == "Index":
        return [str(i) for i in range(len(predictions))]
    if text == "Dimensions":
        return [
            f"{int((x1 + x2) / 2)}, {int((y1 + y2) / 2)} {int(x2 - x1)}x{int(y2 - y1)}"
            for x1, y1, x2, y2 in predictions.xyxy
        ]
    if text == "Area":
        return [str(int(area)) for area in predictions.area]
    if text == "Area (mask)":
        return _optional_numbers(predictions, AREA_KEY, "Area (mask)")
    if text == "Area (converted)":
        return _optional_numbers(predictions, AREA_CONVERTED_KEY, "Area (conv)")
    if text == "Tracker Id":
        if predictions.tracker_id is None:
            return ["No Tracker ID"] * len(predictions)
        return [str(tracker_id) for tracker_id in predictions.tracker_id]
    if text == "Time In Zone":
        times = predictions.data.get(TIME_IN_ZONE_KEY)
        if times is None:
            return ["In zone: N/A"] * len(predictions)
        # as the reference: a time of 0 also reads "N/A"
        return [f"In zone: {round(t, 2)}s" if t else "In zone: N/A" for t in times]
    column = predictions.data.get(text)
    if column is None:
        raise ValueError(
            f"invalid label text {text!r}: expected one of {', '.join(get_args(LabelText))} "
            f"or the name of a detections column ({', '.join(sorted(predictions.data)) or 'none'})"
        )
    return [str(value) if value else "" for value in column]


def adaptive_text_scale(height: int, width: int, text_scale: float, text_size_mode: str) -> float:
    """``text_scale`` itself ("Manual"), or scaled with the image size ("Automatic")."""
    if text_size_mode != TEXT_SIZE_MODE_AUTOMATIC:
        return text_scale
    scaled = text_scale * min(height, width) / _REFERENCE_SHORT_SIDE_PX
    return max(_MIN_TEXT_SCALE, min(_MAX_TEXT_SCALE, scaled))


# ---------------------------------------------------------------------------------------------
# Manifests
# ---------------------------------------------------------------------------------------------
class _LabelFields(ColorableVisualizationManifest):
    text: Union[LabelText, DataSelector(STRING_KIND)] = Field(
        default="Class",
        description=(
            "What each label says; a string that names a detections column (e.g. 'tracker_id' "
            "or a custom property) shows that column's values."
        ),
        examples=["LABEL", "$inputs.text"],
    )
    text_position: Union[PositionName, DataSelector(STRING_KIND)] = Field(
        default="TOP_LEFT",
        description="Where the label sits relative to each detection's box.",
        examples=["CENTER", "$inputs.text_position"],
    )
    text_color: Union[str, DataSelector(STRING_KIND)] = Field(
        default="WHITE",
        description="Colour of the text: '#RRGGBB', 'rgb(R, G, B)' or a name such as 'WHITE'.",
        examples=["WHITE", "#FFFFFF", "rgb(255, 255, 255)", "$inputs.text_color"],
    )


class _LabelStyleFields(_LabelFields):
    text_scale: Union[float, DataSelector(FLOAT_KIND)] = Field(
        default=1.0,
        description="Size of the text (OpenCV font scale).",
        examples=[1.0, "$inputs.text_scale"],
    )
    text_thickness: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=1,
        description="Stroke width of the text in pixels.",
        examples=[1, "$inputs.text_thickness"],
    )
    text_padding: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=10,
        description="Space between the text and the edge of its background, in pixels.",
        examples=[10, "$inputs.text_padding"],
    )
    border_radius: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=0,
        description="Corner radius of the label background in pixels.",
        examples=[0, "$inputs.border_radius"],
    )


_LABEL_INFO = BlockInfo(
    name="Label Visualization",
    short="Write a label (class, confidence, size...) on each detected object.",
    category="visualization",
)


class LabelManifest(_LabelStyleFields):
    type: Literal["roboflow_core/label_visualization@v1", "LabelVisualization"]

    block_info = _LABEL_INFO


class LabelManifestV2(_LabelStyleFields):
    type: Literal["roboflow_core/label_visualization@v2"]
    text_size_mode: Union[Literal["Manual", "Automatic"], DataSelector(STRING_KIND)] = Field(
        default=TEXT_SIZE_MODE_MANUAL,
        title="Size mode",
        description=(
            "'Manual' uses `text_scale` as given; 'Automatic' scales it with the image so "
            "labels keep their apparent size (`text_scale` is then meant for a 1080 px image)."
        ),
        examples=["Manual", "Automatic", "$inputs.text_size_mode"],
    )

    block_info = _LABEL_INFO


# ---------------------------------------------------------------------------------------------
# Blocks
# ---------------------------------------------------------------------------------------------
class _LabelBlock(VisualizationBlock):
    def _label(
        self,
        image: Image,
        predictions: sv.Detections,
        copy_image: bool,
        colors: tuple[str, int, list[str], str],
        text: str,
        text_position: str,
        text_color: str,
        style: tuple[float, int, int, int],
    ) -> dict[str, Any]:
        if len(predictions) == 0:
            return visualization_result(image, prepare_canvas(image, copy_image))
        text_scale, text_thickness, text_padding, border_radius = style

        def build(palette: sv.ColorPalette, lookup: sv.ColorLookup) -> sv.LabelAnnotator:
            return sv.LabelAnnotator(
                color=palette,
                color_lookup=lookup,
                text_position=build_position(text_position),
                text_color=str_to_color(text_color),
                text_scale=text_scale,
                text_thickness=text_thickness,
                text_padding=text_padding,
                border_radius=border_radius,
            )

        annotator = self.colored_annotator(*colors, build, text_position, text_color, *style)
        labels = detection_labels(predictions, text)
        return self.draw(image, copy_image, annotator, detections=predictions, labels=labels)


@register_block
class LabelVisualizationBlock(_LabelBlock):
    """A text tag per detection, on a background in the detection's colour."""

    manifest = LabelManifest

    def run(
        self,
        image: Image,
        predictions: sv.Detections,
        copy_image: bool,
        color_palette: str,
        palette_size: int,
        custom_colors: list[str],
        color_axis: str,
        text: str,
        text_position: str,
        text_color: str,
        text_scale: float,
        text_thickness: int,
        text_padding: int,
        border_radius: int,
    ) -> dict[str, Any]:
        return self._label(
            image,
            predictions,
            copy_image,
            (color_palette, palette_size, custom_colors, color_axis),
            text,
            text_position,
            text_color,
            (text_scale, text_thickness, text_padding, border_radius),
        )


@register_block
class LabelVisualizationBlockV2(_LabelBlock):
    """Labels whose size can follow the image's size (``text_size_mode``)."""

    manifest = LabelManifestV2

    def run(
        self,
        image: Image,
        predictions: sv.Detections,
        copy_image: bool,
        color_palette: str,
        palette_size: int,
        custom_colors: list[str],
        color_axis: str,
        text: str,
        text_position: str,
        text_color: str,
        text_size_mode: str,
        text_scale: float,
        text_thickness: int,
        text_padding: int,
        border_radius: int,
    ) -> dict[str, Any]:
        scale = adaptive_text_scale(
            image.height, image.width, text_scale, text_size_mode or TEXT_SIZE_MODE_MANUAL
        )
        return self._label(
            image,
            predictions,
            copy_image,
            (color_palette, palette_size, custom_colors, color_axis),
            text,
            text_position,
            text_color,
            (scale, text_thickness, text_padding, border_radius),
        )
