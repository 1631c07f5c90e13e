"""image_slicer v1 (border slices shrink) and v2 (equal slices, no duplicates)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

import visionflow
from visionflow.blocks.base import BlockContext
from visionflow.blocks.registry import default_registry
from visionflow.blocks.transformations.image_slicer import (
    ImageSlicerV1Block,
    ImageSlicerV1Manifest,
    ImageSlicerV2Block,
    ImageSlicerV2Manifest,
    slice_offsets_v1,
    slice_offsets_v2,
)
from visionflow.data.image import Image, VideoMetadata


def _image(height: int, width: int) -> Image:
    # each pixel encodes its own (x, y) so that slices can be checked against their offsets
    array = np.zeros((height, width, 3), dtype=np.uint8)
    array[:, :, 0] = (np.arange(width) % 256).astype(np.uint8)[None, :]
    array[:, :, 1] = (np.arange(height) % 256).astype(np.uint8)[:, None]
    return Image(array, parent_id="image")


# ---------------------------------------------------------------------------------------------
# offsets
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("resolution", "slice_wh", "overlap", "expected_v1", "expected_v2"),
    [
        # an image smaller than one slice: one slice, the whole image
        ((30, 20), (64, 64), (0.2, 0.2), [[0, 0, 30, 20]], [[0, 0, 30, 20]]),
        # exact multiple, no overlap: the same tiling for both versions
        (
            (100, 50),
            (50, 50),
            (0.0, 0.0),
            [[0, 0, 50, 50], [50, 0, 100, 50]],
            [[0, 0, 50, 50], [50, 0, 100, 50]],
        ),
        # the border slice shrinks in v1 and moves left in v2
        (
            (100, 50),
            (60, 60),
            (0.0, 0.0),
            [[0, 0, 60, 50], [60, 0, 100, 50]],
            [[0, 0, 60, 50], [40, 0, 100, 50]],
        ),
        # 25% overlap: stride 30; v2 drops the slices that land on the same place
        (
            (100, 40),
            (40, 40),
            (0.25, 0.0),
            [[0, 0, 40, 40], [30, 0, 70, 40], [60, 0, 100, 40], [90, 0, 100, 40]],
            [[0, 0, 40, 40], [30, 0, 70, 40], [60, 0, 100, 40]],
        ),
        # rows come after columns (row-major order)
        (
            (20, 30),
            (20, 20),
            (0.0, 0.0),
            [[0, 0, 20, 20], [0, 20, 20, 30]],
            [[0, 0, 20, 20], [0, 10, 20, 30]],
        ),
    ],
)
def test_slice_offsets(
    resolution: tuple[int, int],
    slice_wh: tuple[int, int],
    overlap: tuple[float, float],
    expected_v1: list,
    expected_v2: list,
) -> None:
    assert slice_offsets_v1(resolution, slice_wh, overlap).tolist() == expected_v1
    assert slice_offsets_v2(resolution, slice_wh, overlap).tolist() == expected_v2


@pytest.mark.parametrize("overlap", [0.0, 0.2, 0.5, 0.99])
def test_slices_cover_the_image(overlap: float) -> None:
    for offsets_of in (slice_offsets_v1, slice_offsets_v2):
        covered = np.zeros((173, 211), dtype=bool)
        for x1, y1, x2, y2 in offsets_of((211, 173), (64, 48), (overlap, overlap)).tolist():
            covered[y1:y2, x1:x2] = True
        assert covered.all()


def test_v2_slices_have_equal_sizes_and_are_unique() -> None:
    offsets = slice_offsets_v2((211, 173), (64, 48), (0.3, 0.3))
    sizes = {(x2 - x1, y2 - y1) for x1, y1, x2, y2 in offsets.tolist()}
    assert sizes == {(64, 48)}
    assert len({tuple(o) for o in offsets.tolist()}) == len(offsets)


# ---------------------------------------------------------------------------------------------
# blocks
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("block_class", "expected_boxes"),
    [
        (ImageSlicerV1Block, [(0, 0, 60, 50), (60, 0, 100, 50)]),
        (ImageSlicerV2Block, [(0, 0, 60, 50), (40, 0, 100, 50)]),
    ],
)
def test_slices_are_views_with_lineage(block_class: Any, expected_boxes: list) -> None:
    image = _image(50, 100)
    image.video_metadata = VideoMetadata("cam", 3)
    block = block_class(BlockContext("slicer", block_class.manifest.identifier()))
    results = block.run(image, 60, 60, 0.0, 0.0)
    assert len(results) == len(expected_boxes)
    for result, (x1, y1, x2, y2) in zip(results, expected_boxes, strict=True):
        crop = result["slices"]
        assert np.array_equal(crop.numpy_image, image.numpy_image[y1:y2, x1:x2])
        assert np.shares_memory(crop.numpy_image, image.numpy_image)
        assert (crop.origin.offset_x, crop.origin.offset_y) == (x1, y1)
        assert (crop.origin.width, crop.origin.height) == (100, 50)
        assert crop.root_id == "image"
        assert crop.parent_id.startswith("image_slicer.")
        # slices are not frames of the parent's stream (the reference drops the metadata)
        assert crop.video_metadata is None
    assert len({r["slices"].parent_id for r in results}) == len(results)


def test_slices_of_a_crop_know_their_root_offset() -> None:
    crop = _image(100, 200).crop(50, 20, 150, 80, crop_id="c")
    block = ImageSlicerV1Block(BlockContext("slicer", "roboflow_core/image_slicer@v1"))
    second = block.run(crop, 60, 60, 0.0, 0.0)[1]["slices"]
    assert (second.origin.offset_x, second.origin.offset_y) == (60, 0)
    assert (second.root_origin.offset_x, second.root_origin.offset_y) == (110, 20)
    assert second.numpy_image[0, 0, 0] == 110


@pytest.mark.parametrize(
    ("step", "expected_identifier"),
    [
        (
            {"type": "roboflow_core/image_slicer@v1", "image": "$inputs.image"},
            "roboflow_core/image_slicer@v1",
        ),
        (
            {"type": "roboflow_core/image_slicer@v2", "images": "$inputs.image"},
            "roboflow_core/image_slicer@v2",
        ),
    ],
)
def test_manifests_and_defaults(step: dict, expected_identifier: str) -> None:
    entry = default_registry.get(step["type"])
    manifest = entry.manifest.model_validate({"name": "s", **step})
    assert entry.identifier == expected_identifier
    assert manifest.image == "$inputs.image"
    assert (manifest.slice_width, manifest.slice_height) == (640, 640)
    assert (manifest.overlap_ratio_width, manifest.overlap_ratio_height) == (0.2, 0.2)
    assert entry.manifest.output_dimensionality_offset == 1


@pytest.mark.parametrize(
    "fields",
    [
        {"slice_width": 0},
        {"slice_height": -5},
        {"overlap_ratio_width": 1.0},
        {"overlap_ratio_height": -0.1},
    ],
)
@pytest.mark.parametrize("manifest", [ImageSlicerV1Manifest, ImageSlicerV2Manifest])
def test_invalid_values_are_refused(manifest: Any, fields: dict) -> None:
    with pytest.raises(ValidationError):
        manifest.model_validate(
            {"type": manifest.identifier(), "name": "s", "image": "$inputs.image", **fields}
        )


# ---------------------------------------------------------------------------------------------
# through the engine
# ---------------------------------------------------------------------------------------------
SLICER_WORKFLOW = {
    "version": "1.0",
    "inputs": [
        {"type": "WorkflowImage", "name": "image"},
        {"type": "WorkflowParameter", "name": "size", "default_value": 64},
    ],
    "steps": [
        {
            "type": "roboflow_core/image_slicer@v1",
            "name": "v1",
            "image": "$inputs.image",
            "slice_width": "$inputs.size",
            "slice_height": "$inputs.size",
            "overlap_ratio_width": 0.0,
            "overlap_ratio_height": 0.0,
        },
        {
            "type": "roboflow_core/image_slicer@v2",
            "name": "v2",
            "image": "$inputs.image",
            "slice_width": "$inputs.size",
            "slice_height": "$inputs.size",
            "overlap_ratio_width": 0.0,
            "overlap_ratio_height": 0.0,
        },
    ],
    "outputs": [
        {"type": "JsonField", "name": "v1", "selector": "$steps.v1.slices"},
        {"type": "JsonField", "name": "v2", "selector": "$steps.v2.slices"},
    ],
}


@pytest.mark.parametrize(
    ("sizes", "expected_v1", "expected_v2"),
    [
        ([], [], []),
        ([(64, 64)], [[(64, 64)]], [[(64, 64)]]),
        (
            [(100, 64), (32, 32)],
            [[(64, 64), (36, 64)], [(32, 32)]],
            [[(64, 64), (64, 64)], [(32, 32)]],
        ),
    ],
)
def test_slicers_through_the_engine(sizes: list, expected_v1: list, expected_v2: list) -> None:
    workflow = visionflow.Workflow.load(SLICER_WORKFLOW)
    images = [_image(h, w).numpy_image for w, h in sizes]
    results = workflow.run(image=images)
    assert [[s.numpy_image.shape[1::-1] for s in r["v1"]] for r in results] == expected_v1
    assert [[s.numpy_image.shape[1::-1] for s in r["v2"]] for r in results] == expected_v2
