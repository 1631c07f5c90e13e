"""Rich labels: anti-aliased TrueType text tags on detections (supervision's
``RichLabelAnnotator``).

The reference draws them with font files it ships or downloads; visionflow downloads nothing and
draws each family with the DejaVu font of the same kind (monospaced or not) that matplotlib, a
dependency of supervision, installs.

>>> effective_font_size(540, 960, 28, "Automatic")
14
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, Literal, Optional, Union

import supervision as sv
from pydantic import Field, PositiveInt, field_validator

from visionflow.blocks.base import BlockInfo, DataSelector
from visionflow.blocks.registry import register_block
from visionflow.blocks.visualizations._base import (
    ColorableVisualizationManifest,
    PositionName,
    VisualizationBlock,
    build_position,
    prepare_canvas,
    str_to_color,
    visualization_result,
)
from visionflow.blocks.visualizations.labels import (
    TEXT_SIZE_MODE_AUTOMATIC,
    TEXT_SIZE_MODE_MANUAL,
    LabelText,
    detection_labels,
)
from visionflow.data.image import Image
from visionflow.spec.kinds import INTEGER_KIND, STRING_KIND

# ---------------------------------------------------------------------------------------------
# roboflow_core/rich_label_visualization@v1
# ---------------------------------------------------------------------------------------------
#: The reference's approved font families (display name -> legacy identifier) and whether each
#: is monospaced. visionflow downloads no fonts: each family is drawn with the DejaVu font of
#: the same kind that matplotlib (a dependency of supervision) ships.
FONT_FAMILIES: dict[str, tuple[str, bool]] = {
    "Anonymous Pro": ("anonymous_pro", True),
    "Courier Prime": ("courier_prime", True),
    "Fira Code": ("fira_code", True),
    "Geist": ("geist", False),
    "Geist Mono": ("geist_mono", True),
    "IBM Plex Mono": ("ibm_plex_mono", True),
    "Inconsolata": ("inconsolata", True),
    "Inter": ("inter", False),
    "JetBrains Mono": ("jetbrains_mono", True),
    "Lato": ("lato", False),
    "Montserrat": ("montserrat", False),
    "Noto Sans": ("noto_sans", False),
    "Nunito Sans": ("nunito_sans", False),
    "Open Sans": ("open_sans", False),
    "PT Mono": ("pt_mono", True),
    "Roboto": ("roboto", False),
    "Roboto Mono": ("roboto_mono", True),
    "Source Code Pro": ("source_code_pro", True),
    "Space Mono": ("space_mono", True),
    "Work Sans": ("work_sans", False),
}
_FAMILY_BY_IDENTIFIER = {identifier: name for name, (identifier, _) in FONT_FAMILIES.items()}

FontFamilyName = Literal[
    "Anonymous Pro",
    "Courier Prime",
    "Fira Code",
    "Geist",
    "Geist Mono",
    "IBM Plex Mono",
    "Inconsolata",
    "Inter",
    "JetBrains Mono",
    "Lato",
    "Montserrat",
    "Noto Sans",
    "Nunito Sans",
    "Open Sans",
    "PT Mono",
    "Roboto",
    "Roboto Mono",
    "Source Code Pro",
    "Space Mono",
    "Work Sans",
]

# "Automatic" size: 14 pt reads well on an image whose shorter side is 1080 px.
_REFERENCE_SHORT_SIDE_PX = 1080
_REFERENCE_FONT_SIZE_PT = 14
_MIN_FONT_SIZE_PT, _MAX_FONT_SIZE_PT = 8, 128


def font_path(font_family: str) -> str | None:
    """The installed TrueType file drawing ``font_family`` (a display name or identifier).

    ``None`` (Pillow's own default font) when matplotlib's fonts are not installed.
    """
    name = _FAMILY_BY_IDENTIFIER.get(font_family, font_family)
    if name not in FONT_FAMILIES:
        raise ValueError(
            f"unknown font family {font_family!r}: expected one of {', '.join(FONT_FAMILIES)}"
        )
    monospaced = FONT_FAMILIES[name][1]
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return None
    file_name = "DejaVuSansMono.ttf" if monospaced else "DejaVuSans.ttf"
    path = Path(next(iter(spec.submodule_search_locations))) / "mpl-data/fonts/ttf" / file_name
    return str(path) if path.is_file() else None


def effective_font_size(height: int, width: int, font_size: int, text_size_mode: str) -> int:
    """``font_size`` itself ("Manual"), or scaled with the image's shorter side ("Automatic")."""
    if text_size_mode != TEXT_SIZE_MODE_AUTOMATIC:
        return font_size
    baseline = _REFERENCE_FONT_SIZE_PT * (min(height, width) / _REFERENCE_SHORT_SIDE_PX)
    scaled = round(baseline * (font_size / _REFERENCE_FONT_SIZE_PT))
    return max(_MIN_FONT_SIZE_PT, min(_MAX_FONT_SIZE_PT, scaled))


class RichLabelVisualizationManifest(ColorableVisualizationManifest):
    type: Literal["roboflow_core/rich_label_visualization@v1"]
    text: Union[LabelText, DataSelector(STRING_KIND)] = Field(
        default="Class",
        description=(
            "What each label says; a string that names a detections column shows that "
            "column's values."
        ),
        examples=["Class", "$inputs.text"],
    )
    text_position: Union[PositionName, DataSelector(STRING_KIND)] = Field(
        default="TOP_LEFT",
        description="Where the label sits relative to each detection's box.",
        examples=["CENTER", "$inputs.text_position"],
    )
    text_color: Union[str, DataSelector(STRING_KIND)] = Field(
        default="WHITE",
        description="Colour of the text: a name (WHITE), '#RRGGBB' or 'rgb(R, G, B)'.",
        examples=["WHITE", "#FFFFFF", "$inputs.text_color"],
    )
    font_family: Union[FontFamilyName, DataSelector(STRING_KIND)] = Field(
        default="Geist Mono",
        title="Font",
        description=(
            "Font family (the reference's names). visionflow draws monospaced families with "
            "DejaVu Sans Mono and the others with DejaVu Sans, from the installed matplotlib."
        ),
        examples=["Geist Mono", "$inputs.font_family"],
    )
    text_size_mode: Union[Literal["Manual", "Automatic"], DataSelector(STRING_KIND)] = Field(
        default=TEXT_SIZE_MODE_MANUAL,
        title="Size mode",
        description=(
            "'Manual': `font_size` as given; 'Automatic': scaled with the image (`font_size` "
            "is then meant for an image whose shorter side is 1080 px)."
        ),
        examples=["Manual", "Automatic", "$inputs.text_size_mode"],
    )
    font_size: Union[PositiveInt, DataSelector(INTEGER_KIND)] = Field(
        default=14,
        title="Size",
        description="Font size in points.",
        examples=[14, "$inputs.font_size"],
    )
    text_padding: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=10,
        description="Space between the text and the edge of its background, in pixels.",
        examples=[10, "$inputs.text_padding"],
    )
    border_radius: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=0,
        description="Corner radius of the label background in pixels.",
        examples=[0, "$inputs.border_radius"],
    )
    max_line_length: Union[Optional[PositiveInt], DataSelector(INTEGER_KIND)] = Field(
        default=None,
        description="Characters per line before a label wraps (empty: no wrapping).",
        examples=[30, "$inputs.max_line_length"],
    )

    block_info = BlockInfo(
        name="Rich Label Visualization",
        short="Write anti-aliased TrueType labels on each detected object.",
        category="visualization",
    )

    @field_validator("font_family", mode="before")
    @classmethod
    def _family_from_identifier(cls, value: Any) -> Any:
        # Older workflows name fonts by identifier ("geist_mono").
        if isinstance(value, str) and not value.startswith("$"):
            return _FAMILY_BY_IDENTIFIER.get(value, value)
        return value


@register_block
class RichLabelVisualizationBlock(VisualizationBlock):
    """A TrueType text tag per detection, on a background in the detection's colour."""

    manifest = RichLabelVisualizationManifest

    def run(
        self,
        image: Image,
        predictions: sv.Detections,
        copy_image: bool,
        color_palette: str,
        palette_size: int,
        custom_colors: list[str],
        color_axis: str,
        text: str,
        text_position: str,
        text_color: str,
        font_family: str,
        text_size_mode: str,
        font_size: int,
        text_padding: int,
        border_radius: int,
        max_line_length: int | None,
    ) -> dict[str, Any]:
        if len(predictions) == 0:
            return visualization_result(image, prepare_canvas(image, copy_image))
        size = effective_font_size(
            image.height, image.width, font_size, text_size_mode or TEXT_SIZE_MODE_MANUAL
        )
        annotator = self.colored_annotator(
            color_palette,
            palette_size,
            custom_colors,
            color_axis,
            lambda palette, lookup: sv.RichLabelAnnotator(
                color=palette,
                color_lookup=lookup,
                text_position=build_position(text_position),
                text_color=str_to_color(text_color),
                font_path=font_path(font_family),
                font_size=size,
                text_padding=text_padding,
                border_radius=border_radius,
                max_line_length=max_line_length,
            ),
            "rich_label",
            text_position,
            text_color,
            font_family,
            size,
            text_padding,
            border_radius,
            max_line_length,
        )
        labels = detection_labels(predictions, text)
        return self.draw(image, copy_image, annotator, detections=predictions, labels=labels)


__all__ = [
    "FONT_FAMILIES",
    "RichLabelVisualizationBlock",
    "RichLabelVisualizationManifest",
    "effective_font_size",
    "font_path",
]
