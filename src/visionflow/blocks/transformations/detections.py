"""Blocks that change detections: filter or transform them with UQL, or grow their boxes.

>>> import numpy as np, supervision as sv
>>> detections = sv.Detections(
...     xyxy=np.array([[10.0, 10.0, 20.0, 20.0]]),
...     data={"image_dimensions": np.array([[100, 100]]), "detection_id": np.array(["a"])},
... )
>>> offset_detections(detections, 10, 4).xyxy.tolist()
[[5.0, 8.0, 25.0, 22.0]]
"""

from __future__ import annotations

import uuid
from typing import Any, Literal, Union

import numpy as np
import supervision as sv
from pydantic import AliasChoices, Field, PositiveInt, field_validator

from visionflow.blocks._uql_cache import CompiledCache
from visionflow.blocks.base import Batch, Block, BlockInfo, BlockManifest, DataSelector, Output
from visionflow.blocks.query_language import (
    DEFAULT_OPERAND_NAME,
    AllOperationsType,
    build_operations_chain,
)
from visionflow.blocks.registry import register_block
from visionflow.data.detections import (
    DETECTION_ID_KEY,
    IMAGE_DIMENSIONS_KEY,
    PARENT_ID_KEY,
    copy_detections,
)
from visionflow.spec.kinds import (
    INSTANCE_SEGMENTATION_PREDICTION_KIND,
    INTEGER_KIND,
    KEYPOINT_DETECTION_PREDICTION_KIND,
    OBJECT_DETECTION_PREDICTION_KIND,
)

DETECTIONS_KINDS = (
    OBJECT_DETECTION_PREDICTION_KIND,
    INSTANCE_SEGMENTATION_PREDICTION_KIND,
    KEYPOINT_DETECTION_PREDICTION_KIND,
)

OPERATIONS_EXAMPLE = [
    {
        "type": "DetectionsFilter",
        "filter_operation": {
            "type": "StatementGroup",
            "statements": [
                {
                    "type": "BinaryStatement",
                    "left_operand": {
                        "type": "DynamicOperand",
                        "operations": [
                            {"type": "ExtractDetectionProperty", "property_name": "class_name"}
                        ],
                    },
                    "comparator": {"type": "in (Sequence)"},
                    "right_operand": {"type": "DynamicOperand", "operand_name": "classes"},
                }
            ],
        },
    }
]


# ---------------------------------------------------------------------------------------------
# detections_filter / detections_transformation: UQL chains over detections
# ---------------------------------------------------------------------------------------------
class _DetectionsOperationsManifest(BlockManifest):
    """Fields shared by the filter and transformation blocks (same shape in the reference)."""

    predictions: DataSelector(*DETECTIONS_KINDS) = Field(
        description="Detections to process.",
        examples=["$steps.object_detection_model.predictions"],
    )
    operations: list[AllOperationsType] = Field(
        description="UQL operations applied in order; they must return detections.",
        examples=[OPERATIONS_EXAMPLE],
    )
    operations_parameters: dict[str, DataSelector()] = Field(
        default_factory=dict,
        description="Values the operations refer to by name (as `DynamicOperand`s).",
        examples=[{"classes": "$inputs.classes"}],
    )

    outputs = (Output("predictions", *DETECTIONS_KINDS),)
    # Parameters may be batches (one value per image) or scalars, as in the reference.
    batch_fields = ("predictions", "operations_parameters")

    @field_validator("operations_parameters")
    @classmethod
    def _no_reserved_name(cls, value: dict[str, str]) -> dict[str, str]:
        if DEFAULT_OPERAND_NAME in value:
            raise ValueError(
                f"'{DEFAULT_OPERAND_NAME}' is reserved for the detection under test; "
                "give this parameter another name"
            )
        return value


class DetectionsFilterManifest(_DetectionsOperationsManifest):
    type: Literal["roboflow_core/detections_filter@v1", "DetectionsFilter"]
    block_info = BlockInfo(
        name="Detections Filter",
        short="Keep only the detections that satisfy a condition.",
        category="transformation",
    )


class DetectionsTransformationManifest(_DetectionsOperationsManifest):
    type: Literal["roboflow_core/detections_transformation@v1", "DetectionsTransformation"]
    block_info = BlockInfo(
        name="Detections Transformation",
        short="Apply a chain of operations (filter, sort, shift, rename...) to detections.",
        category="transformation",
    )


class _DetectionsOperationsBlock(Block):
    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self._chains: CompiledCache[Any] = CompiledCache(build_operations_chain)

    def run(
        self,
        predictions: Batch[sv.Detections],
        operations: list[Any],
        operations_parameters: Batch[dict[str, Any]],
    ) -> list[dict[str, Any]]:
        chain = self._chains.get(operations)
        results = []
        for detections, parameters in zip(predictions, operations_parameters, strict=True):
            transformed = chain(detections, dict(parameters))
            if not isinstance(transformed, sv.Detections):
                raise ValueError(
                    "the operations must keep detections as detections, but they produced "
                    f"{type(transformed).__name__}; use a Property Definition block to extract "
                    "values from detections"
                )
            results.append({"predictions": transformed})
        return results


@register_block
class DetectionsFilterBlock(_DetectionsOperationsBlock):
    """Keeps the detections for which the operations' filter holds."""

    manifest = DetectionsFilterManifest


@register_block
class DetectionsTransformationBlock(_DetectionsOperationsBlock):
    """Applies the operations chain to each element's detections."""

    manifest = DetectionsTransformationManifest


# ---------------------------------------------------------------------------------------------
# roboflow_core/detection_offset@v1
# ---------------------------------------------------------------------------------------------
class DetectionOffsetManifest(BlockManifest):
    type: Literal["roboflow_core/detection_offset@v1", "DetectionOffset"]
    predictions: DataSelector(*DETECTIONS_KINDS) = Field(
        description="Detections whose boxes are enlarged.",
        examples=["$steps.object_detection_model.predictions"],
    )
    offset_width: Union[PositiveInt, DataSelector(INTEGER_KIND)] = Field(
        description="Added to each box's width (half on each side), in `units`.",
        examples=[10, "$inputs.offset_x"],
        validation_alias=AliasChoices("offset_width", "offset_x"),
    )
    offset_height: Union[PositiveInt, DataSelector(INTEGER_KIND)] = Field(
        description="Added to each box's height (half above, half below), in `units`.",
        examples=[10, "$inputs.offset_y"],
        validation_alias=AliasChoices("offset_height", "offset_y"),
    )
    units: Literal["Percent (%)", "Pixels"] = Field(
        default="Pixels",
        description="Whether the offsets are pixels or percents of each box's size.",
        examples=["Pixels", "Percent (%)"],
    )

    block_info = BlockInfo(
        name="Detection Offset",
        short="Grow every box by a margin, in pixels or percent of its size.",
        category="transformation",
    )
    outputs = (Output("predictions", *DETECTIONS_KINDS),)
    batch_fields = ("predictions",)


@register_block
class DetectionOffsetBlock(Block):
    """Enlarges boxes; the results are new detections whose parent is the original box."""

    manifest = DetectionOffsetManifest

    def run(
        self,
        predictions: Batch[sv.Detections],
        offset_width: int,
        offset_height: int,
        units: str = "Pixels",
    ) -> list[dict[str, Any]]:
        use_percentage = units == "Percent (%)"
        return [
            {
                "predictions": offset_detections(
                    detections, offset_width, offset_height, use_percentage=use_percentage
                )
            }
            for detections in predictions
        ]


def offset_detections(
    detections: sv.Detections,
    offset_width: int,
    offset_height: int,
    *,
    use_percentage: bool = False,
) -> sv.Detections:
    """A copy with boxes grown by the offsets and clipped to the image.

    Each new box gets a fresh ``detection_id``; its ``parent_id`` is the id of the box it grew
    from. Masks, keypoints and polygons are left as they are (as the reference does).
    """
    if len(detections) == 0:
        return detections
    dimensions = _image_dimensions(detections)
    x1, y1, x2, y2 = detections.xyxy.T
    if use_percentage:
        # int() truncation of the reference, per box
        dx = np.trunc((x2 - x1) * offset_width / 200)
        dy = np.trunc((y2 - y1) * offset_height / 200)
    else:
        dx, dy = offset_width // 2, offset_height // 2
    result = copy_detections(detections)
    result.xyxy = np.stack(
        [
            np.maximum(0, x1 - dx),
            np.maximum(0, y1 - dy),
            np.minimum(dimensions[:, 1], x2 + dx),
            np.minimum(dimensions[:, 0], y2 + dy),
        ],
        axis=1,
    ).astype(float)
    if DETECTION_ID_KEY in detections.data:
        result.data[PARENT_ID_KEY] = np.asarray(detections.data[DETECTION_ID_KEY]).copy()
    result.data[DETECTION_ID_KEY] = np.array([str(uuid.uuid4()) for _ in range(len(result))])
    return result


def _image_dimensions(detections: sv.Detections) -> np.ndarray:
    """Per-box [height, width] of the image, from the column or, failing that, the metadata."""
    n = len(detections)
    column = detections.data.get(IMAGE_DIMENSIONS_KEY)
    if column is not None and len(column) == n:
        return np.asarray(column, dtype=float).reshape(n, 2)
    known = detections.metadata.get(IMAGE_DIMENSIONS_KEY)
    if known is not None:
        return np.tile(np.asarray(known, dtype=float).reshape(1, 2), (n, 1))
    raise ValueError(
        f"the detections do not say which image they belong to (no '{IMAGE_DIMENSIONS_KEY}'), "
        "so the grown boxes cannot be clipped to it; connect a model's predictions"
    )


__all__ = [
    "DetectionOffsetBlock",
    "DetectionOffsetManifest",
    "DetectionsFilterBlock",
    "DetectionsFilterManifest",
    "DetectionsTransformationBlock",
    "DetectionsTransformationManifest",
    "offset_detections",
]
