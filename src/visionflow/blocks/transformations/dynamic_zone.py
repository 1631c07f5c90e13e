"""Dynamic zone: turn segmentation masks into convex polygons with a fixed number of vertices.

Each mask's largest polygon is replaced by its convex hull, simplified (Douglas-Peucker with a
binary search on the tolerance) to the requested number of vertices, optionally refined by
fitting a line to the contour along each edge, and scaled about its centroid. The polygons are
zones for downstream blocks (polygon zones, time in zone...).

>>> import numpy as np
>>> mask = np.zeros((50, 50), dtype=bool)
>>> mask[10:30, 5:40] = True
>>> polygon, converged = mask_to_zone(mask, 4)
>>> sorted(polygon.tolist()), converged
([[5, 10], [5, 29], [39, 10], [39, 29]], True)
"""

from __future__ import annotations

import itertools
from typing import Any, Literal, Union, cast

import cv2
import numpy as np
import supervision as sv
from pydantic import Field

from visionflow.blocks.base import Batch, Block, BlockInfo, BlockManifest, DataSelector, Output
from visionflow.blocks.registry import register_block
from visionflow.data.detections import POLYGON_KEY_IN_SV_DETECTIONS, copy_detections
from visionflow.spec.kinds import (
    BOOLEAN_KIND,
    FLOAT_KIND,
    FLOAT_ZERO_TO_ONE_KIND,
    INSTANCE_SEGMENTATION_PREDICTION_KIND,
    INTEGER_KIND,
    LIST_OF_VALUES_KIND,
)

#: Iterations of the binary search on the simplification tolerance.
MAX_SIMPLIFICATION_STEPS = 1000


class DynamicZoneManifest(BlockManifest):
    type: Literal["roboflow_core/dynamic_zone@v1", "DynamicZone"]
    predictions: DataSelector(INSTANCE_SEGMENTATION_PREDICTION_KIND) = Field(
        description="Instance segmentation predictions (filtered to the classes of interest).",
        examples=["$steps.instance_segmentation_model.predictions"],
    )
    required_number_of_vertices: Union[int, DataSelector(INTEGER_KIND)] = Field(
        description="Number of vertices of every zone (4 for quadrilaterals).",
        examples=[4, 3, 6],
    )
    scale_ratio: Union[float, DataSelector(FLOAT_KIND)] = Field(
        default=1,
        description="Scale of each zone about its centroid (above 1 grows it, below shrinks).",
        examples=[1.0, 1.05, 0.95],
    )
    apply_least_squares: Union[bool, DataSelector(BOOLEAN_KIND)] = Field(
        default=False,
        description=(
            "Refine the zone: fit a line to the contour points along each edge and use the "
            "intersections of neighbouring lines as vertices."
        ),
        examples=[False, True],
    )
    midpoint_fraction: Union[float, DataSelector(FLOAT_ZERO_TO_ONE_KIND)] = Field(
        default=1,
        description=(
            "With least squares: fraction of each edge's contour points (centred) used for "
            "the fit; below 1 ignores points near the corners."
        ),
        examples=[1.0, 0.9],
    )

    block_info = BlockInfo(
        name="Dynamic Zone",
        short="Simplify segmentation masks into convex zones with a fixed number of vertices.",
        category="transformation",
    )
    outputs = (
        Output("zones", LIST_OF_VALUES_KIND),
        Output("predictions", INSTANCE_SEGMENTATION_PREDICTION_KIND),
        Output("simplification_converged", BOOLEAN_KIND),
    )
    batch_fields = ("predictions",)


@register_block
class DynamicZoneBlock(Block):
    """Per image: the zones, the detections with zone masks, and whether all converged."""

    manifest = DynamicZoneManifest

    def run(
        self,
        predictions: Batch[sv.Detections],
        required_number_of_vertices: int,
        scale_ratio: float = 1,
        apply_least_squares: bool = False,
        midpoint_fraction: float = 1,
    ) -> list[dict[str, Any]]:
        return [
            detections_to_zones(
                detections,
                required_number_of_vertices,
                scale_ratio=scale_ratio,
                apply_least_squares=apply_least_squares,
                midpoint_fraction=midpoint_fraction,
            )
            for detections in predictions
        ]


def detections_to_zones(
    detections: sv.Detections,
    vertices: int,
    *,
    scale_ratio: float = 1,
    apply_least_squares: bool = False,
    midpoint_fraction: float = 1,
) -> dict[str, Any]:
    """``{"zones", "predictions", "simplification_converged"}`` for one image's detections.

    Detections without masks (this includes an empty result read from JSON) give no zones,
    ``predictions`` None and ``False``, as in the reference. A detection whose mask is empty
    is left out (the reference fails on it) and the result is marked as not converged.
    """
    if vertices < 1:
        raise ValueError(f"required_number_of_vertices must be at least 1, got {vertices}")
    if detections.mask is None:
        return {"zones": [], "predictions": None, "simplification_converged": False}
    masks = np.asarray(detections.mask)
    zones: list[np.ndarray] = []
    kept: list[int] = []
    all_converged = True
    for i, mask in enumerate(masks):
        zone = mask_to_zone(
            mask,
            vertices,
            scale_ratio=scale_ratio,
            apply_least_squares=apply_least_squares,
            midpoint_fraction=midpoint_fraction,
        )
        if zone is None:
            all_converged = False
            continue
        polygon, converged = zone
        all_converged = all_converged and converged
        zones.append(polygon)
        kept.append(i)
    result = copy_detections(cast(sv.Detections, detections[np.array(kept, dtype=int)]))
    height, width = masks.shape[1:]
    zone_masks = np.zeros((len(zones), height, width), dtype=bool)
    for k, polygon in enumerate(zones):
        zone_masks[k] = sv.polygon_to_mask(polygon, resolution_wh=(width, height)).astype(bool)
    result.mask = zone_masks
    result.data[POLYGON_KEY_IN_SV_DETECTIONS] = np.array(zones, dtype=int).reshape(
        len(zones), vertices, 2
    )
    return {
        "zones": [zone.tolist() for zone in zones],
        "predictions": result,
        "simplification_converged": all_converged,
    }


def mask_to_zone(
    mask: np.ndarray,
    vertices: int,
    *,
    scale_ratio: float = 1,
    apply_least_squares: bool = False,
    midpoint_fraction: float = 1,
) -> tuple[np.ndarray, bool] | None:
    """The zone polygon (``vertices`` x 2 integers) of one mask and whether it converged.

    A simplification that does not reach ``vertices`` is padded with its last vertex or cut,
    and reported as not converged. None when the mask has no polygon.
    """
    polygons = sv.mask_to_polygons(mask)
    if not polygons:
        return None
    # "largest" by number of points, as the reference picks it
    contour = max(polygons, key=len)
    polygon = simplify_polygon(contour, vertices)
    if apply_least_squares:
        polygon = least_squares_polygon(contour, polygon, midpoint_fraction)
    count = len(polygon)
    converged = count == vertices
    if count < vertices:
        polygon = np.concatenate([polygon, np.repeat(polygon[-1:], vertices - count, axis=0)])
    elif count > vertices:
        polygon = polygon[:vertices]
    return scale_polygon(polygon, scale_ratio), converged


def simplify_polygon(
    contour: np.ndarray, vertices: int, max_steps: int = MAX_SIMPLIFICATION_STEPS
) -> np.ndarray:
    """Convex hull of ``contour`` simplified towards ``vertices`` points (K x 2 int32).

    Binary search on the Douglas-Peucker tolerance, between ~0 and the hull's perimeter,
    starting at half the perimeter; it stops as soon as the count matches.
    """
    hull = cv2.convexHull(contour.reshape(-1, 1, 2), returnPoints=True, clockwise=True)
    upper = cv2.arcLength(hull, closed=True)
    lower = 0.0000001
    epsilon = lower + upper / 2
    simplified = cv2.approxPolyDP(hull, epsilon=epsilon, closed=True)
    for _ in range(max_steps):
        if len(simplified) == vertices:
            break
        if len(simplified) > vertices:
            lower = epsilon
        else:
            upper = epsilon
        epsilon = lower + (upper - lower) / 2
        simplified = cv2.approxPolyDP(hull, epsilon=epsilon, closed=True)
    return simplified.reshape(-1, 2)


def _fit_line(points: np.ndarray) -> tuple[float, float] | None:
    """Slope and intercept of y = a x + b fitted to ``points``; None for fewer than 2."""
    if len(points) < 2:
        return None
    x = points[:, 0]
    design = np.vstack([x, np.ones_like(x)]).T
    slope, intercept = np.linalg.lstsq(design, points[:, 1], rcond=None)[0]
    return float(slope), float(intercept)


def _intersect(
    line_1: tuple[float, float] | None, line_2: tuple[float, float] | None
) -> np.ndarray | None:
    if line_1 is None or line_2 is None or np.isclose(line_1[0], line_2[0]):
        return None
    x = (line_2[1] - line_1[1]) / (line_1[0] - line_2[0])
    return np.array([x, line_1[0] * x + line_1[1]])


def _edge_points(start: np.ndarray, end: np.ndarray, contour: np.ndarray) -> np.ndarray:
    """Contour points from the one nearest ``start`` to the one nearest ``end`` (wrapping)."""
    i = int(np.argmin(np.linalg.norm(contour - start, axis=1)))
    j = int(np.argmin(np.linalg.norm(contour - end, axis=1)))
    if i <= j:
        return contour[i : j + 1]
    return np.concatenate((contour[i:], contour[: j + 1]), axis=0)


def least_squares_polygon(
    contour: np.ndarray, polygon: np.ndarray, midpoint_fraction: float = 1
) -> np.ndarray:
    """Vertices moved to the intersections of lines fitted to the contour along each edge.

    Edge ``k`` runs from vertex ``k - 1`` to vertex ``k``; vertex ``k`` of the result is where
    the lines of edges ``k`` and ``k + 1`` meet. Where they do not (parallel lines, an edge
    with a single contour point) the simplified vertex is kept (the reference fails there).
    """
    edges = [(polygon[-1], polygon[0])] + list(itertools.pairwise(polygon))
    lines = []
    for start, end in edges:
        points = _edge_points(start, end, contour)
        if midpoint_fraction < 1:
            keep = round(len(points) * midpoint_fraction)
            if keep > 2:
                drop = (len(points) - keep) // 2
                points = points[drop : len(points) - drop]
        lines.append(_fit_line(points))
    vertices = []
    for k in range(len(lines)):
        point = _intersect(lines[k], lines[(k + 1) % len(lines)])
        vertices.append(polygon[k] if point is None else point)
    return np.array(vertices, dtype=float).round().astype(np.int32)


def scale_polygon(polygon: np.ndarray, scale: float) -> np.ndarray:
    """``polygon`` scaled about its centroid (unchanged for scale 1 or a zero-area polygon)."""
    if scale == 1:
        return polygon
    moments = cv2.moments(polygon.astype(np.int32))
    if moments["m00"] == 0:
        return polygon
    centroid = np.array([moments["m10"] / moments["m00"], moments["m01"] / moments["m00"]])
    return ((polygon - centroid) * scale + centroid).round().astype(np.int32)


__all__ = [
    "DynamicZoneBlock",
    "DynamicZoneManifest",
    "detections_to_zones",
    "least_squares_polygon",
    "mask_to_zone",
    "scale_polygon",
    "simplify_polygon",
]
