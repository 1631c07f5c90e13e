"""Instance segmentation and keypoint detection model blocks (v1 and v2).

Instance segmentation gives each box a mask at the image's resolution (serialized as its
polygon, ``points``); keypoint detection gives each box its keypoints (``keypoints_xy``,
``keypoints_confidence``, ``keypoints_class_name``, ``keypoints_class_id``), keeping those at
or above ``keypoint_confidence``. v2 adds the ``model_id`` output.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, Optional, Union

from pydantic import Field

from visionflow.blocks.base import Batch, BlockInfo, BlockManifest, DataSelector, Output
from visionflow.blocks.models._common import (
    ConfidenceDetectionFields,
    DetectionModelBlock,
    FloatZeroToOne,
)
from visionflow.blocks.registry import register_block
from visionflow.data.image import Image
from visionflow.models.base import ModelTask
from visionflow.spec.kinds import (
    BOOLEAN_KIND,
    FLOAT_ZERO_TO_ONE_KIND,
    INFERENCE_ID_KIND,
    INSTANCE_SEGMENTATION_PREDICTION_KIND,
    KEYPOINT_DETECTION_PREDICTION_KIND,
    ROBOFLOW_MODEL_ID_KIND,
    STRING_KIND,
)


# ---------------------------------------------------------------------------------------------
# roboflow_core/roboflow_instance_segmentation_model@v1 and @v2
# ---------------------------------------------------------------------------------------------
class _SegmentationFields(ConfidenceDetectionFields):
    class_agnostic_nms: Union[bool, DataSelector(BOOLEAN_KIND)] = Field(
        default=False,
        description="Suppress overlapping boxes across classes, not only within one class.",
        examples=[True, "$inputs.class_agnostic_nms"],
    )
    mask_decode_mode: Union[Literal["accurate", "tradeoff", "fast"], DataSelector(STRING_KIND)] = (
        Field(
            default="accurate",
            description=(
                "Kept for compatibility with Roboflow documents; masks are always decoded at "
                "the image's full resolution ('accurate')."
            ),
            examples=["accurate", "$inputs.mask_decode_mode"],
        )
    )
    tradeoff_factor: Union[FloatZeroToOne, DataSelector(FLOAT_ZERO_TO_ONE_KIND)] = Field(
        default=0.0,
        description="Kept for compatibility with Roboflow documents; ignored.",
        examples=[0.3, "$inputs.tradeoff_factor"],
    )
    enforce_dense_masks_in_inference_models: Union[bool, DataSelector(BOOLEAN_KIND)] = Field(
        default=True,
        description="Kept for compatibility with Roboflow documents; masks are always dense.",
        examples=[True, "$inputs.enforce_dense_masks_in_inference_models"],
    )


_SEGMENTATION_INFO = BlockInfo(
    name="Instance Segmentation Model",
    short="Find objects with their outline (a mask per object), with a local model.",
    category="model",
)


class InstanceSegmentationModelV1Manifest(_SegmentationFields):
    type: Literal[
        "roboflow_core/roboflow_instance_segmentation_model@v1",
        "RoboflowInstanceSegmentationModel",
        "InstanceSegmentationModel",
    ]

    block_info = _SEGMENTATION_INFO
    outputs = (
        Output("inference_id", STRING_KIND),
        Output("predictions", INSTANCE_SEGMENTATION_PREDICTION_KIND),
    )


class InstanceSegmentationModelV2Manifest(_SegmentationFields):
    type: Literal["roboflow_core/roboflow_instance_segmentation_model@v2"]

    block_info = _SEGMENTATION_INFO
    outputs = (
        Output("inference_id", INFERENCE_ID_KIND),
        Output("predictions", INSTANCE_SEGMENTATION_PREDICTION_KIND),
        Output("model_id", ROBOFLOW_MODEL_ID_KIND),
    )


@register_block
class InstanceSegmentationModelV1Block(DetectionModelBlock):
    """``{"inference_id", "predictions"}`` per image; predictions carry masks."""

    manifest: ClassVar[type[BlockManifest]] = InstanceSegmentationModelV1Manifest
    expected_tasks = (ModelTask.INSTANCE_SEGMENTATION,)
    prediction_type = "instance-segmentation"
    reports_model_id = False

    def run(
        self,
        images: Batch[Image],
        model_id: str,
        confidence: float,
        class_filter: Optional[list[str]],
        iou_threshold: float,
        max_detections: int,
        class_agnostic_nms: bool,
        max_candidates: int,
        mask_decode_mode: str,
        tradeoff_factor: float,
        enforce_dense_masks_in_inference_models: bool,
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
class InstanceSegmentationModelV2Block(InstanceSegmentationModelV1Block):
    """``{"inference_id", "predictions", "model_id"}`` per image; predictions carry masks."""

    manifest = InstanceSegmentationModelV2Manifest
    reports_model_id = True


# ---------------------------------------------------------------------------------------------
# roboflow_core/roboflow_keypoint_detection_model@v1 and @v2
# ---------------------------------------------------------------------------------------------
class _KeypointFields(ConfidenceDetectionFields):
    keypoint_confidence: Union[FloatZeroToOne, DataSelector(FLOAT_ZERO_TO_ONE_KIND)] = Field(
        default=0.0,
        description="Keypoints below this confidence are left out.",
        examples=[0.3, "$inputs.keypoint_confidence"],
    )
    class_agnostic_nms: Union[bool, DataSelector(BOOLEAN_KIND)] = Field(
        default=False,
        description="Suppress overlapping boxes across classes, not only within one class.",
        examples=[True, "$inputs.class_agnostic_nms"],
    )


_KEYPOINTS_INFO = BlockInfo(
    name="Keypoint Detection Model",
    short="Find objects with their skeleton (named keypoints), with a local model.",
    category="model",
)


class KeypointDetectionModelV1Manifest(_KeypointFields):
    type: Literal[
        "roboflow_core/roboflow_keypoint_detection_model@v1",
        "RoboflowKeypointDetectionModel",
        "KeypointsDetectionModel",
    ]

    block_info = _KEYPOINTS_INFO
    outputs = (
        Output("inference_id", STRING_KIND),
        Output("predictions", KEYPOINT_DETECTION_PREDICTION_KIND),
    )


class KeypointDetectionModelV2Manifest(_KeypointFields):
    type: Literal["roboflow_core/roboflow_keypoint_detection_model@v2"]

    block_info = _KEYPOINTS_INFO
    outputs = (
        Output("inference_id", INFERENCE_ID_KIND),
        Output("predictions", KEYPOINT_DETECTION_PREDICTION_KIND),
        Output("model_id", ROBOFLOW_MODEL_ID_KIND),
    )


@register_block
class KeypointDetectionModelV1Block(DetectionModelBlock):
    """``{"inference_id", "predictions"}`` per image; predictions carry keypoints."""

    manifest: ClassVar[type[BlockManifest]] = KeypointDetectionModelV1Manifest
    expected_tasks = (ModelTask.KEYPOINT_DETECTION,)
    prediction_type = "keypoint-detection"
    reports_model_id = False

    def run(
        self,
        images: Batch[Image],
        model_id: str,
        confidence: float,
        keypoint_confidence: float,
        class_filter: Optional[list[str]],
        iou_threshold: float,
        max_detections: int,
        class_agnostic_nms: bool,
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
            keypoint_confidence=keypoint_confidence,
        )


@register_block
class KeypointDetectionModelV2Block(KeypointDetectionModelV1Block):
    """``{"inference_id", "predictions", "model_id"}`` per image; predictions carry keypoints."""

    manifest = KeypointDetectionModelV2Manifest
    reports_model_id = True


__all__ = [
    "InstanceSegmentationModelV1Block",
    "InstanceSegmentationModelV2Block",
    "KeypointDetectionModelV1Block",
    "KeypointDetectionModelV2Block",
]
