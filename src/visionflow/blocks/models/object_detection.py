"""Object detection model blocks (v1, v2, v3): boxes with class names and confidences.

They run a local model (``visionflow models list``) on the whole batch of images in one
call. v2 adds the ``model_id`` output; v3 chooses its threshold with ``confidence_mode``
(``best`` and ``default`` use 0.4, the threshold of the other versions, since a local model
has no per-class thresholds from an evaluation; ``custom`` uses ``custom_confidence``).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, Optional, Union

from pydantic import Field, model_validator

from visionflow.blocks.base import Batch, BlockInfo, BlockManifest, DataSelector, Output
from visionflow.blocks.models._common import (
    DEFAULT_CONFIDENCE,
    ConfidenceDetectionFields,
    DetectionFields,
    DetectionModelBlock,
    FloatZeroToOne,
)
from visionflow.blocks.registry import register_block
from visionflow.data.image import Image
from visionflow.models.base import ModelTask
from visionflow.spec.kinds import (
    FLOAT_ZERO_TO_ONE_KIND,
    INFERENCE_ID_KIND,
    OBJECT_DETECTION_PREDICTION_KIND,
    ROBOFLOW_MODEL_ID_KIND,
    STRING_KIND,
)

ConfidenceMode = Literal["best", "default", "custom"]

_INFO = BlockInfo(
    name="Object Detection Model",
    short="Find objects with boxes, class names and confidences, with a local model.",
    category="model",
)


# ---------------------------------------------------------------------------------------------
# roboflow_core/roboflow_object_detection_model@v1 and @v2
# ---------------------------------------------------------------------------------------------
class ObjectDetectionModelV1Manifest(ConfidenceDetectionFields):
    type: Literal[
        "roboflow_core/roboflow_object_detection_model@v1",
        "RoboflowObjectDetectionModel",
        "ObjectDetectionModel",
    ]

    block_info = _INFO
    outputs = (
        Output("inference_id", STRING_KIND),
        Output("predictions", OBJECT_DETECTION_PREDICTION_KIND),
    )


class ObjectDetectionModelV2Manifest(ConfidenceDetectionFields):
    type: Literal["roboflow_core/roboflow_object_detection_model@v2"]

    block_info = _INFO
    outputs = (
        Output("inference_id", INFERENCE_ID_KIND),
        Output("predictions", OBJECT_DETECTION_PREDICTION_KIND),
        Output("model_id", ROBOFLOW_MODEL_ID_KIND),
    )


@register_block
class ObjectDetectionModelV1Block(DetectionModelBlock):
    """``{"inference_id", "predictions"}`` per image."""

    manifest: ClassVar[type[BlockManifest]] = ObjectDetectionModelV1Manifest
    expected_tasks = (ModelTask.OBJECT_DETECTION,)
    reports_model_id = False

    def run(
        self,
        images: Batch[Image],
        model_id: str,
        confidence: float,
        class_filter: Optional[list[str]],
        iou_threshold: float,
        max_detections: int,
        class_agnostic_nms: Optional[bool],
        max_candidates: int,
        disable_active_learning: bool,
        active_learning_target_dataset: Optional[str],
    ) -> list[dict[str, Any]]:
        return self.detect(
            images,
            model_id,
            confidence,
            class_filter,
            iou_threshold,
            max_detections,
            class_agnostic_nms,
            max_candidates,
        )


@register_block
class ObjectDetectionModelV2Block(ObjectDetectionModelV1Block):
    """``{"inference_id", "predictions", "model_id"}`` per image."""

    manifest = ObjectDetectionModelV2Manifest
    reports_model_id = True


# ---------------------------------------------------------------------------------------------
# roboflow_core/roboflow_object_detection_model@v3
# ---------------------------------------------------------------------------------------------
class ObjectDetectionModelV3Manifest(DetectionFields):
    type: Literal["roboflow_core/roboflow_object_detection_model@v3"]
    confidence_mode: Union[ConfidenceMode, DataSelector(STRING_KIND)] = Field(
        default="best",
        description=(
            "How the confidence threshold is chosen: 'best' and 'default' use the model's "
            f"default ({DEFAULT_CONFIDENCE}; local models carry no per-class thresholds), "
            "'custom' uses `custom_confidence`."
        ),
    )
    custom_confidence: Union[Optional[FloatZeroToOne], DataSelector(FLOAT_ZERO_TO_ONE_KIND)] = (
        Field(
            default=DEFAULT_CONFIDENCE,
            description="Confidence threshold used when `confidence_mode` is 'custom'.",
            examples=[0.3, "$inputs.confidence_threshold"],
        )
    )

    block_info = _INFO
    outputs = ObjectDetectionModelV2Manifest.outputs

    @model_validator(mode="after")
    def _custom_needs_threshold(self) -> ObjectDetectionModelV3Manifest:
        if self.confidence_mode == "custom" and self.custom_confidence is None:
            raise ValueError("`custom_confidence` is required when `confidence_mode` is 'custom'")
        return self


def resolve_confidence(confidence_mode: str, custom_confidence: Optional[float]) -> float:
    """The threshold v3 blocks use for ``confidence_mode`` (a value given at run time too)."""
    if confidence_mode == "custom":
        if custom_confidence is None:
            raise ValueError("`custom_confidence` is required when `confidence_mode` is 'custom'")
        return float(custom_confidence)
    if confidence_mode in ("best", "default"):
        return DEFAULT_CONFIDENCE
    raise ValueError(
        f"confidence_mode must be 'best', 'default' or 'custom'; got {confidence_mode!r}"
    )


@register_block
class ObjectDetectionModelV3Block(DetectionModelBlock):
    """``{"inference_id", "predictions", "model_id"}`` per image."""

    manifest = ObjectDetectionModelV3Manifest
    expected_tasks = (ModelTask.OBJECT_DETECTION,)

    def run(
        self,
        images: Batch[Image],
        model_id: str,
        confidence_mode: str,
        custom_confidence: Optional[float],
        class_filter: Optional[list[str]],
        iou_threshold: float,
        max_detections: int,
        class_agnostic_nms: Optional[bool],
        max_candidates: int,
        disable_active_learning: bool,
        active_learning_target_dataset: Optional[str],
    ) -> list[dict[str, Any]]:
        return self.detect(
            images,
            model_id,
            resolve_confidence(confidence_mode, custom_confidence),
            class_filter,
            iou_threshold,
            max_detections,
            class_agnostic_nms,
            max_candidates,
        )


__all__ = [
    "ObjectDetectionModelV1Block",
    "ObjectDetectionModelV2Block",
    "ObjectDetectionModelV3Block",
    "resolve_confidence",
]
