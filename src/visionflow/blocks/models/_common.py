"""Shared parts of the model blocks: manifest fields, the model lookup, and turning what an
adapter returns into the values that flow (``supervision.Detections``, classification dicts).

A model block gets the whole batch of images (all crops of all images after a dynamic crop)
and calls ``adapter.infer`` once with all of them; the adapter splits the batch into as few
ONNX Runtime calls as the model allows. Every call gets one ``inference_id`` shared by the
images it covers, as the reference's single request per batch does.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Optional, Union, cast

import numpy as np
import supervision as sv
from pydantic import AliasChoices, Field, PositiveInt

from visionflow.blocks.base import Batch, Block, BlockManifest, DataSelector
from visionflow.data.detections import (
    CLASS_NAME_KEY,
    KEYPOINT_PADDING_CLASS_NAME,
    KEYPOINTS_CLASS_ID_KEY_IN_SV_DETECTIONS,
    KEYPOINTS_CLASS_NAME_KEY_IN_SV_DETECTIONS,
    KEYPOINTS_CONFIDENCE_KEY_IN_SV_DETECTIONS,
    KEYPOINTS_XY_KEY_IN_SV_DETECTIONS,
    make_detections,
)
from visionflow.data.image import Image
from visionflow.errors import ModelError
from visionflow.models.base import (
    ClassificationParams,
    DetectionParams,
    ModelAdapter,
    ModelInfo,
    ModelTask,
    Prediction,
    RawDetections,
)
from visionflow.spec.kinds import (
    BOOLEAN_KIND,
    FLOAT_ZERO_TO_ONE_KIND,
    IMAGE_KIND,
    INTEGER_KIND,
    LIST_OF_VALUES_KIND,
    ROBOFLOW_MODEL_ID_KIND,
    ROBOFLOW_PROJECT_KIND,
)

if TYPE_CHECKING:
    from visionflow.models.manager import ModelManager

FloatZeroToOne = Annotated[float, Field(ge=0.0, le=1.0)]

#: the reference's default threshold of detection models (also what "best"/"default" mean for
#: a local model, which has no per-class thresholds from an evaluation)
DEFAULT_CONFIDENCE = 0.4

IMAGES_FIELD: Any = Field(
    title="Image",
    description="The image(s) to infer on: inputs, or crops made by an earlier step.",
    examples=["$inputs.image", "$steps.cropping.crops"],
    validation_alias=AliasChoices("images", "image"),
)

MODEL_ID_FIELD: Any = Field(
    title="Model",
    description=(
        "Identifier of a local model (`visionflow models list`), e.g. 'yolov3-tiny-416'; "
        "reference-style ids such as 'my_project/3' work once a model is imported under them."
    ),
    examples=["yolov3-tiny-416", "$inputs.model"],
)


def disable_active_learning_field() -> Any:
    """The reference's platform flag; accepted so documents validate, and ignored."""
    return Field(
        default=True,
        description="Kept for compatibility with Roboflow documents; ignored (no platform).",
        examples=[True, "$inputs.disable_active_learning"],
    )


def active_learning_dataset_field() -> Any:
    """The reference's platform dataset; accepted so documents validate, and ignored."""
    return Field(
        default=None,
        description="Kept for compatibility with Roboflow documents; ignored (no platform).",
        examples=["my_project", "$inputs.al_target_project"],
    )


DisableActiveLearning = Union[bool, DataSelector(BOOLEAN_KIND)]
ActiveLearningDataset = Union[DataSelector(ROBOFLOW_PROJECT_KIND), str, None]


class ImageModelFields(BlockManifest):
    """Fields of every model block: the images, the model, the ignored platform flags."""

    images: DataSelector(IMAGE_KIND) = IMAGES_FIELD
    model_id: Union[DataSelector(ROBOFLOW_MODEL_ID_KIND), str] = MODEL_ID_FIELD

    batch_fields = ("images",)


class DetectionFields(ImageModelFields):
    """Post-processing fields of the detection-like blocks (boxes, masks, keypoints)."""

    class_filter: Union[Optional[list[str]], DataSelector(LIST_OF_VALUES_KIND)] = Field(
        default=None,
        description="Class names to keep (all when empty); they must be classes of the model.",
        examples=[["a", "b", "c"], "$inputs.class_filter"],
    )
    iou_threshold: Union[FloatZeroToOne, DataSelector(FLOAT_ZERO_TO_ONE_KIND)] = Field(
        default=0.3,
        description="Boxes overlapping more than this (IoU) are merged by non-maximum suppression.",
        examples=[0.4, "$inputs.iou_threshold"],
    )
    max_detections: Union[PositiveInt, DataSelector(INTEGER_KIND)] = Field(
        default=300,
        description="Most detections returned per image.",
        examples=[300, "$inputs.max_detections"],
    )
    class_agnostic_nms: Union[Optional[bool], DataSelector(BOOLEAN_KIND)] = Field(
        default=False,
        description="Suppress overlapping boxes across classes, not only within one class.",
        examples=[True, "$inputs.class_agnostic_nms"],
    )
    max_candidates: Union[PositiveInt, DataSelector(INTEGER_KIND)] = Field(
        default=3000,
        description="Most candidate boxes considered by non-maximum suppression.",
        examples=[3000, "$inputs.max_candidates"],
    )
    disable_active_learning: DisableActiveLearning = disable_active_learning_field()
    active_learning_target_dataset: ActiveLearningDataset = active_learning_dataset_field()


class ConfidenceDetectionFields(DetectionFields):
    """Detection fields with the plain ``confidence`` threshold (every version but OD v3)."""

    confidence: Union[FloatZeroToOne, DataSelector(FLOAT_ZERO_TO_ONE_KIND)] = Field(
        default=DEFAULT_CONFIDENCE,
        description="Detections below this confidence are dropped.",
        examples=[0.3, "$inputs.confidence_threshold"],
    )


# ---------------------------------------------------------------------------------------------
# The block base: finds the model and checks that it does the block's task
# ---------------------------------------------------------------------------------------------
class ModelBlock(Block):
    """A block that runs a local model; ``expected_tasks`` are the tasks it can use."""

    expected_tasks: ClassVar[tuple[ModelTask, ...]] = ()
    _manager: ModelManager | None = None

    def model(self, model_id: str) -> ModelAdapter:
        """The loaded model ``model_id`` (loaded once, by the manager's loader threads)."""
        if self._manager is None:
            # the runtime (ONNX Runtime, rapidocr) loads only when a model block first runs
            from visionflow.models.manager import model_manager_from

            self._manager = model_manager_from(self.context.init_parameters)
        adapter = self._manager.get(str(model_id))
        check_task(
            adapter.info, self.expected_tasks, self.context.step_name, self.context.block_type
        )
        return adapter

    def infer(
        self,
        images: Sequence[Image],
        model_id: str,
        params: DetectionParams | ClassificationParams | None,
    ) -> tuple[ModelInfo, list[Prediction], str]:
        """Run ``model_id`` once on all ``images``: (model facts, predictions, inference id)."""
        adapter = self.model(model_id)
        predictions = adapter.infer([image.numpy_image for image in images], params)
        if len(predictions) != len(images):
            raise ModelError(
                f"model '{model_id}' returned {len(predictions)} predictions for "
                f"{len(images)} images (a bug in its adapter)",
                code="model.bad_output",
                loc=str(model_id),
            )
        return adapter.info, predictions, str(uuid.uuid4())


class DetectionModelBlock(ModelBlock):
    """Base of the detection-like blocks: one ``infer`` call, then detections per image."""

    prediction_type: ClassVar[str] = "object-detection"
    #: whether results carry the ``model_id`` output (v2 and later)
    reports_model_id: ClassVar[bool] = True

    def detect(
        self,
        images: Batch[Image],
        model_id: str,
        confidence: float,
        class_filter: Optional[list[str]],
        iou_threshold: float,
        max_detections: int,
        class_agnostic_nms: Optional[bool],
        max_candidates: int,
        keypoint_confidence: float | None = None,
    ) -> list[dict[str, Any]]:
        """One ``{"inference_id", "predictions"[, "model_id"]}`` per image."""
        if len(images) == 0:
            return []
        params = detection_params(
            confidence,
            iou_threshold,
            class_agnostic_nms,
            class_filter,
            max_detections,
            max_candidates,
            keypoint_confidence or 0.0,
        )
        info, predictions, inference_id = self.infer(images, model_id, params)
        return detection_results(
            images,
            predictions,
            info,
            inference_id,
            prediction_type=self.prediction_type,
            class_filter=class_filter,
            model_id=str(model_id) if self.reports_model_id else None,
            keypoint_confidence=keypoint_confidence,
        )


def check_task(info: ModelInfo, expected: Sequence[ModelTask], step: str, block_type: str) -> None:
    """Refuse a model whose task the block cannot use (``model.task_mismatch``)."""
    if not expected or info.task in expected:
        return
    wanted = " or ".join(task.value for task in expected)
    raise ModelError(
        f"step '{step}' ({block_type}) needs a {wanted} model, but '{info.model_id}' is a "
        f"{info.task.value} model; choose a {wanted} model (`visionflow models list` shows "
        f"each model's task) or use the block made for {info.task.value}",
        code="model.task_mismatch",
        loc=info.model_id,
    )


def expect_prediction(prediction: Any, kind: type, model_id: str) -> Any:
    """``prediction`` when it is a ``kind``; a clear error when the adapter returned another."""
    if not isinstance(prediction, kind):
        raise ModelError(
            f"model '{model_id}' returned {type(prediction).__name__}, expected "
            f"{kind.__name__} (a bug in its adapter)",
            code="model.bad_output",
            loc=model_id,
        )
    return prediction


def detection_params(
    confidence: float,
    iou_threshold: float,
    class_agnostic_nms: bool | None,
    class_filter: Sequence[str] | None,
    max_detections: int,
    max_candidates: int,
    keypoint_confidence: float = 0.0,
) -> DetectionParams:
    """The adapter's post-processing settings from the block's fields."""
    return DetectionParams(
        confidence=float(confidence),
        iou_threshold=float(iou_threshold),
        class_agnostic_nms=bool(class_agnostic_nms),
        class_filter=tuple(str(c) for c in class_filter) if class_filter else None,
        max_detections=int(max_detections),
        max_candidates=int(max_candidates),
        keypoint_confidence=float(keypoint_confidence),
    )


# ---------------------------------------------------------------------------------------------
# RawDetections -> supervision.Detections
# ---------------------------------------------------------------------------------------------
def to_detections(
    raw: RawDetections,
    image: Image,
    info: ModelInfo,
    *,
    prediction_type: str,
    inference_id: str,
    class_filter: Sequence[str] | None = None,
    keypoint_confidence: float | None = None,
) -> sv.Detections:
    """Detections of one image with the reference's columns and the image's lineage.

    ``keypoint_confidence`` (keypoint models only) drops keypoints below it; the remaining ones
    of each box come first and the rows are padded to a common length with the padding class
    name, as the reference does. ``class_filter`` keeps only the listed class names.
    """
    class_ids = np.asarray(raw.class_id, dtype=int).reshape(-1)
    data: dict[str, Any] = {}
    if keypoint_confidence is not None:
        data.update(keypoint_columns(raw, info.keypoint_names, keypoint_confidence))
    detections = make_detections(
        np.asarray(raw.xyxy, dtype=float).reshape(-1, 4),
        raw.confidence,
        class_ids,
        info.class_names,
        image,
        mask=_masks(raw),
        data=data,
        prediction_type=prediction_type,
        inference_id=inference_id,
    )
    if class_filter:
        # the adapter filters too; this keeps the reference's guarantee for any adapter
        keep = np.isin(detections.data[CLASS_NAME_KEY], list(class_filter))
        detections = cast(sv.Detections, detections[keep])
    return detections


def _masks(raw: RawDetections) -> np.ndarray | None:
    if raw.masks is None:
        return None
    return np.asarray(raw.masks, dtype=bool)


def keypoint_columns(
    raw: RawDetections, names: Sequence[str], threshold: float
) -> dict[str, np.ndarray]:
    """The four keypoint columns: kept keypoints first in each row, padding after."""
    n = len(raw)
    given = (
        np.zeros((n, 0), dtype=np.float32)
        if raw.keypoints_xy is None or raw.keypoints_confidence is None
        else np.asarray(raw.keypoints_confidence, dtype=np.float32)
    )
    k = given.shape[1] if given.ndim == 2 else 0
    confidence = given.reshape(n, k)
    xy = (
        np.zeros((n, k, 2), dtype=np.float32)
        if raw.keypoints_xy is None
        else np.asarray(raw.keypoints_xy, dtype=np.float32).reshape(n, k, 2)
    )
    kept = confidence >= threshold
    counts = kept.sum(axis=1)
    width = int(counts.max(initial=0))
    # a stable sort on "not kept" moves each row's kept keypoints to the front, in order
    order = np.argsort(~kept, axis=1, kind="stable")[:, :width]
    valid = np.arange(width)[None, :] < counts[:, None]
    vocabulary = np.array(
        [str(names[i]) if i < len(names) else str(i) for i in range(k)], dtype=object
    )
    class_names = np.full((n, width), KEYPOINT_PADDING_CLASS_NAME, dtype=object)
    class_names[valid] = vocabulary[order[valid]]
    picked_xy = np.take_along_axis(xy, order[:, :, None], axis=1)
    picked_confidence = np.take_along_axis(confidence, order, axis=1)
    return {
        KEYPOINTS_XY_KEY_IN_SV_DETECTIONS: np.where(valid[:, :, None], picked_xy, 0.0).astype(
            np.float32
        ),
        KEYPOINTS_CONFIDENCE_KEY_IN_SV_DETECTIONS: np.where(valid, picked_confidence, 0.0).astype(
            np.float32
        ),
        KEYPOINTS_CLASS_ID_KEY_IN_SV_DETECTIONS: np.where(valid, order, 0).astype(int),
        KEYPOINTS_CLASS_NAME_KEY_IN_SV_DETECTIONS: class_names,
    }


def detection_results(
    images: Sequence[Image],
    predictions: Sequence[Prediction],
    info: ModelInfo,
    inference_id: str,
    *,
    prediction_type: str,
    class_filter: Sequence[str] | None,
    model_id: str | None,
    keypoint_confidence: float | None = None,
) -> list[dict[str, Any]]:
    """One ``{"inference_id", "predictions"[, "model_id"]}`` dict per image."""
    results: list[dict[str, Any]] = []
    for image, prediction in zip(images, predictions, strict=True):
        raw = expect_prediction(prediction, RawDetections, info.model_id)
        result: dict[str, Any] = {
            "inference_id": inference_id,
            "predictions": to_detections(
                raw,
                image,
                info,
                prediction_type=prediction_type,
                inference_id=inference_id,
                class_filter=class_filter,
                keypoint_confidence=keypoint_confidence,
            ),
        }
        if model_id is not None:
            result["model_id"] = model_id
        results.append(result)
    return results


__all__ = [
    "DEFAULT_CONFIDENCE",
    "IMAGES_FIELD",
    "MODEL_ID_FIELD",
    "ActiveLearningDataset",
    "ConfidenceDetectionFields",
    "DetectionFields",
    "DetectionModelBlock",
    "DisableActiveLearning",
    "FloatZeroToOne",
    "ImageModelFields",
    "ModelBlock",
    "active_learning_dataset_field",
    "check_task",
    "detection_params",
    "detection_results",
    "disable_active_learning_field",
    "expect_prediction",
    "keypoint_columns",
    "to_detections",
]
