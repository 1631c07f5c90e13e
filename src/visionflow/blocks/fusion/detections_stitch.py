"""``detections_stitch``: detections made on slices or crops of an image, as one set of
detections of that image (with duplicates from overlapping slices suppressed or merged).

>>> import numpy as np
>>> from visionflow.data.detections import make_detections
>>> from visionflow.data.image import Image
>>> image = Image(np.zeros((100, 200, 3), dtype=np.uint8), parent_id="image")
>>> tile = image.crop(100, 0, 200, 100, crop_id="tile")
>>> on_tile = make_detections([[10, 10, 20, 20]], [0.9], [0], ["dog"], tile)
>>> stitch_detections(image, [on_tile], "nms", 0.3).xyxy.tolist()
[[110.0, 10.0, 120.0, 20.0]]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Union

import numpy as np
import supervision as sv
from pydantic import Field

from visionflow.blocks.base import Batch, Block, BlockInfo, BlockManifest, DataSelector, Output
from visionflow.blocks.registry import register_block
from visionflow.data.detections import (
    ORIENTED_BOX_COORDINATES_KEY,
    PARENT_COORDINATES_KEY,
    attach_image_metadata,
    copy_detections,
    merge_detections,
)
from visionflow.data.image import Image
from visionflow.spec.kinds import (
    FLOAT_ZERO_TO_ONE_KIND,
    IMAGE_KIND,
    INSTANCE_SEGMENTATION_PREDICTION_KIND,
    OBJECT_DETECTION_PREDICTION_KIND,
    STRING_KIND,
)

SCALING_RELATIVE_TO_PARENT_KEY = "scaling_relative_to_parent"
OverlapStrategy = Literal["none", "nms", "nmm"]


class DetectionsStitchManifest(BlockManifest):
    type: Literal["roboflow_core/detections_stitch@v1"]
    reference_image: DataSelector(IMAGE_KIND) = Field(
        description="The image that was sliced or cropped: the stitched boxes are in its frame.",
        examples=["$inputs.image"],
    )
    predictions: DataSelector(
        OBJECT_DETECTION_PREDICTION_KIND, INSTANCE_SEGMENTATION_PREDICTION_KIND
    ) = Field(
        description="Detections made on the slices or crops (one level below the image).",
        examples=["$steps.slice_model.predictions"],
    )
    overlap_filtering_strategy: Union[OverlapStrategy, DataSelector(STRING_KIND)] = Field(
        default="nms",
        description=(
            "What to do with overlapping boxes from overlapping slices: keep them ('none'), "
            "keep the most confident ('nms') or merge them ('nmm')."
        ),
        examples=["none", "nms", "nmm", "$inputs.filtering_strategy"],
    )
    iou_threshold: Union[float, DataSelector(FLOAT_ZERO_TO_ONE_KIND)] = Field(
        default=0.3,
        ge=0.0,
        le=1.0,
        description="Boxes overlapping by more than this IoU count as the same object.",
        examples=[0.3, "$inputs.iou_threshold"],
    )

    block_info = BlockInfo(
        name="Detections Stitch",
        short="Merge detections made on slices or crops back into their image.",
        category="fusion",
    )
    outputs = (
        Output(
            "predictions", OBJECT_DETECTION_PREDICTION_KIND, INSTANCE_SEGMENTATION_PREDICTION_KIND
        ),
    )
    input_dimensionality_offsets = {"predictions": 1}
    dimensionality_reference = "reference_image"


@register_block
class DetectionsStitchBlock(Block):
    """One set of detections per image from the detections of its slices."""

    manifest = DetectionsStitchManifest

    def run(
        self,
        reference_image: Image,
        predictions: Batch[sv.Detections],
        overlap_filtering_strategy: str = "nms",
        iou_threshold: float = 0.3,
    ) -> dict[str, Any]:
        return {
            "predictions": stitch_detections(
                reference_image, list(predictions), overlap_filtering_strategy, iou_threshold
            )
        }


def stitch_detections(
    image: Image,
    pieces: Sequence[sv.Detections | None],
    strategy: str = "nms",
    iou_threshold: float = 0.3,
) -> sv.Detections:
    """Detections of ``pieces`` (each made on a slice of ``image``) in ``image``'s frame."""
    if strategy not in ("none", "nms", "nmm"):
        raise ValueError(
            f"unknown overlap filtering strategy {strategy!r}; use 'none', 'nms' or 'nmm'"
        )
    height, width = image.numpy_image.shape[:2]
    moved = [_to_image(piece, image, (width, height)) for piece in pieces if piece is not None]
    with_masks = [d.mask is not None for d in moved if len(d)]
    if any(with_masks) and not all(with_masks):
        raise ValueError(
            "some slices' detections have segmentation masks and others do not; connect "
            "predictions of a single model"
        )
    if not moved:
        return attach_image_metadata(sv.Detections.empty(), image)
    merged = merge_detections(moved)
    if strategy == "none" or len(merged) == 0:
        return merged
    if strategy == "nms":
        return merged.with_nms(threshold=iou_threshold)
    return merged.with_nmm(threshold=iou_threshold)


def _to_image(piece: sv.Detections, image: Image, resolution_wh: tuple[int, int]) -> sv.Detections:
    """A copy of one slice's detections moved by the slice's offset into the image."""
    result = copy_detections(piece)
    if len(result) == 0:
        return attach_image_metadata(result, image)
    _refuse_scaled(result)
    offset = _slice_offset(result)
    attach_image_metadata(result, image)
    result.xyxy = result.xyxy + np.tile(offset, 2)
    if ORIENTED_BOX_COORDINATES_KEY in result.data:
        result.data[ORIENTED_BOX_COORDINATES_KEY] = (
            np.asarray(result.data[ORIENTED_BOX_COORDINATES_KEY]) + offset
        )
    if result.mask is not None:
        dense = result.mask if isinstance(result.mask, np.ndarray) else result.mask.to_dense()
        result.mask = sv.move_masks(
            masks=dense.astype(bool), offset=offset.astype(int), resolution_wh=resolution_wh
        )
    return result


def _slice_offset(detections: sv.Detections) -> np.ndarray:
    """(x, y) of the slice in its parent, from the first box (all boxes share the slice)."""
    column = detections.data.get(PARENT_COORDINATES_KEY)
    if column is not None and len(column):
        return np.asarray(column[0][:2], dtype=float)
    known = detections.metadata.get(PARENT_COORDINATES_KEY)
    if known is not None:
        return np.asarray(known[:2], dtype=float)
    raise ValueError(
        f"the detections do not say where their slice lies in the image (no "
        f"'{PARENT_COORDINATES_KEY}'); connect predictions made on crops or slices"
    )


def _refuse_scaled(detections: sv.Detections) -> None:
    scale = detections.data.get(SCALING_RELATIVE_TO_PARENT_KEY)
    if scale is not None and abs(float(scale[0]) - 1.0) > 1e-4:
        raise ValueError(
            "the detections were made on a resized image, which stitching cannot map back; "
            "connect predictions made on slices or crops of the image"
        )


__all__ = ["DetectionsStitchBlock", "DetectionsStitchManifest", "stitch_detections"]
