"""The minimal rotated rectangle around points, in one convention whatever OpenCV's version.

OpenCV 4.5.1+ reports ``minAreaRect`` angles in (0, 90]; OpenCV 5 in [-90, 0). The reference
runs on OpenCV 4, and its outputs (angles, which side is the width, the order of the corners)
depend on that convention, so the rectangle is brought into it before use.

>>> import numpy as np
>>> rect = min_area_rect(np.array([[100, 100], [200, 100], [200, 160], [100, 160]]))
>>> rect
((150.0, 130.0), (60.0, 100.0), 90.0)
>>> rect_corners(rect).tolist()
[[100.0, 100.0], [200.0, 100.0], [200.0, 160.0], [100.0, 160.0]]
"""

from __future__ import annotations

import cv2
import numpy as np

RotatedRect = tuple[tuple[float, float], tuple[float, float], float]


def min_area_rect(points: np.ndarray) -> RotatedRect:
    """``((cx, cy), (width, height), angle)`` with the angle in (0, 90] degrees."""
    (cx, cy), (width, height), raw_angle = cv2.minAreaRect(
        np.asarray(points, dtype=np.float32).reshape(-1, 1, 2)
    )
    # a quarter turn swaps the sides: the same rectangle, described the other way; float32
    # arithmetic as OpenCV's own, so that the corners come out bit for bit the same
    angle = np.float32(raw_angle)
    quarter = np.float32(90)
    while angle <= 0:
        angle, width, height = np.float32(angle + quarter), height, width
    while angle > quarter:
        angle, width, height = np.float32(angle - quarter), height, width
    return (float(cx), float(cy)), (float(width), float(height)), float(angle)


def rect_corners(rect: RotatedRect) -> np.ndarray:
    """The four corners (4 x 2 float32), in OpenCV's ``boxPoints`` order.

    Computed as OpenCV 4 does, in float32: OpenCV 5 rounds differently, and corners are
    truncated to integers downstream, so 131.99998 against 132.0 would move a corner a pixel.
    """
    (cx, cy), (width, height), angle = (
        (np.float32(rect[0][0]), np.float32(rect[0][1])),
        (np.float32(rect[1][0]), np.float32(rect[1][1])),
        float(rect[2]) * np.pi / 180.0,
    )
    half_cos = np.float32(np.cos(angle)) * np.float32(0.5)
    half_sin = np.float32(np.sin(angle)) * np.float32(0.5)
    first = (cx - half_sin * height - half_cos * width, cy + half_cos * height - half_sin * width)
    second = (cx + half_sin * height - half_cos * width, cy - half_cos * height - half_sin * width)
    two = np.float32(2)
    return np.array(
        [
            first,
            second,
            (two * cx - first[0], two * cy - first[1]),
            (two * cx - second[0], two * cy - second[1]),
        ],
        dtype=np.float32,
    )
