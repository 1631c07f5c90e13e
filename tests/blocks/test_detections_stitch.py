"""detections_stitch: detections of slices, back in their image."""

from __future__ import annotations

import numpy as np
import pytest

from visionflow.blocks.base import Batch, BlockContext
from visionflow.blocks.fusion.detections_stitch import (
    DetectionsStitchBlock,
    DetectionsStitchManifest,
    stitch_detections,
)
from visionflow.blocks.registry import default_registry
from visionflow.data.detections import make_detections
from visionflow.data.image import Image

IMAGE = Image(np.zeros((100, 200, 3), dtype=np.uint8), parent_id="image")
LEFT = IMAGE.crop(0, 0, 120, 100, crop_id="left")
RIGHT = IMAGE.crop(80, 0, 200, 100, crop_id="right")


def _on(tile: Image, boxes: list[list[float]], confidences: list[float], masks: bool = False):
    detections = make_detections(
        np.array(boxes, dtype=float).reshape(-1, 4), confidences, [0] * len(boxes), ["a"], tile
    )
    if masks:
        height, width = tile.numpy_image.shape[:2]
        mask = np.zeros((len(boxes), height, width), dtype=bool)
        for i, (x1, y1, x2, y2) in enumerate(boxes):
            mask[i, int(y1) : int(y2), int(x1) : int(x2)] = True
        detections.mask = mask
    return detections


def test_identifier_and_dimensionality() -> None:
    assert default_registry.get("roboflow_core/detections_stitch@v1").aliases == ()
    assert DetectionsStitchManifest.input_dimensionality_offsets == {"predictions": 1}
    assert DetectionsStitchManifest.dimensionality_reference == "reference_image"


# The same object seen by both tiles: at 90..110 in the image.
SEEN_LEFT = ([[90, 10, 110, 30]], [0.9])
SEEN_RIGHT = ([[10, 10, 30, 30]], [0.8])


@pytest.mark.parametrize(
    ("left", "right", "strategy", "expected"),
    [
        # no slices had detections
        (([], []), ([], []), "nms", []),
        (SEEN_LEFT, SEEN_RIGHT, "none", [[90, 10, 110, 30], [90, 10, 110, 30]]),
        (SEEN_LEFT, SEEN_RIGHT, "nms", [[90, 10, 110, 30]]),
        (([[90, 10, 110, 30]], [0.9]), ([[12, 10, 32, 30]], [0.8]), "nmm", [[90, 10, 112, 30]]),
        (
            ([[0, 0, 10, 10]], [0.5]),
            ([[100, 50, 120, 70]], [0.5]),
            "nms",
            [[0, 0, 10, 10], [180, 50, 200, 70]],
        ),
    ],
)
def test_stitch(left: tuple, right: tuple, strategy: str, expected: list) -> None:
    result = stitch_detections(IMAGE, [_on(LEFT, *left), _on(RIGHT, *right)], strategy, 0.3)
    assert result.xyxy.tolist() == [list(map(float, box)) for box in expected]
    # in the image's frame, with the image's lineage, even when empty
    assert result.metadata["image_dimensions"] == [100, 200]
    assert set(result.data["parent_id"].tolist()) <= {"image"}
    assert result.data["parent_coordinates"].tolist() == [[0, 0]] * len(expected)


def test_masks_move_into_the_image() -> None:
    result = stitch_detections(
        IMAGE, [_on(RIGHT, [[10, 10, 30, 30]], [0.8], masks=True)], "nms", 0.3
    )
    assert result.mask is not None and result.mask.shape == (1, 100, 200)
    assert result.mask[0, 10:30, 90:110].all() and result.mask[0].sum() == 400


def test_mixed_masks_are_refused() -> None:
    with pytest.raises(ValueError, match="masks"):
        stitch_detections(
            IMAGE,
            [_on(LEFT, *SEEN_LEFT, masks=True), _on(RIGHT, *SEEN_RIGHT)],
            "nms",
        )


def test_unknown_strategy_is_refused() -> None:
    with pytest.raises(ValueError, match="strategy"):
        stitch_detections(IMAGE, [], "soft-nms")


def test_scaled_predictions_are_refused() -> None:
    scaled = _on(LEFT, *SEEN_LEFT)
    scaled.data["scaling_relative_to_parent"] = np.array([0.5])
    with pytest.raises(ValueError, match="resized"):
        stitch_detections(IMAGE, [scaled])


def test_block_run() -> None:
    block = DetectionsStitchBlock(BlockContext("s", "roboflow_core/detections_stitch@v1"))
    pieces = Batch([_on(LEFT, *SEEN_LEFT), _on(RIGHT, *SEEN_RIGHT)], [(0, 0), (0, 1)])
    result = block.run(reference_image=IMAGE, predictions=pieces)
    assert result["predictions"].confidence.tolist() == [0.9]
