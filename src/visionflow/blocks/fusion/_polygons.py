"""Exact areas of simple polygons and of their intersections (no shapely needed).

Intersections clip one polygon against convex pieces of the other (Sutherland-Hodgman), which
is exact for a concave subject; a concave clip polygon is first cut into triangles (ear
clipping).

>>> square = np.array([[0, 0], [4, 0], [4, 4], [0, 4]], dtype=float)
>>> shifted = square + 2
>>> intersection_area(square, shifted, convex=(True, True))
4.0
"""

from __future__ import annotations

import numpy as np


def signed_area(polygon: np.ndarray) -> float:
    """Shoelace area: positive for counter-clockwise vertices (y up)."""
    if len(polygon) < 3:
        return 0.0
    x, y = polygon[:, 0], polygon[:, 1]
    return float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)) / 2.0


def area(polygon: np.ndarray) -> float:
    return abs(signed_area(polygon))


def box_polygon(x1: float, y1: float, x2: float, y2: float) -> np.ndarray:
    return np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], dtype=float)


def is_simple(polygon: np.ndarray) -> bool:
    """True when no two edges meet except neighbours at their shared vertex."""
    n = len(polygon)
    if n < 3 or area(polygon) <= 0:
        return False
    if len({tuple(p) for p in polygon.tolist()}) != n:
        return False  # a repeated vertex: the ring touches itself
    start, end = polygon, np.roll(polygon, -1, axis=0)
    i, j = np.triu_indices(n, k=1)
    adjacent = (j == i + 1) | ((i == 0) & (j == n - 1))
    i, j = i[~adjacent], j[~adjacent]
    return not _segments_touch(start[i], end[i], start[j], end[j]).any()


def _segments_touch(p1: np.ndarray, p2: np.ndarray, q1: np.ndarray, q2: np.ndarray) -> np.ndarray:
    def cross(o: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return (a[:, 0] - o[:, 0]) * (b[:, 1] - o[:, 1]) - (a[:, 1] - o[:, 1]) * (b[:, 0] - o[:, 0])

    def on_segment(o: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return (
            (np.minimum(o[:, 0], a[:, 0]) <= b[:, 0])
            & (b[:, 0] <= np.maximum(o[:, 0], a[:, 0]))
            & (np.minimum(o[:, 1], a[:, 1]) <= b[:, 1])
            & (b[:, 1] <= np.maximum(o[:, 1], a[:, 1]))
        )

    d1, d2 = cross(q1, q2, p1), cross(q1, q2, p2)
    d3, d4 = cross(p1, p2, q1), cross(p1, p2, q2)
    proper = (np.sign(d1) * np.sign(d2) < 0) & (np.sign(d3) * np.sign(d4) < 0)
    touching = (
        ((d1 == 0) & on_segment(q1, q2, p1))
        | ((d2 == 0) & on_segment(q1, q2, p2))
        | ((d3 == 0) & on_segment(p1, p2, q1))
        | ((d4 == 0) & on_segment(p1, p2, q2))
    )
    return proper | touching


def _counter_clockwise(polygon: np.ndarray) -> np.ndarray:
    return polygon if signed_area(polygon) >= 0 else polygon[::-1]


def clip_to_convex(subject: np.ndarray, clip: np.ndarray) -> np.ndarray:
    """Sutherland-Hodgman: the part of ``subject`` inside the convex ``clip`` polygon."""
    clip = _counter_clockwise(clip)
    output = subject
    for k in range(len(clip)):
        if len(output) == 0:
            break
        a, b = clip[k], clip[(k + 1) % len(clip)]
        edge = b - a
        side = edge[0] * (output[:, 1] - a[1]) - edge[1] * (output[:, 0] - a[0])
        points: list[np.ndarray] = []
        for m in range(len(output)):
            current, previous = output[m], output[m - 1]
            s_cur, s_prev = side[m], side[m - 1]
            if s_cur >= 0:
                if s_prev < 0:
                    points.append(_crossing(previous, current, s_prev, s_cur))
                points.append(current)
            elif s_prev >= 0:
                points.append(_crossing(previous, current, s_prev, s_cur))
        output = np.array(points, dtype=float).reshape(-1, 2)
    return output


def _crossing(p: np.ndarray, q: np.ndarray, s_p: float, s_q: float) -> np.ndarray:
    t = s_p / (s_p - s_q)
    return p + t * (q - p)


def triangulate(polygon: np.ndarray) -> list[np.ndarray]:
    """Ear clipping of a simple polygon into triangles."""
    points = _counter_clockwise(polygon)
    remaining = list(range(len(points)))
    triangles: list[np.ndarray] = []
    guard = 0
    while len(remaining) > 3 and guard < len(points) ** 2:
        guard += 1
        for k in range(len(remaining)):
            i, j, m = remaining[k - 1], remaining[k], remaining[(k + 1) % len(remaining)]
            triangle = points[[i, j, m]]
            if signed_area(triangle) <= 0:
                continue  # reflex or degenerate corner
            others = [points[r] for r in remaining if r not in (i, j, m)]
            if others and _any_inside(triangle, np.array(others)):
                continue
            triangles.append(triangle)
            del remaining[k]
            break
        else:
            break  # numerically stuck: what is left is degenerate
    if len(remaining) == 3:
        triangles.append(points[remaining])
    return triangles


def _any_inside(triangle: np.ndarray, points: np.ndarray) -> bool:
    a, b, c = triangle
    d1 = (b[0] - a[0]) * (points[:, 1] - a[1]) - (b[1] - a[1]) * (points[:, 0] - a[0])
    d2 = (c[0] - b[0]) * (points[:, 1] - b[1]) - (c[1] - b[1]) * (points[:, 0] - b[0])
    d3 = (a[0] - c[0]) * (points[:, 1] - c[1]) - (a[1] - c[1]) * (points[:, 0] - c[0])
    return bool(np.any((d1 >= 0) & (d2 >= 0) & (d3 >= 0)))


def intersection_area(a: np.ndarray, b: np.ndarray, *, convex: tuple[bool, bool]) -> float:
    """Area of the intersection of two simple polygons (``convex`` says which are convex)."""
    if convex[1]:
        return area(clip_to_convex(a, b))
    if convex[0]:
        return area(clip_to_convex(b, a))
    return sum(area(clip_to_convex(a, piece)) for piece in triangulate(b))


__all__ = [
    "area",
    "box_polygon",
    "clip_to_convex",
    "intersection_area",
    "is_simple",
    "signed_area",
    "triangulate",
]
