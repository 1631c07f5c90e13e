"""Perspective correction: map detections (and optionally the image) from a tilted view of a
quadrilateral onto an upright rectangle, as seen from straight above.

>>> import numpy as np
>>> polygons = pick_largest_polygons([[0, 100], [0, 0], [100, 0], [100, 100]], batch_size=2)
>>> len(polygons), polygons[0].tolist()
(2, [[0, 100], [0, 0], [100, 0], [100, 100]])
"""

from __future__ import annotations

from typing import Any, Literal, Optional, Union

import cv2
import numpy as np
import supervision as sv
from pydantic import AliasChoices, Field

from visionflow.blocks.base import Batch, Block, BlockInfo, BlockManifest, DataSelector, Output
from visionflow.blocks.registry import register_block
from visionflow.blocks.transformations._perspective_geometry import (
    ALL_POSITIONS,
    perspective_matrix,
)
from visionflow.data.detections import (
    KEYPOINTS_XY_KEY_IN_SV_DETECTIONS,
    ORIENTED_BOX_COORDINATES_KEY,
    copy_detections,
)
from visionflow.data.image import Image
from visionflow.spec.kinds import (
    BOOLEAN_KIND,
    IMAGE_KIND,
    INSTANCE_SEGMENTATION_PREDICTION_KIND,
    INTEGER_KIND,
    LIST_OF_VALUES_KIND,
    OBJECT_DETECTION_PREDICTION_KIND,
    STRING_KIND,
)

_ANCHORS = ", ".join([*sv.Position.list(), ALL_POSITIONS])


class PerspectiveCorrectionManifest(BlockManifest):
    type: Literal["roboflow_core/perspective_correction@v1", "PerspectiveCorrection"]
    predictions: Optional[
        DataSelector(OBJECT_DETECTION_PREDICTION_KIND, INSTANCE_SEGMENTATION_PREDICTION_KIND)
    ] = Field(
        default=None,
        description=(
            "Detections to map into the corrected view (boxes, masks, keypoints and oriented "
            "boxes are transformed). Optional: without them only the image is warped."
        ),
        examples=["$steps.object_detection_model.predictions"],
    )
    images: DataSelector(IMAGE_KIND) = Field(
        title="Image to Crop",
        description="The image seen in perspective; warped when `warp_image` is true.",
        examples=["$inputs.image", "$steps.cropping.crops"],
        validation_alias=AliasChoices("images", "image"),
    )
    perspective_polygons: Union[list, DataSelector(LIST_OF_VALUES_KIND)] = Field(
        description=(
            "The quadrilateral (four [x, y] vertices) that becomes the upright rectangle; one "
            "per image, or several per image of which the largest is used."
        ),
        examples=[
            "$steps.perspective_wrap.zones",
            [[100, 100], [500, 100], [500, 400], [100, 400]],
        ],
    )
    transformed_rect_width: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=1000,
        description="Width in pixels of the rectangle the quadrilateral is mapped onto.",
        examples=[1000, 1920],
    )
    transformed_rect_height: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=1000,
        description="Height in pixels of the rectangle the quadrilateral is mapped onto.",
        examples=[1000, 1080],
    )
    extend_perspective_polygon_by_detections_anchor: Union[str, DataSelector(STRING_KIND)] = Field(
        default="",
        description=(
            "Widen the quadrilateral so that this anchor of every detection lies inside it "
            f"(one of {_ANCHORS}; {ALL_POSITIONS} keeps whole boxes inside). The output "
            "rectangle grows in proportion. Empty: no widening."
        ),
        examples=["CENTER", "BOTTOM_CENTER", ALL_POSITIONS],
    )
    warp_image: Union[bool, DataSelector(BOOLEAN_KIND)] = Field(
        default=False,
        description="Also warp the image into the corrected view (otherwise it is passed on).",
        examples=[False, True],
    )

    block_info = BlockInfo(
        name="Perspective Correction",
        short="Map detections and images from a tilted view onto an upright rectangle.",
        category="transformation",
    )
    outputs = (
        Output(
            "corrected_coordinates",
            OBJECT_DETECTION_PREDICTION_KIND,
            INSTANCE_SEGMENTATION_PREDICTION_KIND,
        ),
        Output("warped_image", IMAGE_KIND),
        Output("extended_transformed_rect_width", INTEGER_KIND),
        Output("extended_transformed_rect_height", INTEGER_KIND),
    )
    batch_fields = ("images", "predictions")
    batch_or_scalar_fields = (
        "perspective_polygons",
        "transformed_rect_width",
        "transformed_rect_height",
    )


@register_block
class PerspectiveCorrectionBlock(Block):
    """One corrected set of detections (and image) per input image."""

    manifest = PerspectiveCorrectionManifest

    def run(
        self,
        images: Batch[Image],
        predictions: Batch[sv.Detections | None] | None,
        perspective_polygons: Any,
        transformed_rect_width: int | Batch[int],
        transformed_rect_height: int | Batch[int],
        extend_perspective_polygon_by_detections_anchor: str,
        warp_image: bool,
    ) -> list[dict[str, Any]]:
        size = len(images)
        if size == 0:
            return []
        polygons = pick_largest_polygons(perspective_polygons, size)
        widths = _per_element(transformed_rect_width, size)
        heights = _per_element(transformed_rect_height, size)
        detections_list = list(predictions) if predictions is not None else [None] * size
        results = []
        for image, detections, polygon, width, height in zip(
            images, detections_list, polygons, widths, heights, strict=True
        ):
            matrix, extended_width, extended_height = perspective_matrix(
                polygon,
                width,
                height,
                detections=detections,
                anchor=extend_perspective_polygon_by_detections_anchor,
            )
            out_width = width + round(extended_width)
            out_height = height + round(extended_height)
            warped = image
            if warp_image:
                size_wh = (
                    round(width) + round(extended_width),
                    round(height) + round(extended_height),
                )
                warped = image.derive(cv2.warpPerspective(image.numpy_image, matrix, size_wh))
            corrected = (
                None
                if detections is None
                else correct_detections(detections, matrix, out_width, out_height)
            )
            results.append(
                {
                    "corrected_coordinates": corrected,
                    "warped_image": warped,
                    "extended_transformed_rect_width": out_width,
                    "extended_transformed_rect_height": out_height,
                }
            )
        return results


def _per_element(value: Any, size: int) -> list[Any]:
    if isinstance(value, Batch):
        return list(value)
    return [value] * size


# ---------------------------------------------------------------------------------------------
# Choosing the quadrilateral of each element
# ---------------------------------------------------------------------------------------------
def pick_largest_polygons(value: Any, batch_size: int) -> list[np.ndarray]:
    """One quadrilateral per element from ``perspective_polygons``.

    A parameter holds either a single quadrilateral (used for every image) or one entry per
    image; a batch holds one entry per image. An entry is a quadrilateral or a list of polygons,
    of which the largest with four vertices is used.
    """
    if isinstance(value, Batch):
        entries = list(value)
    elif isinstance(value, (list, tuple, np.ndarray)):
        entries = [value] if _is_quadrilateral(value) else list(value)
    else:
        raise ValueError(
            "perspective_polygons must be a list of four [x, y] vertices or a list of such "
            f"polygons, got {type(value).__name__}"
        )
    if not entries:
        raise ValueError("perspective_polygons is empty: give four [x, y] vertices")
    polygons = [_largest_quadrilateral(entry, i) for i, entry in enumerate(entries)]
    if len(polygons) == 1 and batch_size > 1:
        polygons *= batch_size
    if len(polygons) != batch_size:
        raise ValueError(
            f"perspective_polygons holds {len(polygons)} polygons for {batch_size} images: "
            "give one polygon for all images or one per image"
        )
    return polygons


def _is_quadrilateral(value: Any) -> bool:
    """True for four [x, y] vertices (a list of lists, or a (4, 2) array)."""
    if isinstance(value, np.ndarray):
        return value.shape == (4, 2)
    return len(value) == 4 and all(
        isinstance(p, (list, tuple))
        and len(p) == 2
        and all(isinstance(c, (int, float, np.number)) for c in p)
        for p in value
    )


def _largest_quadrilateral(entry: Any, position: int) -> np.ndarray:
    where = f"perspective_polygons[{position}]"
    if entry is None or (isinstance(entry, (list, tuple)) and not entry):
        raise ValueError(f"{where} is empty: give four [x, y] vertices")
    if isinstance(entry, np.ndarray) and entry.dtype != object:
        if entry.shape != (4, 2):
            raise ValueError(f"{where} must have 4 [x, y] vertices, got shape {entry.shape}")
        return entry
    if not isinstance(entry, (list, tuple, np.ndarray)):
        raise ValueError(f"{where} must be a list of vertices, got {type(entry).__name__}")
    if _is_quadrilateral(entry):
        return np.array(entry)
    candidates = [np.asarray(p) for p in entry]
    # several candidates are compared on integer vertices, as the reference does
    quadrilaterals = [np.around(p).astype(np.int32) for p in candidates if p.shape == (4, 2)]
    if not quadrilaterals:
        raise ValueError(f"{where} holds no polygon with exactly 4 vertices")
    return max(quadrilaterals, key=cv2.contourArea)


# ---------------------------------------------------------------------------------------------
# Moving detections into the corrected view
# ---------------------------------------------------------------------------------------------
def correct_detections(
    detections: sv.Detections, matrix: np.ndarray, width: float, height: float
) -> sv.Detections:
    """A copy of ``detections`` mapped through the homography ``matrix``.

    Boxes become the (rounded) bounding box of their transformed corners; masks are traced,
    transformed and redrawn on a ``width`` x ``height`` canvas (the box then bounds the mask);
    keypoints and oriented boxes are transformed and rounded. Other columns are kept.
    """
    corrected = copy_detections(detections)
    if len(corrected) == 0:
        return corrected
    if corrected.mask is None:
        corrected.xyxy = transform_boxes(corrected.xyxy, matrix)
    else:
        corrected.xyxy, corrected.mask = _transform_masks(
            corrected.xyxy, _dense(corrected.mask), matrix, (round(width), round(height))
        )
    data = corrected.data
    keypoints = data.get(KEYPOINTS_XY_KEY_IN_SV_DETECTIONS)
    if keypoints is not None:
        data[KEYPOINTS_XY_KEY_IN_SV_DETECTIONS] = _transform_point_rows(keypoints, matrix)
    oriented = data.get(ORIENTED_BOX_COORDINATES_KEY)
    if oriented is not None:
        data[ORIENTED_BOX_COORDINATES_KEY] = _transform_point_rows(oriented, matrix).astype(
            np.float32
        )
    return corrected


def _transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """(..., 2) points through the homography (float32, as OpenCV computes them)."""
    flat = np.asarray(points, dtype=np.float32).reshape(-1, 1, 2)
    if len(flat) == 0:
        return flat.reshape(np.shape(points))
    return cv2.perspectiveTransform(flat, matrix).reshape(np.shape(points))


def transform_boxes(xyxy: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Rounded bounding boxes of the transformed corners of (rounded) boxes."""
    x1, y1, x2, y2 = np.around(xyxy).T
    corners = np.stack(
        [np.stack(pair, axis=1) for pair in ((x1, y1), (x2, y1), (x2, y2), (x1, y2))], axis=1
    )
    moved = _transform_points(corners, matrix)
    return np.around(np.concatenate([moved.min(axis=1), moved.max(axis=1)], axis=1)).astype(float)


def _transform_masks(
    xyxy: np.ndarray, masks: np.ndarray, matrix: np.ndarray, resolution_wh: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    width, height = resolution_wh
    new_masks = np.zeros((len(masks), height, width), dtype=np.uint8)
    new_xyxy = np.empty((len(masks), 4), dtype=float)
    for i, mask in enumerate(masks):
        outlines = [_transform_points(p, matrix) for p in sv.mask_to_polygons(mask)]
        if not outlines:
            # nothing to trace: the box is moved on its own and the mask stays empty
            new_xyxy[i] = transform_boxes(xyxy[i : i + 1], matrix)[0]
            continue
        for outline in outlines:
            cv2.fillPoly(new_masks[i], [np.around(outline).astype(np.int32)], color=(1,))
        new_xyxy[i] = np.around(sv.polygon_to_xyxy(np.concatenate(outlines)))
    return new_xyxy, new_masks.astype(bool)


def _transform_point_rows(rows: Any, matrix: np.ndarray) -> np.ndarray:
    """Per-box point arrays (rectangular or ragged) through the homography, rounded."""
    array = np.asarray(rows)
    if array.dtype != object:
        return np.around(_transform_points(array, matrix)).astype(float)
    moved = np.empty(len(array), dtype=object)
    for i, row in enumerate(array):
        moved[i] = np.around(_transform_points(np.asarray(row, dtype=float), matrix))
    return moved


def _dense(mask: Any) -> np.ndarray:
    if hasattr(mask, "to_dense"):  # supervision's CompactMask
        return np.asarray(mask.to_dense())
    return np.asarray(mask)


__all__ = [
    "PerspectiveCorrectionBlock",
    "PerspectiveCorrectionManifest",
    "correct_detections",
    "pick_largest_polygons",
    "transform_boxes",
]
