"""detections_filter, detections_transformation and detection_offset."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

import visionflow
from visionflow.blocks.base import Batch, BlockContext
from visionflow.blocks.registry import default_registry
from visionflow.blocks.transformations.detections import (
    DetectionOffsetManifest,
    DetectionsFilterBlock,
    DetectionsFilterManifest,
    DetectionsTransformationBlock,
    offset_detections,
)
from visionflow.data.detections import make_detections
from visionflow.data.image import Image

IMAGE = Image(np.zeros((100, 200, 3), dtype=np.uint8), parent_id="image")


def _detections(boxes: list[list[float]], classes: list[str] | None = None):
    classes = classes or ["dog"] * len(boxes)
    names = sorted(set(classes)) or ["dog"]
    return make_detections(
        np.array(boxes, dtype=float).reshape(-1, 4),
        [0.5 + 0.1 * i for i in range(len(boxes))],
        [names.index(c) for c in classes],
        names,
        IMAGE,
        data={"class_name": np.array(classes, dtype=str)},
    )


def _class_filter(operand: dict) -> list[dict]:
    return [
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
                        "right_operand": operand,
                    }
                ],
            },
        }
    ]


def _manifest(manifest_class: Any, **fields: Any) -> Any:
    return manifest_class.model_validate(
        {"type": manifest_class.identifier(), "name": "s", "predictions": "$steps.m.p", **fields}
    )


# ---------------------------------------------------------------------------------------------
# manifests
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("block_type", "identifier"),
    [
        ("DetectionsFilter", "roboflow_core/detections_filter@v1"),
        ("DetectionsTransformation", "roboflow_core/detections_transformation@v1"),
        ("DetectionOffset", "roboflow_core/detection_offset@v1"),
    ],
)
def test_aliases(block_type: str, identifier: str) -> None:
    assert default_registry.get(block_type).identifier == identifier


def test_operations_parameters_default_to_empty_and_reserve_the_default_operand() -> None:
    manifest = _manifest(DetectionsFilterManifest, operations=[])
    assert manifest.operations_parameters == {}
    with pytest.raises(ValidationError, match="reserved"):
        _manifest(DetectionsFilterManifest, operations=[], operations_parameters={"_": "$inputs.x"})


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"offset_width": 10, "offset_height": 4}, (10, 4, "Pixels")),
        (
            {"offset_x": 6, "offset_y": "$inputs.y", "units": "Percent (%)"},
            (6, "$inputs.y", "Percent (%)"),
        ),
    ],
)
def test_detection_offset_manifest(fields: dict, expected: tuple) -> None:
    manifest = _manifest(DetectionOffsetManifest, **fields)
    assert (manifest.offset_width, manifest.offset_height, manifest.units) == expected


@pytest.mark.parametrize(
    "fields",
    [
        {"offset_width": 0, "offset_height": 4},  # positive integers only
        {"offset_width": 1, "offset_height": 4, "units": "percent"},
    ],
)
def test_detection_offset_manifest_refuses(fields: dict) -> None:
    with pytest.raises(ValidationError):
        _manifest(DetectionOffsetManifest, **fields)


# ---------------------------------------------------------------------------------------------
# detections filter / transformation, called directly
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("classes", "allowed", "expected"),
    [
        ([], ["dog"], []),
        (["dog", "cat", "dog"], ["dog"], ["dog", "dog"]),
        (["dog", "cat"], [], []),
        (["dog", "cat"], ["cat", "dog"], ["dog", "cat"]),
    ],
)
def test_detections_filter(classes: list[str], allowed: list[str], expected: list[str]) -> None:
    manifest = _manifest(
        DetectionsFilterManifest,
        operations=_class_filter({"type": "DynamicOperand", "operand_name": "classes"}),
        operations_parameters={"classes": "$inputs.classes"},
    )
    block = DetectionsFilterBlock(BlockContext("f", manifest.identifier()))
    detections = _detections([[i, i, i + 10, i + 10] for i in range(len(classes))], classes)
    (result,) = block.run(
        predictions=Batch([detections], [(0,)]),
        operations=manifest.operations,
        operations_parameters=Batch([{"classes": allowed}], [(0,)]),
    )
    assert result["predictions"].data["class_name"].tolist() == expected
    assert result["predictions"].metadata["image_dimensions"] == [100, 200]


def test_transformation_builds_its_chain_once() -> None:
    manifest = _manifest(
        DetectionsFilterManifest,
        operations=_class_filter({"type": "StaticOperand", "value": ["dog"]}),
    )
    block = DetectionsTransformationBlock(BlockContext("t", manifest.identifier()))
    batch = Batch([_detections([[0, 0, 5, 5]]), _detections([[0, 0, 5, 5]], ["cat"])], [(0,), (1,)])
    params = Batch([{}, {}], [(0,), (1,)])
    first = block.run(
        predictions=batch, operations=manifest.operations, operations_parameters=params
    )
    block.run(predictions=batch, operations=manifest.operations, operations_parameters=params)
    assert [len(r["predictions"]) for r in first] == [1, 0]
    assert len(block._chains._entries) == 1


def test_transformation_must_return_detections() -> None:
    manifest = _manifest(
        DetectionsFilterManifest,
        operations=[{"type": "DetectionsPropertyExtract", "property_name": "class_name"}],
    )
    block = DetectionsTransformationBlock(BlockContext("t", manifest.identifier()))
    with pytest.raises(ValueError, match="keep detections as detections"):
        block.run(
            predictions=Batch([_detections([[0, 0, 5, 5]])], [(0,)]),
            operations=manifest.operations,
            operations_parameters=Batch([{}], [(0,)]),
        )


# ---------------------------------------------------------------------------------------------
# detection offset, called directly
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("boxes", "offsets", "percent", "expected"),
    [
        ([], (10, 10), False, []),
        ([[50, 50, 60, 60]], (10, 4), False, [[45, 48, 65, 62]]),
        ([[50, 50, 60, 60]], (11, 5), False, [[45, 48, 65, 62]]),  # offset // 2 per side
        ([[2, 3, 195, 98]], (20, 20), False, [[0, 0, 200, 100]]),  # clipped to the image
        ([[50, 50, 150, 70]], (50, 50), True, [[25, 45, 175, 75]]),  # 25% of w / h per side
        ([[50, 50, 57, 57]], (50, 50), True, [[49, 49, 58, 58]]),  # 1.75 truncates to 1
        ([[10, 10, 30, 30], [0, 0, 10, 10]], (4, 4), False, [[8, 8, 32, 32], [0, 0, 12, 12]]),
    ],
)
def test_offset_detections(boxes: list, offsets: tuple, percent: bool, expected: list) -> None:
    detections = _detections(boxes)
    result = offset_detections(detections, *offsets, use_percentage=percent)
    assert result.xyxy.tolist() == expected
    assert result.data["parent_id"].tolist() == detections.data["detection_id"].tolist()
    new_ids = result.data["detection_id"].tolist()
    assert len(set(new_ids)) == len(boxes)
    assert not set(new_ids) & set(detections.data["detection_id"].tolist())
    if boxes:
        assert detections.xyxy.tolist() == boxes  # the input is not changed


def test_offset_uses_metadata_when_the_column_is_missing() -> None:
    detections = _detections([[190, 90, 195, 95]])
    del detections.data["image_dimensions"]
    assert offset_detections(detections, 20, 20).xyxy.tolist() == [[180, 80, 200, 100]]
    detections.metadata.pop("image_dimensions")
    with pytest.raises(ValueError, match="image_dimensions"):
        offset_detections(detections, 20, 20)


# ---------------------------------------------------------------------------------------------
# through the engine
# ---------------------------------------------------------------------------------------------
def _wire(classes: list[str]) -> dict:
    return {
        "image": {"width": 200, "height": 100},
        "predictions": [
            {
                "x": 20 + 10 * i,
                "y": 20,
                "width": 10,
                "height": 10,
                "confidence": 0.9,
                "class": c,
                "class_id": 0,
                "detection_id": f"d{i}",
            }
            for i, c in enumerate(classes)
        ],
    }


FILTER_WORKFLOW = {
    "version": "1.0",
    "inputs": [
        {"type": "WorkflowBatchInput", "name": "dets", "kind": ["object_detection_prediction"]},
        {"type": "WorkflowBatchInput", "name": "classes"},
    ],
    "steps": [
        {
            "type": "DetectionsFilter",
            "name": "filter",
            "predictions": "$inputs.dets",
            "operations": _class_filter({"type": "DynamicOperand", "operand_name": "classes"}),
            "operations_parameters": {"classes": "$inputs.classes"},
        },
        {
            "type": "DetectionOffset",
            "name": "offset",
            "predictions": "$steps.filter.predictions",
            "offset_x": 10,
            "offset_y": 10,
        },
    ],
    "outputs": [
        {"type": "JsonField", "name": "kept", "selector": "$steps.filter.predictions"},
        # "own": in parent coordinates parent_id becomes the root image's id (as the reference)
        {
            "type": "JsonField",
            "name": "grown",
            "selector": "$steps.offset.predictions",
            "coordinates_system": "own",
        },
    ],
}


@pytest.mark.parametrize(
    ("per_image", "allowed", "expected"),
    [
        ([[]], [["dog"]], [[]]),
        ([["dog", "cat"]], [["cat"]], [["cat"]]),
        ([["dog", "cat"], ["dog"], []], [["dog"], ["cat"], ["dog"]], [["dog"], [], []]),
    ],
)
def test_filter_and_offset_through_the_engine(
    per_image: list, allowed: list, expected: list
) -> None:
    workflow = visionflow.Workflow.load(FILTER_WORKFLOW)
    results = workflow.run(dets=[_wire(c) for c in per_image], classes=allowed, serialize=True)
    assert len(results) == len(per_image)
    for row, want in zip(results, expected, strict=True):
        assert [p["class"] for p in row["kept"]["predictions"]] == want
        assert row["kept"]["image"] == {"width": 200, "height": 100}
        grown = row["grown"]["predictions"]
        assert [(p["width"], p["height"]) for p in grown] == [(20.0, 20.0)] * len(want)
        kept_ids = [p["detection_id"] for p in row["kept"]["predictions"]]
        assert [p["parent_id"] for p in grown] == kept_ids


def test_reserved_parameter_name_fails_at_load_time() -> None:
    definition = {
        **FILTER_WORKFLOW,
        "steps": [
            {**FILTER_WORKFLOW["steps"][0], "operations_parameters": {"_": "$inputs.classes"}}
        ],
        "outputs": [{"type": "JsonField", "name": "kept", "selector": "$steps.filter.predictions"}],
    }
    with pytest.raises(visionflow.VisionflowError, match="reserved"):
        visionflow.Workflow.load(definition)
