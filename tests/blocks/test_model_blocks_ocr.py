"""OCR blocks (ocr_model@v1, pp_ocr@v1) on a fake PP-OCR adapter: reading order, text,
one detection per line, and the PP-OCR stage switches."""

from __future__ import annotations

import numpy as np
import pytest
from model_fakes import FakeAdapter, fake_manager, load_workflow, pixels

from visionflow.blocks.models.ocr import assemble_text, ocr_result, reading_order
from visionflow.data.image import Image
from visionflow.errors import CompileError, SpecError
from visionflow.models.base import ModelInfo, ModelTask, TextLines


def _lines(*rows: tuple[str, float, float, float, float]) -> TextLines:
    if not rows:
        return TextLines.empty()
    polygons = np.array(
        [[[x1, y1], [x2, y1], [x2, y2], [x1, y2]] for _, x1, y1, x2, y2 in rows], np.float32
    )
    return TextLines([r[0] for r in rows], np.linspace(0.9, 0.8, len(rows)), polygons)


SIGN = _lines(("World", 60, 2, 100, 12), ("Hello", 0, 0, 50, 10), ("Second line", 0, 20, 80, 30))


@pytest.mark.parametrize(
    ("lines", "detect", "recognise", "text", "classes"),
    [
        (_lines(), True, True, "", []),
        (SIGN, True, True, "Hello World\nSecond line", ["Hello", "World", "Second line"]),
        (SIGN, False, True, "Hello World Second line", []),
        (SIGN, True, False, "", ["", "", ""]),
    ],
)
def test_ocr_result(lines, detect, recognise, text, classes) -> None:
    image = Image(pixels(), parent_id="image")
    info = ModelInfo(model_id="pp-ocr", task=ModelTask.OCR)
    result = ocr_result(lines, image, info, "id", detect=detect, recognise=recognise)
    assert set(result) == {
        "result",
        "predictions",
        "parent_id",
        "root_parent_id",
        "prediction_type",
    }
    assert result["result"] == text
    assert result["predictions"].data["class_name"].tolist() == classes
    assert result["prediction_type"] == "ocr"
    assert result["predictions"].metadata["image_dimensions"] == [60, 80]


@pytest.mark.parametrize(
    ("boxes", "rows"),
    [
        (np.zeros((0, 4)), []),
        (np.array([[50, 0, 90, 10], [0, 1, 40, 11], [0, 20, 40, 30]], float), [[1, 0], [2]]),
        (np.array([[0, 0, 10, 10], [0, 9, 10, 19]], float), [[0], [1]]),
    ],
)
def test_reading_order(boxes, rows) -> None:
    assert reading_order(boxes) == rows
    texts = [str(i) for row in rows for i in row]
    assert assemble_text(texts, rows).count("\n") == max(len(rows) - 1, 0)


@pytest.mark.parametrize("block", ["OCRModel", "roboflow_core/pp_ocr@v1"])
def test_ocr_blocks(tmp_path, block) -> None:
    adapter = FakeAdapter(
        ModelInfo(model_id="pp-ocr", task=ModelTask.OCR), lambda images: [SIGN for _ in images]
    )
    step = {"type": block, "name": "ocr", "image": "$inputs.image"}
    workflow = load_workflow([step], {"out": "$steps.ocr.*"}, fake_manager(tmp_path, adapter))
    rows = workflow.run(serialize=True, image=[pixels(), pixels()])
    assert len(adapter.calls) == 1 and adapter.calls[0][1] is None
    out = rows[1]["out"]
    assert out["result"] == "Hello World\nSecond line"
    assert (out["parent_id"], out["root_parent_id"], out["prediction_type"]) == (
        "image.[1]",
        "image.[1]",
        "ocr",
    )
    assert [p["class"] for p in out["predictions"]["predictions"]] == [
        "Hello",
        "World",
        "Second line",
    ]


def test_pp_ocr_needs_one_stage(tmp_path) -> None:
    step = {
        "type": "roboflow_core/pp_ocr@v1",
        "name": "ocr",
        "images": "$inputs.image",
        "text_detection": "none",
        "text_recognition": "none",
    }
    with pytest.raises((SpecError, CompileError), match="text detection or text recognition"):
        load_workflow([step], {"out": "$steps.ocr.result"}, fake_manager(tmp_path))
