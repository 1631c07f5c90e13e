"""Visualizations of geometry given as coordinates: polygon zones, a counting line, a reference
path, and a grid that tiles several images into one.

>>> import numpy as np
>>> from visionflow.data.image import Image
>>> image = Image(np.zeros((20, 20, 3), dtype=np.uint8), parent_id="image")
>>> out = draw_reference_path(image, [[0, 10], [19, 10]], True, "WHITE", 1)["image"]
>>> int(out.numpy_image[10, 5, 0]), int(out.numpy_image[0, 5, 0])
(255, 0)
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from typing import Any, Literal, Union

import cv2
import numpy as np
import supervision as sv
from pydantic import Field, field_validator

from visionflow.blocks.base import BlockContext, BlockInfo, BlockManifest, DataSelector, Output
from visionflow.blocks.registry import register_block
from visionflow.blocks.visualizations._base import (
    OUTPUT_IMAGE_KEY,
    FloatZeroToOne,
    VisualizationBlock,
    VisualizationManifest,
    prepare_canvas,
    str_to_color,
    visualization_result,
)
from visionflow.data.image import Image
from visionflow.spec.kinds import (
    FLOAT_KIND,
    FLOAT_ZERO_TO_ONE_KIND,
    IMAGE_KIND,
    INTEGER_KIND,
    LIST_OF_VALUES_KIND,
    STRING_KIND,
)

_DEFAULT_ZONE_COLOR = "#5bb573"

_COLOR_FIELD_EXAMPLES = ["WHITE", "#FFFFFF", "rgb(255, 255, 255)", "$inputs.color"]


def _overlay_mask(mask: np.ndarray, opacity: float, scene: np.ndarray) -> np.ndarray:
    """``scene + opacity * mask`` (saturating): the reference's way of tinting a zone.

    Pixels where the mask is black are left exactly as they were.
    """
    return cv2.addWeighted(src1=mask, alpha=opacity, src2=scene, beta=1, gamma=0)


# ---------------------------------------------------------------------------------------------
# roboflow_core/polygon_zone_visualization@v1
# ---------------------------------------------------------------------------------------------
class PolygonZoneVisualizationManifest(VisualizationManifest):
    type: Literal["roboflow_core/polygon_zone_visualization@v1"]
    zone: Union[list[Any], DataSelector(LIST_OF_VALUES_KIND)] = Field(
        description=(
            "One polygon `[[x1, y1], [x2, y2], ...]` or several `[[[x1, y1], ...], ...]`, "
            "in pixels of the image; each is filled and tinted with `color`."
        ),
        examples=["$inputs.zones", [[0, 0], [100, 0], [100, 100]]],
    )
    color: Union[str, DataSelector(STRING_KIND)] = Field(
        default=_DEFAULT_ZONE_COLOR,
        description="Colour of the zone: a name (WHITE), '#RRGGBB' or 'rgb(R, G, B)'.",
        examples=_COLOR_FIELD_EXAMPLES,
    )
    opacity: Union[FloatZeroToOne, DataSelector(FLOAT_ZERO_TO_ONE_KIND)] = Field(
        default=0.3,
        description="How strongly the zone colour is added to the pixels inside it (0 to 1).",
        examples=[0.3, "$inputs.opacity"],
    )

    block_info = BlockInfo(
        name="Polygon Zone Visualization",
        short="Tint one or more polygon zones on an image.",
        category="visualization",
    )


def _zone_polygons(zone: Sequence[Any]) -> list[np.ndarray]:
    """The polygons of ``zone``: one polygon (a list of points) or a list of polygons."""
    first = zone[0]
    if len(first) and isinstance(first[0], (int, float, np.integer, np.floating)):
        return [np.asarray(zone, dtype=np.int32)]
    return [np.asarray(polygon, dtype=np.int32) for polygon in zone]


@register_block
class PolygonZoneVisualizationBlock(VisualizationBlock):
    """Adds ``opacity`` x ``color`` to the pixels inside the zone's polygons."""

    manifest = PolygonZoneVisualizationManifest

    def run(
        self, image: Image, zone: list[Any] | None, copy_image: bool, color: str, opacity: float
    ) -> dict[str, Any]:
        if not zone:
            return visualization_result(image, prepare_canvas(image, copy_image))
        scene = image.numpy_image
        height, width = scene.shape[:2]
        # The filled mask depends only on the zone, colour and size: build it once per video.
        mask = self.annotator(
            ("polygon_zone", str(zone), color, width, height),
            lambda: cv2.fillPoly(
                np.zeros_like(scene), _zone_polygons(zone), str_to_color(color).as_bgr()
            ),
        )
        return visualization_result(image, _overlay_mask(mask, opacity, scene))


# ---------------------------------------------------------------------------------------------
# roboflow_core/line_counter_visualization@v1
# ---------------------------------------------------------------------------------------------
class LineCounterVisualizationManifest(VisualizationManifest):
    type: Literal["roboflow_core/line_counter_visualization@v1"]
    zone: Union[list[Any], DataSelector(LIST_OF_VALUES_KIND)] = Field(
        description="The counting line as two points `[[x1, y1], [x2, y2]]`.",
        examples=[[[0, 50], [500, 50]], "$inputs.zones"],
    )
    color: Union[str, DataSelector(STRING_KIND)] = Field(
        default=_DEFAULT_ZONE_COLOR,
        description="Colour of the line: a name (WHITE), '#RRGGBB' or 'rgb(R, G, B)'.",
        examples=_COLOR_FIELD_EXAMPLES,
    )
    thickness: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=2,
        description="Thickness of the line in pixels.",
        examples=[2, "$inputs.thickness"],
    )
    text_thickness: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=1,
        description="Stroke thickness of the counts text.",
        examples=[1, "$inputs.text_thickness"],
    )
    text_scale: Union[float, DataSelector(FLOAT_KIND)] = Field(
        default=1.0,
        description="Size of the counts text.",
        examples=[1.0, "$inputs.text_scale"],
    )
    count_in: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=0,
        description="Objects that crossed the line inwards (e.g. a line counter's `count_in`).",
        examples=["$steps.line_counter.count_in"],
    )
    count_out: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=0,
        description="Objects that crossed the line outwards (a line counter's `count_out`).",
        examples=["$steps.line_counter.count_out"],
    )
    opacity: Union[FloatZeroToOne, DataSelector(FLOAT_ZERO_TO_ONE_KIND)] = Field(
        default=0.3,
        description="How strongly the line colour is added to the pixels under it (0 to 1).",
        examples=[0.3, "$inputs.opacity"],
    )

    block_info = BlockInfo(
        name="Line Counter Visualization",
        short="Draw a counting line with its in/out counts.",
        category="visualization",
    )


def _line_endpoints(zone: Sequence[Any]) -> tuple[tuple[int, int], tuple[int, int]]:
    if zone is None or len(zone) < 2 or any(len(point) < 2 for point in zone[:2]):
        raise ValueError(f"zone must be a line of two points [[x1, y1], [x2, y2]], got {zone!r}")
    (x1, y1), (x2, y2) = (point[:2] for point in zone[:2])
    return (round(x1), round(y1)), (round(x2), round(y2))


@register_block
class LineCounterVisualizationBlock(VisualizationBlock):
    """Tints the counting line and writes ``in: N, out: M`` at its first point."""

    manifest = LineCounterVisualizationManifest

    def run(
        self,
        image: Image,
        zone: list[Any],
        copy_image: bool,
        color: str,
        thickness: int,
        text_thickness: int,
        text_scale: float,
        count_in: int,
        count_out: int,
        opacity: float,
    ) -> dict[str, Any]:
        start, end = _line_endpoints(zone)
        scene = image.numpy_image
        height, width = scene.shape[:2]
        mask = self.annotator(
            ("line_zone", start, end, color, thickness, width, height),
            lambda: cv2.line(
                np.zeros_like(scene), start, end, str_to_color(color).as_bgr(), thickness
            ),
        )
        annotated = sv.draw_text(
            scene=_overlay_mask(mask, opacity, scene),
            text=f"in: {count_in}, out: {count_out}",
            text_anchor=sv.Point(*start),
            text_thickness=text_thickness,
            text_scale=text_scale,
            background_color=sv.Color.WHITE,
            text_padding=0,
        )
        return visualization_result(image, annotated)


# ---------------------------------------------------------------------------------------------
# roboflow_core/reference_path_visualization@v1
# ---------------------------------------------------------------------------------------------
class ReferencePathVisualizationManifest(VisualizationManifest):
    type: Literal["roboflow_core/reference_path_visualization@v1"]
    reference_path: Union[list[Any], DataSelector(LIST_OF_VALUES_KIND)] = Field(
        description="Points `[[x1, y1], [x2, y2], ...]` of the expected route, drawn as a line.",
        examples=["$inputs.expected_path", [[10, 10], [200, 50], [300, 200]]],
    )
    color: Union[str, DataSelector(STRING_KIND)] = Field(
        default=_DEFAULT_ZONE_COLOR,
        description="Colour of the path: a name (WHITE), '#RRGGBB' or 'rgb(R, G, B)'.",
        examples=_COLOR_FIELD_EXAMPLES,
    )
    thickness: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=2,
        description="Thickness of the path in pixels (at least 1).",
        examples=[2, "$inputs.thickness"],
    )

    block_info = BlockInfo(
        name="Reference Path Visualization",
        short="Draw an expected route (a polyline) on an image.",
        category="visualization",
    )

    @field_validator("thickness")
    @classmethod
    def _positive_thickness(cls, value: Any) -> Any:
        if isinstance(value, int) and value <= 0:
            raise ValueError("thickness must be at least 1")
        return value


def draw_reference_path(
    image: Image, reference_path: Sequence[Any], copy_image: bool, color: str, thickness: int
) -> dict[str, Any]:
    """Draw ``reference_path`` as an open polyline; an empty path leaves the image as it is."""
    scene = prepare_canvas(image, copy_image)
    if len(reference_path) == 0:
        return visualization_result(image, scene)
    points = np.asarray(reference_path)[:, :2].astype(np.int32)
    cv2.polylines(scene, [points], False, str_to_color(color).as_bgr(), thickness)
    return visualization_result(image, scene)


@register_block
class ReferencePathVisualizationBlock(VisualizationBlock):
    """Draws the reference path as a polyline."""

    manifest = ReferencePathVisualizationManifest

    def run(
        self,
        image: Image,
        reference_path: list[Any],
        copy_image: bool,
        color: str,
        thickness: int,
    ) -> dict[str, Any]:
        return draw_reference_path(image, reference_path, copy_image, color, thickness)


# ---------------------------------------------------------------------------------------------
# roboflow_core/grid_visualization@v1
# ---------------------------------------------------------------------------------------------
class GridVisualizationManifest(BlockManifest):
    type: Literal["roboflow_core/grid_visualization@v1"]
    images: list[DataSelector(IMAGE_KIND, LIST_OF_VALUES_KIND)] = Field(
        min_length=1,
        description=(
            "Images to tile, all at the same level: single images and/or lists of images "
            "(such as a buffer's output), which are flattened. The grid is square "
            "(ceil(sqrt(n)) cells a side); each image is shrunk to fit its cell."
        ),
        examples=[["$inputs.image", "$steps.visualization.image"], ["$steps.buffer.output"]],
    )
    width: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=2560,
        description="Width of the grid image in pixels.",
        examples=[2560, "$inputs.width"],
    )
    height: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=1440,
        description="Height of the grid image in pixels.",
        examples=[1440, "$inputs.height"],
    )

    block_info = BlockInfo(
        name="Grid Visualization",
        short="Tile several images into one grid image.",
        category="visualization",
    )
    outputs = (Output(OUTPUT_IMAGE_KEY, IMAGE_KIND),)

    @field_validator("images", mode="before")
    @classmethod
    def _single_selector_as_list(cls, value: Any) -> Any:
        # Older workflows give one selector (to a list of images) rather than a list.
        return [value] if isinstance(value, str) else value


def flatten_images(items: Sequence[Any]) -> list[Image | None]:
    """Single images and lists of images, flattened into one list."""
    flat: list[Image | None] = []
    for item in items:
        if isinstance(item, (list, tuple)):
            flat.extend(item)
        else:
            flat.append(item)
    return flat


def fit_into(array: np.ndarray, width: int, height: int) -> np.ndarray:
    """``array`` shrunk (or grown) to fit ``width`` x ``height``, keeping its aspect ratio."""
    image_height, image_width = array.shape[:2]
    scale = min(width / image_width, height / image_height)
    size = (max(1, int(image_width * scale)), max(1, int(image_height * scale)))
    return cv2.resize(array, size, interpolation=cv2.INTER_AREA)


@register_block
class GridVisualizationBlock(VisualizationBlock):
    """One image with every input image centred in a cell of a square grid."""

    manifest = GridVisualizationManifest

    def __init__(self, context: BlockContext) -> None:
        super().__init__(context)
        # Thumbnails of the previous grid: a buffer repeats most images frame after frame.
        # Keyed by the image object itself (kept alive by the key), never by a reusable id().
        self._thumbnails: dict[tuple[_Identity, int, int], np.ndarray] = {}

    def run(self, images: list[Any], width: int, height: int) -> dict[str, Any]:
        flat = flatten_images(images)
        if not flat:
            blank = np.zeros((height, width, 3), dtype=np.uint8)
            return {OUTPUT_IMAGE_KEY: Image(blank, parent_id=str(uuid.uuid4()))}
        first = next((image for image in flat if image is not None), None)
        grid = self._grid(flat, width, height)
        if first is None:
            return {OUTPUT_IMAGE_KEY: Image(grid, parent_id=str(uuid.uuid4()))}
        return visualization_result(first, grid)

    def _grid(self, images: list[Image | None], width: int, height: int) -> np.ndarray:
        cells = math.ceil(math.sqrt(len(images)))
        cell_width, cell_height = width // cells, height // cells
        canvas = np.zeros((height, width, 3), dtype=np.uint8)
        previous, current = self._thumbnails, {}
        for index, image in enumerate(images):
            if image is None:
                continue
            row, column = divmod(index, cells)
            key = (_Identity(image), cell_width, cell_height)
            thumbnail = previous.get(key)
            if thumbnail is None:
                thumbnail = fit_into(image.numpy_image, cell_width, cell_height)
            current[key] = thumbnail
            thumb_height, thumb_width = thumbnail.shape[:2]
            x = max(column * cell_width + (cell_width - thumb_width) // 2, 0)
            y = max(row * cell_height + (cell_height - thumb_height) // 2, 0)
            x_end, y_end = min(x + thumb_width, width), min(y + thumb_height, height)
            canvas[y:y_end, x:x_end] = thumbnail[: y_end - y, : x_end - x]
        self._thumbnails = current
        return canvas


class _Identity:
    """A hashable handle comparing by identity, which keeps its object alive."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __hash__(self) -> int:
        return id(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Identity) and other.value is self.value


__all__ = [
    "GridVisualizationBlock",
    "GridVisualizationManifest",
    "LineCounterVisualizationBlock",
    "LineCounterVisualizationManifest",
    "PolygonZoneVisualizationBlock",
    "PolygonZoneVisualizationManifest",
    "ReferencePathVisualizationBlock",
    "ReferencePathVisualizationManifest",
    "draw_reference_path",
    "fit_into",
    "flatten_images",
]
