"""Image slicer blocks: tile each image into overlapping slices (the first step of SAHI).

Each slice is a crop (a numpy view) whose lineage points at the sliced image, so detections
made on slices can be stitched back. v1 lets border slices shrink to fit the image; v2 pushes
them inwards so every slice has the same size, and drops duplicate positions.

>>> slice_offsets_v1((100, 50), (60, 60), (0.0, 0.0)).tolist()
[[0, 0, 60, 50], [60, 0, 100, 50]]
>>> slice_offsets_v2((100, 50), (60, 60), (0.0, 0.0)).tolist()
[[0, 0, 60, 50], [40, 0, 100, 50]]
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import AliasChoices, Field, PositiveInt

from visionflow.blocks.base import Block, BlockInfo, BlockManifest, DataSelector, Output
from visionflow.blocks.registry import register_block
from visionflow.data.image import Image
from visionflow.spec.kinds import FLOAT_ZERO_TO_ONE_KIND, IMAGE_KIND, INTEGER_KIND

OverlapRatio = Annotated[float, Field(ge=0.0, lt=1.0)]


def _strides(slice_wh: tuple[int, int], overlap_ratio_wh: tuple[float, float]) -> tuple[int, int]:
    # int() truncation of the overlap, as the reference (and supervision) compute it
    slice_width, slice_height = slice_wh
    return (
        slice_width - int(overlap_ratio_wh[0] * slice_width),
        slice_height - int(overlap_ratio_wh[1] * slice_height),
    )


def slice_offsets_v1(
    resolution_wh: tuple[int, int],
    slice_wh: tuple[int, int],
    overlap_ratio_wh: tuple[float, float],
) -> np.ndarray:
    """``[x_min, y_min, x_max, y_max]`` of every slice, row by row; border slices are clipped."""
    image_width, image_height = resolution_wh
    width_stride, height_stride = _strides(slice_wh, overlap_ratio_wh)
    x_min, y_min = np.meshgrid(
        np.arange(0, image_width, width_stride), np.arange(0, image_height, height_stride)
    )
    x_max = np.clip(x_min + slice_wh[0], 0, image_width)
    y_max = np.clip(y_min + slice_wh[1], 0, image_height)
    return np.stack([x_min, y_min, x_max, y_max], axis=-1).reshape(-1, 4)


def slice_offsets_v2(
    resolution_wh: tuple[int, int],
    slice_wh: tuple[int, int],
    overlap_ratio_wh: tuple[float, float],
) -> np.ndarray:
    """Like v1, but border slices are moved inwards to keep the slice size, without duplicates.

    A slice larger than the image is reduced to the image size.
    """
    image_width, image_height = resolution_wh
    slice_width = min(slice_wh[0], image_width)
    slice_height = min(slice_wh[1], image_height)
    width_stride, height_stride = _strides((slice_width, slice_height), overlap_ratio_wh)
    xs: np.ndarray = np.arange(0, image_width, width_stride)
    ys: np.ndarray = np.arange(0, image_height, height_stride)
    # how far each slice would stick out past the right / bottom edge
    xs = xs - np.clip(xs + slice_width - image_width, 0, slice_width)
    ys = ys - np.clip(ys + slice_height - image_height, 0, slice_height)
    x_min, y_min = np.meshgrid(xs, ys)
    x_max = np.clip(x_min + slice_width, 0, image_width)
    y_max = np.clip(y_min + slice_height, 0, image_height)
    boxes = np.stack([x_min, y_min, x_max, y_max], axis=-1).reshape(-1, 4)
    # np.unique sorts; keep the first occurrence of each box in row-major order instead
    _, first = np.unique(boxes, axis=0, return_index=True)
    return boxes[np.sort(first)].reshape(-1, 4)


def slice_image(image: Image, offsets: np.ndarray) -> list[dict[str, Any]]:
    """One ``{"slices": crop}`` per box (boxes from the offset functions are never empty).

    Slices carry no video metadata of their own, as in the reference.
    """
    results: list[dict[str, Any]] = []
    for x_min, y_min, x_max, y_max in offsets.tolist():
        crop = image.crop(x_min, y_min, x_max, y_max, crop_id=f"image_slicer.{uuid.uuid4()}")
        crop.video_metadata = None
        results.append({"slices": crop})
    return results


class _ImageSlicerManifest(BlockManifest):
    """Fields shared by both versions (same names, defaults and bounds in the reference)."""

    image: DataSelector(IMAGE_KIND) = Field(
        title="Image to slice",
        description="Image to cut into overlapping tiles.",
        examples=["$inputs.image", "$steps.cropping.crops"],
        validation_alias=AliasChoices("image", "images"),
    )
    slice_width: Union[PositiveInt, DataSelector(INTEGER_KIND)] = Field(
        default=640,
        description="Width of a slice in pixels; best set to the model's input width.",
        examples=[320, 640, "$inputs.slice_width"],
    )
    slice_height: Union[PositiveInt, DataSelector(INTEGER_KIND)] = Field(
        default=640,
        description="Height of a slice in pixels; best set to the model's input height.",
        examples=[320, 640, "$inputs.slice_height"],
    )
    overlap_ratio_width: Union[OverlapRatio, DataSelector(FLOAT_ZERO_TO_ONE_KIND)] = Field(
        default=0.2,
        description="Fraction of a slice's width shared with its horizontal neighbour, [0, 1).",
        examples=[0.2, "$inputs.overlap_ratio_width"],
    )
    overlap_ratio_height: Union[OverlapRatio, DataSelector(FLOAT_ZERO_TO_ONE_KIND)] = Field(
        default=0.2,
        description="Fraction of a slice's height shared with its vertical neighbour, [0, 1).",
        examples=[0.2, "$inputs.overlap_ratio_height"],
    )

    outputs = (Output("slices", IMAGE_KIND),)
    output_dimensionality_offset = 1


class ImageSlicerV1Manifest(_ImageSlicerManifest):
    type: Literal["roboflow_core/image_slicer@v1"]
    block_info = BlockInfo(
        name="Image Slicer",
        short="Tile an image into overlapping slices to detect small objects (SAHI).",
        long="Border slices are smaller when the image size is not a multiple of the stride.",
        category="transformation",
    )


class ImageSlicerV2Manifest(_ImageSlicerManifest):
    type: Literal["roboflow_core/image_slicer@v2"]
    block_info = BlockInfo(
        name="Image Slicer",
        short="Tile an image into equally sized, overlapping slices to detect small objects.",
        long=(
            "Border slices are moved inwards so that every slice has the same size (at most the "
            "image size); duplicate slices are dropped."
        ),
        category="transformation",
    )


@register_block
class ImageSlicerV1Block(Block):
    """One ``{"slices"}`` element per tile of each image."""

    manifest = ImageSlicerV1Manifest

    def run(
        self,
        image: Image,
        slice_width: int,
        slice_height: int,
        overlap_ratio_width: float,
        overlap_ratio_height: float,
    ) -> list[dict[str, Any]]:
        offsets = slice_offsets_v1(
            (image.width, image.height),
            (slice_width, slice_height),
            (overlap_ratio_width, overlap_ratio_height),
        )
        return slice_image(image, offsets)


@register_block
class ImageSlicerV2Block(Block):
    """One ``{"slices"}`` element per distinct, equally sized tile of each image."""

    manifest = ImageSlicerV2Manifest

    def run(
        self,
        image: Image,
        slice_width: int,
        slice_height: int,
        overlap_ratio_width: float,
        overlap_ratio_height: float,
    ) -> list[dict[str, Any]]:
        offsets = slice_offsets_v2(
            (image.width, image.height),
            (slice_width, slice_height),
            (overlap_ratio_width, overlap_ratio_height),
        )
        return slice_image(image, offsets)


__all__ = [
    "ImageSlicerV1Block",
    "ImageSlicerV1Manifest",
    "ImageSlicerV2Block",
    "ImageSlicerV2Manifest",
    "slice_image",
    "slice_offsets_v1",
    "slice_offsets_v2",
]
