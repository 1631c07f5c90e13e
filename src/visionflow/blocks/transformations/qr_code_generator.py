"""QR code generator: render text (a URL, an identifier...) as a QR code image.

The code is built by the ``qrcode`` package (the smallest version that fits the text, 10 pixels
per module) and drawn with Pillow, so images are identical to the reference's. ``qrcode`` is
imported on first use, so that the rest of the catalogue loads without it.

>>> pixels = render_qr_code("visionflow", "Medium (~15% word recovery)", 4, "BLACK", "WHITE")
>>> pixels.shape, pixels[0, 0].tolist(), pixels[40, 40].tolist()
((290, 290, 3), [255, 255, 255], [0, 0, 0])
"""

from __future__ import annotations

import functools
import uuid
from typing import Any, Literal, Union

import numpy as np
import supervision as sv
from pydantic import Field

from visionflow.blocks.base import Block, BlockInfo, BlockManifest, DataSelector, Output
from visionflow.blocks.registry import register_block
from visionflow.data.image import Image
from visionflow.spec.kinds import IMAGE_KIND, INTEGER_KIND, STRING_KIND

ErrorCorrection = Literal[
    "Low (~7% word recovery / highest data capacity)",
    "Medium (~15% word recovery)",
    "Quartile (~25% word recovery)",
    "High (~30% word recovery / lowest data capacity)",
]

#: the ``qrcode.constants.ERROR_CORRECT_*`` level of each choice
_ERROR_LEVELS = {
    "Low (~7% word recovery / highest data capacity)": "L",
    "Medium (~15% word recovery)": "M",
    "Quartile (~25% word recovery)": "Q",
    "High (~30% word recovery / lowest data capacity)": "H",
}
_PIXELS_PER_MODULE = 10
_CACHE_SIZE = 100


class QRCodeGeneratorManifest(BlockManifest):
    type: Literal["roboflow_core/qr_code_generator@v1", "QRCodeGenerator"]
    text: Union[str, DataSelector(STRING_KIND)] = Field(
        description="Text to encode (a URL, an identifier...); longer texts give larger codes.",
        examples=["https://roboflow.com", "$inputs.url"],
    )
    error_correct: ErrorCorrection = Field(
        default="Medium (~15% word recovery)",
        title="Error Correction",
        description=(
            "How much of the code may be damaged and still read; more recovery means less "
            "room for text (larger codes)."
        ),
        examples=["Medium (~15% word recovery)"],
    )
    border: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=4,
        title="Border Width",
        description="Quiet zone around the code, in modules (10 pixels each).",
        examples=[2, 4, "$inputs.border"],
    )
    fill_color: Union[str, DataSelector(STRING_KIND)] = Field(
        default="BLACK",
        title="Fill Color",
        description=(
            "Colour of the dark modules: '#RRGGBB', 'rgb(R, G, B)', 'bgr(B, G, R)', a "
            "supervision colour name (BLACK, RED...) or a CSS colour name."
        ),
        examples=["BLACK", "#000000", "rgb(0, 0, 0)"],
    )
    back_color: Union[str, DataSelector(STRING_KIND)] = Field(
        default="WHITE",
        title="Background Color",
        description="Colour of the light modules and the border (same formats as fill_color).",
        examples=["WHITE", "#FFFFFF", "rgb(255, 255, 255)"],
    )

    block_info = BlockInfo(
        name="QR Code Generator",
        short="Generate a QR code image from text.",
        category="transformation",
    )
    outputs = (Output("qr_code", IMAGE_KIND),)


@register_block
class QRCodeGeneratorBlock(Block):
    """One QR code image per run (the same pixels for the same settings, rendered once)."""

    manifest = QRCodeGeneratorManifest

    def run(
        self,
        text: Any,
        error_correct: str,
        border: int,
        fill_color: str,
        back_color: str,
    ) -> dict[str, Any]:
        pixels = render_qr_code(str(text), error_correct, border, fill_color, back_color)
        # a copy: downstream blocks may draw on their input, the cached pixels must not change
        return {"qr_code": Image(pixels.copy(), parent_id=f"qr_code.{uuid.uuid4()}")}


@functools.lru_cache(maxsize=_CACHE_SIZE)
def render_qr_code(
    text: str, error_correct: str, border: int, fill_color: str, back_color: str
) -> np.ndarray:
    """The QR code of ``text`` as a BGR image (cached: do not modify the returned array)."""
    try:
        import qrcode
        from qrcode.image.pil import PilImage
    except ImportError as error:
        raise RuntimeError(
            "the QR code generator needs the 'qrcode' package: pip install qrcode"
        ) from error
    level = getattr(qrcode.constants, f"ERROR_CORRECT_{_ERROR_LEVELS[error_correct]}")
    code = qrcode.QRCode(
        version=None,
        error_correction=level,
        box_size=_PIXELS_PER_MODULE,
        border=border,
    )
    code.add_data(text)
    code.make(fit=True)
    picture = code.make_image(
        image_factory=PilImage,
        fill_color=_pil_color(fill_color),
        back_color=_pil_color(back_color),
    ).convert("RGB")
    return np.ascontiguousarray(np.array(picture)[:, :, ::-1])


def _pil_color(color: str) -> tuple[int, int, int] | str:
    """An (r, g, b) tuple for the formats the other blocks read; else the text, for Pillow.

    Pillow then resolves CSS names ('navy') and 'transparent' (handled by qrcode).
    """
    try:
        if color.startswith("#"):
            return sv.Color.from_hex(color).as_rgb()
        if color.startswith(("rgb", "bgr")):
            first, second, third = (int(part) for part in color[4:-1].split(","))
            return (first, second, third) if color.startswith("rgb") else (third, second, first)
    except ValueError:
        return color
    named = getattr(sv.Color, color.upper(), None)
    return named.as_rgb() if isinstance(named, sv.Color) else color


__all__ = ["QRCodeGeneratorBlock", "QRCodeGeneratorManifest", "render_qr_code"]
