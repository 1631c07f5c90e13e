"""dynamic_zone: masks to convex zones with a fixed number of vertices."""

from __future__ import annotations

import numpy as np
import pytest
import supervision as sv

import visionflow
from visionflow.blocks.base import Batch, BlockContext
from visionflow.blocks.registry import default_registry
from visionflow.blocks.transformations.dynamic_zone import (
    DynamicZoneBlock,
    detections_to_zones,
    least_squares_polygon,
    mask_to_zone,
    scale_polygon,
)
from visionflow.data.detections import make_detections
from visionflow.data.image import Image
from visionflow.data.serializers import serialize_detections

IMAGE = Image(np.zeros((100, 200, 3), dtype=np.uint8), parent_id="image")
RECTANGLE = [(20, 10), (80, 10), (80, 40), (20, 40)]
HEXAGON = [(120, 20), (160, 20), (180, 50), (160, 80), (120, 80), (100, 50)]
# concave: its convex hull is a pentagon
L_SHAPE = [(20, 50), (90, 50), (90, 65), (40, 65), (40, 95), (20, 95)]


def _mask(points: list[tuple[int, int]]) -> np.ndarray:
    polygon = np.array(points, dtype=np.int32)
    return sv.polygon_to_mask(polygon, resolution_wh=(200, 100)).astype(bool)


def _segmentation(polygons: list[list[tuple[int, int]]]) -> sv.Detections:
    masks = np.array([_mask(p) for p in polygons], dtype=bool).reshape(-1, 100, 200)
    boxes = [sv.polygon_to_xyxy(np.array(p)) for p in polygons]
    return make_detections(
        np.array(boxes, dtype=float).reshape(-1, 4),
        [0.9] * len(polygons),
        [0] * len(polygons),
        ["zone"],
        IMAGE,
        mask=masks,
    )


def _corners(polygon: list) -> list:
    return sorted(tuple(p) for p in polygon)


@pytest.mark.parametrize(
    ("polygons", "vertices", "expected_counts", "expected_converged"),
    [
        ([], 4, [], True),
        ([RECTANGLE], 4, [4], True),
        ([RECTANGLE, HEXAGON], 4, [4, 4], True),
        ([HEXAGON], 6, [6], True),
        ([L_SHAPE], 3, [3], True),
        # a rectangle has no 8 corners: padded with its last vertex, not converged
        ([RECTANGLE], 8, [8], False),
    ],
)
def test_detections_to_zones(
    polygons: list, vertices: int, expected_counts: list, expected_converged: bool
) -> None:
    result = detections_to_zones(_segmentation(polygons), vertices)
    assert [len(zone) for zone in result["zones"]] == expected_counts
    assert result["simplification_converged"] is expected_converged
    predictions = result["predictions"]
    assert len(predictions) == len(polygons)
    assert predictions.data["polygon"].shape == (len(polygons), vertices, 2)
    assert predictions.metadata["image_dimensions"] == [100, 200]


def test_rectangle_zone_has_its_corners() -> None:
    result = detections_to_zones(_segmentation([RECTANGLE]), 4)
    assert _corners(result["zones"][0]) == [(20, 10), (20, 40), (80, 10), (80, 40)]


def test_zone_masks_replace_the_masks() -> None:
    result = detections_to_zones(_segmentation([L_SHAPE]), 4)
    zone_mask = result["predictions"].mask[0]
    # the hole of the L is inside its convex zone; far pixels stay outside
    assert not _mask(L_SHAPE)[80, 70]
    assert zone_mask[75, 50]
    assert not zone_mask[10, 150]
    wire = serialize_detections(result["predictions"])["predictions"][0]
    assert len(wire["points"]) == 4
    assert wire["polygon"] == result["zones"][0]


def test_detections_without_masks_give_no_zones() -> None:
    boxes = make_detections(np.array([[0.0, 0.0, 10.0, 10.0]]), [0.9], [0], ["a"], IMAGE)
    assert detections_to_zones(boxes, 4) == {
        "zones": [],
        "predictions": None,
        "simplification_converged": False,
    }


def test_an_empty_mask_is_left_out() -> None:
    detections = _segmentation([RECTANGLE, HEXAGON])
    detections.mask[0] = False
    result = detections_to_zones(detections, 4)
    assert len(result["zones"]) == 1
    assert result["predictions"].class_id.tolist() == [0]
    assert result["simplification_converged"] is False


def test_invalid_number_of_vertices() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        detections_to_zones(_segmentation([RECTANGLE]), 0)


@pytest.mark.parametrize(
    ("polygon", "scale", "expected"),
    [
        ([[0, 0], [0, 0], [0, 0]], 2.0, [[0, 0], [0, 0], [0, 0]]),
        ([[0, 0], [10, 0], [10, 10], [0, 10]], 1.0, [[0, 0], [10, 0], [10, 10], [0, 10]]),
        ([[0, 0], [10, 0], [10, 10], [0, 10]], 2.0, [[-5, -5], [15, -5], [15, 15], [-5, 15]]),
        ([[0, 0], [10, 0], [10, 10], [0, 10]], 0.5, [[2, 2], [8, 2], [8, 8], [2, 8]]),
    ],
)
def test_scale_polygon(polygon: list, scale: float, expected: list) -> None:
    assert scale_polygon(np.array(polygon, dtype=np.int32), scale).tolist() == expected


def test_scaled_zone_grows_about_its_centroid() -> None:
    zone, converged = mask_to_zone(_mask(RECTANGLE), 4, scale_ratio=1.5)
    assert converged
    assert _corners(zone.tolist()) == [(5, 2), (5, 48), (95, 2), (95, 48)]


def test_least_squares_vertices_are_line_intersections() -> None:
    # a tilted quadrilateral sampled densely along its edges: the fitted lines meet at corners
    corners = np.array([[10, 20], [60, 10], [70, 60], [20, 70]])
    contour = np.concatenate(
        [np.linspace(corners[k], corners[(k + 1) % 4], 30)[:-1] for k in range(4)]
    )
    rough = corners + np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]])
    refined = least_squares_polygon(contour, rough)
    assert np.abs(refined - corners).max() <= 1


def test_block_runs_on_a_batch() -> None:
    block = DynamicZoneBlock(BlockContext("z", "roboflow_core/dynamic_zone@v1"))
    results = block.run(
        Batch([_segmentation([RECTANGLE]), _segmentation([])], [(0,), (1,)]),
        4,
        1.0,
        True,
        0.9,
    )
    assert [len(r["zones"]) for r in results] == [1, 0]


def test_manifest_alias_and_defaults() -> None:
    entry = default_registry.get("DynamicZone")
    manifest = entry.manifest.model_validate(
        {
            "type": "DynamicZone",
            "name": "z",
            "predictions": "$inputs.p",
            "required_number_of_vertices": 4,
        }
    )
    assert entry.identifier == "roboflow_core/dynamic_zone@v1"
    assert (manifest.scale_ratio, manifest.apply_least_squares, manifest.midpoint_fraction) == (
        1,
        False,
        1,
    )


def test_dynamic_zone_through_the_engine() -> None:
    workflow = visionflow.Workflow.load(
        {
            "version": "1.0",
            "inputs": [
                {
                    "type": "WorkflowBatchInput",
                    "name": "p",
                    "kind": ["instance_segmentation_prediction"],
                }
            ],
            "steps": [
                {
                    "type": "roboflow_core/dynamic_zone@v1",
                    "name": "z",
                    "predictions": "$inputs.p",
                    "required_number_of_vertices": 4,
                }
            ],
            "outputs": [{"type": "JsonField", "name": "zones", "selector": "$steps.z.zones"}],
        }
    )
    points = [{"x": x, "y": y} for x, y in RECTANGLE]
    payload = {
        "image": {"width": 200, "height": 100},
        "predictions": [
            {
                "x": 50,
                "y": 25,
                "width": 60,
                "height": 30,
                "class": "a",
                "confidence": 0.9,
                "points": points,
            }
        ],
    }
    [result] = workflow.run(p=payload)
    assert [_corners(z) for z in result["zones"]] == [[(20, 10), (20, 40), (80, 10), (80, 40)]]
