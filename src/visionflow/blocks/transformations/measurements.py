"""Measurement blocks: object sizes relative to a reference object, and mask areas.

>>> import numpy as np, supervision as sv
>>> boxes = sv.Detections(xyxy=np.array([[0.0, 0.0, 10.0, 20.0]]))
>>> measure_sizes(boxes, (10.0, 20.0), (1.0, 2.0))
[{'width': 1.0, 'height': 2.0, 'longer': 2.0, 'shorter': 1.0}]
>>> with_areas(boxes, pixels_per_unit=2.0).data["area_converted"].tolist()
[50.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Union

import cv2
import numpy as np
import supervision as sv
from pydantic import Field

from visionflow.blocks.base import Block, BlockInfo, BlockManifest, DataSelector, Output
from visionflow.blocks.registry import register_block
from visionflow.blocks.transformations._rotated_rect import min_area_rect, rect_corners
from visionflow.data.detections import AREA_CONVERTED_KEY, AREA_KEY, copy_detections
from visionflow.spec.kinds import (
    FLOAT_KIND,
    INSTANCE_SEGMENTATION_PREDICTION_KIND,
    LIST_OF_VALUES_KIND,
    OBJECT_DETECTION_PREDICTION_KIND,
    STRING_KIND,
)

BOXES_AND_MASKS_KINDS = (INSTANCE_SEGMENTATION_PREDICTION_KIND, OBJECT_DETECTION_PREDICTION_KIND)


# ---------------------------------------------------------------------------------------------
# roboflow_core/size_measurement@v1
# ---------------------------------------------------------------------------------------------
class SizeMeasurementManifest(BlockManifest):
    type: Literal["roboflow_core/size_measurement@v1"]
    object_predictions: DataSelector(*BOXES_AND_MASKS_KINDS) = Field(
        description="Detections whose sizes are measured.",
        examples=["$steps.segmentation.predictions"],
    )
    reference_predictions: Union[
        list[Any], DataSelector(*BOXES_AND_MASKS_KINDS, LIST_OF_VALUES_KIND)
    ] = Field(
        description=(
            "The reference object: detections (the most confident one is used) or a polygon "
            "given as a list of [x, y] points."
        ),
        examples=["$steps.reference_model.predictions", [[0, 0], [100, 0], [100, 50]]],
    )
    reference_dimensions: Union[
        str, tuple[float, float], list[float], DataSelector(STRING_KIND, LIST_OF_VALUES_KIND)
    ] = Field(
        description="Real width and height of the reference object: 'w,h' or [w, h].",
        examples=[(4.5, 3.0), "5.0,5.0", "$inputs.reference_dimensions"],
    )

    block_info = BlockInfo(
        name="Size Measurement",
        short="Measure objects in real-world units, relative to a reference object.",
        long=(
            "Per object: `width`, `height` (the more horizontal and more vertical sides of its "
            "minimal rotated rectangle, or of its box), `longer` and `shorter`, in the units of "
            "`reference_dimensions`; None where an object cannot be measured."
        ),
        category="transformation",
    )
    outputs = (Output("dimensions", LIST_OF_VALUES_KIND),)


@register_block
class SizeMeasurementBlock(Block):
    """One dimensions dict (or None) per object; None overall without a usable reference."""

    manifest = SizeMeasurementManifest

    def run(
        self,
        object_predictions: sv.Detections,
        reference_predictions: sv.Detections | list[Any],
        reference_dimensions: str | Sequence[float],
    ) -> dict[str, Any]:
        real_size = parse_reference_dimensions(reference_dimensions)
        reference_size = reference_pixel_size(reference_predictions)
        if reference_size is None:
            return {"dimensions": None}
        return {"dimensions": measure_sizes(object_predictions, reference_size, real_size)}


def parse_reference_dimensions(value: str | Sequence[float]) -> tuple[float, float]:
    """(width, height) from ``"w,h"`` or a two-element sequence."""
    if isinstance(value, str):
        parts = value.split(",")
        if len(parts) != 2:
            raise ValueError(
                f"reference_dimensions must be 'width,height' (e.g. '5.0,3.0'), got {value!r}"
            )
        try:
            return float(parts[0]), float(parts[1])
        except ValueError as error:
            raise ValueError(
                f"reference_dimensions must hold two numbers, got {value!r}"
            ) from error
    if len(value) != 2:
        raise ValueError(
            f"reference_dimensions must have two values (width, height), got {list(value)!r}"
        )
    return float(value[0]), float(value[1])


def _horizontality(angle: float) -> float:
    """Distance of an angle (degrees) from horizontal; lower is more horizontal."""
    folded = abs(angle % 180)
    return min(folded, 180 - folded)


def aligned_dimensions(contour: np.ndarray) -> tuple[float, float]:
    """(width, height) of the minimal rotated rectangle around ``contour``.

    The width is the side closer to horizontal, so rotation does not swap the two.
    """
    corners = rect_corners(min_area_rect(contour))
    edge_1, edge_2 = corners[1] - corners[0], corners[2] - corners[1]
    length_1, length_2 = float(np.linalg.norm(edge_1)), float(np.linalg.norm(edge_2))
    angle_1 = float(np.degrees(np.arctan2(edge_1[1], edge_1[0])))
    angle_2 = float(np.degrees(np.arctan2(edge_2[1], edge_2[0])))
    if _horizontality(angle_1) < _horizontality(angle_2):
        return length_1, length_2
    return length_2, length_1


def detection_pixel_size(detections: sv.Detections, index: int) -> tuple[float, float] | None:
    """(width, height) in pixels of one detection: from its mask when there are masks (its
    largest outer contour), else from its box. None for an empty mask.
    """
    if detections.mask is None:
        x1, y1, x2, y2 = detections.xyxy[index]
        return float(x2 - x1), float(y2 - y1)
    mask = np.asarray(detections.mask[index]).astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    largest = max(contours, key=cv2.contourArea)
    if cv2.contourArea(largest) <= 0:
        return None
    return aligned_dimensions(largest)


def reference_pixel_size(reference: sv.Detections | list[Any]) -> tuple[float, float] | None:
    """Pixel (width, height) of the reference: its most confident detection, or a polygon.

    None when there is no reference (no detections, fewer than three points, zero area).
    """
    if isinstance(reference, sv.Detections):
        if len(reference) == 0:
            return None
        # without confidences the first detection is the reference
        index = 0 if reference.confidence is None else int(np.argmax(reference.confidence))
        size = detection_pixel_size(reference, index)
    elif isinstance(reference, (list, tuple)):
        size = _polygon_size(reference)
    else:
        raise ValueError(
            "reference_predictions must be detections or a list of [x, y] points, got "
            f"{type(reference).__name__}"
        )
    if size is None or not size[0] or not size[1]:
        return None
    return size


def _polygon_size(points: Sequence[Any]) -> tuple[float, float] | None:
    if len(points) < 3:
        return None
    # OpenCV needs float32 or int32 points (the reference passes Python numbers and fails)
    polygon = np.asarray(points, dtype=np.float32).reshape(-1, 2)
    if cv2.contourArea(polygon) <= 0:
        return None
    return aligned_dimensions(polygon)


def measure_sizes(
    detections: sv.Detections,
    reference_size: tuple[float, float],
    real_size: tuple[float, float],
) -> list[dict[str, float] | None]:
    """Real-world ``width``, ``height``, ``longer`` and ``shorter`` of every detection."""
    width_scale = real_size[0] / reference_size[0]
    height_scale = real_size[1] / reference_size[1]
    results: list[dict[str, float] | None] = []
    for i in range(len(detections)):
        size = detection_pixel_size(detections, i)
        if size is None or size[0] <= 0 or size[1] <= 0:
            results.append(None)
            continue
        width, height = size[0] * width_scale, size[1] * height_scale
        results.append(
            {
                "width": width,
                "height": height,
                "longer": max(width, height),
                "shorter": min(width, height),
            }
        )
    return results


# ---------------------------------------------------------------------------------------------
# roboflow_core/mask_area_measurement@v1
# ---------------------------------------------------------------------------------------------
class MaskAreaMeasurementManifest(BlockManifest):
    type: Literal["roboflow_core/mask_area_measurement@v1"]
    predictions: DataSelector(*BOXES_AND_MASKS_KINDS) = Field(
        description="Detections whose areas are measured.",
        examples=["$steps.model.predictions"],
    )
    pixels_per_unit: Union[float, DataSelector(FLOAT_KIND)] = Field(
        default=1.0,
        description=(
            "Pixels per real-world unit of length; `area_converted` = `area_px` / "
            "`pixels_per_unit`². 1 (or a value <= 0) means no conversion."
        ),
        examples=[1.0, 130.0],
    )

    block_info = BlockInfo(
        name="Mask Area Measurement",
        short="Add each detection's area, in pixels and in real-world units.",
        long=(
            "The area of a mask is its pixel count (holes excluded); a box without a mask (or "
            "with an empty mask) counts width x height. Adds `area_px` and `area_converted`."
        ),
        category="transformation",
    )
    outputs = (Output("predictions", *BOXES_AND_MASKS_KINDS),)


@register_block
class MaskAreaMeasurementBlock(Block):
    """Adds ``area_px`` and ``area_converted`` to every detection."""

    manifest = MaskAreaMeasurementManifest

    def run(self, predictions: sv.Detections, pixels_per_unit: float = 1.0) -> dict[str, Any]:
        return {"predictions": with_areas(predictions, pixels_per_unit)}


def detection_areas(detections: sv.Detections) -> np.ndarray:
    """Area of every detection in square pixels: mask pixel count, else the box area."""
    xyxy = np.asarray(detections.xyxy, dtype=float).reshape(-1, 4)
    box_areas = (xyxy[:, 2] - xyxy[:, 0]) * (xyxy[:, 3] - xyxy[:, 1])
    if detections.mask is None or len(detections) == 0:
        return box_areas
    masks = np.asarray(detections.mask)
    counts = np.count_nonzero(masks.reshape(len(masks), -1), axis=1).astype(float)
    return np.where(counts > 0, counts, box_areas)


def with_areas(detections: sv.Detections, pixels_per_unit: float = 1.0) -> sv.Detections:
    """A copy with ``area_px`` and ``area_converted`` columns (the input is left unchanged)."""
    result = copy_detections(detections)
    areas = detection_areas(detections)
    scale = pixels_per_unit**2 if pixels_per_unit > 0 else 1.0
    result.data[AREA_KEY] = areas
    result.data[AREA_CONVERTED_KEY] = areas / scale
    return result


__all__ = [
    "MaskAreaMeasurementBlock",
    "MaskAreaMeasurementManifest",
    "SizeMeasurementBlock",
    "SizeMeasurementManifest",
    "aligned_dimensions",
    "detection_areas",
    "detection_pixel_size",
    "measure_sizes",
    "parse_reference_dimensions",
    "reference_pixel_size",
    "with_areas",
]
