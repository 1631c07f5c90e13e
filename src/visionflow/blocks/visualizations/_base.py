"""Shared parts of the visualization blocks: manifests, palettes, canvases, annotator caches.

Every visualization takes an image (and usually predictions) and returns a new image under the
output ``image``. The manifests here carry the fields all of them share, with the reference's
names and defaults; the helpers turn those fields into supervision objects.

>>> palette = palette_from("CUSTOM", 10, ["#FF0000", "rgb(0, 255, 0)"])
>>> [color.as_hex() for color in palette.colors]
['#ff0000', '#00ff00']
>>> palette.by_idx(-1).as_rgb()  # unknown class (class_id -1): grey, not the last colour
(128, 128, 128)
>>> build_color_lookup("TRACK")
<ColorLookup.TRACK: 'track'>

Public names (the API other visualization modules build on):

- ``VisualizationManifest``: ``image`` (alias ``images``), ``copy_image``; output ``image``.
- ``PredictionsVisualizationManifest``: adds ``predictions``.
- ``ColorableVisualizationManifest``: adds ``color_palette``, ``palette_size``,
  ``custom_colors``, ``color_axis``.
- ``VisualizationBlock``: a ``Block`` with ``self.annotators`` (an ``AnnotatorCache``),
  ``annotator(key, build)``, ``colored_annotator(<colour fields>, build, *params)`` and
  ``draw(image, copy_image, annotator, detections=...)``.
- ``PaletteName``, ``PositionName``, ``FloatZeroToOne``: field types shared by several blocks.
- ``palette_from``, ``build_color_lookup``, ``build_position``, ``str_to_color``, ``prepare_canvas``,
  ``visualization_result``, ``AnnotatorCache``, ``OUTPUT_IMAGE_KEY``, ``PREDICTIONS_KINDS``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from typing import Annotated, Any, ClassVar, Literal, TypeVar, Union

import numpy as np
import supervision as sv
from pydantic import AliasChoices, Field

from visionflow.blocks.base import Block, BlockContext, BlockInfo, BlockManifest, DataSelector
from visionflow.blocks.base import Output as BlockOutput
from visionflow.data.image import Image
from visionflow.spec.kinds import (
    BOOLEAN_KIND,
    IMAGE_KIND,
    INSTANCE_SEGMENTATION_PREDICTION_KIND,
    INTEGER_KIND,
    KEYPOINT_DETECTION_PREDICTION_KIND,
    LIST_OF_VALUES_KIND,
    OBJECT_DETECTION_PREDICTION_KIND,
    STRING_KIND,
)

OUTPUT_IMAGE_KEY = "image"

#: Predictions every predictions-based visualization accepts.
PREDICTIONS_KINDS = (
    OBJECT_DETECTION_PREDICTION_KIND,
    INSTANCE_SEGMENTATION_PREDICTION_KIND,
    KEYPOINT_DETECTION_PREDICTION_KIND,
)

#: Colour given to detections whose class or tracker id is negative (unknown).
UNKNOWN_CLASS_COLOR = sv.Color.GREY

#: Palette names the reference offers (besides a selector to a string).
PaletteName = Literal[
    "DEFAULT",
    "CUSTOM",
    "ROBOFLOW",
    "Matplotlib Viridis",
    "Matplotlib Plasma",
    "Matplotlib Inferno",
    "Matplotlib Magma",
    "Matplotlib Cividis",
    "Matplotlib Pastel1",
    "Matplotlib Pastel2",
    "Matplotlib Paired",
    "Matplotlib Accent",
    "Matplotlib Dark2",
    "Matplotlib Set1",
    "Matplotlib Set2",
    "Matplotlib Set3",
    "Matplotlib Tab10",
    "Matplotlib Tab20",
    "Matplotlib Tab20b",
    "Matplotlib Tab20c",
]

#: Anchor points of supervision's ``Position`` that the reference's blocks offer.
PositionName = Literal[
    "CENTER",
    "CENTER_LEFT",
    "CENTER_RIGHT",
    "TOP_CENTER",
    "TOP_LEFT",
    "TOP_RIGHT",
    "BOTTOM_LEFT",
    "BOTTOM_CENTER",
    "BOTTOM_RIGHT",
    "CENTER_OF_MASS",
]

#: A float in [0, 1] (opacities).
FloatZeroToOne = Annotated[float, Field(ge=0.0, le=1.0)]

# Matplotlib spells these colormaps capitalised; all the others are lower case.
_CAPITALISED_COLORMAPS = frozenset(
    {
        "Greys_R",
        "Purples_R",
        "Blues_R",
        "Greens_R",
        "Oranges_R",
        "Reds_R",
        "Wistia",
        "Pastel1",
        "Pastel2",
        "Paired",
        "Accent",
        "Dark2",
        "Set1",
        "Set2",
        "Set3",
    }
)


# ---------------------------------------------------------------------------------------------
# Manifests
# ---------------------------------------------------------------------------------------------
class VisualizationManifest(BlockManifest):
    """Fields of every visualization: the image to draw on and whether to copy it first."""

    image: DataSelector(IMAGE_KIND) = Field(
        title="Input Image",
        description="The image to draw on.",
        examples=["$inputs.image", "$steps.cropping.crops"],
        validation_alias=AliasChoices("image", "images"),
    )
    copy_image: Union[bool, DataSelector(BOOLEAN_KIND)] = Field(
        default=True,
        description=(
            "Draw on a copy of the input image, leaving the original untouched. Keep it on "
            "unless the input is not used anywhere else (it saves a copy when stacking "
            "visualizations)."
        ),
        examples=[True, False],
    )

    block_info: ClassVar[BlockInfo] = BlockInfo(name="Visualization", category="visualization")
    outputs: ClassVar[tuple[BlockOutput, ...]] = (BlockOutput(OUTPUT_IMAGE_KEY, IMAGE_KIND),)


class PredictionsVisualizationManifest(VisualizationManifest):
    """A visualization of model predictions."""

    predictions: DataSelector(*PREDICTIONS_KINDS) = Field(
        description="Model predictions to draw.",
        examples=["$steps.object_detection_model.predictions"],
    )


class ColorableVisualizationManifest(PredictionsVisualizationManifest):
    """A visualization that colours each detection from a palette."""

    color_palette: Union[PaletteName, DataSelector(STRING_KIND)] = Field(
        default="DEFAULT",
        description=(
            "Palette to colour detections with; 'CUSTOM' uses `custom_colors`, the Matplotlib "
            "palettes take `palette_size` colours."
        ),
        examples=["DEFAULT", "$inputs.color_palette"],
    )
    palette_size: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=10,
        description="Number of colours taken from a Matplotlib palette.",
        examples=[10, "$inputs.palette_size"],
    )
    custom_colors: Union[list[str], DataSelector(LIST_OF_VALUES_KIND)] = Field(
        default=[],
        description=(
            "Colours of the 'CUSTOM' palette: '#RRGGBB', 'rgb(R, G, B)', 'bgr(B, G, R)' or a "
            "name such as 'RED'."
        ),
        examples=[["#FF0000", "#00FF00", "#0000FF"], "$inputs.custom_colors"],
    )
    color_axis: Union[Literal["INDEX", "CLASS", "TRACK"], DataSelector(STRING_KIND)] = Field(
        default="CLASS",
        description=(
            "What picks a detection's colour: its class, its position, or its tracker id. "
            "Negative class or tracker ids are drawn grey."
        ),
        examples=["CLASS", "$inputs.color_axis"],
    )


# ---------------------------------------------------------------------------------------------
# Colours
# ---------------------------------------------------------------------------------------------
class NegativeSafeColorPalette(sv.ColorPalette):
    """A palette that gives grey to negative indices (unknown classes, pending tracks).

    supervision wraps negative indices around the palette, which would paint an unknown class
    in the colour of the last one.
    """

    def by_idx(self, idx: int) -> sv.Color:
        if idx < 0:
            return UNKNOWN_CLASS_COLOR
        if not self.colors:
            raise ValueError("the colour palette is empty: give colours in custom_colors")
        return self.colors[idx % len(self.colors)]


def str_to_color(color: str) -> sv.Color:
    """Parse ``#RRGGBB``, ``rgb(R, G, B)``, ``bgr(B, G, R)`` or a supervision colour name."""
    text = color.strip()
    if text.startswith("#"):
        return sv.Color.from_hex(text)
    if text.startswith(("rgb", "bgr")):
        try:
            first, second, third = (int(part) for part in text[4:-1].split(","))
        except ValueError as error:
            raise ValueError(f"invalid colour {color!r}: expected three integers") from error
        if text.startswith("rgb"):
            return sv.Color.from_rgb_tuple((first, second, third))
        return sv.Color.from_bgr_tuple((first, second, third))
    named = getattr(sv.Color, text.upper(), None)
    if isinstance(named, sv.Color):
        return named
    raise ValueError(
        f"invalid colour {color!r}: use #RRGGBB, rgb(R, G, B), bgr(B, G, R) or a colour name "
        "such as WHITE, BLACK or BLUE"
    )


def palette_from(
    color_palette: str, palette_size: int, custom_colors: Sequence[str] | None
) -> NegativeSafeColorPalette:
    """The palette a block's ``color_palette``/``palette_size``/``custom_colors`` describe."""
    if color_palette == "CUSTOM":
        # an empty list fails only when something is drawn (as in the reference)
        return NegativeSafeColorPalette(colors=[str_to_color(c) for c in custom_colors or ()])
    named = getattr(sv.ColorPalette, color_palette, None)
    if isinstance(named, sv.ColorPalette):
        return NegativeSafeColorPalette(colors=list(named.colors))
    name = color_palette.replace("Matplotlib ", "")
    name = name.capitalize() if name in _CAPITALISED_COLORMAPS else name.lower()
    try:
        palette = sv.ColorPalette.from_matplotlib(name, int(palette_size))
    except ValueError as error:
        raise ValueError(f"unknown color_palette {color_palette!r}") from error
    return NegativeSafeColorPalette(colors=list(palette.colors))


def build_color_lookup(color_axis: str) -> sv.ColorLookup:
    """``INDEX``, ``CLASS`` or ``TRACK`` as supervision's ``ColorLookup``."""
    try:
        return sv.ColorLookup[color_axis]
    except KeyError:
        raise ValueError(
            f"unknown color_axis {color_axis!r}: expected INDEX, CLASS or TRACK"
        ) from None


def build_position(position: str) -> sv.Position:
    """A ``PositionName`` as supervision's ``Position``."""
    try:
        return sv.Position[position]
    except KeyError:
        raise ValueError(
            f"unknown position {position!r}: expected one of {', '.join(sv.Position.list())}"
        ) from None


# ---------------------------------------------------------------------------------------------
# Canvas and results
# ---------------------------------------------------------------------------------------------
def prepare_canvas(image: Image, copy_image: bool) -> np.ndarray:
    """The array to draw on: a copy, or (``copy_image=False``) the image's own pixels.

    OpenCV draws only on writable contiguous arrays, so a crop (a view of its parent) or a
    read-only array is copied anyway.
    """
    array = image.numpy_image
    if copy_image or not array.flags.writeable or not array.flags.c_contiguous:
        return array.copy()
    return array


def visualization_result(image: Image, annotated: np.ndarray) -> dict[str, Any]:
    """The block output: the annotated pixels with the input image's lineage."""
    return {OUTPUT_IMAGE_KEY: image.derive(annotated)}


A = TypeVar("A")


class AnnotatorCache:
    """Annotators built once per distinct set of parameters, shared across images.

    >>> cache = AnnotatorCache()
    >>> first = cache.get(("box", 2), lambda: object())
    >>> first is cache.get(("box", 2), lambda: object())
    True
    """

    def __init__(self, max_entries: int = 64) -> None:
        self._entries: dict[Hashable, Any] = {}
        self._lock = threading.Lock()
        # parameters may come from selectors (one value per image): keep the cache bounded
        self._max_entries = max_entries

    def get(self, key: Hashable, build: Callable[[], A]) -> A:
        """The annotator for ``key``, built with ``build()`` the first time it is asked for."""
        with self._lock:
            if key in self._entries:
                return self._entries[key]  # type: ignore[no-any-return]
        annotator = build()
        with self._lock:
            if len(self._entries) >= self._max_entries:
                self._entries.pop(next(iter(self._entries)))
            return self._entries.setdefault(key, annotator)  # type: ignore[no-any-return]

    def __len__(self) -> int:
        return len(self._entries)


def freeze(value: Any) -> Hashable:
    """A hashable form of a parameter value (lists become tuples) for cache keys."""
    if isinstance(value, list | tuple):
        return tuple(freeze(item) for item in value)
    if isinstance(value, dict):
        return tuple(sorted((key, freeze(item)) for key, item in value.items()))
    return value  # type: ignore[no-any-return]


class VisualizationBlock(Block):
    """Base of the visualization blocks: holds the annotator cache of the step."""

    def __init__(self, context: BlockContext) -> None:
        super().__init__(context)
        self.annotators = AnnotatorCache()

    def annotator(self, key: Sequence[Any], build: Callable[[], A]) -> A:
        """``self.annotators.get`` with a key made hashable (lists in it become tuples)."""
        return self.annotators.get(freeze(list(key)), build)

    def colored_annotator(
        self,
        color_palette: str,
        palette_size: int,
        custom_colors: Sequence[str] | None,
        color_axis: str,
        build: Callable[[NegativeSafeColorPalette, sv.ColorLookup], A],
        *params: Any,
    ) -> A:
        """The cached annotator ``build(palette, color_lookup)`` for these colour fields.

        ``params`` are the block's other annotator settings; they are part of the cache key.
        """
        key = (color_palette, palette_size, custom_colors, color_axis, *params)
        return self.annotator(
            key,
            lambda: build(
                palette_from(color_palette, palette_size, custom_colors),
                build_color_lookup(color_axis),
            ),
        )

    @staticmethod
    def draw(image: Image, copy_image: bool, annotator: Any, **inputs: Any) -> dict[str, Any]:
        """Run ``annotator.annotate(scene=<canvas>, **inputs)`` and wrap the result."""
        canvas = prepare_canvas(image, copy_image)
        return visualization_result(image, annotator.annotate(scene=canvas, **inputs))


__all__ = [
    "OUTPUT_IMAGE_KEY",
    "PREDICTIONS_KINDS",
    "UNKNOWN_CLASS_COLOR",
    "AnnotatorCache",
    "ColorableVisualizationManifest",
    "FloatZeroToOne",
    "NegativeSafeColorPalette",
    "PaletteName",
    "PositionName",
    "PredictionsVisualizationManifest",
    "VisualizationBlock",
    "VisualizationManifest",
    "build_color_lookup",
    "build_position",
    "freeze",
    "palette_from",
    "prepare_canvas",
    "str_to_color",
    "visualization_result",
]
