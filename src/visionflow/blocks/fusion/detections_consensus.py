"""``detections_consensus``: keep the objects that several models agree on.

Each box of each source looks for the best-overlapping, not yet used box of every other source
(same class when ``class_aware``); with enough votes the group is merged into one box.

>>> import numpy as np
>>> from visionflow.data.detections import make_detections
>>> from visionflow.data.image import Image
>>> image = Image(np.zeros((100, 100, 3), dtype=np.uint8), parent_id="image")
>>> a = make_detections([[10, 10, 50, 50]], [0.8], [0], ["dog"], image)
>>> b = make_detections([[12, 10, 52, 50]], [0.6], [0], ["dog"], image)
>>> merged, present, confidence = consensus([a, b], required_votes=2)
>>> merged.xyxy.tolist(), present, round(confidence["dog"], 2)
([[11.0, 10.0, 51.0, 50.0]], True, 0.7)
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, Literal, Optional, Union, cast

import numpy as np
import supervision as sv
from pydantic import AliasChoices, Field, PositiveInt

from visionflow.blocks.base import Batch, Block, BlockInfo, BlockManifest, DataSelector, Output
from visionflow.blocks.registry import register_block
from visionflow.data.detections import (
    CLASS_NAME_KEY,
    DETECTION_ID_KEY,
    IMAGE_DIMENSIONS_KEY,
    PARENT_COORDINATES_KEY,
    PARENT_DIMENSIONS_KEY,
    PARENT_ID_KEY,
    PREDICTION_TYPE_KEY,
    ROOT_PARENT_COORDINATES_KEY,
    ROOT_PARENT_DIMENSIONS_KEY,
    ROOT_PARENT_ID_KEY,
    merge_detections,
    new_detection_ids,
)
from visionflow.spec.kinds import (
    BOOLEAN_KIND,
    DICTIONARY_KIND,
    FLOAT_ZERO_TO_ONE_KIND,
    INSTANCE_SEGMENTATION_PREDICTION_KIND,
    INTEGER_KIND,
    KEYPOINT_DETECTION_PREDICTION_KIND,
    LIST_OF_VALUES_KIND,
    OBJECT_DETECTION_PREDICTION_KIND,
)

AggregationMode = Literal["average", "max", "min"]
MaskAggregationMode = Literal["intersection", "union", "max", "min"]

SCALING_RELATIVE_TO_PARENT_KEY = "scaling_relative_to_parent"
SCALING_RELATIVE_TO_ROOT_PARENT_KEY = "scaling_relative_to_root_parent"
#: Columns a merged box copies from the first box of its group (image facts and lineage).
_LINEAGE_KEYS = (
    PARENT_ID_KEY,
    PARENT_COORDINATES_KEY,
    PARENT_DIMENSIONS_KEY,
    ROOT_PARENT_ID_KEY,
    ROOT_PARENT_COORDINATES_KEY,
    ROOT_PARENT_DIMENSIONS_KEY,
    IMAGE_DIMENSIONS_KEY,
)


class DetectionsConsensusManifest(BlockManifest):
    type: Literal["roboflow_core/detections_consensus@v1", "DetectionsConsensus"]
    predictions_batches: list[
        DataSelector(
            OBJECT_DETECTION_PREDICTION_KIND,
            INSTANCE_SEGMENTATION_PREDICTION_KIND,
            KEYPOINT_DETECTION_PREDICTION_KIND,
        )
    ] = Field(
        min_length=1,
        description="Detections of the same image from several models (one selector each).",
        examples=[["$steps.a.predictions", "$steps.b.predictions"]],
        validation_alias=AliasChoices("predictions_batches", "predictions"),
    )
    required_votes: Union[PositiveInt, DataSelector(INTEGER_KIND)] = Field(
        description="How many sources must see an object (overlapping boxes) to keep it.",
        examples=[2, "$inputs.required_votes"],
    )
    class_aware: Union[bool, DataSelector(BOOLEAN_KIND)] = Field(
        default=True,
        description="Only boxes of the same class vote for each other.",
        examples=[True, "$inputs.class_aware"],
    )
    iou_threshold: Union[float, DataSelector(FLOAT_ZERO_TO_ONE_KIND)] = Field(
        default=0.3,
        ge=0.0,
        le=1.0,
        description="Boxes overlapping by more than this IoU vote for the same object.",
        examples=[0.3, "$inputs.iou_threshold"],
    )
    confidence: Union[float, DataSelector(FLOAT_ZERO_TO_ONE_KIND)] = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="Merged boxes below this confidence are dropped.",
        examples=[0.1, "$inputs.confidence"],
    )
    classes_to_consider: Optional[Union[list[str], DataSelector(LIST_OF_VALUES_KIND)]] = Field(
        default=None,
        description="Only these classes take part (all when empty).",
        examples=[["a", "b"], "$inputs.classes_to_consider"],
    )
    required_objects: Optional[
        Union[PositiveInt, dict[str, PositiveInt], DataSelector(INTEGER_KIND, DICTIONARY_KIND)]
    ] = Field(
        default=None,
        description="Objects needed for `object_present`: a total, or a count per class.",
        examples=[3, {"a": 7, "b": 2}, "$inputs.required_objects"],
    )
    presence_confidence_aggregation: AggregationMode = Field(
        default="max",
        description="How `presence_confidence` combines the merged boxes' confidences.",
        examples=["max", "min"],
    )
    detections_merge_confidence_aggregation: AggregationMode = Field(
        default="average",
        description="Confidence (and class) of a merged box: average (majority class), max, min.",
        examples=["min", "max"],
    )
    detections_merge_coordinates_aggregation: AggregationMode = Field(
        default="average",
        description="Box of a merged group: the average box, the largest or the smallest.",
        examples=["min", "max"],
    )
    detections_merge_mask_aggregation: MaskAggregationMode = Field(
        default="union",
        description="Mask of a merged group: union, intersection, the largest or the smallest.",
        examples=["union", "intersection"],
    )

    block_info = BlockInfo(
        name="Detections Consensus",
        short="Keep the objects that several detection models agree on.",
        category="fusion",
    )
    outputs = (
        Output(
            "predictions", OBJECT_DETECTION_PREDICTION_KIND, INSTANCE_SEGMENTATION_PREDICTION_KIND
        ),
        Output("object_present", BOOLEAN_KIND, DICTIONARY_KIND),
        Output("presence_confidence", FLOAT_ZERO_TO_ONE_KIND, DICTIONARY_KIND),
    )
    batch_fields = ("predictions_batches",)


@register_block
class DetectionsConsensusBlock(Block):
    """Per element: the merged boxes, whether the required objects are present, and how sure."""

    manifest = DetectionsConsensusManifest

    def run(
        self,
        predictions_batches: Batch[list[sv.Detections]],
        required_votes: int,
        class_aware: bool = True,
        iou_threshold: float = 0.3,
        confidence: float = 0.0,
        classes_to_consider: list[str] | None = None,
        required_objects: int | dict[str, int] | None = None,
        presence_confidence_aggregation: AggregationMode = "max",
        detections_merge_confidence_aggregation: AggregationMode = "average",
        detections_merge_coordinates_aggregation: AggregationMode = "average",
        detections_merge_mask_aggregation: MaskAggregationMode = "union",
    ) -> list[dict[str, Any]]:
        results = []
        for sources in predictions_batches:
            merged, present, presence = consensus(
                list(sources),
                required_votes=required_votes,
                class_aware=class_aware,
                iou_threshold=iou_threshold,
                confidence=confidence,
                classes_to_consider=classes_to_consider,
                required_objects=required_objects,
                presence_confidence_aggregation=presence_confidence_aggregation,
                confidence_aggregation=detections_merge_confidence_aggregation,
                boxes_aggregation=detections_merge_coordinates_aggregation,
                mask_aggregation=detections_merge_mask_aggregation,
            )
            results.append(
                {"predictions": merged, "object_present": present, "presence_confidence": presence}
            )
        return results


def consensus(
    sources: Sequence[sv.Detections],
    *,
    required_votes: int,
    class_aware: bool = True,
    iou_threshold: float = 0.3,
    confidence: float = 0.0,
    classes_to_consider: Sequence[str] | None = None,
    required_objects: int | dict[str, int] | None = None,
    presence_confidence_aggregation: AggregationMode = "max",
    confidence_aggregation: AggregationMode = "average",
    boxes_aggregation: AggregationMode = "average",
    mask_aggregation: MaskAggregationMode = "union",
) -> tuple[sv.Detections, bool, dict[str, float]]:
    """(merged boxes, object present, presence confidence per class) for one image."""
    if not sources:
        raise ValueError("consensus needs at least one source of predictions")
    if all(len(source) == 0 for source in sources):
        return _no_boxes(sources[0]), False, {}
    _check_same_parent(sources)
    if classes_to_consider:
        # As the reference: a source without class names drops out of the vote entirely.
        sources = [
            cast(
                sv.Detections,
                source[np.isin(source.data[CLASS_NAME_KEY], list(classes_to_consider))],
            )
            for source in sources
            if CLASS_NAME_KEY in source.data
        ]
    used: set[str] = set()
    merged_boxes: list[sv.Detections] = []
    for source_id, source in enumerate(sources):
        for i in range(len(source)):
            detection = cast(sv.Detections, source[i : i + 1])
            if _id(detection) in used:
                continue
            matches = _best_matches(detection, source_id, sources, iou_threshold, class_aware, used)
            if len(matches) < required_votes - 1:
                continue
            group = _with_consistent_masks(detection, matches)
            merged = _merge_group(
                group, confidence_aggregation, boxes_aggregation, mask_aggregation
            )
            if merged.confidence is not None and merged.confidence[0] < confidence:
                continue
            merged_boxes.append(merged)
            used.add(_id(detection))
            used.update(_id(match) for match in matches)
    if not merged_boxes:
        return _no_boxes(sources[0] if sources else sv.Detections.empty()), False, {}
    result = merge_detections(merged_boxes)
    present, presence = _presence(
        result, class_aware, presence_confidence_aggregation, required_objects
    )
    return result, present, presence


def _no_boxes(example: sv.Detections) -> sv.Detections:
    """Empty detections that still know their image (the reference drops that too)."""
    return cast(sv.Detections, example[np.zeros(len(example), dtype=bool)])


def _id(detection: sv.Detections) -> str:
    return str(detection.data[DETECTION_ID_KEY][0])


def _check_same_parent(sources: Sequence[sv.Detections]) -> None:
    parents = {
        str(parent)
        for source in sources
        if PARENT_ID_KEY in source.data
        for parent in source.data[PARENT_ID_KEY]
    }
    if len(parents) != 1:
        raise ValueError(
            "consensus compares detections of one image, but the sources were made on "
            f"different images (parent ids {sorted(parents)}); connect predictions of the same "
            "input image"
        )


def _best_matches(
    detection: sv.Detections,
    source_id: int,
    sources: Sequence[sv.Detections],
    iou_threshold: float,
    class_aware: bool,
    used: set[str],
) -> list[sv.Detections]:
    """Per other source, its unused box overlapping ``detection`` most (above the threshold)."""
    matches = []
    class_name = detection.data[CLASS_NAME_KEY][0] if class_aware else None
    for other_id, other in enumerate(sources):
        if other_id == source_id or len(other) == 0:
            continue
        ious = np.nan_to_num(sv.box_iou_batch(detection.xyxy, other.xyxy)[0], nan=0.0)
        ids = other.data[DETECTION_ID_KEY]
        eligible = (ious > iou_threshold) & np.array([str(i) not in used for i in ids])
        if class_aware:
            eligible &= other.data[CLASS_NAME_KEY] == class_name
        if eligible.any():
            # argmax keeps the first of equal overlaps, as the reference does
            best = int(np.argmax(np.where(eligible, ious, -np.inf)))
            matches.append(cast(sv.Detections, other[best : best + 1]))
    return matches


def _with_consistent_masks(detection: sv.Detections, matches: list[sv.Detections]) -> sv.Detections:
    """One detections object for the group; boxes without a mask get an empty one."""
    group = [detection, *matches]
    shape = next((d.mask.shape for d in group if d.mask is not None), None)
    if shape is not None:
        for member in group:
            if member.mask is None:
                member.mask = np.zeros(shape, dtype=bool)
    return merge_detections(group)


def _merge_group(
    group: sv.Detections,
    confidence_aggregation: AggregationMode,
    boxes_aggregation: AggregationMode,
    mask_aggregation: MaskAggregationMode,
) -> sv.Detections:
    class_name, class_id = _CLASS_SELECTORS[confidence_aggregation](group)
    mask = None
    if group.mask is not None:
        mask = _MASK_AGGREGATORS[mask_aggregation](group)[np.newaxis]
        box = sv.mask_to_xyxy(mask)[0]
    else:
        box = _BOX_AGGREGATORS[boxes_aggregation](group)
    data: dict[str, Any] = {
        CLASS_NAME_KEY: np.array([class_name]),
        DETECTION_ID_KEY: new_detection_ids(1),
        PREDICTION_TYPE_KEY: np.array(["object-detection"]),
    }
    for key in _LINEAGE_KEYS:
        data[key] = np.array([_first_value(group, key)])
    for key in (SCALING_RELATIVE_TO_PARENT_KEY, SCALING_RELATIVE_TO_ROOT_PARENT_KEY):
        data[key] = np.array([group.data[key][0] if key in group.data else 1.0])
    return sv.Detections(
        xyxy=np.array([box], dtype=np.float64),
        class_id=np.array([class_id]),
        confidence=np.array(
            [_aggregate(_confidences(group), confidence_aggregation)], dtype=np.float64
        ),
        data=data,
        mask=mask,
        metadata=dict(group.metadata),
    )


def _first_value(group: sv.Detections, key: str) -> Any:
    """The first box's column, or the image facts kept in metadata (the reference crashes)."""
    if key in group.data:
        return group.data[key][0]
    if key in group.metadata:
        return group.metadata[key]
    raise ValueError(
        f"the detections lack '{key}', so the merged box cannot say which image it belongs to; "
        "connect a model's predictions"
    )


def _confidences(detections: sv.Detections) -> list[float]:
    if detections.confidence is None:
        return [0.0] * len(detections)
    return detections.confidence.astype(float).tolist()


def _majority_class(group: sv.Detections) -> tuple[str, int]:
    counts = Counter(
        (str(name), int(class_id))
        for name, class_id in zip(group.data[CLASS_NAME_KEY], _class_ids(group), strict=True)
    )
    return counts.most_common(1)[0][0]


def _class_at(group: sv.Detections, index: int) -> tuple[str, int]:
    return str(group.data[CLASS_NAME_KEY][index]), int(_class_ids(group)[index])


def _class_ids(group: sv.Detections) -> np.ndarray:
    return group.class_id if group.class_id is not None else np.zeros(len(group), dtype=int)


def _first_index(values: list[float], pick: Callable[[list[float]], float]) -> int:
    return values.index(pick(values))


_CLASS_SELECTORS: dict[str, Callable[[sv.Detections], tuple[str, int]]] = {
    "average": _majority_class,
    "max": lambda g: _class_at(g, _first_index(_confidences(g), max)),
    "min": lambda g: _class_at(g, _first_index(_confidences(g), min)),
}

_BOX_AGGREGATORS: dict[str, Callable[[sv.Detections], np.ndarray]] = {
    "average": lambda g: np.mean(np.asarray(g.xyxy, dtype=float), axis=0),
    "max": lambda g: g.xyxy[_first_index(g.area.astype(float).tolist(), max)],
    "min": lambda g: g.xyxy[_first_index(g.area.astype(float).tolist(), min)],
}


def _mask_at(group: sv.Detections, pick: Callable[[list[float]], float]) -> np.ndarray:
    assert group.mask is not None
    return np.asarray(group.mask[_first_index(group.area.astype(float).tolist(), pick)])


_MASK_AGGREGATORS: dict[str, Callable[[sv.Detections], np.ndarray]] = {
    "intersection": lambda g: np.all(np.asarray(g.mask), axis=0),
    "union": lambda g: np.any(np.asarray(g.mask), axis=0),
    "max": lambda g: _mask_at(g, max),
    "min": lambda g: _mask_at(g, min),
}

_FIELD_AGGREGATORS: dict[str, Callable[[list[float]], float]] = {
    "average": statistics.mean,
    "max": max,
    "min": min,
}


def _aggregate(values: list[float], mode: AggregationMode) -> float:
    return float(_FIELD_AGGREGATORS[mode](values))


def _presence(
    merged: sv.Detections,
    class_aware: bool,
    mode: AggregationMode,
    required_objects: int | dict[str, int] | None,
) -> tuple[bool, dict[str, float]]:
    if len(merged) == 0:
        return False, {}
    required: int | dict[str, int] = 0 if required_objects is None else required_objects
    if isinstance(required, dict) and not class_aware:
        required = sum(required.values())
    if isinstance(required, int) and len(merged) < required:
        return False, {}
    if not class_aware:
        return True, {"any_object": _aggregate(_confidences(merged), mode)}
    names = merged.data[CLASS_NAME_KEY]
    by_class = {
        str(name): cast(sv.Detections, merged[names == name])
        for name in dict.fromkeys(np.asarray(names).tolist())
    }
    if isinstance(required, dict):
        for name, count in required.items():
            if name not in by_class or len(by_class[name]) < count:
                return False, {}
    return True, {name: _aggregate(_confidences(d), mode) for name, d in by_class.items()}


__all__ = ["DetectionsConsensusBlock", "DetectionsConsensusManifest", "consensus"]
