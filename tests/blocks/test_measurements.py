"""size_measurement and mask_area_measurement."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import supervision as sv

import visionflow
from visionflow.blocks.base import BlockContext
from visionflow.blocks.registry import default_registry
from visionflow.blocks.transformations.measurements import (
    MaskAreaMeasurementBlock,
    SizeMeasurementBlock,
    detection_areas,
    parse_reference_dimensions,
    reference_pixel_size,
    with_areas,
)
from visionflow.data.detections import make_detections
from visionflow.data.image import Image
from visionflow.data.serializers import serialize_detections

IMAGE = Image(np.zeros((100, 200, 3), dtype=np.uint8), parent_id="image")


def _mask(points: list[tuple[int, int]]) -> np.ndarray:
    polygon = np.array(points, dtype=np.int32)
    return sv.polygon_to_mask(polygon, resolution_wh=(200, 100)).astype(bool)


def _detections(
    boxes: list[list[float]],
    masks: np.ndarray | None = None,
    confidence: list[float] | None = None,
) -> sv.Detections:
    n = len(boxes)
    return make_detections(
        np.array(boxes, dtype=float).reshape(-1, 4),
        confidence if confidence is not None else [0.9] * n,
        [0] * n,
        ["thing"],
        IMAGE,
        mask=masks,
    )


# ---------------------------------------------------------------------------------------------
# size_measurement
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", ValueError),
        ("5.0,3.0", (5.0, 3.0)),
        (" 4 , 2.5 ", (4.0, 2.5)),
        ([1, 2], (1.0, 2.0)),
        ((1.5, 2.5), (1.5, 2.5)),
        ("a,b", ValueError),
        ("1,2,3", ValueError),
        ([1], ValueError),
    ],
)
def test_parse_reference_dimensions(value: Any, expected: Any) -> None:
    if expected is ValueError:
        with pytest.raises(ValueError, match="reference_dimensions"):
            parse_reference_dimensions(value)
    else:
        assert parse_reference_dimensions(value) == expected


SIZE = SizeMeasurementBlock(BlockContext("s", "roboflow_core/size_measurement@v1"))


@pytest.mark.parametrize(
    ("objects", "expected"),
    [
        ([], []),
        # the reference box is 20 x 10 pixels for 2 x 1 units: 10 pixels per unit
        ([[0, 0, 40, 20]], [{"width": 4.0, "height": 2.0, "longer": 4.0, "shorter": 2.0}]),
        (
            [[0, 0, 10, 30], [5, 5, 5, 15]],
            [{"width": 1.0, "height": 3.0, "longer": 3.0, "shorter": 1.0}, None],
        ),
    ],
)
def test_size_measurement_with_boxes(objects: list, expected: list) -> None:
    reference = _detections([[50, 50, 70, 60], [0, 0, 5, 5]], confidence=[0.9, 0.4])
    dimensions = SIZE.run(_detections(objects), reference, "2,1")["dimensions"]
    assert [_rounded(d) for d in dimensions] == expected


def _rounded(size: dict[str, float] | None) -> dict[str, float] | None:
    return None if size is None else {key: round(value, 6) for key, value in size.items()}


def test_size_of_a_rotated_mask_follows_its_sides() -> None:
    # a 40 x 20 rectangle turned by a few degrees: its sides, not its box, are measured
    angle = np.radians(10)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    corners = np.array([[-20, -10], [20, -10], [20, 10], [-20, 10]]) @ rotation.T + [100, 50]
    mask = _mask([tuple(p) for p in np.round(corners).astype(int)])[None]
    objects = _detections([list(sv.polygon_to_xyxy(np.round(corners)))], masks=mask)
    reference = _detections([[0, 0, 10, 10]])
    [size] = SIZE.run(objects, reference, [10, 10])["dimensions"]
    assert size["width"] == pytest.approx(40, abs=1.5)
    assert size["height"] == pytest.approx(20, abs=1.5)


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        (_detections([]), None),
        ([], None),
        ([[0, 0], [10, 0]], None),
        ([[0, 0], [10, 0], [20, 0]], None),
        ([[0, 0], [20, 0], [20, 10], [0, 10]], (20.0, 10.0)),
        (_detections([[0, 0, 8, 4]]), (8.0, 4.0)),
        (_detections([[0, 0, 8, 4]], masks=np.zeros((1, 100, 200), dtype=bool)), None),
    ],
)
def test_reference_pixel_size(reference: Any, expected: Any) -> None:
    assert reference_pixel_size(reference) == (
        pytest.approx(expected) if expected is not None else None
    )


def test_without_a_reference_there_are_no_dimensions() -> None:
    assert SIZE.run(_detections([[0, 0, 10, 10]]), _detections([]), "1,1") == {"dimensions": None}


def test_an_unknown_reference_is_refused() -> None:
    with pytest.raises(ValueError, match="reference_predictions"):
        reference_pixel_size("box")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# mask_area_measurement
# ---------------------------------------------------------------------------------------------
def _square_with_hole() -> np.ndarray:
    mask = np.zeros((100, 200), dtype=bool)
    mask[10:30, 10:30] = True
    mask[15:20, 15:20] = False
    return mask


@pytest.mark.parametrize(
    ("boxes", "masks", "expected"),
    [
        ([], None, []),
        ([[0, 0, 10, 20], [5, 5, 6, 7]], None, [200.0, 2.0]),
        # holes are not counted
        ([[10, 10, 30, 30]], _square_with_hole()[None], [375.0]),
        # an empty mask falls back to the box
        ([[0, 0, 4, 5]], np.zeros((1, 100, 200), dtype=bool), [20.0]),
    ],
)
def test_detection_areas(boxes: list, masks: Any, expected: list) -> None:
    assert detection_areas(_detections(boxes, masks=masks)).tolist() == expected


@pytest.mark.parametrize(
    ("pixels_per_unit", "expected_converted"),
    [(1.0, 200.0), (10.0, 2.0), (0.0, 200.0), (-3.0, 200.0)],
)
def test_area_conversion(pixels_per_unit: float, expected_converted: float) -> None:
    block = MaskAreaMeasurementBlock(BlockContext("a", "roboflow_core/mask_area_measurement@v1"))
    detections = _detections([[0, 0, 10, 20]])
    result = block.run(detections, pixels_per_unit)["predictions"]
    assert result.data["area_px"].tolist() == [200.0]
    assert result.data["area_converted"].tolist() == [expected_converted]
    # the input is not modified (other steps may read it)
    assert "area_px" not in detections.data


def test_areas_are_serialized() -> None:
    wire = serialize_detections(with_areas(_detections([[0, 0, 10, 20]]), 2.0))
    assert wire["predictions"][0]["area_px"] == 200.0
    assert wire["predictions"][0]["area_converted"] == 50.0


# ---------------------------------------------------------------------------------------------
# manifests and the engine
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "reference_dimensions", ["5.0,3.0", [5.0, 3.0], (5.0, 3.0), "$inputs.dimensions"]
)
def test_size_manifest_accepts_dimensions(reference_dimensions: Any) -> None:
    manifest = default_registry.get("roboflow_core/size_measurement@v1").manifest.model_validate(
        {
            "type": "roboflow_core/size_measurement@v1",
            "name": "s",
            "object_predictions": "$inputs.objects",
            "reference_predictions": "$inputs.reference",
            "reference_dimensions": reference_dimensions,
        }
    )
    assert manifest.reference_predictions == "$inputs.reference"


def test_measurements_through_the_engine() -> None:
    workflow = visionflow.Workflow.load(
        {
            "version": "1.0",
            "inputs": [
                {
                    "type": "WorkflowBatchInput",
                    "name": "objects",
                    "kind": ["object_detection_prediction"],
                },
                {
                    "type": "WorkflowParameter",
                    "name": "reference",
                    "default_value": [[0, 0], [10, 0], [10, 5], [0, 5]],
                },
            ],
            "steps": [
                {
                    "type": "roboflow_core/size_measurement@v1",
                    "name": "s",
                    "object_predictions": "$inputs.objects",
                    "reference_predictions": "$inputs.reference",
                    "reference_dimensions": "1,1",
                },
                {
                    "type": "roboflow_core/mask_area_measurement@v1",
                    "name": "a",
                    "predictions": "$inputs.objects",
                    "pixels_per_unit": 10,
                },
            ],
            "outputs": [
                {"type": "JsonField", "name": "sizes", "selector": "$steps.s.dimensions"},
                {"type": "JsonField", "name": "areas", "selector": "$steps.a.predictions"},
            ],
        }
    )
    payload = {
        "image": {"width": 200, "height": 100},
        "predictions": [
            {"x": 50, "y": 50, "width": 20, "height": 10, "class": "a", "confidence": 0.9}
        ],
    }
    [result] = workflow.run(objects=payload, serialize=True)
    assert result["sizes"] == [{"width": 2.0, "height": 2.0, "longer": 2.0, "shorter": 2.0}]
    [area] = result["areas"]["predictions"]
    assert (area["area_px"], area["area_converted"]) == (200.0, 2.0)
