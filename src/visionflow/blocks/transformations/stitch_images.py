"""Stitch images: join two overlapping photos into one (a two-image panorama).

SIFT keypoints are matched between the images (Lowe's ratio test), a homography is fitted with
RANSAC, one image is warped into the other's plane and the other pasted over it. When no
homography can be found (too little overlap or texture) the output is ``None``.
"""

from __future__ import annotations

import logging
from typing import Literal, Optional, Union

import cv2
import numpy as np
from pydantic import AliasChoices, Field

from visionflow.blocks.base import Block, BlockInfo, BlockManifest, DataSelector, Output
from visionflow.blocks.registry import register_block
from visionflow.data.image import Image
from visionflow.spec.kinds import FLOAT_ZERO_TO_ONE_KIND, IMAGE_KIND, INTEGER_KIND

logger = logging.getLogger(__name__)

#: Lowe's ratio: a match is kept when clearly better than the second best.
_RATIO = 0.75


class StitchImagesManifest(BlockManifest):
    type: Literal["roboflow_core/stitch_images@v1"]
    image1: DataSelector(IMAGE_KIND) = Field(
        title="First image to stitch",
        description="One of the two overlapping images (textured overlap matches best).",
        examples=["$inputs.image1"],
        validation_alias=AliasChoices("image1"),
    )
    image2: DataSelector(IMAGE_KIND) = Field(
        title="Second image to stitch",
        description="The other overlapping image.",
        examples=["$inputs.image2"],
        validation_alias=AliasChoices("image2"),
    )
    max_allowed_reprojection_error: Union[Optional[float], DataSelector(FLOAT_ZERO_TO_ONE_KIND)] = (
        Field(
            default=3,
            description=(
                "Largest distance in pixels at which a matched point still agrees with the "
                "homography (RANSAC); raise it for images with little detail."
            ),
            examples=[3, "$inputs.max_allowed_reprojection_error"],
        )
    )
    count_of_best_matches_per_query_descriptor: Union[Optional[int], DataSelector(INTEGER_KIND)] = (
        Field(
            default=2,
            description=(
                "How many nearest descriptors to find for each keypoint (k of the k-nearest "
                "matching; at least 2 for the ratio test)."
            ),
            examples=[2, "$inputs.k"],
        )
    )

    block_info = BlockInfo(
        name="Stitch Images",
        short="Stitch two images by their common parts.",
        category="transformation",
    )
    outputs = (Output("stitched_image", IMAGE_KIND),)


@register_block
class StitchImagesBlock(Block):
    """One stitched image (or None when the images cannot be aligned) per pair."""

    manifest = StitchImagesManifest

    def run(
        self,
        image1: Image,
        image2: Image,
        max_allowed_reprojection_error: float,
        count_of_best_matches_per_query_descriptor: float,
    ) -> dict[str, Image | None]:
        if count_of_best_matches_per_query_descriptor == 0:
            raise ValueError("count_of_best_matches_per_query_descriptor must be greater than 0")
        try:
            pixels = stitch_pixels(
                image1.numpy_image,
                image2.numpy_image,
                abs(round(count_of_best_matches_per_query_descriptor)),
                abs(max_allowed_reprojection_error),
            )
        except Exception as error:  # any failure to align means "no panorama", as in the reference
            logger.info("stitching %s and %s failed: %s", image1.parent_id, image2.parent_id, error)
            return {"stitched_image": None}
        return {
            "stitched_image": Image(pixels, parent_id=f"{image1.parent_id} + {image2.parent_id}")
        }


def stitch_pixels(
    image1: np.ndarray, image2: np.ndarray, k: int, max_reprojection_error: float
) -> np.ndarray:
    """The two images in one canvas; raises when they cannot be aligned.

    The image whose keypoints lie further left on average ends up on the left: the other one is
    pasted at the origin and the first warped around it (the reference's arrangement).
    """
    sift = cv2.SIFT.create()
    # no mask: every pixel may hold a keypoint (the stubs omit None, OpenCV accepts it)
    keypoints_1, descriptors_1 = sift.detectAndCompute(image1, None)  # type: ignore[call-overload]
    keypoints_2, descriptors_2 = sift.detectAndCompute(image2, None)  # type: ignore[call-overload]
    if descriptors_1 is None or descriptors_2 is None:
        raise ValueError("an image has no keypoints to match (too little texture)")
    matches = cv2.BFMatcher.create().knnMatch(descriptors_1, descriptors_2, k=k)
    good = [m[0] for m in matches if m[0].distance < _RATIO * m[1].distance]
    points_1 = np.array([keypoints_1[m.queryIdx].pt for m in good], np.float32).reshape(-1, 1, 2)
    points_2 = np.array([keypoints_2[m.trainIdx].pt for m in good], np.float32).reshape(-1, 1, 2)

    image1_left = np.mean([kp.pt[0] for kp in keypoints_1]) < np.mean(
        [kp.pt[0] for kp in keypoints_2]
    )
    # As in the reference, the homography maps the points of one image onto the other while
    # the image pasted unwarped is the *other* one of the pair.
    if image1_left:
        source_points, target_points, pasted, warped = points_1, points_2, image2, image1
    else:
        source_points, target_points, pasted, warped = points_2, points_1, image1, image2
    matrix, _ = cv2.findHomography(source_points, target_points, cv2.RANSAC, max_reprojection_error)

    pasted_h, pasted_w = pasted.shape[:2]
    warped_h, warped_w = warped.shape[:2]
    corners = np.array([[0, 0], [0, warped_h], [warped_w, warped_h], [warped_w, 0]], np.float32)
    moved = cv2.perspectiveTransform(corners.reshape(-1, 1, 2), matrix)
    # truncated towards zero, as the reference's np.int32 conversion does
    x_min, y_min = (int(v) for v in moved.min(axis=0).ravel().astype(np.int32))
    x_max, y_max = (int(v) for v in moved.max(axis=0).ravel().astype(np.int32))
    x_max, y_max = max(x_max, pasted_w), max(y_max, pasted_h)
    shift_x, shift_y = max(0, -x_min), max(0, -y_min)
    translation = np.array([[1, 0, shift_x], [0, 1, shift_y], [0, 0, 1]])
    canvas = cv2.warpPerspective(warped, translation @ matrix, (x_max - x_min, y_max - y_min))
    if shift_x + pasted_w <= canvas.shape[1] and shift_y + pasted_h <= canvas.shape[0]:
        canvas[shift_y : shift_y + pasted_h, shift_x : shift_x + pasted_w] = pasted
    return canvas


__all__ = ["StitchImagesBlock", "StitchImagesManifest", "stitch_pixels"]
