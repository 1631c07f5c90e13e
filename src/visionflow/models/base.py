"""What every model looks like to the blocks: a task, its classes, and ``infer`` on a batch.

``ModelAdapter`` is the seam: ONNX Runtime is the first implementation
(``visionflow.models.onnx``); tests inject fakes. Predictions come back as plain arrays in the
pixels of each input image; blocks turn them into ``supervision.Detections`` with lineage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol, runtime_checkable

import numpy as np


class ModelTask(str, Enum):
    OBJECT_DETECTION = "object-detection"
    INSTANCE_SEGMENTATION = "instance-segmentation"
    KEYPOINT_DETECTION = "keypoint-detection"
    CLASSIFICATION = "classification"
    MULTI_LABEL_CLASSIFICATION = "multi-label-classification"
    OCR = "ocr"


@dataclass(frozen=True)
class ModelInfo:
    """Facts about a loaded model (``describe()``)."""

    model_id: str
    task: ModelTask
    class_names: tuple[str, ...] = ()
    #: (width, height) the network takes; None for models that take any size (OCR)
    input_size: tuple[int, int] | None = None
    #: largest batch one call accepts (1 for fixed-batch exports; None: any)
    max_batch_size: int | None = 1
    keypoint_names: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    path: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "task": self.task.value,
            "class_names": list(self.class_names),
            "input_size": list(self.input_size) if self.input_size else None,
            "max_batch_size": self.max_batch_size,
            "keypoint_names": list(self.keypoint_names),
            "providers": list(self.providers),
            "path": self.path,
        }


@dataclass(frozen=True)
class DetectionParams:
    """Post-processing of detection-like tasks (the model blocks' fields)."""

    confidence: float = 0.4
    iou_threshold: float = 0.3
    class_agnostic_nms: bool = False
    #: class names to keep (None: all)
    class_filter: tuple[str, ...] | None = None
    max_detections: int = 300
    max_candidates: int = 3000
    #: keypoints below this confidence are dropped (pose models)
    keypoint_confidence: float = 0.0


@dataclass(frozen=True)
class ClassificationParams:
    #: multi-label: classes at or above this score are predicted (single-label: reported only)
    confidence: float = 0.4


@dataclass
class RawDetections:
    """Detections of one image, in that image's pixels."""

    xyxy: np.ndarray  # (N, 4) float32
    confidence: np.ndarray  # (N,) float32
    class_id: np.ndarray  # (N,) int
    masks: np.ndarray | None = None  # (N, H, W) bool at the image's resolution
    keypoints_xy: np.ndarray | None = None  # (N, K, 2) float32
    keypoints_confidence: np.ndarray | None = None  # (N, K) float32

    @classmethod
    def empty(cls) -> RawDetections:
        return cls(
            xyxy=np.zeros((0, 4), dtype=np.float32),
            confidence=np.zeros(0, dtype=np.float32),
            class_id=np.zeros(0, dtype=int),
        )

    def __len__(self) -> int:
        return len(self.xyxy)


@dataclass
class ClassScores:
    """Scores of every class for one image (probabilities)."""

    scores: np.ndarray  # (C,) float32


@dataclass
class TextLines:
    """OCR result of one image: one entry per text line."""

    texts: list[str]
    confidence: np.ndarray  # (N,) float32
    polygons: np.ndarray  # (N, 4, 2) float32, corners in image pixels

    @classmethod
    def empty(cls) -> TextLines:
        return cls([], np.zeros(0, dtype=np.float32), np.zeros((0, 4, 2), dtype=np.float32))


Prediction = RawDetections | ClassScores | TextLines


@runtime_checkable
class ModelAdapter(Protocol):
    """A loaded model. ``infer`` takes BGR uint8 images and returns one prediction each."""

    info: ModelInfo

    def infer(
        self,
        images: Sequence[np.ndarray],
        params: DetectionParams | ClassificationParams | None = None,
    ) -> list[Prediction]: ...

    def describe(self) -> dict[str, Any]: ...


__all__ = [
    "ClassScores",
    "ClassificationParams",
    "DetectionParams",
    "ModelAdapter",
    "ModelInfo",
    "ModelTask",
    "Prediction",
    "RawDetections",
    "TextLines",
]
