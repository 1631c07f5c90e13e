"""Blocks that compare or combine sets of detections: ``detections_difference`` (what changed
between a before and an after image), ``detections_list_rollup`` (detections made on crops,
back in the image) and ``overlap_analysis`` (how much each box is covered by others).

>>> import numpy as np
>>> from visionflow.data.detections import make_detections
>>> from visionflow.data.image import Image
>>> image = Image(np.zeros((100, 100, 3), dtype=np.uint8), parent_id="image")
>>> before = make_detections([[0, 0, 10, 10], [50, 50, 60, 60]], [0.9, 0.9], [0, 0], ["a"], image)
>>> after = make_detections([[1, 0, 11, 10]], [0.8], [0], ["a"], image)
>>> difference = detections_difference(before, after)
>>> difference["removed_count"], difference["new_count"], difference["verified"]
(1, 0, True)
"""

from __future__ import annotations

from typing import Any, Literal, Union, cast

import numpy as np
import supervision as sv
from pydantic import Field

from visionflow.blocks.base import Block, BlockInfo, BlockManifest, DataSelector, Output
from visionflow.blocks.fusion import _polygons
from visionflow.blocks.fusion._rollup import crop_zones, roll_up
from visionflow.blocks.registry import register_block
from visionflow.data.detections import CLASS_NAME_KEY, DETECTION_ID_KEY
from visionflow.spec.kinds import (
    BOOLEAN_KIND,
    FLOAT_KIND,
    FLOAT_ZERO_TO_ONE_KIND,
    INSTANCE_SEGMENTATION_PREDICTION_KIND,
    INTEGER_KIND,
    KEYPOINT_DETECTION_PREDICTION_KIND,
    LIST_OF_VALUES_KIND,
    OBJECT_DETECTION_PREDICTION_KIND,
)

DETECTIONS_OVERLAPS_KIND = "detections_overlaps"


# ---------------------------------------------------------------------------------------------
# roboflow_core/detections_difference@v1
# ---------------------------------------------------------------------------------------------
class DetectionsDifferenceManifest(BlockManifest):
    type: Literal["roboflow_core/detections_difference@v1", "DetectionsDifference"]
    reference_predictions: DataSelector(OBJECT_DETECTION_PREDICTION_KIND) = Field(
        description="Detections of the 'before' image; unmatched ones are reported as removed.",
        examples=["$steps.before_model.predictions"],
    )
    candidate_predictions: DataSelector(OBJECT_DETECTION_PREDICTION_KIND) = Field(
        description="Detections of the 'after' image; matched ones persist, the others are new.",
        examples=["$steps.after_model.predictions"],
    )
    spatial_weight: Union[float, DataSelector(FLOAT_ZERO_TO_ONE_KIND)] = Field(
        default=0.4,
        ge=0.0,
        le=1.0,
        description=(
            "Weight of the spatial cost: 1 - IoU for overlapping boxes, 1 + centre distance / "
            "enclosing diagonal for disjoint ones."
        ),
        examples=[0.4, "$inputs.spatial_weight"],
    )
    class_mismatch_penalty: Union[float, DataSelector(FLOAT_KIND)] = Field(
        default=0.15,
        ge=0.0,
        description="Cost added to a pair of different classes (unless `class_strict`).",
        examples=[0.15, "$inputs.class_mismatch_penalty"],
    )
    reject_cost: Union[float, DataSelector(FLOAT_KIND)] = Field(
        default=0.75,
        ge=0.0,
        description="Pairs costing more than this are not matched.",
        examples=[0.75, "$inputs.reject_cost"],
    )
    class_strict: Union[bool, DataSelector(BOOLEAN_KIND)] = Field(
        default=False,
        description="Boxes of different classes never match.",
        examples=[False, "$inputs.class_strict"],
    )
    min_removed_to_verify: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=1,
        ge=1,
        description="Removed boxes needed (with a non-empty 'before') for `verified`.",
        examples=[1, "$inputs.min_removed_to_verify"],
    )

    block_info = BlockInfo(
        name="Detections Difference",
        short="Match detections of a before and an after image: removed, persisted and new.",
        category="fusion",
    )
    outputs = (
        Output("removed_detections", OBJECT_DETECTION_PREDICTION_KIND),
        Output("persisted_detections", OBJECT_DETECTION_PREDICTION_KIND),
        Output("new_detections", OBJECT_DETECTION_PREDICTION_KIND),
        Output("removed_count", INTEGER_KIND),
        Output("new_count", INTEGER_KIND),
        Output("verified", BOOLEAN_KIND),
    )


@register_block
class DetectionsDifferenceBlock(Block):
    """Greedy lowest-cost matching of 'before' and 'after' boxes."""

    manifest = DetectionsDifferenceManifest

    def run(
        self,
        reference_predictions: sv.Detections,
        candidate_predictions: sv.Detections,
        spatial_weight: float = 0.4,
        class_mismatch_penalty: float = 0.15,
        reject_cost: float = 0.75,
        class_strict: bool = False,
        min_removed_to_verify: int = 1,
    ) -> dict[str, Any]:
        return detections_difference(
            reference_predictions,
            candidate_predictions,
            spatial_weight=spatial_weight,
            class_mismatch_penalty=class_mismatch_penalty,
            reject_cost=reject_cost,
            class_strict=class_strict,
            min_removed_to_verify=min_removed_to_verify,
        )


def detections_difference(
    reference: sv.Detections,
    candidate: sv.Detections,
    *,
    spatial_weight: float = 0.4,
    class_mismatch_penalty: float = 0.15,
    reject_cost: float = 0.75,
    class_strict: bool = False,
    min_removed_to_verify: int = 1,
) -> dict[str, Any]:
    """The outputs of ``detections_difference`` for one pair of images."""
    matches: list[tuple[int, int]] = []
    if len(reference) and len(candidate):
        costs = matching_costs(
            reference, candidate, spatial_weight, class_mismatch_penalty, class_strict
        )
        matches = greedy_match(costs, reject_cost)
    matched_reference = {i for i, _ in matches}
    matched_candidate = {j for _, j in matches}
    removed = [i for i in range(len(reference)) if i not in matched_reference]
    new = [j for j in range(len(candidate)) if j not in matched_candidate]
    return {
        "removed_detections": _subset(reference, removed),
        "persisted_detections": _subset(candidate, sorted(matched_candidate)),
        "new_detections": _subset(candidate, new),
        "removed_count": len(removed),
        "new_count": len(new),
        "verified": len(reference) > 0 and len(removed) >= min_removed_to_verify,
    }


def matching_costs(
    reference: sv.Detections,
    candidate: sv.Detections,
    spatial_weight: float,
    class_mismatch_penalty: float,
    class_strict: bool,
) -> np.ndarray:
    """(n_reference, n_candidate) costs: weighted spatial term plus the class term."""
    a, b = reference.xyxy, candidate.xyxy
    iou = sv.box_iou_batch(a, b)
    spatial = 1.0 - iou
    disjoint = iou <= 0.0
    if np.any(disjoint):
        # Disjoint pairs rank by distance, always behind any overlapping pair.
        centre_a, centre_b = (a[:, :2] + a[:, 2:]) / 2, (b[:, :2] + b[:, 2:]) / 2
        distance = np.linalg.norm(centre_a[:, None, :] - centre_b[None, :, :], axis=2)
        low = np.minimum(a[:, None, :2], b[None, :, :2])
        high = np.maximum(a[:, None, 2:], b[None, :, 2:])
        diagonal = np.hypot(*np.moveaxis(high - low, 2, 0))
        normalized = np.divide(distance, diagonal, out=np.zeros_like(distance), where=diagonal > 0)
        spatial = np.where(disjoint, 1.0 + normalized, spatial)
    cost = spatial_weight * spatial
    mismatch = _class_mismatch(reference, candidate)
    if mismatch is not None:
        if class_strict:
            cost = np.where(mismatch, np.inf, cost)
        else:
            cost = cost + class_mismatch_penalty * mismatch
    return cost


def _class_mismatch(reference: sv.Detections, candidate: sv.Detections) -> np.ndarray | None:
    """Pairs of different classes, by name when both sides have names, else by id."""
    for labels in (
        lambda d: d.data.get(CLASS_NAME_KEY),
        lambda d: d.class_id,
    ):
        left, right = labels(reference), labels(candidate)
        if (
            left is not None
            and right is not None
            and len(left) == len(reference)
            and len(right) == len(candidate)
        ):
            return np.asarray(left)[:, None] != np.asarray(right)[None, :]
    return None


def greedy_match(costs: np.ndarray, reject_cost: float) -> list[tuple[int, int]]:
    """Repeatedly take the cheapest remaining pair until it costs more than ``reject_cost``."""
    matches: list[tuple[int, int]] = []
    if costs.size == 0:
        return matches
    remaining = costs.astype(float, copy=True)
    columns = remaining.shape[1]
    for _ in range(min(remaining.shape)):
        i, j = divmod(int(np.argmin(remaining)), columns)
        cheapest = remaining[i, j]
        if not np.isfinite(cheapest) or cheapest > reject_cost:
            break
        matches.append((i, j))
        remaining[i, :] = np.inf
        remaining[:, j] = np.inf
    return matches


def _subset(detections: sv.Detections, indices: list[int]) -> sv.Detections:
    # An empty subset keeps the image facts (the reference returns bare empty detections).
    return cast(sv.Detections, detections[np.asarray(indices, dtype=int)])


# ---------------------------------------------------------------------------------------------
# roboflow_core/detections_list_rollup@v1
# ---------------------------------------------------------------------------------------------
class DetectionsListRollUpManifest(BlockManifest):
    type: Literal["roboflow_core/detections_list_rollup@v1", "DetectionsListRollUp"]
    parent_detection: DataSelector(
        OBJECT_DETECTION_PREDICTION_KIND,
        INSTANCE_SEGMENTATION_PREDICTION_KIND,
        KEYPOINT_DETECTION_PREDICTION_KIND,
    ) = Field(
        description="The boxes the crops were cut from (one per set of child detections).",
    )
    child_detections: DataSelector(LIST_OF_VALUES_KIND) = Field(
        description=(
            "The crops' detections gathered per image (a Dimension Collapse of a model's "
            "predictions on Dynamic Crop crops)."
        ),
    )
    confidence_strategy: Union[DataSelector(LIST_OF_VALUES_KIND), Literal["max", "mean", "min"]] = (
        Field(
            default="max",
            title="Confidence Strategy",
            description="Confidence of merged detections: 'max', 'mean' or 'min'.",
            examples=["min", "mean", "max"],
        )
    )
    overlap_threshold: Union[DataSelector(FLOAT_ZERO_TO_ONE_KIND), float] = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        title="Overlap Threshold",
        description="IoU from which detections of one class merge (0: any overlap merges).",
        examples=[0.0, 0.5],
    )
    keypoint_merge_threshold: Union[DataSelector(FLOAT_KIND), float] = Field(
        default=10.0,
        ge=0.0,
        title="Keypoint Merge Threshold",
        description="Mean keypoint distance (pixels) below which keypoint detections merge.",
        examples=[0.0, 20.0],
    )

    block_info = BlockInfo(
        name="Detections List Roll-Up",
        short="Move detections made on crops back into the image and merge overlapping ones.",
        category="fusion",
    )
    outputs = (
        Output(
            "rolled_up_detections",
            INSTANCE_SEGMENTATION_PREDICTION_KIND,
            OBJECT_DETECTION_PREDICTION_KIND,
            KEYPOINT_DETECTION_PREDICTION_KIND,
        ),
        Output("crop_zones", LIST_OF_VALUES_KIND),
    )


@register_block
class DetectionsListRollUpBlock(Block):
    """The children of each parent box, in the parent's image."""

    manifest = DetectionsListRollUpManifest

    def run(
        self,
        parent_detection: sv.Detections,
        child_detections: list[sv.Detections],
        confidence_strategy: str = "max",
        overlap_threshold: float = 0.0,
        keypoint_merge_threshold: float = 10.0,
    ) -> dict[str, Any]:
        children = list(child_detections or [])
        return {
            "rolled_up_detections": roll_up(
                parent_detection,
                children,
                confidence_strategy,
                overlap_threshold,
                keypoint_merge_threshold,
            ),
            "crop_zones": crop_zones(parent_detection),
        }


# ---------------------------------------------------------------------------------------------
# roboflow_core/overlap_analysis@v1
# ---------------------------------------------------------------------------------------------
class OverlapAnalysisManifest(BlockManifest):
    type: Literal["roboflow_core/overlap_analysis@v1", "OverlapAnalysis"]
    reference_predictions: DataSelector(
        OBJECT_DETECTION_PREDICTION_KIND, INSTANCE_SEGMENTATION_PREDICTION_KIND
    ) = Field(
        description="Detections whose area is the denominator of the overlap ratio.",
        examples=["$steps.model_a.predictions"],
    )
    candidate_predictions: DataSelector(
        OBJECT_DETECTION_PREDICTION_KIND, INSTANCE_SEGMENTATION_PREDICTION_KIND
    ) = Field(
        description="Detections checked against each reference detection.",
        examples=["$steps.model_b.predictions"],
    )
    min_overlap: Union[float, DataSelector(FLOAT_ZERO_TO_ONE_KIND)] = Field(
        default=0.1,
        ge=0.0,
        le=1.0,
        description="Smallest intersection / reference area for a pair to be reported.",
        examples=[0.1, "$inputs.min_overlap"],
    )

    block_info = BlockInfo(
        name="Overlap Analysis",
        short="How much of each detection other detections cover, pair by pair.",
        category="fusion",
    )
    outputs = (Output("overlaps", DETECTIONS_OVERLAPS_KIND),)


@register_block
class OverlapAnalysisBlock(Block):
    """Per pair of overlapping boxes: the share of the reference covered by the candidate."""

    manifest = OverlapAnalysisManifest

    def run(
        self,
        reference_predictions: sv.Detections,
        candidate_predictions: sv.Detections,
        min_overlap: float = 0.1,
    ) -> dict[str, Any]:
        return {
            "overlaps": overlap_records(reference_predictions, candidate_predictions, min_overlap)
        }


def overlap_records(
    reference: sv.Detections, candidate: sv.Detections, min_overlap: float = 0.1
) -> list[dict[str, Any]]:
    """One record per (reference, candidate) pair covering at least ``min_overlap``.

    Shapes are the detections' masks (their longest outline) where they have one, else boxes.
    """
    if len(reference) == 0 or len(candidate) == 0:
        return []
    iou = sv.box_iou_batch(reference.xyxy, candidate.xyxy)
    reference_shapes: dict[int, tuple[np.ndarray, bool]] = {}
    candidate_shapes: dict[int, tuple[np.ndarray, bool]] = {}
    records = []
    for i, j in zip(*np.nonzero(iou > 0.0), strict=True):
        i, j = int(i), int(j)
        if i not in reference_shapes:
            reference_shapes[i] = _shape(reference, i)
        if j not in candidate_shapes:
            candidate_shapes[j] = _shape(candidate, j)
        (ref_polygon, ref_convex), (cand_polygon, cand_convex) = (
            reference_shapes[i],
            candidate_shapes[j],
        )
        ref_area = _polygons.area(ref_polygon)
        if ref_area <= 0:
            continue
        common = _polygons.intersection_area(
            ref_polygon, cand_polygon, convex=(ref_convex, cand_convex)
        )
        ratio = common / ref_area
        if ratio < min_overlap:
            continue
        records.append(_record(reference, candidate, i, j, ratio))
    return records


def _shape(detections: sv.Detections, index: int) -> tuple[np.ndarray, bool]:
    """(polygon, is convex): the mask's longest valid outline, else the box."""
    mask = detections.mask
    if mask is not None and np.any(mask[index]):
        outlines = sv.mask_to_polygons(mask=np.asarray(mask[index]).astype(np.uint8))
        if outlines:
            longest = np.asarray(max(outlines, key=len), dtype=float)
            if len(longest) >= 3 and _polygons.is_simple(longest):
                return longest, False
    x1, y1, x2, y2 = (float(v) for v in detections.xyxy[index])
    return _polygons.box_polygon(x1, y1, x2, y2), True


def _record(
    reference: sv.Detections, candidate: sv.Detections, i: int, j: int, ratio: float
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "reference_class": _item(reference.data.get(CLASS_NAME_KEY), i),
        "reference_confidence": _confidence(reference, i),
        "candidate_class": _item(candidate.data.get(CLASS_NAME_KEY), j),
        "candidate_confidence": _confidence(candidate, j),
        "overlap_ratio": float(ratio),
    }
    if DETECTION_ID_KEY in reference.data:
        record["reference_detection_id"] = _item(reference.data[DETECTION_ID_KEY], i)
    if DETECTION_ID_KEY in candidate.data:
        record["candidate_detection_id"] = _item(candidate.data[DETECTION_ID_KEY], j)
    return record


def _confidence(detections: sv.Detections, index: int) -> float | None:
    return None if detections.confidence is None else float(detections.confidence[index])


def _item(values: Any, index: int) -> Any:
    if values is None or len(values) <= index:
        return None
    value = values[index]
    return value.item() if isinstance(value, np.generic) else value


__all__ = [
    "DetectionsDifferenceBlock",
    "DetectionsDifferenceManifest",
    "DetectionsListRollUpBlock",
    "DetectionsListRollUpManifest",
    "OverlapAnalysisBlock",
    "OverlapAnalysisManifest",
    "detections_difference",
    "greedy_match",
    "matching_costs",
    "overlap_records",
]
