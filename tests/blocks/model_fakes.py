"""Fake model adapters and a manager serving them, for the model block tests.

The manager's store holds small ``model.json`` packages; its factory returns the fakes, so
tests check the blocks without any real model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import visionflow
from visionflow.models.base import (
    ClassificationParams,
    ClassScores,
    DetectionParams,
    ModelInfo,
    ModelTask,
    Prediction,
    RawDetections,
)
from visionflow.models.manager import INIT_PARAMETER, ModelManager
from visionflow.models.package import ModelManifest
from visionflow.models.store import ModelStore, folder_name


class FakeAdapter:
    """Returns ``respond(images)`` and records every call."""

    def __init__(self, info: ModelInfo, respond: Callable[[list[np.ndarray]], list[Prediction]]):
        self.info = info
        self.respond = respond
        self.calls: list[tuple[list[tuple[int, ...]], Any]] = []

    def infer(
        self,
        images: Sequence[np.ndarray],
        params: DetectionParams | ClassificationParams | None = None,
    ) -> list[Prediction]:
        self.calls.append(([image.shape for image in images], params))
        return self.respond(list(images))

    def describe(self) -> dict[str, Any]:
        return self.info.describe()


def make_boxes(*rows: tuple[float, float, float, float, float, int]) -> RawDetections:
    array = np.array(rows, dtype=np.float32).reshape(-1, 6)
    return RawDetections(
        xyxy=array[:, :4], confidence=array[:, 4], class_id=array[:, 5].astype(int)
    )


def fake_manager(tmp_path: Path, *adapters: FakeAdapter) -> ModelManager:
    by_id = {adapter.info.model_id: adapter for adapter in adapters}
    for adapter in adapters:
        if adapter.info.model_id != "pp-ocr":  # built in: the store finds it without a package
            ModelManifest(model_id=adapter.info.model_id, task=adapter.info.task).write(
                tmp_path / folder_name(adapter.info.model_id)
            )
    return ModelManager(
        ModelStore(tmp_path),
        adapter_factory=lambda folder: by_id[ModelManifest.read(folder).model_id],
    )


def fake_detector(
    model_id: str = "det", respond=None, task=ModelTask.OBJECT_DETECTION
) -> FakeAdapter:
    info = ModelInfo(model_id=model_id, task=task, class_names=("dog", "car", "bicycle"))
    return FakeAdapter(info, respond or (lambda images: [RawDetections.empty() for _ in images]))


def fake_classifier(model_id: str = "cls", task=ModelTask.CLASSIFICATION) -> FakeAdapter:
    info = ModelInfo(model_id=model_id, task=task, class_names=("cat", "dog", "fox"))
    return FakeAdapter(
        info, lambda images: [ClassScores(np.array([0.1, 0.7, 0.2], np.float32)) for _ in images]
    )


def load_workflow(steps: list[dict], outputs: dict[str, str], manager: ModelManager, **extra: Any):
    document = {
        "version": "1.0",
        "inputs": [{"type": "WorkflowImage", "name": "image"}],
        "steps": steps,
        "outputs": [
            {"type": "JsonField", "name": name, "selector": selector}
            for name, selector in outputs.items()
        ],
        **extra,
    }
    return visionflow.Workflow.load(document, init_parameters={INIT_PARAMETER: manager})


def pixels(height: int = 60, width: int = 80) -> np.ndarray:
    return np.full((height, width, 3), 128, dtype=np.uint8)
