"""QR code and barcode detectors on codes generated here (qr_code_generator, zxing-cpp)."""

from __future__ import annotations

import numpy as np
import pytest
import zxingcpp

from visionflow.blocks.base import Batch, BlockContext
from visionflow.blocks.models.codes import (
    BarcodeDetectorV1Block,
    QRCodeDetectorV1Block,
    detect_barcodes,
    detect_qr_codes,
)
from visionflow.blocks.transformations.qr_code_generator import render_qr_code
from visionflow.data.image import Image

MEDIUM = "Medium (~15% word recovery)"


def _canvas(*codes: tuple[np.ndarray, int, int], size: tuple[int, int] = (400, 700)) -> Image:
    """A white image with each code pasted at (x, y)."""
    pixels = np.full((*size, 3), 255, dtype=np.uint8)
    for code, x, y in codes:
        pixels[y : y + code.shape[0], x : x + code.shape[1]] = code
    return Image(pixels, parent_id="image")


def _qr(text: str) -> np.ndarray:
    return render_qr_code(text, MEDIUM, 4, "BLACK", "WHITE")


def _barcode(text: str, kind: zxingcpp.BarcodeFormat) -> np.ndarray:
    bitmap = np.array(zxingcpp.write_barcode_to_image(zxingcpp.create_barcode(text, kind), scale=3))
    return np.repeat(bitmap.reshape(bitmap.shape[0], bitmap.shape[1], -1)[..., :1], 3, axis=2)


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (_canvas(), []),
        (_canvas((_qr("hello"), 20, 20)), ["hello"]),
        (_canvas((_qr("hello"), 20, 20), (_qr("https://example.com/a"), 330, 60)), ["hello", "https://example.com/a"]),
    ],
)  # fmt: skip
def test_detect_qr_codes(image: Image, expected: list[str]) -> None:
    detections = detect_qr_codes(image)
    assert sorted(detections.data["data"].tolist()) == expected
    assert detections.data["class_name"].tolist() == ["qr_code"] * len(expected)
    assert detections.data["prediction_type"].tolist() == ["qrcode-detection"] * len(expected)
    assert detections.confidence.tolist() == [1.0] * len(expected)
    assert detections.class_id.tolist() == [0] * len(expected)
    assert detections.metadata["image_dimensions"] == [400, 700]
    assert detections.metadata["parent_id"] == "image"


def test_qr_code_box_and_repeatable_order() -> None:
    code = _qr("hello")
    image = _canvas((code, 20, 20), (_qr("https://example.com/a"), 330, 60))
    orders = {tuple(detect_qr_codes(image).data["data"]) for _ in range(6)}
    assert len(orders) == 1
    (single,) = detect_qr_codes(_canvas((code, 20, 20)))
    x1, y1, x2, y2 = single[0].tolist()
    border = 4 * 10  # four modules of 10 pixels around the code
    assert (x1, y1) == (20 + border, 20 + border)
    assert (x2, y2) == (pytest.approx(20 + code.shape[1] - border, abs=1),) * 2


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (_canvas(), []),
        (_canvas((_barcode("5901234123457", zxingcpp.BarcodeFormat.EAN13), 60, 40)), ["5901234123457"]),
        (_canvas((_barcode("VF-2024", zxingcpp.BarcodeFormat.Code128), 60, 40)), ["VF-2024"]),
        (_canvas((_qr("also a barcode"), 20, 20)), ["also a barcode"]),
    ],
)  # fmt: skip
def test_detect_barcodes(image: Image, expected: list[str]) -> None:
    detections = detect_barcodes(image)
    assert detections.data["data"].tolist() == expected
    assert detections.data["class_name"].tolist() == ["barcode"] * len(expected)
    assert detections.data["prediction_type"].tolist() == ["barcode-detection"] * len(expected)
    assert detections.metadata["image_dimensions"] == [400, 700]


def test_codes_on_a_crop_keep_lineage() -> None:
    image = _canvas((_qr("inside"), 300, 100))
    crop = image.crop(250, 50, 700, 400, crop_id="crop-1")
    (box,) = detect_qr_codes(crop).xyxy.tolist()
    detections = detect_qr_codes(crop)
    assert detections.data["parent_id"].tolist() == ["crop-1"]
    assert detections.data["root_parent_id"].tolist() == ["image"]
    assert detections.data["root_parent_coordinates"].tolist() == [[250, 50]]
    assert box[0] == 300 + 40 - 250


@pytest.mark.parametrize("block_class", [QRCodeDetectorV1Block, BarcodeDetectorV1Block])
def test_blocks_run_per_image(block_class) -> None:
    block = block_class(BlockContext(step_name="codes", block_type="x"))
    images = Batch([_canvas(), _canvas((_qr("hello"), 20, 20))], [(0,), (1,)])
    first, second = block.run(images)
    assert len(first["predictions"]) == 0
    assert second["predictions"].data["data"].tolist() == ["hello"]
    assert block.run(Batch([], [])) == []
