"""Crop blocks: one crop per detection (dynamic), or one fixed region per image (static).

Crops are numpy views of their parent with lineage (parent id, offsets in the parent and in the
root image), so detections made on a crop can be mapped back to the input image.

>>> import numpy as np
>>> from visionflow.data.image import Image
>>> image = Image(np.zeros((100, 200, 3), dtype=np.uint8), parent_id="image")
>>> crop = take_absolute_crop(image, x_center=100, y_center=50, width=20, height=10)
>>> crop.numpy_image.shape, crop.origin.offset_x, crop.origin.offset_y
((10, 20, 3), 90, 45)
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Annotated, Any, Literal, Union, cast

import cv2
import numpy as np
import supervision as sv
from pydantic import AliasChoices, Field, PositiveInt

from visionflow.blocks.base import Batch, Block, BlockInfo, BlockManifest, DataSelector, Output
from visionflow.blocks.registry import register_block
from visionflow.data.detections import DETECTION_ID_KEY, shift_detections
from visionflow.data.image import Image
from visionflow.spec.kinds import (
    FLOAT_ZERO_TO_ONE_KIND,
    IMAGE_KIND,
    INSTANCE_SEGMENTATION_PREDICTION_KIND,
    INTEGER_KIND,
    KEYPOINT_DETECTION_PREDICTION_KIND,
    OBJECT_DETECTION_PREDICTION_KIND,
    RGB_COLOR_KIND,
    STRING_KIND,
)

DETECTIONS_KINDS = (
    OBJECT_DETECTION_PREDICTION_KIND,
    INSTANCE_SEGMENTATION_PREDICTION_KIND,
    KEYPOINT_DETECTION_PREDICTION_KIND,
)

FloatZeroToOne = Annotated[float, Field(ge=0.0, le=1.0)]

#: The image field of crop blocks; ``image`` is accepted as well as ``images``.
_IMAGES_FIELD = Field(
    title="Image",
    description="The image to crop.",
    examples=["$inputs.image", "$steps.cropping.crops"],
    validation_alias=AliasChoices("images", "image"),
)


# ---------------------------------------------------------------------------------------------
# roboflow_core/dynamic_crop@v1
# ---------------------------------------------------------------------------------------------
class DynamicCropManifest(BlockManifest):
    type: Literal["roboflow_core/dynamic_crop@v1", "DynamicCrop", "Crop"]
    images: DataSelector(IMAGE_KIND) = Field(
        title="Image to Crop",
        description="Image(s) to cut the regions from (crops of crops work too).",
        examples=["$inputs.image", "$steps.cropping.crops"],
        validation_alias=AliasChoices("images", "image"),
    )
    predictions: DataSelector(*DETECTIONS_KINDS) = Field(
        title="Regions of Interest",
        description="Detections whose boxes define the crops; one crop per box.",
        examples=["$steps.my_object_detection_model.predictions"],
        validation_alias=AliasChoices("predictions", "detections"),
    )
    # the bounds go on the literal only: a selector is a string and has none
    mask_opacity: Union[DataSelector(FLOAT_ZERO_TO_ONE_KIND), FloatZeroToOne] = Field(
        default=0.0,
        description=(
            "With segmentation masks: how strongly pixels outside the mask are replaced by "
            "`background_color` (0 keeps the crop unchanged, 1 replaces them fully)."
        ),
    )
    background_color: Union[
        DataSelector(STRING_KIND),
        DataSelector(RGB_COLOR_KIND),
        str,
        tuple[int, int, int],
    ] = Field(
        default=(0, 0, 0),
        description=(
            "RGB colour put outside the mask when `mask_opacity` > 0: '#rrggbb', '#rgb', "
            "'(r, g, b)' or a tuple."
        ),
        examples=["#431112", "$inputs.bg_color", (18, 17, 67)],
    )

    block_info = BlockInfo(
        name="Dynamic Crop",
        short="Cut one image per detected box, for a second model to look at.",
        category="transformation",
    )
    outputs = (Output("crops", IMAGE_KIND), Output("predictions", *DETECTIONS_KINDS))
    batch_fields = ("images", "predictions")
    output_dimensionality_offset = 1


@register_block
class DynamicCropBlock(Block):
    """One ``{"crops", "predictions"}`` element per detection of each image."""

    manifest = DynamicCropManifest

    def run(
        self,
        images: Batch[Image],
        predictions: Batch[sv.Detections],
        mask_opacity: float,
        background_color: str | tuple[int, int, int],
    ) -> list[list[dict[str, Any]]]:
        return [
            crop_detections(image, detections, mask_opacity, background_color)
            for image, detections in zip(images, predictions, strict=True)
        ]


def crop_detections(
    image: Image,
    detections: sv.Detections,
    mask_opacity: float = 0.0,
    background_color: str | tuple[int, int, int] | list[int] = (0, 0, 0),
) -> list[dict[str, Any]]:
    """Crop every box of ``detections`` out of ``image``.

    Each element holds the crop (its id is the detection id) and that single detection moved
    into the crop's coordinates. A box with no pixels inside the image gives
    ``{"crops": None, "predictions": None}``.
    """
    if len(detections) == 0:
        return []
    if DETECTION_ID_KEY not in detections.data:
        raise ValueError(
            f"the detections lack the '{DETECTION_ID_KEY}' column that names each crop; "
            "connect the output of a detection model (or a block that keeps detection ids)"
        )
    height, width = image.numpy_image.shape[:2]
    # Boxes partly outside the image are clipped to it (the reference wraps negative
    # coordinates around instead, as numpy slicing does).
    boxes = np.round(detections.xyxy).astype(int)
    boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, width)
    boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, height)
    bgr_color = color_to_bgr(background_color) if mask_opacity > 0 else (0, 0, 0)
    masks = _dense_masks(detections.mask)
    results: list[dict[str, Any]] = []
    for idx, ((x_min, y_min, x_max, y_max), detection_id) in enumerate(
        zip(boxes.tolist(), detections.data[DETECTION_ID_KEY], strict=True)
    ):
        if x_max <= x_min or y_max <= y_min:
            results.append({"crops": None, "predictions": None})
            continue
        crop = image.crop(x_min, y_min, x_max, y_max, crop_id=str(detection_id))
        # The reference gives dynamic crops no video metadata of their own.
        crop.video_metadata = None
        if mask_opacity > 0 and masks is not None:
            pixels = overlay_crop_with_mask(
                crop.numpy_image, masks[idx, y_min:y_max, x_min:x_max], mask_opacity, bgr_color
            )
            crop = crop.derive(pixels)
        results.append(
            {
                "crops": crop,
                "predictions": _detection_in_crop(
                    detections, idx, masks, x_min, y_min, x_max, y_max
                ),
            }
        )
    return results


def _detection_in_crop(
    detections: sv.Detections,
    idx: int,
    masks: np.ndarray | None,
    x_min: int,
    y_min: int,
    x_max: int,
    y_max: int,
) -> sv.Detections:
    """Detection ``idx`` in the crop's coordinates (box, keypoints, polygon, oriented box).

    Like the reference, lineage columns are left as they were: they still name the image
    the detection was made on.
    """
    single = replace(cast(sv.Detections, detections[[idx]]), mask=None)
    moved = shift_detections(single, -x_min, -y_min)
    if masks is not None:
        moved.mask = masks[idx : idx + 1, y_min:y_max, x_min:x_max].copy()
    return moved


def _dense_masks(mask: Any) -> np.ndarray | None:
    if mask is None or isinstance(mask, np.ndarray):
        return mask
    if hasattr(mask, "to_dense"):  # supervision's CompactMask
        return mask.to_dense()
    return np.asarray(mask)


def overlay_crop_with_mask(
    crop: np.ndarray,
    mask: np.ndarray,
    mask_opacity: float,
    bgr_color: tuple[int, int, int],
) -> np.ndarray:
    """Blend ``crop`` with a version whose pixels outside ``mask`` are ``bgr_color``."""
    background = np.empty_like(crop)
    background[:] = np.asarray(bgr_color, dtype=np.uint8)
    inside = np.asarray(mask) > 0
    if inside.ndim == 2:
        inside = inside[:, :, None]
    blended = np.where(inside, crop, background)
    return cv2.addWeighted(blended, mask_opacity, crop, 1.0 - mask_opacity, 0)


def color_to_bgr(color: str | tuple[int, ...] | list[int]) -> tuple[int, int, int]:
    """Parse '#rrggbb', '#rgb', '(r, g, b)' or an (r, g, b) sequence into a BGR tuple.

    >>> color_to_bgr("#ff0000"), color_to_bgr("#0f0"), color_to_bgr("(1, 2, 3)")
    ((0, 0, 255), (0, 255, 0), (3, 2, 1))
    """
    if isinstance(color, (tuple, list)) and len(color) == 3:
        r, g, b = (int(c) for c in color)
        return b, g, r
    if isinstance(color, str):
        text = color.strip()
        try:
            if text.startswith("#") and len(text) == 7:
                return int(text[5:7], 16), int(text[3:5], 16), int(text[1:3], 16)
            if text.startswith("#") and len(text) == 4:
                return int(text[3] * 2, 16), int(text[2] * 2, 16), int(text[1] * 2, 16)
            if text.startswith("(") and text.endswith(")"):
                parts = [int(p) for p in text[1:-1].split(",")]
                if len(parts) == 3:
                    return parts[2], parts[1], parts[0]
        except ValueError:
            pass
    raise ValueError(
        f"invalid colour {color!r}: expected '#rrggbb', '#rgb', '(r, g, b)' or three integers"
    )


# ---------------------------------------------------------------------------------------------
# Static crops
# ---------------------------------------------------------------------------------------------
def _static_crop(
    image: Image, x_min: int, y_min: int, x_max: int, y_max: int, prefix: str
) -> Image | None:
    """Crop clipped to the image; None when nothing is left. Keeps video metadata."""
    height, width = image.numpy_image.shape[:2]
    x_min, y_min = max(0, x_min), max(0, y_min)
    x_max, y_max = min(width, x_max), min(height, y_max)
    if x_max <= x_min or y_max <= y_min:
        return None
    crop_id = f"{prefix}.{uuid.uuid4()}"
    crop = image.crop(x_min, y_min, x_max, y_max, crop_id=crop_id)
    if image.video_metadata is not None:
        # The reference names the crop's stream after its parent's, so that stateful blocks
        # (trackers) keep a separate state per crop region.
        crop.video_metadata = replace(
            image.video_metadata,
            video_identifier=f"{image.video_metadata.video_identifier} | crop: {crop_id}",
        )
    return crop


def _box_around(x_center: float, y_center: float, width: float, height: float) -> tuple[int, ...]:
    # Python's round (half to even) as the reference does.
    x_min = round(x_center - width / 2)
    y_min = round(y_center - height / 2)
    return x_min, y_min, round(x_min + width), round(y_min + height)


def take_absolute_crop(
    image: Image, x_center: int, y_center: int, width: int, height: int
) -> Image | None:
    """The ``width`` x ``height`` region centred on (x_center, y_center), in pixels."""
    x_min, y_min, x_max, y_max = _box_around(x_center, y_center, width, height)
    return _static_crop(image, x_min, y_min, x_max, y_max, "absolute_static_crop")


def take_relative_crop(
    image: Image, x_center: float, y_center: float, width: float, height: float
) -> Image | None:
    """Like ``take_absolute_crop`` with every value a fraction of the image size."""
    image_height, image_width = image.numpy_image.shape[:2]
    x_min, y_min, x_max, y_max = _box_around(
        round(image_width * x_center),
        round(image_height * y_center),
        round(image_width * width),
        round(image_height * height),
    )
    return _static_crop(image, x_min, y_min, x_max, y_max, "relative_static_crop")


class AbsoluteStaticCropManifest(BlockManifest):
    type: Literal["roboflow_core/absolute_static_crop@v1", "AbsoluteStaticCrop"]
    images: DataSelector(IMAGE_KIND) = _IMAGES_FIELD
    x_center: Union[PositiveInt, DataSelector(INTEGER_KIND)] = Field(
        description="Centre of the crop, x in pixels.", examples=[40, "$inputs.center_x"]
    )
    y_center: Union[PositiveInt, DataSelector(INTEGER_KIND)] = Field(
        description="Centre of the crop, y in pixels.", examples=[40, "$inputs.center_y"]
    )
    width: Union[PositiveInt, DataSelector(INTEGER_KIND)] = Field(
        description="Width of the crop in pixels (clipped to the image).",
        examples=[40, "$inputs.width"],
    )
    height: Union[PositiveInt, DataSelector(INTEGER_KIND)] = Field(
        description="Height of the crop in pixels (clipped to the image).",
        examples=[40, "$inputs.height"],
    )

    block_info = BlockInfo(
        name="Absolute Static Crop",
        short="Cut the same pixel region out of every image.",
        category="transformation",
    )
    outputs = (Output("crops", IMAGE_KIND),)
    batch_fields = ("images",)


@register_block
class AbsoluteStaticCropBlock(Block):
    """One crop (or None when the region misses the image) per image."""

    manifest = AbsoluteStaticCropManifest

    def run(
        self, images: Batch[Image], x_center: int, y_center: int, width: int, height: int
    ) -> list[dict[str, Any]]:
        return [
            {"crops": take_absolute_crop(image, x_center, y_center, width, height)}
            for image in images
        ]


class RelativeStaticCropManifest(BlockManifest):
    # "statoic" is the reference's spelling of the identifier; definitions depend on it.
    type: Literal["roboflow_core/relative_statoic_crop@v1", "RelativeStaticCrop"]
    images: DataSelector(IMAGE_KIND) = _IMAGES_FIELD
    x_center: Union[FloatZeroToOne, DataSelector(FLOAT_ZERO_TO_ONE_KIND)] = Field(
        description="Centre of the crop, x as a fraction of the image width.",
        examples=[0.3, "$inputs.center_x"],
    )
    y_center: Union[FloatZeroToOne, DataSelector(FLOAT_ZERO_TO_ONE_KIND)] = Field(
        description="Centre of the crop, y as a fraction of the image height.",
        examples=[0.3, "$inputs.center_y"],
    )
    width: Union[FloatZeroToOne, DataSelector(FLOAT_ZERO_TO_ONE_KIND)] = Field(
        description="Width of the crop as a fraction of the image width.",
        examples=[0.3, "$inputs.width"],
    )
    height: Union[FloatZeroToOne, DataSelector(FLOAT_ZERO_TO_ONE_KIND)] = Field(
        description="Height of the crop as a fraction of the image height.",
        examples=[0.3, "$inputs.height"],
    )

    block_info = BlockInfo(
        name="Relative Static Crop",
        short="Cut the same region, given as fractions of the image size, out of every image.",
        category="transformation",
    )
    outputs = (Output("crops", IMAGE_KIND),)
    batch_fields = ("images",)


@register_block
class RelativeStaticCropBlock(Block):
    """One crop (or None when the region misses the image) per image."""

    manifest = RelativeStaticCropManifest

    def run(
        self, images: Batch[Image], x_center: float, y_center: float, width: float, height: float
    ) -> list[dict[str, Any]]:
        return [
            {"crops": take_relative_crop(image, x_center, y_center, width, height)}
            for image in images
        ]


__all__ = [
    "AbsoluteStaticCropBlock",
    "AbsoluteStaticCropManifest",
    "DynamicCropBlock",
    "DynamicCropManifest",
    "RelativeStaticCropBlock",
    "RelativeStaticCropManifest",
    "color_to_bgr",
    "crop_detections",
    "overlay_crop_with_mask",
    "take_absolute_crop",
    "take_relative_crop",
]
