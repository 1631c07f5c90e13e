"""stitch_images: two overlapping images joined by a homography, or None when impossible."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

import visionflow
from visionflow.blocks.base import BlockContext
from visionflow.blocks.registry import default_registry
from visionflow.blocks.transformations.stitch_images import (
    StitchImagesBlock,
    StitchImagesManifest,
    stitch_pixels,
)
from visionflow.data.image import Image

DOG = cv2.imread(str(Path(__file__).resolve().parents[2] / "examples" / "images" / "dog.jpg"))


def _block() -> StitchImagesBlock:
    return StitchImagesBlock(BlockContext("s", "roboflow_core/stitch_images@v1"))


def test_manifest_defaults() -> None:
    entry = default_registry.get("roboflow_core/stitch_images@v1")
    assert entry.aliases == ()
    manifest = StitchImagesManifest.model_validate(
        {
            "type": "roboflow_core/stitch_images@v1",
            "name": "s",
            "image1": "$inputs.a",
            "image2": "$inputs.b",
        }
    )
    assert manifest.max_allowed_reprojection_error == 3
    assert manifest.count_of_best_matches_per_query_descriptor == 2


def test_manifest_takes_no_image_alias() -> None:
    with pytest.raises(ValidationError):
        StitchImagesManifest.model_validate(
            {"type": "roboflow_core/stitch_images@v1", "name": "s", "image": "$inputs.a"}
        )


@pytest.mark.parametrize(
    ("first", "second", "k", "expected"),
    [
        # blank images have no keypoints: no panorama
        (np.zeros((50, 50, 3), np.uint8), np.zeros((50, 50, 3), np.uint8), 2, None),
        ((0, 500), (268, 768), 1, None),  # one match per keypoint: no ratio test possible
        ((0, 500), (268, 768), 2, (576, 499)),
        ((268, 768), (0, 500), 2, (576, 499)),
        ((0, 500), (268, 768), 3.4, (576, 499)),  # k is rounded
    ],
)
def test_block(first: object, second: object, k: float, expected: tuple | None) -> None:
    def image(spec: object, name: str) -> Image:
        pixels = spec if isinstance(spec, np.ndarray) else DOG[:, spec[0] : spec[1]]
        return Image(np.ascontiguousarray(pixels), parent_id=name)

    result = _block().run(image(first, "a"), image(second, "b"), 3.0, k)["stitched_image"]
    if expected is None:
        assert result is None
        return
    assert result.numpy_image.shape[:2] == expected
    assert result.parent_id == "a + b" and result.root_id == "a + b"


def test_stitched_pixels_rebuild_the_scene() -> None:
    canvas = stitch_pixels(DOG[:, :300], DOG[:, 200:], 2, 3.0)
    assert canvas.shape == (576, 767, 3)
    assert np.abs(canvas.astype(int) - DOG[:, :767]).mean() < 10  # resampling blurs a little


def test_canvas_follows_the_reference_when_the_warped_image_lies_right() -> None:
    # The reference sizes the canvas from the warped image's corners without shifting right
    # when they start right of the origin, and pastes the other image only when it fits: here
    # the canvas holds the warped right-hand image only, black to its left.
    canvas = stitch_pixels(DOG[:, :500], DOG[:, 268:], 2, 3.0)
    assert canvas.shape == (576, 499, 3)
    assert canvas[:, :260].max() == 0
    assert np.abs(canvas[:, 275:].astype(int) - DOG[:, 275:499]).mean() < 1


def test_zero_matches_per_descriptor_is_refused() -> None:
    image = Image(DOG, parent_id="a")
    with pytest.raises(ValueError, match="greater than 0"):
        _block().run(image, image, 3.0, 0)


def test_through_the_engine() -> None:
    workflow = visionflow.Workflow.load(
        {
            "version": "1.0",
            "inputs": [
                {"type": "WorkflowImage", "name": "left"},
                {"type": "WorkflowImage", "name": "right"},
            ],
            "steps": [
                {
                    "type": "roboflow_core/stitch_images@v1",
                    "name": "stitch",
                    "image1": "$inputs.left",
                    "image2": "$inputs.right",
                }
            ],
            "outputs": [
                {
                    "type": "JsonField",
                    "name": "panorama",
                    "selector": "$steps.stitch.stitched_image",
                }
            ],
        }
    )
    left = np.ascontiguousarray(DOG[:, :500])
    right = np.ascontiguousarray(DOG[:, 268:])
    blank = np.zeros((40, 40, 3), np.uint8)
    results = workflow.run(left=[left, blank], right=[right, blank])
    assert results[0]["panorama"].numpy_image.shape == (576, 499, 3)
    assert results[1]["panorama"] is None
