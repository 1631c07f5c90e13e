"""dimension_collapse: nested values back into one list per parent element."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import visionflow
from visionflow.blocks.base import Batch, BlockContext
from visionflow.blocks.fusion.dimension_collapse import (
    DimensionCollapseBlock,
    DimensionCollapseManifest,
)
from visionflow.blocks.registry import default_registry


def test_alias_and_manifest() -> None:
    entry = default_registry.get("DimensionCollapse")
    assert entry.identifier == "roboflow_core/dimension_collapse@v1"
    manifest = DimensionCollapseManifest.model_validate(
        {"type": "DimensionCollapse", "name": "c", "data": "$steps.crop.crops"}
    )
    assert manifest.data == "$steps.crop.crops"
    assert DimensionCollapseManifest.output_dimensionality_offset == -1
    assert DimensionCollapseManifest.outputs[0].kinds == ("list_of_values",)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], []),
        ([1], [1]),
        (["a", None, {"k": 1}], ["a", None, {"k": 1}]),
    ],
)
def test_dimension_collapse(values: list, expected: list) -> None:
    block = DimensionCollapseBlock(BlockContext("c", "roboflow_core/dimension_collapse@v1"))
    batch: Batch[Any] = Batch(values, [(0, j) for j in range(len(values))])
    assert block.run(data=batch) == {"output": expected}


def _wire(boxes: list[tuple[int, int, int, int]]) -> dict:
    return {
        "image": {"width": 200, "height": 100},
        "predictions": [
            {
                "x": x,
                "y": y,
                "width": w,
                "height": h,
                "confidence": 0.9,
                "class": "dog",
                "class_id": 0,
                "detection_id": f"d{i}",
            }
            for i, (x, y, w, h) in enumerate(boxes)
        ],
    }


COLLAPSE_WORKFLOW = {
    "version": "1.0",
    "inputs": [
        {"type": "WorkflowImage", "name": "image"},
        {"type": "WorkflowBatchInput", "name": "dets", "kind": ["object_detection_prediction"]},
    ],
    "steps": [
        {"type": "Crop", "name": "crop", "image": "$inputs.image", "predictions": "$inputs.dets"},
        {
            "type": "PropertyDefinition",
            "name": "width",
            "data": "$steps.crop.crops",
            "operations": [{"type": "ExtractImageProperty", "property_name": "width"}],
        },
        {"type": "DimensionCollapse", "name": "collapse", "data": "$steps.width.output"},
    ],
    "outputs": [
        {"type": "JsonField", "name": "widths", "selector": "$steps.collapse.output"},
        {"type": "JsonField", "name": "nested", "selector": "$steps.width.output"},
    ],
}


@pytest.mark.parametrize(
    ("per_image", "expected"),
    [
        ([[]], [None]),
        ([[(50, 50, 20, 10)]], [[20]]),
        ([[(50, 50, 20, 10), (100, 50, 40, 10)], [], [(10, 10, 6, 6)]], [[20, 40], None, [6]]),
    ],
)
def test_dimension_collapse_through_the_engine(per_image: list, expected: list) -> None:
    workflow = visionflow.Workflow.load(COLLAPSE_WORKFLOW)
    images = [np.zeros((100, 200, 3), dtype=np.uint8) for _ in per_image]
    results = workflow.run(image=images, dets=[_wire(b) for b in per_image])
    # a parent without children has nothing to collapse: None, as the reference gives
    assert [row["widths"] for row in results] == expected
    # the collapsed list is the nested output, one level up (an image without crops: [])
    assert [row["nested"] for row in results] == [e or [] for e in expected]
