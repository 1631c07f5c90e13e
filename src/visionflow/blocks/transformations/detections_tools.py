"""Small detections tools: combine two sets, merge boxes into one, rotated bounding rectangles,
per-class confidence thresholds.

>>> import numpy as np, supervision as sv
>>> detections = sv.Detections(
...     xyxy=np.array([[0.0, 0.0, 10.0, 10.0], [5.0, 5.0, 20.0, 30.0]]),
...     confidence=np.array([0.9, 0.4]),
...     data={"class_name": np.array(["cat", "dog"])},
... )
>>> merged = merge_into_one(detections, "group")
>>> merged.xyxy.tolist(), merged.confidence.tolist(), merged.data["class_name"].tolist()
([[0.0, 0.0, 20.0, 30.0]], [0.4000000059604645], ['group'])
>>> len(filter_by_class_confidence(detections, {"dog": 0.5}, default_threshold=0.3))
1
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Union, cast

import numpy as np
import supervision as sv
from pydantic import Field

from visionflow.blocks.base import Batch, Block, BlockInfo, BlockManifest, DataSelector, Output
from visionflow.blocks.registry import register_block
from visionflow.blocks.transformations._rotated_rect import min_area_rect, rect_corners
from visionflow.data.detections import (
    BOUNDING_RECT_ANGLE_KEY,
    BOUNDING_RECT_HEIGHT_KEY,
    BOUNDING_RECT_RECT_KEY,
    BOUNDING_RECT_WIDTH_KEY,
    CLASS_NAME_KEY,
    DETECTION_ID_KEY,
    copy_detections,
    merge_detections,
    new_detection_ids,
)
from visionflow.spec.kinds import (
    DICTIONARY_KIND,
    FLOAT_ZERO_TO_ONE_KIND,
    INSTANCE_SEGMENTATION_PREDICTION_KIND,
    KEYPOINT_DETECTION_PREDICTION_KIND,
    OBJECT_DETECTION_PREDICTION_KIND,
)

BOXES_AND_MASKS_KINDS = (OBJECT_DETECTION_PREDICTION_KIND, INSTANCE_SEGMENTATION_PREDICTION_KIND)
DETECTIONS_KINDS = (*BOXES_AND_MASKS_KINDS, KEYPOINT_DETECTION_PREDICTION_KIND)


# ---------------------------------------------------------------------------------------------
# roboflow_core/detections_combine@v1
# ---------------------------------------------------------------------------------------------
class DetectionsCombineManifest(BlockManifest):
    type: Literal["roboflow_core/detections_combine@v1"]
    prediction_one: DataSelector(*BOXES_AND_MASKS_KINDS) = Field(
        description="First set of detections; its boxes come first in the result.",
        examples=["$steps.my_object_detection_model.predictions"],
    )
    prediction_two: DataSelector(*BOXES_AND_MASKS_KINDS) = Field(
        description="Second set of detections, appended after the first.",
        examples=["$steps.my_other_model.predictions"],
    )

    block_info = BlockInfo(
        name="Detections Combine",
        short="Put two sets of detections together into one.",
        category="transformation",
    )
    outputs = (Output("predictions", *BOXES_AND_MASKS_KINDS),)


@register_block
class DetectionsCombineBlock(Block):
    """Concatenates ``prediction_one`` and ``prediction_two``, keeping every column."""

    manifest = DetectionsCombineManifest

    def run(self, prediction_one: sv.Detections, prediction_two: sv.Detections) -> dict[str, Any]:
        return {"predictions": merge_detections([prediction_one, prediction_two])}


# ---------------------------------------------------------------------------------------------
# roboflow_core/detections_merge@v1
# ---------------------------------------------------------------------------------------------
class DetectionsMergeManifest(BlockManifest):
    type: Literal["roboflow_core/detections_merge@v1"]
    predictions: DataSelector(*DETECTIONS_KINDS) = Field(
        description="Detections to merge into a single box that holds them all.",
        examples=["$steps.object_detection_model.predictions"],
    )
    class_name: str = Field(
        default="merged_detection",
        description="Class name of the merged detection (its class id is 0).",
        examples=["merged_detection", "group"],
    )

    block_info = BlockInfo(
        name="Detections Merge",
        short="Merge all detections into one box that contains them.",
        long="The merged box takes the lowest confidence of the boxes it contains.",
        category="transformation",
    )
    outputs = (Output("predictions", OBJECT_DETECTION_PREDICTION_KIND),)


@register_block
class DetectionsMergeBlock(Block):
    """One detection whose box is the union of all boxes (none for no boxes)."""

    manifest = DetectionsMergeManifest

    def run(self, predictions: sv.Detections, class_name: str) -> dict[str, Any]:
        return {"predictions": merge_into_one(predictions, class_name)}


def merge_into_one(detections: sv.Detections, class_name: str) -> sv.Detections:
    """A single detection covering every box, with the lowest confidence among them.

    Like the reference, the result has only a box, a confidence, class id 0, ``class_name``
    and a fresh ``detection_id``: masks, keypoints, lineage and the image size are not
    carried over. No boxes give no detection (which still knows its image).
    """
    if len(detections) == 0:
        empty = sv.Detections.empty()
        empty.metadata = dict(detections.metadata)
        return empty
    xyxy = detections.xyxy
    union = np.array(
        [[xyxy[:, 0].min(), xyxy[:, 1].min(), xyxy[:, 2].max(), xyxy[:, 3].max()]], dtype=float
    )
    confidence = None
    if detections.confidence is not None:
        confidence = np.array([detections.confidence.min()], dtype=np.float32)
    return sv.Detections(
        xyxy=union,
        confidence=confidence,
        class_id=np.array([0], dtype=np.int32),
        data={
            CLASS_NAME_KEY: np.array([class_name]),
            DETECTION_ID_KEY: new_detection_ids(1),
        },
    )


# ---------------------------------------------------------------------------------------------
# roboflow_core/bounding_rect@v1
# ---------------------------------------------------------------------------------------------
class BoundingRectManifest(BlockManifest):
    type: Literal["roboflow_core/bounding_rect@v1"]
    predictions: DataSelector(INSTANCE_SEGMENTATION_PREDICTION_KIND) = Field(
        description="Instance segmentation predictions; each mask is replaced by its rectangle.",
        examples=["$steps.segmentation.predictions"],
    )

    block_info = BlockInfo(
        name="Bounding Rectangle",
        short="Find the smallest rotated rectangle around each segmentation mask.",
        long=(
            "Each mask becomes its minimal rotated rectangle; the box becomes the rectangle's "
            "bounds; columns `rect` (corners), `width`, `height` and `angle` are added."
        ),
        category="transformation",
    )
    outputs = (Output("detections_with_rect", INSTANCE_SEGMENTATION_PREDICTION_KIND),)


@register_block
class BoundingRectBlock(Block):
    """Replaces every mask by its minimal rotated rectangle."""

    manifest = BoundingRectManifest

    def run(self, predictions: sv.Detections) -> dict[str, Any]:
        return {"detections_with_rect": bounding_rectangles(predictions)}


def minimum_rectangle(polygon: np.ndarray) -> tuple[np.ndarray, float, float, float]:
    """Integer corners (4 x 2), width, height and angle (in (0, 90]) of the minimal rectangle."""
    rect = min_area_rect(polygon)
    # truncation to int, as the reference does
    corners = rect_corners(rect).astype(int)
    (width, height), angle = rect[1], rect[2]
    return corners, width, height, angle


def bounding_rectangles(detections: sv.Detections) -> sv.Detections:
    """A copy whose masks, boxes and rectangle columns come from each mask's rectangle.

    The rectangle is that of the mask's polygon with the most points (the reference's rule).
    A mask without any polygon keeps the rectangle of its box (the reference fails there).
    Columns are ``float16`` as in the reference, so serialized values match.
    """
    if len(detections) == 0:
        result = copy_detections(detections)
        for key in (BOUNDING_RECT_WIDTH_KEY, BOUNDING_RECT_HEIGHT_KEY, BOUNDING_RECT_ANGLE_KEY):
            result.data[key] = np.empty(0, dtype=np.float16)
        result.data[BOUNDING_RECT_RECT_KEY] = np.empty((0, 4, 2), dtype=np.float16)
        return result
    if detections.mask is None:
        raise ValueError(
            "the detections have no masks: Bounding Rectangle needs the predictions of an "
            "instance segmentation model"
        )
    masks = np.asarray(detections.mask)
    height, width = masks.shape[1:]
    result = copy_detections(detections)
    n = len(detections)
    new_masks = np.zeros((n, height, width), dtype=bool)
    rects = np.zeros((n, 4, 2), dtype=np.float16)
    sizes = np.zeros((n, 3), dtype=np.float16)
    for i in range(n):
        polygons = sv.mask_to_polygons(masks[i])
        if polygons:
            polygon = max(polygons, key=len)
        else:
            x1, y1, x2, y2 = detections.xyxy[i]
            polygon = np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]])
        corners, rect_width, rect_height, angle = minimum_rectangle(polygon)
        new_masks[i] = sv.polygon_to_mask(
            polygon=corners.astype(np.int32), resolution_wh=(width, height)
        ).astype(bool)
        rects[i] = corners
        sizes[i] = (rect_width, rect_height, angle)
        result.xyxy[i] = sv.polygon_to_xyxy(polygon=corners)
    result.mask = new_masks
    result.data[BOUNDING_RECT_RECT_KEY] = rects
    result.data[BOUNDING_RECT_WIDTH_KEY] = sizes[:, 0].copy()
    result.data[BOUNDING_RECT_HEIGHT_KEY] = sizes[:, 1].copy()
    result.data[BOUNDING_RECT_ANGLE_KEY] = sizes[:, 2].copy()
    return result


# ---------------------------------------------------------------------------------------------
# roboflow_core/per_class_confidence_filter@v1
# ---------------------------------------------------------------------------------------------
class PerClassConfidenceFilterManifest(BlockManifest):
    type: Literal["roboflow_core/per_class_confidence_filter@v1"]
    predictions: DataSelector(*DETECTIONS_KINDS) = Field(
        description="Detections to filter.",
        examples=["$steps.object_detection_model.predictions"],
    )
    class_thresholds: Union[dict[str, float], DataSelector(DICTIONARY_KIND)] = Field(
        description=(
            "Minimum confidence per class name; a detection is kept when its confidence is at "
            "least its class's threshold."
        ),
        examples=[{"person": 0.98, "car": 0.5}, "$inputs.class_thresholds"],
    )
    default_threshold: Union[float, DataSelector(FLOAT_ZERO_TO_ONE_KIND)] = Field(
        default=0.3,
        description="Threshold for classes that `class_thresholds` does not list.",
        examples=[0.3, "$inputs.default_threshold"],
    )

    block_info = BlockInfo(
        name="Per-Class Confidence Filter",
        short="Keep detections above a confidence threshold chosen per class.",
        category="transformation",
    )
    outputs = (Output("predictions", *DETECTIONS_KINDS),)
    batch_fields = ("predictions",)


@register_block
class PerClassConfidenceFilterBlock(Block):
    """Keeps, per image, the detections that reach their class's threshold."""

    manifest = PerClassConfidenceFilterManifest

    def run(
        self,
        predictions: Batch[sv.Detections],
        class_thresholds: Mapping[str, Any],
        default_threshold: float = 0.3,
    ) -> list[dict[str, Any]]:
        thresholds = {str(k): float(v) for k, v in (class_thresholds or {}).items()}
        return [
            {"predictions": filter_by_class_confidence(d, thresholds, default_threshold)}
            for d in predictions
        ]


def filter_by_class_confidence(
    detections: sv.Detections, class_thresholds: Mapping[str, Any], default_threshold: float
) -> sv.Detections:
    """The detections whose confidence is at least their class's threshold.

    Detections without confidences, or all of whose boxes pass, are returned as they are.
    """
    confidence = detections.confidence
    if len(detections) == 0 or confidence is None:
        return detections
    thresholds = {str(k): float(v) for k, v in class_thresholds.items()}
    default = float(default_threshold)
    names = detections.data.get(CLASS_NAME_KEY)
    # a box without a class name is looked up as "None", as the reference does
    per_box = np.array(
        [
            thresholds.get(
                str(names[i]) if names is not None and i < len(names) else "None", default
            )
            for i in range(len(detections))
        ]
    )
    keep = np.asarray(confidence, dtype=float) >= per_box
    if keep.all():
        return detections
    return cast(sv.Detections, detections[keep])


__all__ = [
    "BoundingRectBlock",
    "BoundingRectManifest",
    "DetectionsCombineBlock",
    "DetectionsCombineManifest",
    "DetectionsMergeBlock",
    "DetectionsMergeManifest",
    "PerClassConfidenceFilterBlock",
    "PerClassConfidenceFilterManifest",
    "bounding_rectangles",
    "filter_by_class_confidence",
    "merge_into_one",
    "minimum_rectangle",
]
