"""Camera calibration: remove lens distortion from images, given the camera's intrinsics.

The standard model uses OpenCV's radial (k1, k2, k3) and tangential (p1, p2) coefficients,
keeping every source pixel in view; the fisheye option uses the one-parameter division model.

>>> import numpy as np
>>> from visionflow.data.image import Image
>>> image = Image(np.full((40, 60, 3), 200, dtype=np.uint8), parent_id="image")
>>> undistort_image(image, fx=50.0, fy=50.0, cx=30.0, cy=20.0, k1=0.0, k2=0.0, k3=0.0,
...                 p1=0.0, p2=0.0).numpy_image.shape
(40, 60, 3)
"""

from __future__ import annotations

from typing import Any, Literal, Optional, Union

import cv2
import numpy as np
from pydantic import AliasChoices, Field

from visionflow.blocks.base import Block, BlockInfo, BlockManifest, DataSelector, Output
from visionflow.blocks.registry import register_block
from visionflow.data.image import Image
from visionflow.spec.kinds import BOOLEAN_KIND, FLOAT_KIND, IMAGE_KIND

_COEFFICIENTS = {
    "fx": "Focal length along x, in pixels.",
    "fy": "Focal length along y, in pixels.",
    "cx": "Principal point (optical centre) x, in pixels.",
    "cy": "Principal point (optical centre) y, in pixels.",
    "k1": "First radial distortion coefficient (the only one the fisheye model uses).",
    "k2": "Second radial distortion coefficient.",
    "k3": "Third radial distortion coefficient.",
    "p1": "First tangential distortion coefficient.",
    "p2": "Second tangential distortion coefficient.",
}


def _coefficient(name: str) -> Any:
    return Field(description=_COEFFICIENTS[name], examples=[0.123, f"$inputs.{name}"])


class CameraCalibrationManifest(BlockManifest):
    # The hyphen in the identifier is the reference's spelling; definitions depend on it.
    type: Literal["roboflow_core/camera-calibration@v1"]
    image: DataSelector(IMAGE_KIND) = Field(
        description="The image taken with the calibrated camera.",
        examples=["$inputs.image", "$steps.cropping.crops"],
        validation_alias=AliasChoices("image", "images"),
    )
    fx: Union[Optional[float], DataSelector(FLOAT_KIND)] = _coefficient("fx")
    fy: Union[Optional[float], DataSelector(FLOAT_KIND)] = _coefficient("fy")
    cx: Union[Optional[float], DataSelector(FLOAT_KIND)] = _coefficient("cx")
    cy: Union[Optional[float], DataSelector(FLOAT_KIND)] = _coefficient("cy")
    k1: Union[Optional[float], DataSelector(FLOAT_KIND)] = _coefficient("k1")
    k2: Union[Optional[float], DataSelector(FLOAT_KIND)] = _coefficient("k2")
    k3: Union[Optional[float], DataSelector(FLOAT_KIND)] = _coefficient("k3")
    p1: Union[Optional[float], DataSelector(FLOAT_KIND)] = _coefficient("p1")
    p2: Union[Optional[float], DataSelector(FLOAT_KIND)] = _coefficient("p2")
    use_fisheye_model: Union[Optional[bool], DataSelector(BOOLEAN_KIND)] = Field(
        default=False,
        description="Use the fisheye (division) model: k1 alone describes the distortion.",
        examples=[True, "$inputs.use_fisheye_model"],
    )

    block_info = BlockInfo(
        name="Camera Calibration",
        short="Remove lens distortion from images using the camera's calibration.",
        category="transformation",
    )
    outputs = (Output("calibrated_image", IMAGE_KIND),)


@register_block
class CameraCalibrationBlock(Block):
    """One undistorted image per input image."""

    manifest = CameraCalibrationManifest

    def run(
        self,
        image: Image,
        fx: float,
        fy: float,
        cx: float,
        cy: float,
        k1: float,
        k2: float,
        k3: float,
        p1: float,
        p2: float,
        use_fisheye_model: bool | None,
    ) -> dict[str, Image]:
        calibrated = undistort_image(
            image,
            fx=fx,
            fy=fy,
            cx=cx,
            cy=cy,
            k1=k1,
            k2=k2,
            k3=k3,
            p1=p1,
            p2=p2,
            use_fisheye_model=bool(use_fisheye_model),
        )
        return {"calibrated_image": calibrated}


def undistort_image(
    image: Image,
    *,
    fx: float,
    fy: float,
    cx: float,
    cy: float,
    k1: float,
    k2: float,
    k3: float,
    p1: float,
    p2: float,
    use_fisheye_model: bool = False,
) -> Image:
    """``image`` with its lens distortion removed, the same size.

    Like the reference, the result is a new image named after the input (it does not point
    back to the input's parent); the input's video metadata is kept.
    """
    given = (fx, fy, cx, cy, k1, k2, k3, p1, p2)
    missing = [name for name, value in zip(_COEFFICIENTS, given, strict=True) if value is None]
    if missing:
        raise ValueError(f"camera calibration needs values for {', '.join(missing)}")
    pixels = image.numpy_image
    if use_fisheye_model:
        undistorted = _undistort_division_model(pixels, fx, fy, cx, cy, k1)
    else:
        camera = np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1]], dtype=np.float32)
        distortion = np.array([k1, k2, p1, p2, k3], dtype=np.float32)
        height, width = pixels.shape[:2]
        # alpha=1 keeps every source pixel in the output (black where nothing maps)
        new_camera, _ = cv2.getOptimalNewCameraMatrix(
            camera, distortion, (width, height), 1, (width, height)
        )
        undistorted = cv2.undistort(pixels, camera, distortion, None, new_camera)
    return Image(
        undistorted,
        parent_id=image.parent_id,
        origin=image.origin,
        root_id=image.parent_id,
        root_origin=image.origin,
        video_metadata=image.video_metadata,
    )


def _undistort_division_model(
    pixels: np.ndarray, fx: float, fy: float, cx: float, cy: float, k1: float
) -> np.ndarray:
    """Sample each output pixel from where the division model puts it in the distorted image.

    float32 throughout, in the reference's order of operations, so results agree exactly.
    """
    height, width = pixels.shape[:2]
    grid_y, grid_x = np.mgrid[0:height, 0:width].astype(np.float32)
    x = (grid_x - cx) / fx
    y = (grid_y - cy) / fy
    r2 = x**2 + y**2
    if abs(k1) < 1e-8:
        scale: Any = 1.0
    else:
        discriminant = 1 - 4 * k1 * r2
        discriminant[discriminant < 0] = 0  # beyond the model's valid radius
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = (1 - np.sqrt(discriminant)) / (2 * k1 * r2)
        scale[np.abs(r2) < 1e-8] = 1.0  # the centre: the limit of the formula
    map_x = (x * scale * fx) + cx
    map_y = (y * scale * fy) + cy
    return cv2.remap(pixels, map_x.astype(np.float32), map_y.astype(np.float32), cv2.INTER_LINEAR)


__all__ = ["CameraCalibrationBlock", "CameraCalibrationManifest", "undistort_image"]
