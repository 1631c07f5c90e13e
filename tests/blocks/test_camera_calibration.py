"""camera-calibration: lens distortion removed with the standard and the fisheye model."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import pytest

import visionflow
from visionflow.blocks.base import BlockContext
from visionflow.blocks.registry import default_registry
from visionflow.blocks.transformations.camera_calibration import (
    CameraCalibrationBlock,
    CameraCalibrationManifest,
    undistort_image,
)
from visionflow.data.image import Image, Origin, VideoMetadata

NO_DISTORTION = {"k1": 0.0, "k2": 0.0, "k3": 0.0, "p1": 0.0, "p2": 0.0}
INTRINSICS = {"fx": 100.0, "fy": 100.0, "cx": 100.0, "cy": 75.0}


def _grid(height: int = 150, width: int = 200) -> Image:
    """Black lines every 25 pixels on white: distortion bends them."""
    pixels = np.full((height, width, 3), 255, dtype=np.uint8)
    pixels[::25] = 0
    pixels[:, ::25] = 0
    return Image(pixels, parent_id="image")


def _distorted(image: Image, k1: float) -> np.ndarray:
    """``image`` as a lens with radial coefficient ``k1`` would see it."""
    height, width = image.numpy_image.shape[:2]
    camera = np.array([[100.0, 0, 100.0], [0, 100.0, 75.0], [0, 0, 1]])
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    # for every distorted pixel, where it comes from in the undistorted image
    points = np.stack([xs.ravel(), ys.ravel()], axis=1).reshape(-1, 1, 2)
    sources = cv2.undistortPoints(points, camera, np.array([k1, 0, 0, 0, 0]), P=camera)
    map_x = sources[:, 0, 0].reshape(height, width).astype(np.float32)
    map_y = sources[:, 0, 1].reshape(height, width).astype(np.float32)
    return cv2.remap(image.numpy_image, map_x, map_y, cv2.INTER_LINEAR)


def test_manifest_identifier_with_hyphen_and_image_alias() -> None:
    entry = default_registry.get("roboflow_core/camera-calibration@v1")
    assert entry.aliases == ()
    manifest = CameraCalibrationManifest.model_validate(
        {
            "type": "roboflow_core/camera-calibration@v1",
            "name": "c",
            "images": "$inputs.image",
            **INTRINSICS,
            **NO_DISTORTION,
        }
    )
    assert manifest.image == "$inputs.image"
    assert manifest.use_fisheye_model is False


@pytest.mark.parametrize(
    ("coefficients", "fisheye", "expect_unchanged"),
    [
        (NO_DISTORTION, False, True),  # nothing to remove: the image comes back as it was
        (NO_DISTORTION, True, True),
        ({**NO_DISTORTION, "k1": 1e-9}, True, True),  # below the fisheye model's threshold
        ({**NO_DISTORTION, "k1": -0.2}, False, False),
        ({**NO_DISTORTION, "k1": 0.3}, True, False),
    ],
)
def test_undistort_keeps_size(coefficients: dict, fisheye: bool, expect_unchanged: bool) -> None:
    image = _grid()
    result = undistort_image(image, **INTRINSICS, **coefficients, use_fisheye_model=fisheye)
    assert result.numpy_image.shape == image.numpy_image.shape
    unchanged = bool(np.abs(result.numpy_image.astype(int) - image.numpy_image).max() <= 1)
    assert unchanged is expect_unchanged


def _line_rows(pixels: np.ndarray) -> np.ndarray:
    """Per column (of the central part), the row of the brightest pixel in the upper half."""
    return pixels[:75, 30:170].max(axis=2).argmax(axis=0)


def test_undistort_straightens_what_the_lens_bent() -> None:
    # one bright straight line far from the optical centre, on black (the colour the
    # undistorted view gets where no source pixel lands)
    pixels = np.zeros((150, 200, 3), dtype=np.uint8)
    pixels[20] = 255
    distorted = Image(_distorted(Image(pixels, parent_id="image"), 0.3), parent_id="image")
    bent = _line_rows(distorted.numpy_image)
    restored = undistort_image(distorted, **INTRINSICS, **{**NO_DISTORTION, "k1": 0.3})
    straight = _line_rows(restored.numpy_image)
    assert np.ptp(bent) >= 5
    assert np.ptp(straight) <= 1


def test_missing_coefficient_is_reported() -> None:
    with pytest.raises(ValueError, match="k2, p1"):
        undistort_image(_grid(), **INTRINSICS, **{**NO_DISTORTION, "k2": None, "p1": None})


def test_result_is_named_after_its_input_and_keeps_the_video() -> None:
    parent = Image(np.zeros((300, 400, 3), dtype=np.uint8), parent_id="image")
    crop = parent.crop(50, 60, 250, 210, crop_id="crop-1")
    crop.video_metadata = VideoMetadata("cam", 3)
    result = undistort_image(crop, **INTRINSICS, **NO_DISTORTION)
    assert result.parent_id == "crop-1" and result.root_id == "crop-1"
    assert result.origin == Origin(50, 60, 400, 300) and result.root_origin == result.origin
    assert result.video_metadata.frame_number == 3


def test_block_runs_per_image() -> None:
    block = CameraCalibrationBlock(BlockContext("c", "roboflow_core/camera-calibration@v1"))
    result: dict[str, Any] = block.run(
        _grid(), **INTRINSICS, **NO_DISTORTION, use_fisheye_model=None
    )
    assert result["calibrated_image"].numpy_image.shape == (150, 200, 3)


def test_through_the_engine() -> None:
    workflow = visionflow.Workflow.load(
        {
            "version": "1.0",
            "inputs": [
                {"type": "WorkflowImage", "name": "image"},
                {"type": "WorkflowParameter", "name": "k1", "default_value": 0.1},
            ],
            "steps": [
                {
                    "type": "roboflow_core/camera-calibration@v1",
                    "name": "calibration",
                    "image": "$inputs.image",
                    **INTRINSICS,
                    **{**NO_DISTORTION, "k1": "$inputs.k1"},
                    "use_fisheye_model": True,
                }
            ],
            "outputs": [
                {
                    "type": "JsonField",
                    "name": "image",
                    "selector": "$steps.calibration.calibrated_image",
                }
            ],
        }
    )
    grid = _grid().numpy_image
    results = workflow.run(image=[grid, grid])
    assert [r["image"].numpy_image.shape for r in results] == [(150, 200, 3)] * 2
