"""Visualizations that annotate an image as a whole: classification labels, a comparison of two
models' predictions, and icons (a watermark, or one icon per detection).

>>> labels_for([{"class": "cat", "confidence": 0.912}], "Class and Confidence")
['cat 0.91']
"""

from __future__ import annotations

from typing import Any, Literal, Optional, Union

import cv2
import numpy as np
import supervision as sv
from pydantic import Field, model_validator

from visionflow.blocks.base import BlockInfo, DataSelector, InputSelector, StepOutputSelector
from visionflow.blocks.registry import register_block
from visionflow.blocks.visualizations._base import (
    PREDICTIONS_KINDS,
    ColorableVisualizationManifest,
    FloatZeroToOne,
    PositionName,
    VisualizationBlock,
    VisualizationManifest,
    build_position,
    prepare_canvas,
    str_to_color,
    visualization_result,
)
from visionflow.data.image import Image
from visionflow.spec.kinds import (
    CLASSIFICATION_PREDICTION_KIND,
    FLOAT_KIND,
    FLOAT_ZERO_TO_ONE_KIND,
    IMAGE_KIND,
    INTEGER_KIND,
    STRING_KIND,
)

LabelPosition = Literal[
    "CENTER",
    "CENTER_LEFT",
    "CENTER_RIGHT",
    "TOP_CENTER",
    "TOP_LEFT",
    "TOP_RIGHT",
    "BOTTOM_LEFT",
    "BOTTOM_CENTER",
    "BOTTOM_RIGHT",
]


# ---------------------------------------------------------------------------------------------
# roboflow_core/classification_label_visualization@v1
# ---------------------------------------------------------------------------------------------
class ClassificationLabelVisualizationManifest(ColorableVisualizationManifest):
    type: Literal["roboflow_core/classification_label_visualization@v1"]
    predictions: StepOutputSelector(CLASSIFICATION_PREDICTION_KIND) = Field(
        description=(
            "Predictions of a single-label (the top class is shown) or multi-label (every "
            "predicted class is shown, best first) classifier."
        ),
        examples=["$steps.classification_model.predictions"],
    )
    text: Union[
        Literal["Class", "Confidence", "Class and Confidence"], InputSelector(STRING_KIND)
    ] = Field(
        default="Class",
        description="What each label says: the class, the confidence, or both.",
        examples=["Class", "$inputs.text"],
    )
    text_position: Union[LabelPosition, InputSelector(STRING_KIND)] = Field(
        default="TOP_LEFT",
        description="Where the labels go on the image; several labels are stacked.",
        examples=["CENTER", "$inputs.text_position"],
    )
    text_color: Union[str, InputSelector(STRING_KIND)] = Field(
        default="WHITE",
        description="Colour of the text: a name (WHITE), '#RRGGBB' or 'rgb(R, G, B)'.",
        examples=["WHITE", "#FFFFFF", "$inputs.text_color"],
    )
    text_scale: Union[float, InputSelector(FLOAT_KIND)] = Field(
        default=1.0,
        description="Size of the text.",
        examples=[1.0, "$inputs.text_scale"],
    )
    text_thickness: Union[int, InputSelector(INTEGER_KIND)] = Field(
        default=1,
        description="Stroke thickness of the text in pixels.",
        examples=[1, "$inputs.text_thickness"],
    )
    text_padding: Union[int, InputSelector(INTEGER_KIND)] = Field(
        default=10,
        description="Space around the text inside its background, and between stacked labels.",
        examples=[10, "$inputs.text_padding"],
    )
    border_radius: Union[int, InputSelector(INTEGER_KIND)] = Field(
        default=0,
        description="Radius of the label background's corners (0: square).",
        examples=[0, "$inputs.border_radius"],
    )

    block_info = BlockInfo(
        name="Classification Label Visualization",
        short="Write a classifier's top class (or classes) on the image.",
        category="visualization",
    )


def ranked_classes(predictions: dict[str, Any]) -> list[dict[str, Any]]:
    """The classes to show, best first: the top one (single-label) or every predicted one."""
    entries = predictions.get("predictions")
    if isinstance(entries, list):
        return sorted(entries, key=lambda entry: entry["confidence"], reverse=True)[:1]
    if not isinstance(entries, dict):
        raise ValueError(
            "expected classification predictions: 'predictions' must be a list (single-label) "
            f"or a dict (multi-label), got {type(entries).__name__}"
        )
    chosen = [
        {
            "class": name,
            "class_id": entries[name]["class_id"],
            "confidence": entries[name]["confidence"],
        }
        for name in predictions.get("predicted_classes") or ()
    ]
    return sorted(chosen, key=lambda entry: entry["confidence"], reverse=True)


def labels_for(classes: list[dict[str, Any]], text: str) -> list[str]:
    """Label strings for ``classes`` according to the ``text`` option."""
    if text == "Class":
        return [f"{entry['class']}" for entry in classes]
    if text == "Confidence":
        return [f"{entry['confidence']:.2f}" for entry in classes]
    if text == "Class and Confidence":
        return [f"{entry['class']} {entry['confidence']:.2f}" for entry in classes]
    raise ValueError(f"text must be 'Class', 'Confidence' or 'Class and Confidence', got {text!r}")


def label_rows(
    count: int,
    labels: list[str],
    text_position: str,
    width: float,
    height: float,
    text_scale: float,
    text_thickness: int,
    text_padding: int,
) -> tuple[np.ndarray, list[int]]:
    """Boxes whose ``text_position`` anchor places each of ``count`` stacked labels.

    Returns the boxes and the order (indices into ``labels``) they are drawn in. The spacing
    follows the reference: an OpenCV line of 20 px at scale 1, plus padding and stroke.
    """
    spacing = 20 * text_scale + 2 * text_padding + 2 * text_thickness + 5
    rows = np.arange(count, dtype=float)
    if text_position.startswith("BOTTOM"):
        # Best label at the bottom: the order is reversed and rows grow upwards.
        order = list(range(count))[::-1]
        bottoms = height - (spacing + rows * spacing)
        boxes = np.stack([np.zeros(count), np.zeros(count), np.full(count, width), bottoms], axis=1)
        return boxes, order
    order = list(range(count))
    if text_position.startswith("CENTER"):
        start = max(0.0, min((height - spacing * count) / 2, height - spacing * count))
        tops, bottoms = start + rows * spacing, start + (rows + 1) * spacing
        # Width guessed from the longest label (15 px per character at scale 1).
        label_width = max(len(label) for label in labels) * 15 * text_scale + 2 * text_padding
        margin = label_width + 20 + max(0, 10 - text_padding) * 3
        x_min, x_max = 0.0, float(width)
        if text_position == "CENTER_LEFT":
            x_min = margin
        elif text_position == "CENTER_RIGHT":
            x_max = width - margin
        boxes = np.stack([np.full(count, x_min), tops, np.full(count, x_max), bottoms], axis=1)
        return boxes, order
    tops = spacing + rows * spacing
    boxes = np.stack([np.zeros(count), tops, np.full(count, width), np.full(count, height)], 1)
    return boxes, order


@register_block
class ClassificationLabelVisualizationBlock(VisualizationBlock):
    """Writes the predicted class (or classes) in a corner, an edge or the centre."""

    manifest = ClassificationLabelVisualizationManifest

    def run(
        self,
        image: Image,
        predictions: dict[str, Any],
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
        classes = ranked_classes(predictions)
        scene = prepare_canvas(image, copy_image)
        if not classes:
            return visualization_result(image, scene)
        labels = labels_for(classes, text)
        # Laid out on the size the classifier saw (the reference's choice), else the image's.
        size = predictions.get("image") or {}
        boxes, order = label_rows(
            len(classes),
            labels,
            text_position,
            size.get("width", image.width),
            size.get("height", image.height),
            text_scale,
            text_thickness,
            text_padding,
        )
        annotator = self.colored_annotator(
            color_palette,
            palette_size,
            custom_colors,
            color_axis,
            lambda palette, lookup: sv.LabelAnnotator(
                color=palette,
                color_lookup=lookup,
                text_position=build_position(text_position),
                text_color=str_to_color(text_color),
                text_scale=text_scale,
                text_thickness=text_thickness,
                text_padding=text_padding,
                border_radius=border_radius,
            ),
            "classification_label",
            text_position,
            text_color,
            text_scale,
            text_thickness,
            text_padding,
            border_radius,
        )
        shown = [classes[i] for i in order]
        pseudo = sv.Detections(
            xyxy=boxes.astype(float),
            class_id=np.array([entry["class_id"] for entry in shown]),
            confidence=np.array([entry["confidence"] for entry in shown], dtype=float),
            tracker_id=np.zeros(len(shown), dtype=int),
        )
        annotated = annotator.annotate(
            scene=scene, detections=pseudo, labels=[labels[i] for i in order]
        )
        return visualization_result(image, annotated)


# ---------------------------------------------------------------------------------------------
# roboflow_core/model_comparison_visualization@v1
# ---------------------------------------------------------------------------------------------
class ModelComparisonVisualizationManifest(VisualizationManifest):
    type: Literal["roboflow_core/model_comparison_visualization@v1"]
    predictions_a: DataSelector(*PREDICTIONS_KINDS) = Field(
        description="Predictions of the first model; what only it found is tinted `color_a`.",
        examples=["$steps.object_detection_model.predictions"],
    )
    color_a: Union[str, DataSelector(STRING_KIND)] = Field(
        default="GREEN",
        description="Colour of the areas only model A predicted.",
        examples=["GREEN", "#FFFFFF", "$inputs.color_a"],
    )
    predictions_b: DataSelector(*PREDICTIONS_KINDS) = Field(
        description="Predictions of the second model; what only it found is tinted `color_b`.",
        examples=["$steps.object_detection_model.predictions"],
    )
    color_b: Union[str, DataSelector(STRING_KIND)] = Field(
        default="RED",
        description="Colour of the areas only model B predicted.",
        examples=["RED", "#FFFFFF", "$inputs.color_b"],
    )
    background_color: Union[str, DataSelector(STRING_KIND)] = Field(
        default="BLACK",
        description="Colour of the areas neither model predicted.",
        examples=["BLACK", "#FFFFFF", "$inputs.background_color"],
    )
    opacity: Union[FloatZeroToOne, DataSelector(FLOAT_ZERO_TO_ONE_KIND)] = Field(
        default=0.7,
        description="Opacity of the tints (0 to 1). Areas both models predicted stay as they are.",
        examples=[0.7, "$inputs.opacity"],
    )

    block_info = BlockInfo(
        name="Model Comparison Visualization",
        short="Show where two models' predictions agree and differ.",
        category="visualization",
    )


def coverage(detections: sv.Detections, shape: tuple[int, int]) -> np.ndarray:
    """Boolean map of the pixels a model predicted: its masks, else its boxes."""
    covered = np.zeros(shape, dtype=bool)
    if detections.mask is not None:
        if len(detections):
            covered |= np.any(np.asarray(detections.mask, dtype=bool), axis=0)
        return covered
    height, width = shape
    boxes = detections.xyxy.astype(int)
    # Clipped to the image: a negative coordinate would otherwise wrap around.
    boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, width)
    boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, height)
    for x_min, y_min, x_max, y_max in boxes.tolist():
        covered[y_min:y_max, x_min:x_max] = True
    return covered


def compare_models(
    scene: np.ndarray,
    detections_a: sv.Detections,
    detections_b: sv.Detections,
    colors_bgr: tuple[tuple[int, int, int], tuple[int, int, int], tuple[int, int, int]],
    opacity: float,
) -> np.ndarray:
    """Tint ``scene`` in place: only-A areas, only-B areas and areas neither model covered."""
    shape = scene.shape[:2]
    covered_a, covered_b = coverage(detections_a, shape), coverage(detections_b, shape)
    color_a, color_b, background = colors_bgr
    overlay = np.empty_like(scene)
    overlay[...] = background
    only_a, only_b = covered_a & ~covered_b, covered_b & ~covered_a
    overlay[only_a] = color_a
    overlay[only_b] = color_b
    tinted = ~(covered_a & covered_b)
    blended = cv2.addWeighted(scene, 1 - opacity, overlay, opacity, 0)
    scene[tinted] = blended[tinted]
    return scene


@register_block
class ModelComparisonVisualizationBlock(VisualizationBlock):
    """Tints what only model A found, what only model B found, and what neither found."""

    manifest = ModelComparisonVisualizationManifest

    def run(
        self,
        image: Image,
        predictions_a: sv.Detections,
        color_a: str,
        predictions_b: sv.Detections,
        color_b: str,
        background_color: str,
        opacity: float,
        copy_image: bool,
    ) -> dict[str, Any]:
        colors = (
            str_to_color(color_a).as_bgr(),
            str_to_color(color_b).as_bgr(),
            str_to_color(background_color).as_bgr(),
        )
        scene = prepare_canvas(image, copy_image)
        annotated = compare_models(scene, predictions_a, predictions_b, colors, opacity)
        return visualization_result(image, annotated)


# ---------------------------------------------------------------------------------------------
# roboflow_core/icon_visualization@v1
# ---------------------------------------------------------------------------------------------
class IconVisualizationManifest(VisualizationManifest):
    type: Literal["roboflow_core/icon_visualization@v1", "IconVisualization"]
    icon: DataSelector(IMAGE_KIND) = Field(
        title="Icon Image",
        description=(
            "The icon. A PNG with transparency keeps it when sent as base64; otherwise the "
            "icon is opaque."
        ),
        examples=["$inputs.icon", "$steps.image_loader.image"],
    )
    mode: Union[Literal["static", "dynamic"], DataSelector(STRING_KIND)] = Field(
        default="dynamic",
        description=(
            "'static': one icon at (`x_position`, `y_position`), e.g. a watermark; 'dynamic': "
            "one icon on every detection of `predictions`."
        ),
        examples=["static", "dynamic", "$inputs.mode"],
    )
    predictions: Optional[DataSelector(*PREDICTIONS_KINDS)] = Field(
        default=None,
        description="Detections to put icons on (needed in dynamic mode).",
        examples=["$steps.object_detection_model.predictions"],
    )
    icon_width: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=64,
        description="Width of the icon in pixels (it is fitted into width x height).",
        examples=[64, "$inputs.icon_width"],
    )
    icon_height: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=64,
        description="Height of the icon in pixels (it is fitted into width x height).",
        examples=[64, "$inputs.icon_height"],
    )
    position: Optional[Union[PositionName, DataSelector(STRING_KIND)]] = Field(
        default="TOP_CENTER",
        description="Dynamic mode: the point of each box the icon is centred on.",
        examples=["TOP_CENTER", "$inputs.position"],
    )
    x_position: Optional[Union[int, DataSelector(INTEGER_KIND)]] = Field(
        default=10,
        description="Static mode: left edge of the icon; negative counts from the right edge.",
        examples=[10, -10, "$inputs.x_position"],
    )
    y_position: Optional[Union[int, DataSelector(INTEGER_KIND)]] = Field(
        default=10,
        description="Static mode: top edge of the icon; negative counts from the bottom edge.",
        examples=[10, -10, "$inputs.y_position"],
    )

    block_info = BlockInfo(
        name="Icon Visualization",
        short="Draw an icon at a fixed place or on every detection.",
        category="visualization",
    )

    @model_validator(mode="after")
    def _dynamic_needs_predictions(self) -> IconVisualizationManifest:
        if self.mode == "dynamic" and self.predictions is None:
            raise ValueError("'predictions' is required in dynamic mode")
        return self


def icon_with_alpha(icon: Image) -> np.ndarray:
    """The icon as BGRA: its own transparency when it came encoded (PNG), else opaque.

    Decoded images lose their alpha channel, so it is recovered from the encoded input.
    """
    encoded = icon.encoded_bytes()
    if encoded is not None:
        decoded = cv2.imdecode(np.frombuffer(encoded, np.uint8), cv2.IMREAD_UNCHANGED)
        if decoded is not None and decoded.ndim == 3 and decoded.shape[2] == 4:
            if decoded.dtype == np.uint16:
                decoded = np.clip(np.rint(decoded / 256), 0, 255).astype(np.uint8)
            return decoded
    pixels = icon.numpy_image
    alpha = np.full(pixels.shape[:2] + (1,), 255, dtype=np.uint8)
    return np.concatenate([pixels, alpha], axis=2)


def overlay_icon(scene: np.ndarray, icon: np.ndarray, x: int, y: int) -> None:
    """Alpha-blend the BGRA ``icon`` onto ``scene`` with its top-left corner at (x, y)."""
    scene_height, scene_width = scene.shape[:2]
    icon_height, icon_width = icon.shape[:2]
    x_min, y_min = max(x, 0), max(y, 0)
    x_max, y_max = min(x + icon_width, scene_width), min(y + icon_height, scene_height)
    if x_min >= x_max or y_min >= y_max:
        return
    patch = icon[y_min - y : y_max - y, x_min - x : x_max - x]
    alpha = patch[:, :, 3:4].astype(np.float32) / 255.0
    region = scene[y_min:y_max, x_min:x_max].astype(np.float32)
    blended = region * (1 - alpha) + patch[:, :, :3].astype(np.float32) * alpha
    scene[y_min:y_max, x_min:x_max] = np.clip(blended, 0, 255).astype(np.uint8)


def icon_centres(
    mode: str,
    scene_shape: tuple[int, ...],
    predictions: sv.Detections | None,
    icon_size: tuple[int, int],
    position: str | None,
    x_position: int | None,
    y_position: int | None,
) -> np.ndarray:
    """Where the icons' centres go, as an (N, 2) integer array."""
    icon_width, icon_height = icon_size
    if mode == "static":
        height, width = scene_shape[:2]
        x = x_position or 0
        y = y_position or 0
        left = width + x - icon_width if x < 0 else x
        top = height + y - icon_height if y < 0 else y
        return np.array([[left + icon_width // 2, top + icon_height // 2]])
    if mode != "dynamic":
        raise ValueError(f"mode must be 'static' or 'dynamic', got {mode!r}")
    if predictions is None or len(predictions) == 0 or position is None:
        return np.empty((0, 2), dtype=int)
    anchors = predictions.get_anchors_coordinates(anchor=build_position(position))
    return anchors.astype(int)


@register_block
class IconVisualizationBlock(VisualizationBlock):
    """Draws the icon once (static) or centred on a point of every detection (dynamic)."""

    manifest = IconVisualizationManifest

    def run(
        self,
        image: Image,
        copy_image: bool,
        mode: str,
        icon: Image,
        predictions: sv.Detections | None,
        icon_width: int,
        icon_height: int,
        position: str | None,
        x_position: int | None,
        y_position: int | None,
    ) -> dict[str, Any]:
        scene = prepare_canvas(image, copy_image)
        centres = icon_centres(
            mode,
            scene.shape,
            predictions,
            (icon_width, icon_height),
            position,
            x_position,
            y_position,
        )
        if len(centres):
            fitted = sv.letterbox_image(icon_with_alpha(icon), (icon_width, icon_height))
            fitted_height, fitted_width = fitted.shape[:2]
            for centre_x, centre_y in centres.tolist():
                left = int(centre_x - fitted_width / 2)
                top = int(centre_y - fitted_height / 2)
                overlay_icon(scene, fitted, left, top)
        return visualization_result(image, scene)


__all__ = [
    "ClassificationLabelVisualizationBlock",
    "ClassificationLabelVisualizationManifest",
    "IconVisualizationBlock",
    "IconVisualizationManifest",
    "ModelComparisonVisualizationBlock",
    "ModelComparisonVisualizationManifest",
    "compare_models",
    "coverage",
    "icon_centres",
    "icon_with_alpha",
    "label_rows",
    "labels_for",
    "overlay_icon",
    "ranked_classes",
]
