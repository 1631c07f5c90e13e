"""Model blocks (detection, segmentation, keypoints, classification) on fake adapters.

The fakes (``model_fakes``) are served by a real ``ModelManager``, so these tests check the
blocks' outputs (the reference's shapes) and the one-call-per-batch contract without models.
"""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from model_fakes import (
    FakeAdapter,
    fake_classifier,
    fake_detector,
    fake_manager,
    load_workflow,
    make_boxes,
    pixels,
)

import visionflow
from visionflow.blocks.base import Batch, BlockContext
from visionflow.blocks.models._common import keypoint_columns
from visionflow.blocks.models.object_detection import resolve_confidence
from visionflow.data.image import Image
from visionflow.errors import CompileError, SpecError, StepExecutionError
from visionflow.models.base import (
    ClassificationParams,
    DetectionParams,
    ModelInfo,
    ModelTask,
    Prediction,
    RawDetections,
)
from visionflow.models.manager import INIT_PARAMETER


# ---------------------------------------------------------------------------------------------
# Object detection
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "class_filter", "expected_classes"),
    [
        (RawDetections.empty(), None, []),
        (make_boxes((10, 10, 30, 20, 0.9, 0), (0, 0, 8, 8, 0.5, 1)), None, ["dog", "car"]),
        (make_boxes((10, 10, 30, 20, 0.9, 0), (0, 0, 8, 8, 0.5, 1)), ["car"], ["car"]),
        (make_boxes((10, 10, 30, 20, 0.9, 7)), None, ["7"]),
    ],
)
def test_object_detection_serialized(tmp_path, raw, class_filter, expected_classes) -> None:
    adapter = fake_detector(respond=lambda images: [raw for _ in images])
    step = {
        "type": "roboflow_core/roboflow_object_detection_model@v2",
        "name": "det",
        "images": "$inputs.image",
        "model_id": "det",
        "class_filter": class_filter,
    }
    workflow = load_workflow([step], {"out": "$steps.det.*"}, fake_manager(tmp_path, adapter))
    (row,) = workflow.run(serialize=True, image=pixels())
    out = row["out"]
    assert set(out) == {"inference_id", "predictions", "model_id"}
    assert out["model_id"] == "det"
    uuid.UUID(out["inference_id"])
    assert out["predictions"]["image"] == {"width": 80, "height": 60}
    predictions = out["predictions"]["predictions"]
    assert [p["class"] for p in predictions] == expected_classes
    for prediction in predictions:
        assert set(prediction) == {
            "x", "y", "width", "height", "confidence", "class_id", "class", "detection_id",
            "parent_id",
        }  # fmt: skip
        assert prediction["parent_id"] == "image"
    params = adapter.calls[0][1]
    assert params.class_filter == (tuple(class_filter) if class_filter else None)


def test_object_detection_box_geometry(tmp_path) -> None:
    adapter = fake_detector(respond=lambda images: [make_boxes((10, 10, 30, 20, 0.9, 0))])
    step = {
        "type": "ObjectDetectionModel",
        "name": "det",
        "image": "$inputs.image",
        "model_id": "det",
    }
    workflow = load_workflow([step], {"out": "$steps.det.*"}, fake_manager(tmp_path, adapter))
    (row,) = workflow.run(serialize=True, image=pixels())
    assert set(row["out"]) == {"inference_id", "predictions"}  # v1: no model_id
    (prediction,) = row["out"]["predictions"]["predictions"]
    assert (prediction["x"], prediction["y"], prediction["width"], prediction["height"]) == (
        20.0,
        15.0,
        20.0,
        10.0,
    )
    assert prediction["confidence"] == pytest.approx(0.9)


@pytest.mark.parametrize(
    ("block", "fields", "expected"),
    [
        ("roboflow_core/roboflow_object_detection_model@v1", {}, DetectionParams()),
        (
            "RoboflowObjectDetectionModel",
            {"confidence": 0.25, "iou_threshold": 0.5, "class_agnostic_nms": True},
            DetectionParams(confidence=0.25, iou_threshold=0.5, class_agnostic_nms=True),
        ),
        ("roboflow_core/roboflow_object_detection_model@v3", {}, DetectionParams(confidence=0.4)),
        (
            "roboflow_core/roboflow_object_detection_model@v3",
            {"confidence_mode": "custom", "custom_confidence": 0.1, "max_detections": 5},
            DetectionParams(confidence=0.1, max_detections=5),
        ),
    ],
)
def test_detection_parameters_reach_the_adapter(tmp_path, block, fields, expected) -> None:
    adapter = fake_detector()
    step = {"type": block, "name": "det", "images": "$inputs.image", "model_id": "det", **fields}
    workflow = load_workflow(
        [step], {"out": "$steps.det.predictions"}, fake_manager(tmp_path, adapter)
    )
    workflow.run(image=pixels())
    assert adapter.calls[0][1] == expected


@pytest.mark.parametrize(
    ("mode", "custom", "expected"),
    [("best", None, 0.4), ("default", 0.9, 0.4), ("custom", 0.2, 0.2), ("custom", None, None)],
)
def test_resolve_confidence(mode, custom, expected) -> None:
    if expected is None:
        with pytest.raises(ValueError, match="custom_confidence"):
            resolve_confidence(mode, custom)
    else:
        assert resolve_confidence(mode, custom) == expected


def test_v3_custom_without_threshold_is_refused(tmp_path) -> None:
    step = {
        "type": "roboflow_core/roboflow_object_detection_model@v3",
        "name": "det",
        "images": "$inputs.image",
        "model_id": "det",
        "confidence_mode": "custom",
        "custom_confidence": None,
    }
    with pytest.raises((SpecError, CompileError), match="custom_confidence"):
        load_workflow(
            [step], {"out": "$steps.det.predictions"}, fake_manager(tmp_path, fake_detector())
        )


def test_batch_is_one_call_with_one_inference_id(tmp_path) -> None:
    adapter = fake_detector(
        respond=lambda images: [make_boxes((1, 1, 5, 5, 0.8, 0)) for _ in images]
    )
    step = {
        "type": "roboflow_core/roboflow_object_detection_model@v2",
        "name": "det",
        "images": "$inputs.image",
        "model_id": "det",
    }
    workflow = load_workflow([step], {"out": "$steps.det.*"}, fake_manager(tmp_path, adapter))
    rows = workflow.run(image=[pixels(), pixels(40, 50), pixels()])
    assert len(adapter.calls) == 1
    assert adapter.calls[0][0] == [(60, 80, 3), (40, 50, 3), (60, 80, 3)]
    ids = {row["out"]["inference_id"] for row in rows}
    assert len(ids) == 1
    detections = rows[1]["out"]["predictions"]
    assert detections.data["inference_id"].tolist() == [ids.pop()]
    assert detections.data["prediction_type"].tolist() == ["object-detection"]
    assert detections.metadata["image_dimensions"] == [40, 50]


def test_crops_are_classified_in_one_call(tmp_path) -> None:
    per_image = {80: [make_boxes((0, 0, 10, 10, 0.9, 0), (20, 20, 40, 50, 0.8, 1))], 50: []}

    def respond(images: list[np.ndarray]) -> list[Prediction]:
        return [
            per_image[image.shape[1]][0] if per_image[image.shape[1]] else RawDetections.empty()
            for image in images
        ]

    detector, classifier = fake_detector(respond=respond), fake_classifier()
    steps = [
        {
            "type": "roboflow_core/roboflow_object_detection_model@v2",
            "name": "det",
            "images": "$inputs.image",
            "model_id": "det",
        },
        {
            "type": "roboflow_core/dynamic_crop@v1",
            "name": "crop",
            "images": "$inputs.image",
            "predictions": "$steps.det.predictions",
        },
        {
            "type": "roboflow_core/roboflow_classification_model@v2",
            "name": "cls",
            "images": "$steps.crop.crops",
            "model_id": "cls",
        },
    ]
    workflow = load_workflow(
        steps, {"cls": "$steps.cls.predictions"}, fake_manager(tmp_path, detector, classifier)
    )
    rows = workflow.run(serialize=True, image=[pixels(), pixels(40, 50), pixels()])
    assert len(classifier.calls) == 1
    assert classifier.calls[0][0] == [(10, 10, 3), (30, 20, 3)] * 2
    assert [len(row["cls"]) for row in rows] == [2, 0, 2]
    first = rows[0]["cls"][0]
    assert first["top"] == "dog"
    uuid.UUID(first["parent_id"])  # the crop is named after its detection
    assert first["root_parent_id"] == "image.[0]"
    assert first["image"] == {"width": 10, "height": 10}


def test_no_images_means_no_call(tmp_path) -> None:
    detector, classifier = fake_detector(), fake_classifier()
    steps = [
        {"type": "ObjectDetectionModel", "name": "det", "images": "$inputs.image", "model_id": "det"},
        {"type": "Crop", "name": "crop", "images": "$inputs.image", "predictions": "$steps.det.predictions"},
        {"type": "ClassificationModel", "name": "cls", "images": "$steps.crop.crops", "model_id": "cls"},
    ]  # fmt: skip
    workflow = load_workflow(
        steps, {"cls": "$steps.cls.predictions"}, fake_manager(tmp_path, detector, classifier)
    )
    assert workflow.run(image=pixels()) == [{"cls": []}]
    assert classifier.calls == []


@pytest.mark.parametrize(
    ("block", "model", "expected", "found"),
    [
        ("roboflow_core/roboflow_object_detection_model@v1", fake_classifier(), "object-detection", "classification"),
        ("roboflow_core/roboflow_classification_model@v1", fake_detector(model_id="cls"), "classification", "object-detection"),
        ("roboflow_core/roboflow_multi_label_classification_model@v2", fake_classifier(), "multi-label-classification", "classification"),
        ("roboflow_core/roboflow_instance_segmentation_model@v2", fake_classifier(), "instance-segmentation", "classification"),
        ("roboflow_core/roboflow_keypoint_detection_model@v1", fake_classifier(), "keypoint-detection", "classification"),
    ],
)  # fmt: skip
def test_task_mismatch(tmp_path, block, model, expected, found) -> None:
    step = {
        "type": block,
        "name": "step",
        "images": "$inputs.image",
        "model_id": model.info.model_id,
    }
    workflow = load_workflow(
        [step], {"out": "$steps.step.predictions"}, fake_manager(tmp_path, model)
    )
    with pytest.raises(StepExecutionError) as caught:
        workflow.run(image=pixels())
    error = caught.value
    assert error.code == "model.task_mismatch"
    assert block in str(error) and f"'{model.info.model_id}'" in str(error)
    assert f"needs a {expected} model" in str(error) and f"is a {found} model" in str(error)
    assert model.calls == []


def test_unknown_model_id(tmp_path) -> None:
    step = {
        "type": "ObjectDetectionModel",
        "name": "det",
        "images": "$inputs.image",
        "model_id": "dett",
    }
    workflow = load_workflow(
        [step], {"out": "$steps.det.predictions"}, fake_manager(tmp_path, fake_detector())
    )
    with pytest.raises(StepExecutionError) as caught:
        workflow.run(image=pixels())
    assert caught.value.code == "model.not_found"
    assert "no model 'dett' is installed" in str(caught.value)
    assert "Did you mean 'det'" in str(caught.value)


def test_model_id_from_a_parameter(tmp_path) -> None:
    adapter = fake_detector(model_id="project/3")
    document = {
        "version": "1.0",
        "inputs": [
            {"type": "WorkflowImage", "name": "image"},
            {"type": "WorkflowParameter", "name": "model"},
        ],
        "steps": [
            {
                "type": "roboflow_core/roboflow_object_detection_model@v2",
                "name": "det",
                "images": "$inputs.image",
                "model_id": "$inputs.model",
            }
        ],
        "outputs": [{"type": "JsonField", "name": "model", "selector": "$steps.det.model_id"}],
    }
    workflow = visionflow.Workflow.load(
        document, init_parameters={INIT_PARAMETER: fake_manager(tmp_path, adapter)}
    )
    assert workflow.run(image=pixels(), model="project/3") == [{"model": "project/3"}]


# ---------------------------------------------------------------------------------------------
# Instance segmentation and keypoints
# ---------------------------------------------------------------------------------------------
def _posed(n_keypoints: int = 3) -> RawDetections:
    masks = np.zeros((2, 60, 80), dtype=bool)
    masks[0, 10:20, 10:30] = True
    masks[1, 0:8, 0:8] = True
    return RawDetections(
        xyxy=np.array([[10, 10, 30, 20], [0, 0, 8, 8]], np.float32),
        confidence=np.array([0.9, 0.5], np.float32),
        class_id=np.array([0, 1]),
        masks=masks,
        keypoints_xy=np.arange(2 * n_keypoints * 2, dtype=np.float32).reshape(2, n_keypoints, 2),
        keypoints_confidence=np.array([[0.9, 0.1, 0.8], [0.2, 0.3, 0.1]], np.float32)[
            :, :n_keypoints
        ],
    )


def _pose_model(task: ModelTask) -> FakeAdapter:
    info = ModelInfo(
        model_id="m", task=task, class_names=("dog", "car"), keypoint_names=("nose", "eye")
    )
    return FakeAdapter(info, lambda images: [_posed() for _ in images])


def test_instance_segmentation_outputs_masks(tmp_path) -> None:
    adapter = _pose_model(ModelTask.INSTANCE_SEGMENTATION)
    step = {
        "type": "InstanceSegmentationModel",
        "name": "seg",
        "images": "$inputs.image",
        "model_id": "m",
    }
    workflow = load_workflow([step], {"out": "$steps.seg.*"}, fake_manager(tmp_path, adapter))
    (row,) = workflow.run(image=pixels())
    detections = row["out"]["predictions"]
    assert set(row["out"]) == {"inference_id", "predictions"}
    assert detections.mask.shape == (2, 60, 80) and detections.mask[0, 15, 20]
    assert detections.data["prediction_type"].tolist() == ["instance-segmentation"] * 2
    (row,) = workflow.run(serialize=True, image=pixels())
    first = row["out"]["predictions"]["predictions"][0]
    xs = [point["x"] for point in first["points"]]
    assert (min(xs), max(xs)) == (10.0, 29.0)


@pytest.mark.parametrize(
    ("threshold", "expected_names", "expected_ids"),
    [
        (0.0, [["nose", "eye", "2"], ["nose", "eye", "2"]], [[0, 1, 2], [0, 1, 2]]),
        (0.25, [["nose", "2"], ["eye", ""]], [[0, 2], [1, 0]]),
        (0.95, [[], []], [[], []]),
    ],
)
def test_keypoint_columns(threshold, expected_names, expected_ids) -> None:
    columns = keypoint_columns(_posed(), ("nose", "eye"), threshold)
    assert columns["keypoints_class_name"].tolist() == expected_names
    assert columns["keypoints_class_id"].tolist() == expected_ids
    padding = np.array(expected_names, dtype=object).reshape(2, -1) == ""
    assert np.all(columns["keypoints_confidence"][padding] == 0)
    assert np.all(columns["keypoints_xy"][padding] == 0)


@pytest.mark.parametrize(
    "raw",
    [
        RawDetections.empty(),
        RawDetections(
            xyxy=np.zeros((1, 4), np.float32),
            confidence=np.ones(1, np.float32),
            class_id=np.zeros(1, int),
        ),
    ],
)
def test_keypoint_columns_without_keypoints(raw) -> None:
    columns = keypoint_columns(raw, ("nose",), 0.0)
    assert columns["keypoints_xy"].shape == (len(raw), 0, 2)
    assert columns["keypoints_class_name"].shape == (len(raw), 0)


def test_keypoint_detection_serialized(tmp_path) -> None:
    adapter = _pose_model(ModelTask.KEYPOINT_DETECTION)
    step = {
        "type": "roboflow_core/roboflow_keypoint_detection_model@v2",
        "name": "pose",
        "images": "$inputs.image",
        "model_id": "m",
        "keypoint_confidence": 0.25,
    }
    workflow = load_workflow([step], {"out": "$steps.pose.*"}, fake_manager(tmp_path, adapter))
    (row,) = workflow.run(serialize=True, image=pixels())
    assert set(row["out"]) == {"inference_id", "predictions", "model_id"}
    first, second = row["out"]["predictions"]["predictions"]
    assert [k["class"] for k in first["keypoints"]] == ["nose", "2"]
    assert [k["class"] for k in second["keypoints"]] == ["eye"]  # padding is not serialized
    assert set(first["keypoints"][0]) == {"class_id", "class", "confidence", "x", "y"}
    assert adapter.calls[0][1].keypoint_confidence == 0.25


# ---------------------------------------------------------------------------------------------
# Classification
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("confidence", "expected_classes", "top"),
    # confidence does not hide classes of a single-label model (the reference's models keep
    # every class, best first)
    [(0.99, ["dog", "fox", "cat"], "dog"), (0.0, ["dog", "fox", "cat"], "dog")],
)
def test_single_label_classification(tmp_path, confidence, expected_classes, top) -> None:
    step = {
        "type": "ClassificationModel",
        "name": "cls",
        "images": "$inputs.image",
        "model_id": "cls",
        "confidence": confidence,
    }
    workflow = load_workflow(
        [step], {"out": "$steps.cls.*"}, fake_manager(tmp_path, fake_classifier())
    )
    (row,) = workflow.run(serialize=True, image=pixels())
    assert set(row["out"]) == {"predictions", "inference_id"}
    prediction = row["out"]["predictions"]
    assert set(prediction) == {
        "inference_id", "image", "predictions", "top", "confidence", "prediction_type",
        "parent_id", "root_parent_id",
    }  # fmt: skip
    assert prediction["inference_id"] == row["out"]["inference_id"]
    assert [p["class"] for p in prediction["predictions"]] == expected_classes
    assert prediction["top"] == top
    assert prediction["prediction_type"] == "classification"
    assert (prediction["parent_id"], prediction["root_parent_id"]) == ("image", "image")


@pytest.mark.parametrize(
    ("confidence", "expected"), [(0.99, []), (0.15, ["dog", "fox"]), (0.0, ["cat", "dog", "fox"])]
)
def test_multi_label_classification(tmp_path, confidence, expected) -> None:
    adapter = fake_classifier(task=ModelTask.MULTI_LABEL_CLASSIFICATION)
    step = {
        "type": "roboflow_core/roboflow_multi_label_classification_model@v2",
        "name": "cls",
        "images": "$inputs.image",
        "model_id": "cls",
        "confidence": confidence,
    }
    workflow = load_workflow([step], {"out": "$steps.cls.*"}, fake_manager(tmp_path, adapter))
    (row,) = workflow.run(serialize=True, image=pixels())
    assert set(row["out"]) == {"predictions", "inference_id", "model_id"}
    prediction = row["out"]["predictions"]
    assert prediction["predicted_classes"] == expected
    assert prediction["predictions"]["dog"] == {"confidence": pytest.approx(0.7), "class_id": 1}
    assert adapter.calls[0][1] == ClassificationParams(confidence=confidence)


def test_block_run_directly_with_an_injected_manager(tmp_path) -> None:
    from visionflow.blocks.models.classification import ClassificationModelV2Block

    context = BlockContext(
        step_name="cls",
        block_type="roboflow_core/roboflow_classification_model@v2",
        init_parameters={INIT_PARAMETER: fake_manager(tmp_path, fake_classifier())},
    )
    block = ClassificationModelV2Block(context)
    images = Batch([Image(pixels(), parent_id="a")], [(0,)])
    (result,) = block.run(images, "cls", 0.5, True, None)
    assert result["model_id"] == "cls"
    assert result["predictions"]["top"] == "dog"
    assert block.run(Batch([], []), "cls", 0.5, True, None) == []
