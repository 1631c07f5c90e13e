"""Classification model blocks: single-label and multi-label, v1 and v2.

Single-label predictions list every class, best first, with the ``top`` class (as the
reference's models do: ``confidence`` does not hide the best class of an unsure model);
multi-label predictions give every class's score and the ``predicted_classes`` at or above
``confidence``. v2 adds the ``model_id`` output.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, Optional, Union

from pydantic import Field

from visionflow.blocks.base import Batch, BlockInfo, BlockManifest, DataSelector, Output
from visionflow.blocks.models._common import (
    DEFAULT_CONFIDENCE,
    ActiveLearningDataset,
    DisableActiveLearning,
    FloatZeroToOne,
    ImageModelFields,
    ModelBlock,
    active_learning_dataset_field,
    disable_active_learning_field,
    expect_prediction,
)
from visionflow.blocks.registry import register_block
from visionflow.data.classification import make_classification
from visionflow.data.image import Image
from visionflow.models.base import ClassificationParams, ClassScores, ModelTask
from visionflow.spec.kinds import (
    CLASSIFICATION_PREDICTION_KIND,
    FLOAT_ZERO_TO_ONE_KIND,
    INFERENCE_ID_KIND,
    ROBOFLOW_MODEL_ID_KIND,
    STRING_KIND,
)


class _ClassificationFields(ImageModelFields):
    confidence: Union[FloatZeroToOne, DataSelector(FLOAT_ZERO_TO_ONE_KIND)] = Field(
        default=DEFAULT_CONFIDENCE,
        description="Multi-label: classes at or above this confidence are predicted.",
        examples=[0.3, "$inputs.confidence_threshold"],
    )
    disable_active_learning: DisableActiveLearning = disable_active_learning_field()
    active_learning_target_dataset: ActiveLearningDataset = active_learning_dataset_field()


_V1_OUTPUTS = (
    Output("predictions", CLASSIFICATION_PREDICTION_KIND),
    Output("inference_id", STRING_KIND),
)
_V2_OUTPUTS = (
    Output("predictions", CLASSIFICATION_PREDICTION_KIND),
    Output("inference_id", INFERENCE_ID_KIND),
    Output("model_id", ROBOFLOW_MODEL_ID_KIND),
)
_SINGLE_LABEL_INFO = BlockInfo(
    name="Single-Label Classification Model",
    short="Give an image one class (the most likely), with a local model.",
    category="model",
)
_MULTI_LABEL_INFO = BlockInfo(
    name="Multi-Label Classification Model",
    short="Give an image every class that applies, with a local model.",
    category="model",
)


class ClassificationModelV1Manifest(_ClassificationFields):
    type: Literal[
        "roboflow_core/roboflow_classification_model@v1",
        "RoboflowClassificationModel",
        "ClassificationModel",
    ]

    block_info = _SINGLE_LABEL_INFO
    outputs = _V1_OUTPUTS


class ClassificationModelV2Manifest(_ClassificationFields):
    type: Literal["roboflow_core/roboflow_classification_model@v2"]

    block_info = _SINGLE_LABEL_INFO
    outputs = _V2_OUTPUTS


class MultiLabelClassificationModelV1Manifest(_ClassificationFields):
    type: Literal[
        "roboflow_core/roboflow_multi_label_classification_model@v1",
        "RoboflowMultiLabelClassificationModel",
        "MultiLabelClassificationModel",
    ]

    block_info = _MULTI_LABEL_INFO
    outputs = _V1_OUTPUTS


class MultiLabelClassificationModelV2Manifest(_ClassificationFields):
    type: Literal["roboflow_core/roboflow_multi_label_classification_model@v2"]

    block_info = _MULTI_LABEL_INFO
    outputs = _V2_OUTPUTS


@register_block
class ClassificationModelV1Block(ModelBlock):
    """``{"predictions", "inference_id"}`` per image."""

    manifest: ClassVar[type[BlockManifest]] = ClassificationModelV1Manifest
    expected_tasks = (ModelTask.CLASSIFICATION,)
    multi_label: ClassVar[bool] = False
    #: whether results carry the ``model_id`` output (v2)
    reports_model_id: ClassVar[bool] = False

    def run(
        self,
        images: Batch[Image],
        model_id: str,
        confidence: float,
        disable_active_learning: bool,
        active_learning_target_dataset: Optional[str],
    ) -> list[dict[str, Any]]:
        if len(images) == 0:
            return []
        params = ClassificationParams(confidence=float(confidence))
        info, predictions, inference_id = self.infer(images, model_id, params)
        results: list[dict[str, Any]] = []
        for image, prediction in zip(images, predictions, strict=True):
            scores = expect_prediction(prediction, ClassScores, info.model_id)
            result: dict[str, Any] = {
                "predictions": make_classification(
                    scores.scores,
                    info.class_names,
                    image,
                    multi_label=self.multi_label,
                    # single-label keeps every class (top = the best); multi-label predicts
                    # the classes at or above the threshold
                    confidence_threshold=float(confidence) if self.multi_label else None,
                    inference_id=inference_id,
                ),
                "inference_id": inference_id,
            }
            if self.reports_model_id:
                result["model_id"] = str(model_id)
            results.append(result)
        return results


@register_block
class ClassificationModelV2Block(ClassificationModelV1Block):
    """``{"predictions", "inference_id", "model_id"}`` per image."""

    manifest = ClassificationModelV2Manifest
    reports_model_id = True


@register_block
class MultiLabelClassificationModelV1Block(ClassificationModelV1Block):
    """``{"predictions", "inference_id"}`` per image; every class's score."""

    manifest: ClassVar[type[BlockManifest]] = MultiLabelClassificationModelV1Manifest
    expected_tasks = (ModelTask.MULTI_LABEL_CLASSIFICATION,)
    multi_label = True


@register_block
class MultiLabelClassificationModelV2Block(MultiLabelClassificationModelV1Block):
    """``{"predictions", "inference_id", "model_id"}`` per image; every class's score."""

    manifest = MultiLabelClassificationModelV2Manifest
    reports_model_id = True


__all__ = [
    "ClassificationModelV1Block",
    "ClassificationModelV2Block",
    "MultiLabelClassificationModelV1Block",
    "MultiLabelClassificationModelV2Block",
]
