"""qr_code_generator: text rendered as a QR code image that decodes back to the text."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

import visionflow
from visionflow.blocks.base import BlockContext
from visionflow.blocks.registry import default_registry
from visionflow.blocks.transformations.qr_code_generator import (
    QRCodeGeneratorBlock,
    QRCodeGeneratorManifest,
    render_qr_code,
)

MEDIUM = "Medium (~15% word recovery)"
HIGH = "High (~30% word recovery / lowest data capacity)"
LOW = "Low (~7% word recovery / highest data capacity)"


def _decode(pixels: np.ndarray) -> str:
    text, points, _ = cv2.QRCodeDetector().detectAndDecode(pixels)
    assert points is not None, "no QR code found"
    return text


def _block() -> QRCodeGeneratorBlock:
    return QRCodeGeneratorBlock(BlockContext("qr", "roboflow_core/qr_code_generator@v1"))


@pytest.mark.parametrize("step_type", ["roboflow_core/qr_code_generator@v1", "QRCodeGenerator"])
def test_manifest_identifier_alias_and_defaults(step_type: str) -> None:
    entry = default_registry.get(step_type)
    manifest = entry.manifest.model_validate({"type": step_type, "name": "qr", "text": "hi"})
    assert entry.identifier == "roboflow_core/qr_code_generator@v1"
    assert manifest.error_correct == MEDIUM
    assert (manifest.border, manifest.fill_color, manifest.back_color) == (4, "BLACK", "WHITE")


def test_manifest_refuses_unknown_error_correction() -> None:
    with pytest.raises(ValidationError):
        QRCodeGeneratorManifest.model_validate(
            {"type": "QRCodeGenerator", "name": "qr", "text": "hi", "error_correct": "M"}
        )


@pytest.mark.parametrize(
    ("text", "error_correct", "border", "expected_size"),
    [
        ("", MEDIUM, 4, 290),  # version 1: 21 modules + 2 x 4 border, 10 px each
        ("https://roboflow.com", MEDIUM, 4, 330),  # version 2
        ("https://roboflow.com", HIGH, 4, 370),  # more recovery, larger code
        ("https://roboflow.com", LOW, 0, 250),  # no quiet zone
        ("x" * 120, LOW, 2, 450),
    ],
)
def test_render_size_and_content(
    text: str, error_correct: str, border: int, expected_size: int
) -> None:
    pixels = render_qr_code(text, error_correct, border, "BLACK", "WHITE")
    assert pixels.shape == (expected_size, expected_size, 3)
    assert set(np.unique(pixels).tolist()) == {0, 255}
    if border:
        # the quiet zone is background; the first finder pattern starts right after it
        assert (pixels[: border * 10] == 255).all()
        assert (pixels[border * 10, border * 10] == 0).all()
        assert _decode(pixels) == text


@pytest.mark.parametrize(
    ("fill", "back", "fill_bgr", "back_bgr"),
    [
        ("BLACK", "WHITE", (0, 0, 0), (255, 255, 255)),
        ("#ff0000", "rgb(0, 0, 255)", (0, 0, 255), (255, 0, 0)),
        ("bgr(10, 20, 30)", "#0f0", (10, 20, 30), (0, 255, 0)),
        ("navy", "ROBOFLOW", (128, 0, 0), None),  # CSS name (Pillow) and a supervision name
        ("RED", "transparent", None, (0, 0, 0)),  # transparent background turns black in RGB
    ],
)
def test_colors(fill: str, back: str, fill_bgr: tuple | None, back_bgr: tuple | None) -> None:
    pixels = render_qr_code("colours", MEDIUM, 4, fill, back)
    if back_bgr is not None:
        assert pixels[0, 0].tolist() == list(back_bgr)
    if fill_bgr is not None:
        assert pixels[40, 40].tolist() == list(fill_bgr)


def test_unknown_color_is_refused() -> None:
    with pytest.raises(ValueError):
        render_qr_code("colours", MEDIUM, 4, "not-a-colour", "WHITE")


def test_block_gives_a_fresh_image_each_run() -> None:
    block = _block()
    first = block.run("hello", MEDIUM, 4, "BLACK", "WHITE")["qr_code"]
    first.numpy_image[:] = 7  # a downstream block drawing on its input
    second = block.run("hello", MEDIUM, 4, "BLACK", "WHITE")["qr_code"]
    assert first.parent_id.startswith("qr_code.") and first.parent_id != second.parent_id
    assert _decode(second.numpy_image) == "hello"
    assert second.video_metadata is None and second.origin is None


def test_through_the_engine_with_a_number_as_text() -> None:
    workflow = visionflow.Workflow.load(
        {
            "version": "1.0",
            "inputs": [
                {"type": "WorkflowImage", "name": "image"},
                {"type": "WorkflowParameter", "name": "text"},
            ],
            "steps": [{"type": "QRCodeGenerator", "name": "qr", "text": "$inputs.text"}],
            "outputs": [{"type": "JsonField", "name": "qr", "selector": "$steps.qr.qr_code"}],
        }
    )
    pixels = np.zeros((10, 10, 3), dtype=np.uint8)
    results = workflow.run(image=[pixels, pixels], text=12345)
    assert len(results) == 1  # only outputs made from parameters: one result, as the reference
    assert _decode(results[0]["qr"].numpy_image) == "12345"
