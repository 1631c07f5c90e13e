"""OCR model blocks: the text of an image, and one detection per text line.

Both ``roboflow_core/ocr_model@v1`` (DocTR in the reference) and ``roboflow_core/pp_ocr@v1``
run the built-in PP-OCR model (``pp-ocr``) locally. Lines are put in reading order (visual
rows top to bottom, each left to right); ``result`` joins the lines of one row with spaces
and the rows with newlines, as the reference's PP-OCR pipeline does. Each detection's class
name is its text.

>>> import numpy as np
>>> boxes = np.array([[50, 0, 90, 10], [0, 1, 40, 11], [0, 20, 40, 30]], dtype=float)
>>> reading_order(boxes)
[[1, 0], [2]]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import supervision as sv
from pydantic import Field, model_validator

from visionflow.blocks.base import Batch, BlockInfo, BlockManifest, DataSelector, Output
from visionflow.blocks.models._common import IMAGES_FIELD, ModelBlock, expect_prediction
from visionflow.blocks.registry import register_block
from visionflow.data.detections import make_detections
from visionflow.data.image import Image
from visionflow.models.base import ModelInfo, ModelTask, TextLines
from visionflow.models.ocr import OCR_MODEL_ID
from visionflow.spec.kinds import (
    IMAGE_KIND,
    OBJECT_DETECTION_PREDICTION_KIND,
    PARENT_ID_KIND,
    PREDICTION_TYPE_KIND,
    STRING_KIND,
)

PREDICTION_TYPE = "ocr"
ModelSize = Literal["none", "tiny", "small", "medium"]

_OUTPUTS = (
    Output("result", STRING_KIND),
    Output("predictions", OBJECT_DETECTION_PREDICTION_KIND),
    Output("parent_id", PARENT_ID_KIND),
    Output("root_parent_id", PARENT_ID_KIND),
    Output("prediction_type", PREDICTION_TYPE_KIND),
)


class OCRModelV1Manifest(BlockManifest):
    type: Literal["roboflow_core/ocr_model@v1", "OCRModel"]
    images: DataSelector(IMAGE_KIND) = IMAGES_FIELD

    block_info = BlockInfo(
        name="OCR Model",
        short="Read the text in an image (PP-OCR, run locally).",
        category="model",
    )
    outputs = _OUTPUTS
    batch_fields = ("images",)


class PPOCRV1Manifest(BlockManifest):
    type: Literal["roboflow_core/pp_ocr@v1"]
    images: DataSelector(IMAGE_KIND) = IMAGES_FIELD
    text_detection: ModelSize = Field(
        default="small",
        title="Text Detection Model Size",
        description=(
            "'none' reads each image as one pre-cropped text line (no boxes); any other size "
            "finds the text lines first (visionflow ships the small model and uses it for "
            "every size)."
        ),
    )
    text_recognition: ModelSize = Field(
        default="small",
        title="Text Recognition Model Size",
        description=(
            "'none' returns the text boxes without their text; any other size reads them "
            "(visionflow ships the small model and uses it for every size)."
        ),
    )

    block_info = BlockInfo(
        name="PP-OCR",
        short="Read the text in an image with PP-OCR (PaddleOCR), locally.",
        category="model",
    )
    outputs = _OUTPUTS
    batch_fields = ("images",)

    @model_validator(mode="after")
    def _one_stage_at_least(self) -> PPOCRV1Manifest:
        if self.text_detection == "none" and self.text_recognition == "none":
            raise ValueError(
                "PP-OCR needs text detection or text recognition: set `text_detection` or "
                "`text_recognition` to a size ('small')"
            )
        return self


class _OCRBlock(ModelBlock):
    expected_tasks = (ModelTask.OCR,)

    def read(
        self, images: Batch[Image], *, detect: bool = True, recognise: bool = True
    ) -> list[dict[str, Any]]:
        if len(images) == 0:
            return []
        info, predictions, inference_id = self.infer(images, OCR_MODEL_ID, None)
        return [
            ocr_result(
                expect_prediction(lines, TextLines, info.model_id),
                image,
                info,
                inference_id,
                detect=detect,
                recognise=recognise,
            )
            for image, lines in zip(images, predictions, strict=True)
        ]


@register_block
class OCRModelV1Block(_OCRBlock):
    """``{"result", "predictions", "parent_id", "root_parent_id", "prediction_type"}``."""

    manifest = OCRModelV1Manifest

    def run(self, images: Batch[Image]) -> list[dict[str, Any]]:
        return self.read(images)


@register_block
class PPOCRV1Block(_OCRBlock):
    """``{"result", "predictions", "parent_id", "root_parent_id", "prediction_type"}``."""

    manifest = PPOCRV1Manifest

    def run(
        self, images: Batch[Image], text_detection: str, text_recognition: str
    ) -> list[dict[str, Any]]:
        return self.read(
            images, detect=text_detection != "none", recognise=text_recognition != "none"
        )


def ocr_result(
    lines: TextLines,
    image: Image,
    info: ModelInfo,
    inference_id: str,
    *,
    detect: bool = True,
    recognise: bool = True,
) -> dict[str, Any]:
    """The block's outputs for one image's text lines.

    Without detection the image is one text line: its text is every line read, in reading
    order, and there are no boxes. Without recognition the boxes come with empty text and
    ``result`` is empty.
    """
    polygons = np.asarray(lines.polygons, dtype=float).reshape(-1, 4, 2)
    boxes = np.concatenate([polygons.min(axis=1), polygons.max(axis=1)], axis=1)
    rows = reading_order(boxes)
    order = [index for row in rows for index in row]
    texts = [str(lines.texts[i]) if recognise else "" for i in order]
    if not detect:
        text = " ".join(t for t in (s.strip() for s in texts) if t)
        return _result(text, _detections([], boxes[:0], lines, image, info, inference_id), image)
    return _result(
        assemble_text(texts, rows) if recognise else "",
        _detections(order, boxes[order], lines, image, info, inference_id, texts),
        image,
    )


def _result(text: str, detections: sv.Detections, image: Image) -> dict[str, Any]:
    return {
        "result": text,
        "predictions": detections,
        "parent_id": image.parent_id,
        "root_parent_id": image.root_id,
        "prediction_type": PREDICTION_TYPE,
    }


def _detections(
    order: list[int],
    boxes: np.ndarray,
    lines: TextLines,
    image: Image,
    info: ModelInfo,
    inference_id: str,
    texts: Sequence[str] = (),
) -> sv.Detections:
    confidence = np.asarray(lines.confidence, dtype=float).reshape(-1)
    return make_detections(
        boxes,
        confidence[order] if order else np.zeros(0),
        np.zeros(len(order), dtype=int),
        info.class_names,
        image,
        data={"class_name": np.array(list(texts), dtype=str)},
        prediction_type=PREDICTION_TYPE,
        inference_id=inference_id,
    )


def reading_order(boxes: np.ndarray) -> list[list[int]]:
    """Indices of ``boxes`` (x1, y1, x2, y2) grouped in visual rows, top to bottom, each
    row left to right; a box starts a new row when its top is below the row's bottom minus
    half its own height."""
    rows: list[list[int]] = []
    row_bottom = 0.0
    for index in np.argsort(boxes[:, 1], kind="stable").tolist():
        top, bottom = float(boxes[index, 1]), float(boxes[index, 3])
        if not rows or top >= row_bottom - 0.5 * (bottom - top):
            rows.append([index])
            row_bottom = bottom
        else:
            rows[-1].append(index)
            row_bottom = max(row_bottom, bottom)
    return [sorted(row, key=lambda i: float(boxes[i, 0])) for row in rows]


def assemble_text(texts: Sequence[str], rows: Sequence[Sequence[int]]) -> str:
    """``texts`` (in the flattened order of ``rows``) joined: spaces within a row, newlines
    between rows; blank fragments are skipped."""
    lines: list[str] = []
    cursor = 0
    for row in rows:
        fragments = (t.strip() for t in texts[cursor : cursor + len(row)])
        lines.append(" ".join(f for f in fragments if f))
        cursor += len(row)
    return "\n".join(lines)


__all__ = ["OCRModelV1Block", "PPOCRV1Block", "assemble_text", "ocr_result", "reading_order"]
