"""detect -> crop -> classify: the workflow against the same ONNX Runtime calls made directly.

Every ``InferenceSession.run`` the workflow makes is recorded (same sessions, same input
tensors); replaying exactly those calls is the model time. The ratio workflow / model time is
what the engine, pre/post-processing, crops and serialization add.
Target (issue 4): under 1.05. Also images per second with max_concurrent_steps 1 and 2.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

import cv2

sys.path.insert(0, str(Path(__file__).parent))
from _common import ms, print_table, write_results

from visionflow import ExecutionEngine
from visionflow.models.defaults import CLASSIFIER_ID, DETECTOR_ID, prepare_default_models
from visionflow.models.manager import default_model_manager
from visionflow.models.store import ModelStore

REPO = Path(__file__).resolve().parents[1]
PHOTOS = ["dog.jpg", "horses.jpg", "eagle.jpg"]
DOCUMENT: dict[str, Any] = {
    "version": "1.0",
    "inputs": [{"type": "WorkflowImage", "name": "image"}],
    "steps": [
        {
            "type": "roboflow_core/roboflow_object_detection_model@v2",
            "name": "detect",
            "images": "$inputs.image",
            "model_id": DETECTOR_ID,
            "confidence": 0.25,
        },
        {
            "type": "roboflow_core/dynamic_crop@v1",
            "name": "crops",
            "images": "$inputs.image",
            "predictions": "$steps.detect.predictions",
        },
        {
            "type": "roboflow_core/roboflow_classification_model@v2",
            "name": "classify",
            "images": "$steps.crops.crops",
            "model_id": CLASSIFIER_ID,
        },
    ],
    "outputs": [
        {"type": "JsonField", "name": "detections", "selector": "$steps.detect.predictions"},
        {"type": "JsonField", "name": "classes", "selector": "$steps.classify.predictions"},
    ],
}


class RecordingSession:
    """Stands in front of an ``InferenceSession``: records each ``run`` call's arguments."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self.calls: list[tuple[Any, dict[str, Any]]] = []
        self.recording = False

    def run(self, output_names: Any, feeds: dict[str, Any], *args: Any) -> Any:
        if self.recording:
            self.calls.append((output_names, {k: v.copy() for k, v in feeds.items()}))
        return self._session.run(output_names, feeds, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


def median_time(function: Any, repeat: int) -> float:
    function()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    store = ModelStore()
    prepare_default_models(store.root)
    images = [cv2.imread(str(REPO / "examples" / "images" / name)) for name in PHOTOS]
    engine = ExecutionEngine.init(workflow_definition=DOCUMENT)
    manager = default_model_manager()
    recorders = []
    for model_id in (DETECTOR_ID, CLASSIFIER_ID):
        adapter = manager.get(model_id)
        recorder = RecordingSession(adapter._session)  # the adapter's own session
        adapter._session = recorder
        recorders.append(recorder)

    def workflow() -> None:
        engine.run(runtime_parameters={"image": images}, serialize_results=True)

    workflow()
    for recorder in recorders:
        recorder.recording = True
    workflow()
    for recorder in recorders:
        recorder.recording = False
    calls = [(r._session, names, feeds) for r in recorders for names, feeds in r.calls]

    def direct() -> None:
        for session, names, feeds in calls:
            session.run(names, feeds)

    repeat = 7
    workflow_s = median_time(workflow, repeat)
    direct_s = median_time(direct, repeat)
    ratio = workflow_s / direct_s
    throughput = {}
    for workers in (1, 2):
        parallel = ExecutionEngine.init(workflow_definition=DOCUMENT, max_concurrent_steps=workers)
        seconds = median_time(
            lambda p=parallel: p.run(runtime_parameters={"image": images}, serialize_results=True),
            repeat,
        )
        throughput[workers] = len(images) / seconds
    print_table(
        f"detect -> crop -> classify on {len(images)} photos ({len(calls)} ONNX Runtime calls)",
        ["what", "value"],
        [
            ["workflow (serialized results)", ms(workflow_s)],
            ["the same ONNX Runtime calls, direct", ms(direct_s)],
            ["ratio (target < 1.05)", f"{ratio:.3f}"],
            ["images/s, max_concurrent_steps=1", f"{throughput[1]:.1f}"],
            ["images/s, max_concurrent_steps=2", f"{throughput[2]:.1f}"],
        ],
    )
    print(f"target ratio < 1.05: {'met' if ratio < 1.05 else 'MISSED'}")
    print(
        f"results: {write_results('models', {'workflow_s': workflow_s, 'direct_s': direct_s, 'ratio': ratio, 'images_per_s': throughput, 'onnx_calls': len(calls)})}"
    )


if __name__ == "__main__":
    main()
