"""QR code and barcode detectors: boxes around the codes, with the decoded text in ``data``.

QR codes are found and decoded by OpenCV's ``QRCodeDetector``, barcodes (and QR codes) by
``zxing-cpp``, as the reference does. Every detection has confidence 1.0 and class id 0.

>>> import numpy as np
>>> from visionflow.data.image import Image
>>> blank = Image(np.full((64, 64, 3), 255, dtype=np.uint8), parent_id="image")
>>> len(detect_qr_codes(blank)), len(detect_barcodes(blank))
(0, 0)
"""

from __future__ import annotations

from typing import Any, Literal

import cv2
import numpy as np
import supervision as sv
import zxingcpp

from visionflow.blocks.base import Batch, Block, BlockInfo, BlockManifest, DataSelector, Output
from visionflow.blocks.models._common import IMAGES_FIELD
from visionflow.blocks.registry import register_block
from visionflow.data.detections import DETECTED_CODE_KEY, make_detections
from visionflow.data.image import Image
from visionflow.spec.kinds import BAR_CODE_DETECTION_KIND, IMAGE_KIND, QR_CODE_DETECTION_KIND


class QRCodeDetectorV1Manifest(BlockManifest):
    type: Literal["roboflow_core/qr_code_detector@v1", "QRCodeDetector", "QRCodeDetection"]
    images: DataSelector(IMAGE_KIND) = IMAGES_FIELD

    block_info = BlockInfo(
        name="QR Code Detection",
        short="Find and read QR codes: a box per code, its text in `data`.",
        category="model",
    )
    outputs = (Output("predictions", QR_CODE_DETECTION_KIND),)
    batch_fields = ("images",)


class BarcodeDetectorV1Manifest(BlockManifest):
    type: Literal["roboflow_core/barcode_detector@v1", "BarcodeDetector", "BarcodeDetection"]
    images: DataSelector(IMAGE_KIND) = IMAGES_FIELD

    block_info = BlockInfo(
        name="Barcode Detection",
        short="Find and read barcodes (and QR codes): a box per code, its text in `data`.",
        category="model",
    )
    outputs = (Output("predictions", BAR_CODE_DETECTION_KIND),)
    batch_fields = ("images",)


@register_block
class QRCodeDetectorV1Block(Block):
    """``{"predictions"}`` per image: one box per QR code."""

    manifest = QRCodeDetectorV1Manifest

    def run(self, images: Batch[Image]) -> list[dict[str, Any]]:
        return [{"predictions": detect_qr_codes(image)} for image in images]


@register_block
class BarcodeDetectorV1Block(Block):
    """``{"predictions"}`` per image: one box per barcode."""

    manifest = BarcodeDetectorV1Manifest

    def run(self, images: Batch[Image]) -> list[dict[str, Any]]:
        return [{"predictions": detect_barcodes(image)} for image in images]


def detect_qr_codes(image: Image) -> sv.Detections:
    """QR codes in ``image``; each box spans its first and third corners, as the reference.

    An image without QR codes gives empty detections (the reference fails there).
    """
    # OpenCV groups finder patterns with k-means seeded by the thread's RNG, so the order of
    # the codes depends on how many detections that thread ran before. Resetting the RNG to
    # its initial state makes the order repeatable: that of a fresh thread, which is what the
    # reference gives on its first detection.
    cv2.setRNGSeed(0)
    # a detector per call: OpenCV's detector keeps state and blocks may run concurrently
    _, texts, corners, _ = cv2.QRCodeDetector().detectAndDecodeMulti(image.numpy_image)
    if corners is None or len(texts) == 0:
        return _code_detections(np.zeros((0, 4)), [], "qr_code", "qrcode-detection", image)
    corners = np.asarray(corners, dtype=float).reshape(-1, 4, 2)
    boxes = np.concatenate([corners[:, 0], corners[:, 2]], axis=1)
    return _code_detections(boxes, list(texts), "qr_code", "qrcode-detection", image)


def detect_barcodes(image: Image) -> sv.Detections:
    """Barcodes in ``image`` (every format zxing-cpp reads), boxed by their corners."""
    found = zxingcpp.read_barcodes(image.numpy_image)
    boxes = np.array(
        [
            [
                code.position.top_left.x,
                code.position.top_left.y,
                code.position.bottom_right.x,
                code.position.bottom_right.y,
            ]
            for code in found
        ],
        dtype=float,
    ).reshape(-1, 4)
    return _code_detections(
        boxes, [code.text for code in found], "barcode", "barcode-detection", image
    )


def _code_detections(
    boxes: np.ndarray, texts: list[str], class_name: str, prediction_type: str, image: Image
) -> sv.Detections:
    n = len(texts)
    return make_detections(
        boxes,
        np.ones(n),
        np.zeros(n, dtype=int),
        [class_name],
        image,
        data={DETECTED_CODE_KEY: np.array(texts, dtype=str)},
        prediction_type=prediction_type,
    )


__all__ = ["BarcodeDetectorV1Block", "QRCodeDetectorV1Block", "detect_barcodes", "detect_qr_codes"]
