"""perspective_correction: picking the quadrilateral, widening it, moving detections and images."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import pytest
import supervision as sv
from pydantic import ValidationError

import visionflow
from visionflow.blocks.base import Batch, BlockContext
from visionflow.blocks.registry import default_registry
from visionflow.blocks.transformations._perspective_geometry import (
    extend_quadrilateral,
    order_quadrilateral,
    perspective_matrix,
)
from visionflow.blocks.transformations.perspective_correction import (
    PerspectiveCorrectionBlock,
    PerspectiveCorrectionManifest,
    correct_detections,
    pick_largest_polygons,
    transform_boxes,
)
from visionflow.data.detections import make_detections
from visionflow.data.image import Image, VideoMetadata

SQUARE = [[0, 100], [0, 0], [100, 0], [100, 100]]


def _image(height: int = 100, width: int = 100) -> Image:
    array = np.zeros((height, width, 3), dtype=np.uint8)
    array[:, : width // 2] = 255  # left half white: warping shows where it went
    return Image(array, parent_id="image")


def _detections(image: Image, boxes: list[list[float]], mask: np.ndarray | None = None):
    n = len(boxes)
    return make_detections(
        np.array(boxes, dtype=float).reshape(-1, 4), [0.9] * n, [0] * n, ["a"], image, mask=mask
    )


def _block() -> PerspectiveCorrectionBlock:
    return PerspectiveCorrectionBlock(BlockContext("pc", "roboflow_core/perspective_correction@v1"))


# ---------------------------------------------------------------------------------------------
# manifest
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "step",
    [
        {"type": "roboflow_core/perspective_correction@v1", "images": "$inputs.image"},
        {"type": "PerspectiveCorrection", "image": "$inputs.image", "predictions": "$steps.m.p"},
    ],
)
def test_manifest_identifier_alias_and_defaults(step: dict) -> None:
    entry = default_registry.get(step["type"])
    manifest = entry.manifest.model_validate({"name": "pc", "perspective_polygons": SQUARE, **step})
    assert entry.identifier == "roboflow_core/perspective_correction@v1"
    assert manifest.images == "$inputs.image"
    assert (manifest.transformed_rect_width, manifest.transformed_rect_height) == (1000, 1000)
    assert manifest.extend_perspective_polygon_by_detections_anchor == ""
    assert manifest.warp_image is False
    assert [o.name for o in PerspectiveCorrectionManifest.outputs] == [
        "corrected_coordinates",
        "warped_image",
        "extended_transformed_rect_width",
        "extended_transformed_rect_height",
    ]


def test_manifest_requires_polygons() -> None:
    with pytest.raises(ValidationError):
        PerspectiveCorrectionManifest.model_validate(
            {"type": "PerspectiveCorrection", "name": "pc", "images": "$inputs.image"}
        )


# ---------------------------------------------------------------------------------------------
# choosing the quadrilateral
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "batch_size", "expected"),
    [
        ([], 1, ValueError),  # nothing given
        (SQUARE, 3, [SQUARE] * 3),  # one quadrilateral for every image
        ([SQUARE], 2, [SQUARE] * 2),  # one entry broadcast
        (
            [SQUARE, [[0, 10], [0, 0], [10, 0], [10, 10]]],
            2,
            [SQUARE, [[0, 10], [0, 0], [10, 0], [10, 10]]],
        ),
        # several candidates: the largest with four vertices (rounded) wins
        (
            [
                [
                    [[0, 5], [0, 0], [5, 0], [5, 5]],
                    [[0, 9.6], [0, 0], [9.4, 0], [9, 9]],
                    [[0, 0], [1, 1]],
                ]
            ],
            1,
            [[[0, 10], [0, 0], [9, 0], [9, 9]]],
        ),
        ([[[0, 0], [1, 1], [2, 2]]], 1, ValueError),  # no candidate with four vertices
        ([SQUARE, SQUARE, SQUARE], 2, ValueError),  # three entries for two images
        ("square", 1, ValueError),
    ],
)
def test_pick_largest_polygons(value: Any, batch_size: int, expected: Any) -> None:
    if expected is ValueError:
        with pytest.raises(ValueError, match="perspective_polygons"):
            pick_largest_polygons(value, batch_size)
        return
    assert [p.tolist() for p in pick_largest_polygons(value, batch_size)] == expected


def test_pick_largest_polygons_reads_one_entry_per_batch_element() -> None:
    other = [[0, 10], [0, 0], [10, 0], [10, 10]]
    picked = pick_largest_polygons(Batch([SQUARE, np.array(other)], [(0,), (1,)]), 2)
    assert [p.tolist() for p in picked] == [SQUARE, other]


# ---------------------------------------------------------------------------------------------
# geometry
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "polygon",
    [
        [[0, 100], [0, 0], [100, 0], [100, 100]],
        [[100, 0], [0, 0], [0, 100], [100, 100]],
        [[100, 100], [100, 0], [0, 0], [0, 100]],
        [[0, 0], [100, 0], [100, 100], [0, 100]],
    ],
)
def test_order_quadrilateral_starts_bottom_left_clockwise(polygon: list) -> None:
    assert order_quadrilateral(np.array(polygon)).tolist() == SQUARE


def test_perspective_matrix_maps_the_quadrilateral_onto_the_rectangle() -> None:
    polygon = np.array([[10, 90], [20, 10], [80, 15], [95, 85]])
    matrix, extra_w, extra_h = perspective_matrix(polygon, 200, 100)
    corners = np.array([[[10, 90]], [[20, 10]], [[80, 15]], [[95, 85]]], dtype=np.float32)
    moved = cv2.perspectiveTransform(corners, matrix).reshape(-1, 2)
    assert np.allclose(moved, [[0, 99], [0, 0], [199, 0], [199, 99]], atol=1e-3)
    assert (extra_w, extra_h) == (0, 0)


@pytest.mark.parametrize(
    ("boxes", "anchor", "expected_extension"),
    [
        ([], "CENTER", (0.0, 0.0)),  # nothing to contain
        ([[40, 40, 60, 60]], "CENTER", (0.0, 0.0)),  # already inside
        ([[140, 40, 160, 60]], "CENTER", (50.0, 0.0)),  # centre 50 px right of the square
        ([[40, -30, 60, 10]], "BOTTOM_CENTER", (0.0, 0.0)),  # bottom centre inside
        ([[40, -30, 60, 10]], "ALL", (0.0, 30.0)),  # top corners 30 px above
        ([[-20, 90, 10, 130]], "ALL", (20.0, 30.0)),  # left and below
    ],
)
def test_extend_quadrilateral(boxes: list, anchor: str, expected_extension: tuple) -> None:
    detections = _detections(_image(), boxes)
    quad = np.array(SQUARE)
    if not boxes:
        _, extra_w, extra_h = perspective_matrix(quad, 100, 100, detections, anchor)
        assert (extra_w, extra_h) == expected_extension
        return
    position = anchor if anchor == "ALL" else sv.Position(anchor)
    _, width, height, extra_w, extra_h = extend_quadrilateral(quad, detections, position)
    assert (width, height) == (100, 100)
    assert (extra_w, extra_h) == pytest.approx(expected_extension)


def test_unknown_anchor_is_refused() -> None:
    detections = _detections(_image(), [[140, 40, 160, 60]])
    with pytest.raises(ValueError):
        perspective_matrix(np.array(SQUARE), 100, 100, detections, "SOMEWHERE")


# ---------------------------------------------------------------------------------------------
# detections
# ---------------------------------------------------------------------------------------------
def test_correct_detections_of_nothing_keeps_the_image_facts() -> None:
    matrix, _, _ = perspective_matrix(np.array(SQUARE), 200, 200)
    corrected = correct_detections(_detections(_image(), []), matrix, 200, 200)
    assert len(corrected) == 0
    assert corrected.metadata["image_dimensions"] == [100, 100]


@pytest.mark.parametrize(
    ("boxes", "expected"),
    [
        ([], []),
        ([[0, 0, 50, 50]], [[0, 0, 100, 100]]),  # scaled by two
        ([[10.4, 10.6, 20, 30]], [[20, 22, 40, 60]]),  # corners rounded first, as the reference
    ],
)
def test_transform_boxes_scales_with_the_rectangle(boxes: list, expected: list) -> None:
    # the square (0..100) onto a 201 x 201 rectangle: coordinates double
    matrix, _, _ = perspective_matrix(np.array(SQUARE), 201, 201)
    moved = transform_boxes(np.array(boxes, dtype=float).reshape(-1, 4), matrix)
    assert moved.tolist() == expected


def test_correct_detections_redraws_masks_and_moves_keypoints() -> None:
    image = _image()
    mask = np.zeros((1, 100, 100), dtype=bool)
    mask[0, 10:30, 20:40] = True
    detections = _detections(image, [[20, 10, 40, 30]], mask=mask)
    detections.data["keypoints_xy"] = np.array([[[25.0, 15.0], [35.0, 25.0]]], dtype=np.float32)
    matrix, _, _ = perspective_matrix(np.array(SQUARE), 201, 201)
    corrected = correct_detections(detections, matrix, 201, 201)
    assert corrected.mask.shape == (1, 201, 201)
    assert corrected.xyxy.tolist() == [[40, 20, 78, 58]]
    assert corrected.mask[0, 30, 50] and not corrected.mask[0, 100, 100]
    assert corrected.data["keypoints_xy"].tolist() == [[[50, 30], [70, 50]]]
    assert detections.xyxy.tolist() == [[20, 10, 40, 30]]  # the input is not modified


# ---------------------------------------------------------------------------------------------
# the block
# ---------------------------------------------------------------------------------------------
def test_block_on_an_empty_batch() -> None:
    assert _block().run(Batch([], []), None, SQUARE, 100, 100, "", True) == []


def test_block_warps_the_image_and_keeps_its_lineage() -> None:
    image = _image()
    image.video_metadata = VideoMetadata("cam", 7)
    # the left half of the image mapped onto the whole 40 x 20 output
    polygon = [[0, 99], [0, 0], [49, 0], [49, 99]]
    (result,) = _block().run(Batch([image], [(0,)]), None, polygon, 40, 20, "", True)
    warped = result["warped_image"]
    assert warped.numpy_image.shape == (20, 40, 3)
    assert (warped.numpy_image[:, :38] == 255).all()  # all white: only the left half is seen
    assert warped.parent_id == "image" and warped.video_metadata.frame_number == 7
    assert result["corrected_coordinates"] is None
    assert (
        result["extended_transformed_rect_width"],
        result["extended_transformed_rect_height"],
    ) == (40, 20)


def test_block_without_warping_passes_the_image_on() -> None:
    image = _image()
    detections = _detections(image, [[140, 40, 160, 60]])
    batch = Batch([image], [(0,)])
    (result,) = _block().run(batch, Batch([detections], [(0,)]), SQUARE, 100, 100, "ALL", False)
    assert result["warped_image"] is image
    assert result["extended_transformed_rect_width"] == 160
    assert result["extended_transformed_rect_height"] == 100
    # the widened square (0..160) spans the 160 output pixels 0..159
    assert result["corrected_coordinates"].xyxy.tolist() == [[139, 40, 159, 59]]


def test_block_takes_sizes_per_element() -> None:
    images = Batch([_image(), _image()], [(0,), (1,)])
    widths = Batch([50, 80], [(0,), (1,)])
    results = _block().run(images, None, SQUARE, widths, 30, "", True)
    assert [r["warped_image"].numpy_image.shape[:2] for r in results] == [(30, 50), (30, 80)]


def test_through_the_engine_with_one_polygon_per_image() -> None:
    workflow = visionflow.Workflow.load(
        {
            "version": "1.0",
            "inputs": [
                {"type": "WorkflowImage", "name": "image"},
                {"type": "WorkflowBatchInput", "name": "polygons", "kind": ["list_of_values"]},
            ],
            "steps": [
                {
                    "type": "PerspectiveCorrection",
                    "name": "pc",
                    "images": "$inputs.image",
                    "perspective_polygons": "$inputs.polygons",
                    "transformed_rect_width": 60,
                    "transformed_rect_height": 40,
                    "warp_image": True,
                }
            ],
            "outputs": [
                {"type": "JsonField", "name": "warped", "selector": "$steps.pc.warped_image"}
            ],
        }
    )
    pixels = np.zeros((100, 100, 3), dtype=np.uint8)
    results = workflow.run(image=[pixels, pixels], polygons=[SQUARE, [SQUARE]])
    assert [r["warped"].numpy_image.shape for r in results] == [(40, 60, 3), (40, 60, 3)]
