"""``detections_classes_replacement``: relabel detections with what a classifier said about
their crops (two-stage detection: a generic detector, then a specialist classifier).

Classifications arrive one level deeper than the detections (one per crop). They are matched
to boxes by ``parent_id`` (the crop's detection id); plain strings or lists of strings (OCR or
language-model output) are matched by position instead.

>>> import numpy as np
>>> from visionflow.data.detections import make_detections
>>> from visionflow.data.image import Image
>>> image = Image(np.zeros((10, 10, 3), dtype=np.uint8), parent_id="image")
>>> boxes = make_detections([[0, 0, 5, 5]], [0.9], [0], ["dog"], image)
>>> result = replace_classes(boxes, ["husky"])
>>> result.data["class_name"].tolist(), result.class_id.tolist(), result.confidence.tolist()
(['husky'], [0], [1.0])
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import Any, Literal, Optional, Union, cast

import numpy as np
import supervision as sv
from pydantic import Field

from visionflow.blocks.base import Batch, Block, BlockInfo, BlockManifest, DataSelector, Output
from visionflow.blocks.registry import register_block
from visionflow.data.detections import (
    CLASS_NAME_KEY,
    DETECTION_ID_KEY,
    PARENT_ID_KEY,
    new_detection_ids,
)
from visionflow.spec.kinds import (
    CLASSIFICATION_PREDICTION_KIND,
    INSTANCE_SEGMENTATION_PREDICTION_KIND,
    INTEGER_KIND,
    KEYPOINT_DETECTION_PREDICTION_KIND,
    LIST_OF_VALUES_KIND,
    OBJECT_DETECTION_PREDICTION_KIND,
    STRING_KIND,
)

logger = logging.getLogger(__name__)

DETECTIONS_KINDS = (
    OBJECT_DETECTION_PREDICTION_KIND,
    INSTANCE_SEGMENTATION_PREDICTION_KIND,
    KEYPOINT_DETECTION_PREDICTION_KIND,
)

#: (class name, class id, confidence) that replaces a detection's class.
LeadingClass = tuple[str, int, float]


class DetectionsClassesReplacementManifest(BlockManifest):
    type: Literal["roboflow_core/detections_classes_replacement@v1", "DetectionsClassesReplacement"]
    object_detection_predictions: DataSelector(*DETECTIONS_KINDS) = Field(
        title="Regions of Interest",
        description="Detections whose classes are replaced; their crops were classified.",
        examples=["$steps.object_detection_model.predictions"],
    )
    classification_predictions: DataSelector(
        CLASSIFICATION_PREDICTION_KIND, LIST_OF_VALUES_KIND, STRING_KIND
    ) = Field(
        title="Replacement Class Labels",
        description=(
            "One value per crop: classification predictions (matched to boxes by their "
            "`parent_id`), or strings / lists of strings (matched by position)."
        ),
        examples=["$steps.classification_model.predictions"],
    )
    fallback_class_name: Union[Optional[str], DataSelector(STRING_KIND)] = Field(
        default=None,
        title="Fallback class name",
        description="Class for boxes without a classification; without it they are dropped.",
        examples=[None, "unknown"],
    )
    fallback_class_id: Union[Optional[int], DataSelector(INTEGER_KIND)] = Field(
        default=None,
        title="Fallback class id",
        description="Class id that goes with the fallback class (missing or negative: maxsize).",
        examples=[None, 77],
    )

    block_info = BlockInfo(
        name="Detections Classes Replacement",
        short="Replace the classes of detections with those a classifier gave their crops.",
        category="fusion",
    )
    outputs = (Output("predictions", *DETECTIONS_KINDS),)
    input_dimensionality_offsets = {"classification_predictions": 1}
    dimensionality_reference = "object_detection_predictions"
    # Runs for images without crops too (their boxes are then dropped or fall back).
    accepts_empty_values = True


@register_block
class DetectionsClassesReplacementBlock(Block):
    """Relabels each element's detections with its crops' classifications."""

    manifest = DetectionsClassesReplacementManifest

    def run(
        self,
        object_detection_predictions: sv.Detections | None,
        classification_predictions: Batch[Any] | Sequence[Any] | None,
        fallback_class_name: str | None = None,
        fallback_class_id: int | None = None,
    ) -> dict[str, Any]:
        if object_detection_predictions is None:
            return {"predictions": None}
        return {
            "predictions": replace_classes(
                object_detection_predictions,
                list(classification_predictions or ()),
                fallback_class_name=fallback_class_name,
                fallback_class_id=fallback_class_id,
            )
        }


def replace_classes(
    detections: sv.Detections,
    classifications: Sequence[Any],
    *,
    fallback_class_name: str | None = None,
    fallback_class_id: int | None = None,
) -> sv.Detections:
    """Detections relabelled by ``classifications`` (one per crop, ``None`` for a missing one).

    Boxes that get no class (and no fallback) are dropped; the others get fresh detection ids.
    """
    if not classifications:
        return _none_of(detections)
    first = next((c for c in classifications if c is not None), None)
    if isinstance(first, (str, list)):
        chosen = _by_position(detections, classifications, fallback_class_name, fallback_class_id)
    else:
        chosen = _by_parent_id(detections, classifications, fallback_class_name, fallback_class_id)
    if not chosen:
        return _none_of(detections)
    keep = np.array([i for i, _ in chosen], dtype=int)
    result = cast(sv.Detections, detections[keep])
    names, class_ids, confidences = zip(*(leading for _, leading in chosen), strict=True)
    result.class_id = np.array(class_ids)
    result.confidence = np.array(confidences)
    result.data[CLASS_NAME_KEY] = np.array(names)
    result.data[DETECTION_ID_KEY] = new_detection_ids(len(result))
    return result


def _none_of(detections: sv.Detections) -> sv.Detections:
    """No boxes, but still the image facts of ``detections``."""
    return cast(sv.Detections, detections[np.zeros(len(detections), dtype=bool)])


def _by_position(
    detections: sv.Detections,
    labels: Sequence[Any],
    fallback_class_name: str | None,
    fallback_class_id: int | None,
) -> list[tuple[int, LeadingClass]]:
    if len(labels) != len(detections):
        logger.warning(
            "%d detections but %d labels: boxes without a label take the fallback class "
            "(if any) or are dropped",
            len(detections),
            len(labels),
        )
    chosen = []
    for i in range(len(detections)):
        label = labels[i] if i < len(labels) else None
        if label is None:
            leading = _fallback(fallback_class_name, fallback_class_id, 0.0)
        else:
            leading = leading_class(label, fallback_class_name, fallback_class_id)
        if leading is not None:
            chosen.append((i, leading))
    return chosen


def _by_parent_id(
    detections: sv.Detections,
    classifications: Sequence[Any],
    fallback_class_name: str | None,
    fallback_class_id: int | None,
) -> list[tuple[int, LeadingClass]]:
    if all(_is_blank(c) for c in classifications):
        return []
    by_parent = {}
    for c in classifications:
        if c is None:
            continue
        if PARENT_ID_KEY not in c:
            raise ValueError(
                f"a classification has no '{PARENT_ID_KEY}', so the box it belongs to is "
                "unknown; connect a classifier run on the crops of these detections"
            )
        by_parent[c[PARENT_ID_KEY]] = leading_class(c, fallback_class_name, fallback_class_id)
    ids = detections.data.get(DETECTION_ID_KEY, np.empty(0, dtype=str))
    chosen = []
    for i, detection_id in enumerate(ids):
        leading = by_parent.get(detection_id)
        if leading is not None:
            chosen.append((i, leading))
    return chosen


def _is_blank(classification: Any) -> bool:
    """No classification, an empty top class, or no predictions at all."""
    if classification is None:
        return True
    if "top" in classification and not classification["top"]:
        return True
    return "predictions" not in classification


def leading_class(
    prediction: Any,
    fallback_class_name: str | None = None,
    fallback_class_id: Any = None,
) -> LeadingClass | None:
    """The class a prediction stands for, or None when it names none.

    A string stands for itself (id 0, confidence 1); a list for its first string; a
    single-label classification for its ``top`` class; a multi-label one for its most
    confident class. Empty predictions take the fallback class when there is one.
    """
    if isinstance(prediction, str):
        return prediction, 0, 1.0
    if isinstance(prediction, list):
        if not prediction:
            return _fallback(fallback_class_name, _as_int(fallback_class_id), 0.0)
        return (prediction[0], 0, 1.0) if isinstance(prediction[0], str) else None
    if "top" in prediction:
        if not prediction.get("predictions"):
            return _fallback(fallback_class_name, _as_int(fallback_class_id), 0)
        top = prediction["top"]
        matching = [
            (p["class_id"], p["confidence"]) for p in prediction["predictions"] if p["class"] == top
        ]
        if len(matching) != 1:
            raise ValueError(
                f"the classification's top class {top!r} appears {len(matching)} times among "
                "its predictions, so its class id is ambiguous"
            )
        return top, matching[0][0], matching[0][1]
    if not prediction.get("predicted_classes", []):
        return None
    best: LeadingClass | None = None
    for name, details in prediction["predictions"].items():
        if best is None or best[2] < details["confidence"]:
            best = (name, details["class_id"], details["confidence"])
    # A best confidence of 0 names nothing (as the reference).
    return best if best is not None and best[2] else None


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _fallback(name: str | None, class_id: int | None, confidence: float) -> LeadingClass | None:
    if not name:
        return None
    resolved = sys.maxsize if class_id is None or class_id < 0 else class_id
    return name, resolved, confidence


__all__ = [
    "DetectionsClassesReplacementBlock",
    "DetectionsClassesReplacementManifest",
    "leading_class",
    "replace_classes",
]
