"""Geometry behind perspective correction: ordering a quadrilateral's corners, widening it so
that detections fall inside, and the homography onto an upright rectangle.

A quadrilateral is a ``(4, 2)`` array ordered bottom-left, top-left, top-right, bottom-right
(image coordinates: y grows downwards). The arithmetic follows the reference step by step
(same order of operations, same rounding), so matrices agree to the last bit.

>>> import numpy as np
>>> quad = order_quadrilateral(np.array([[10, 0], [0, 0], [0, 10], [10, 10]]))
>>> quad.tolist()
[[0, 10], [0, 0], [10, 0], [10, 10]]
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import cv2
import numpy as np
import supervision as sv

#: ``extend_perspective_polygon_by_detections_anchor`` value that keeps whole boxes inside.
ALL_POSITIONS = "ALL"

_BL, _TL, _TR, _BR = 0, 1, 2, 3


class _Side(NamedTuple):
    """How the reference widens one side of the quadrilateral to take in a point."""

    edge: tuple[int, int]  # a point not counter-clockwise of this edge is outside it
    move_1: tuple[int, int]  # (corner moved, far end of the edge it slides along)
    move_2: tuple[int, int]
    measured: int  # the corner whose displacement counts as the extension
    widens: bool  # True: adds to the width, else to the height
    box_corners: tuple[sv.Position, sv.Position]  # anchors tested with ``ALL``


# In the reference's order: left, right, bottom, top.
_SIDES = (
    _Side(
        (_BL, _TL),
        (_BL, _BR),
        (_TL, _TR),
        _BL,
        True,
        (sv.Position.BOTTOM_LEFT, sv.Position.TOP_LEFT),
    ),
    _Side(
        (_TR, _BR),
        (_TR, _TL),
        (_BR, _BL),
        _BR,
        True,
        (sv.Position.BOTTOM_RIGHT, sv.Position.TOP_RIGHT),
    ),
    _Side(
        (_BR, _BL),
        (_BR, _TR),
        (_BL, _TL),
        _BL,
        False,
        (sv.Position.BOTTOM_RIGHT, sv.Position.BOTTOM_LEFT),
    ),
    _Side(
        (_TL, _TR),
        (_TL, _BL),
        (_TR, _BR),
        _TL,
        False,
        (sv.Position.TOP_RIGHT, sv.Position.TOP_LEFT),
    ),
)


def order_quadrilateral(polygon: np.ndarray) -> np.ndarray:
    """Corners sorted clockwise around the bounding-box centre, starting bottom-left."""
    x_center = min(polygon[:, 0]) / 2 + max(polygon[:, 0]) / 2
    y_center = min(polygon[:, 1]) / 2 + max(polygon[:, 1]) / 2
    clockwise = np.array(
        sorted(
            polygon.tolist(),
            key=lambda p: math.atan2(x_center - p[0], y_center - p[1]),
            reverse=True,
        )
    )
    return _roll_to_bottom_left(clockwise)


def _roll_to_bottom_left(polygon: np.ndarray) -> np.ndarray:
    """The rotation of the corners closest (summed distance) to the bounding box's corners."""
    x_min, x_max = min(polygon[:, 0]), max(polygon[:, 0])
    y_min, y_max = min(polygon[:, 1]), max(polygon[:, 1])
    box = [[x_min, y_max], [x_min, y_min], [x_max, y_min], [x_max, y_max]]

    def distance(candidate: np.ndarray) -> float:
        return sum(
            ((x1 - x2) ** 2 + (y1 - y2) ** 2) ** 0.5
            for (x1, y1), (x2, y2) in zip(box, candidate, strict=True)
        )

    closest, min_dist = polygon, distance(polygon)
    for shift in range(4):
        rolled = np.roll(polygon, shift, axis=0)
        dist = distance(rolled)
        # ties go to the rotation that starts further left
        if dist < min_dist or (dist == min_dist and rolled[0][0] < closest[0][0]):
            min_dist, closest = dist, rolled
    return closest


def _edge_length(a: Any, b: Any) -> Any:
    return ((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2) ** 0.5


def _line(a: Any, b: Any) -> tuple[Any, Any]:
    """(slope, intercept) of y = slope * x + intercept through a and b; (None, x) if vertical."""
    if a[0] == b[0]:
        return None, a[0]
    return (b[1] - a[1]) / (b[0] - a[0]), (a[1] * b[0] - b[1] * a[0]) / (b[0] - a[0])


def _intersection(line_1: tuple[Any, Any], line_2: tuple[Any, Any]) -> np.ndarray:
    (a1, b1), (a2, b2) = line_1, line_2
    if a1 is None and a2 is None:
        raise ValueError("cannot extend the perspective polygon: two of its edges are vertical")
    if a1 is None:
        x = b1
        y = a2 * x + b2
    elif a2 is None:
        x = b2
        y = a1 * x + b1
    else:
        x = (b2 - b1) / (a1 - a2)
        y = a1 * x + b1
    return np.array((x, y)).round().astype(int)


def _outside(quad: list[Any], edge: tuple[int, int], x: float, y: float) -> bool:
    """True when (x, y) lies outside the quadrilateral, beyond ``edge``."""
    contour = np.array(quad)
    if contour.dtype.kind == "f":
        # OpenCV takes float32 or int contours only (the reference fails on float64 ones)
        contour = contour.astype(np.float32)
    if cv2.pointPolygonTest(contour, (float(x), float(y)), False) >= 0:
        return False
    (x1, y1), (x2, y2) = quad[edge[0]], quad[edge[1]]
    return not (x2 - x1) * (y - y1) - (y2 - y1) * (x - x1) > 0


def extend_quadrilateral(
    quad: np.ndarray, detections: sv.Detections, anchor: sv.Position | str
) -> tuple[np.ndarray, Any, Any, float, float]:
    """Move edges outwards until the anchor (or every corner, with ``ALL``) of each box is inside.

    Returns the new quadrilateral, its original width and height (longest opposite edges) and
    how much width and height were added (summed corner displacements, in pixels).
    """
    corners: list[Any] = list(quad)
    original_width = max(
        _edge_length(corners[_BL], corners[_BR]), _edge_length(corners[_TL], corners[_TR])
    )
    original_height = max(
        _edge_length(corners[_BL], corners[_TL]), _edge_length(corners[_BR], corners[_TR])
    )
    anchors_cache: dict[Any, np.ndarray] = {}

    def anchor_points(position: Any) -> np.ndarray:
        if position not in anchors_cache:
            anchors_cache[position] = detections.get_anchors_coordinates(anchor=position)
        return anchors_cache[position]

    extended = {True: 0.0, False: 0.0}
    for i in range(len(detections)):
        for edge, move_1, move_2, measured, widens, box_corners in _SIDES:
            positions = box_corners if anchor == ALL_POSITIONS else (anchor,)
            for x, y in (anchor_points(p)[i] for p in positions):
                if not _outside(corners, edge, x, y):
                    continue
                before = corners[measured]
                slope, _ = _line(corners[edge[0]], corners[edge[1]])
                shifted = (slope, x if slope is None else y - slope * x)
                new_1 = _intersection(_line(corners[move_1[0]], corners[move_1[1]]), shifted)
                new_2 = _intersection(_line(corners[move_2[0]], corners[move_2[1]]), shifted)
                corners[move_1[0]], corners[move_2[0]] = new_1, new_2
                extended[widens] += _edge_length(corners[measured], before)
    return np.array(corners), original_width, original_height, extended[True], extended[False]


def perspective_matrix(
    polygon: np.ndarray,
    width: Any,
    height: Any,
    detections: sv.Detections | None = None,
    anchor: str = "",
) -> tuple[np.ndarray, float, float]:
    """The homography from ``polygon`` onto a ``width`` x ``height`` rectangle.

    With an ``anchor`` and detections, the polygon is first widened to contain them and the
    rectangle grows in proportion; returns the matrix and the extra width and height.
    """
    quad = order_quadrilateral(polygon)
    original_width, original_height = width, height
    extended_width: float = 0
    extended_height: float = 0
    if detections is not None and len(detections) > 0 and anchor:
        position = anchor if anchor == ALL_POSITIONS else sv.Position(anchor)
        quad, original_width, original_height, extended_width, extended_height = (
            extend_quadrilateral(quad, detections, position)
        )
    extended_width = extended_width * width / max(original_width, 1)
    extended_height = extended_height * height / max(original_height, 1)
    right = width + round(extended_width) - 1
    bottom = height + round(extended_height) - 1
    target = np.array([[0, bottom], [0, 0], [right, 0], [right, bottom]]).astype(np.float32)
    matrix = cv2.getPerspectiveTransform(quad.astype(np.float32), target)
    return matrix, extended_width, extended_height


__all__ = ["ALL_POSITIONS", "extend_quadrilateral", "order_quadrilateral", "perspective_matrix"]
