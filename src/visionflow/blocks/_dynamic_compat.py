"""Names that inline Python blocks written for the reference use (``WorkflowImageData`` ...).

Code in ``dynamic_blocks_definitions`` was written against the reference's classes; these thin
equivalents let the common idioms run unchanged: reading ``image.numpy_image``, making a new
image with ``WorkflowImageData.copy_and_replace(origin_image_data=image, numpy_image=array)``
or a crop with ``WorkflowImageData.create_crop(...)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from visionflow.data.image import Image, Origin, VideoMetadata


@dataclass(frozen=True)
class OriginCoordinatesSystem:
    left_top_x: int
    left_top_y: int
    origin_width: int
    origin_height: int


@dataclass(frozen=True)
class ImageParentMetadata:
    parent_id: str
    origin_coordinates: OriginCoordinatesSystem | None = None


def _origin(value: OriginCoordinatesSystem | None) -> Origin | None:
    if value is None:
        return None
    return Origin(value.left_top_x, value.left_top_y, value.origin_width, value.origin_height)


class WorkflowImageData(Image):
    """An ``Image`` built with the reference's constructor and helpers."""

    __slots__ = ()

    def __init__(
        self,
        parent_metadata: ImageParentMetadata,
        numpy_image: np.ndarray | None = None,
        base64_image: str | None = None,
        video_metadata: VideoMetadata | None = None,
        workflow_root_ancestor_metadata: ImageParentMetadata | None = None,
        **_: Any,
    ) -> None:
        root = workflow_root_ancestor_metadata or parent_metadata
        super().__init__(
            numpy_image,
            parent_id=parent_metadata.parent_id,
            base64_value=base64_image,
            origin=_origin(parent_metadata.origin_coordinates),
            root_id=root.parent_id,
            root_origin=_origin(root.origin_coordinates),
            video_metadata=video_metadata,
        )

    @classmethod
    def copy_and_replace(cls, origin_image_data: Image, **changes: Any) -> Image:
        """The same image (lineage kept) with new pixels (``numpy_image=...``)."""
        array = changes.get("numpy_image")
        if array is None:
            return origin_image_data
        return origin_image_data.derive(array)

    @classmethod
    def create_crop(
        cls,
        origin_image_data: Image,
        crop_identifier: str,
        cropped_image: np.ndarray,
        offset_x: int,
        offset_y: int,
        preserve_video_metadata: bool = False,
    ) -> Image:
        """A crop of ``origin_image_data`` whose pixels are ``cropped_image``."""
        height, width = cropped_image.shape[:2]
        crop = origin_image_data.crop(
            offset_x, offset_y, offset_x + width, offset_y + height, crop_id=crop_identifier
        )
        crop = crop.derive(cropped_image)
        if not preserve_video_metadata:
            crop.video_metadata = None
        return crop


__all__ = ["ImageParentMetadata", "OriginCoordinatesSystem", "WorkflowImageData"]
