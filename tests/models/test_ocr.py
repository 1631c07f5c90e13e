"""OCR with the built-in PP-OCR model on rendered text, offline."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from visionflow.models.base import ModelAdapter, ModelTask, TextLines
from visionflow.models.ocr import RapidOcrModel, rapidocr_model_files
from visionflow.models.store import ModelStore


def rendered(lines: list[str], size: tuple[int, int] = (640, 90)) -> np.ndarray:
    """White canvas with black text lines (HERSHEY, as a printed label)."""
    width, line_height = size
    image = np.full((line_height * max(len(lines), 1) + 20, width, 3), 255, dtype=np.uint8)
    for index, text in enumerate(lines):
        cv2.putText(
            image,
            text,
            (20, 70 + index * line_height),
            cv2.FONT_HERSHEY_SIMPLEX,
            1.8,
            (0, 0, 0),
            4,
            cv2.LINE_AA,
        )
    return image


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> RapidOcrModel:
    # the engine must work with the network blocked: it may only read the wheel's files
    original = socket.socket.connect

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network access during OCR model loading")

    socket.socket.connect = refuse  # type: ignore[method-assign]
    try:
        store = ModelStore(tmp_path_factory.mktemp("models"))
        return RapidOcrModel(store.resolve("pp-ocr"))
    finally:
        socket.socket.connect = original  # type: ignore[method-assign]


def test_it_is_a_model_adapter_for_ocr(model: RapidOcrModel) -> None:
    assert isinstance(model, ModelAdapter)
    assert model.info.task == ModelTask.OCR and model.info.model_id == "pp-ocr"
    assert model.describe()["input_size"] is None
    assert all(path.is_file() for path in rapidocr_model_files().values())


@pytest.mark.parametrize(
    "lines", [[], ["HELLO WORLD"], ["visionflow 42", "ABC-123"]], ids=["blank", "one", "two"]
)
def test_reads_rendered_text(model: RapidOcrModel, lines: list[str]) -> None:
    image = rendered(lines)
    (result,) = model.infer([image])
    assert isinstance(result, TextLines)
    # a wide gap may split a line in two boxes: compare the words, top to bottom
    assert " ".join(result.texts) == " ".join(lines)
    count = len(result.texts)
    assert count >= len(lines)
    assert result.confidence.dtype == np.float32 and result.confidence.shape == (count,)
    assert result.polygons.dtype == np.float32 and result.polygons.shape == (count, 4, 2)
    assert (result.confidence > 0.9).all()
    height, width = image.shape[:2]
    assert (result.polygons[..., 0] >= -1).all() and (result.polygons[..., 0] <= width + 1).all()
    assert (result.polygons[..., 1] >= -1).all() and (result.polygons[..., 1] <= height + 1).all()


def test_polygons_are_in_the_image_pixels(model: RapidOcrModel) -> None:
    image = np.full((300, 800, 3), 255, dtype=np.uint8)
    cv2.putText(image, "STOP", (500, 250), cv2.FONT_HERSHEY_SIMPLEX, 2.0, (0, 0, 0), 5)
    (result,) = model.infer([image])
    assert isinstance(result, TextLines) and result.texts == ["STOP"]
    x0, y0 = result.polygons[0].min(axis=0)
    x1, y1 = result.polygons[0].max(axis=0)
    assert 470 < x0 < 510 and 650 < x1 < 680 and 180 < y0 < 215 and 245 < y1 < 275


@pytest.mark.parametrize(
    "convert",
    [
        lambda image: cv2.cvtColor(image, cv2.COLOR_BGR2GRAY),
        lambda image: cv2.cvtColor(image, cv2.COLOR_BGR2BGRA),
        lambda image: image[:0],
    ],
    ids=["grey", "bgra", "empty"],
)
def test_other_image_layouts(model: RapidOcrModel, convert) -> None:  # type: ignore[no-untyped-def]
    image = convert(rendered(["OK 7"]))
    (result,) = model.infer([image])
    assert isinstance(result, TextLines)
    assert " ".join(result.texts) == ("" if image.size == 0 else "OK 7")


def test_a_batch_from_several_threads_shares_one_engine(model: RapidOcrModel) -> None:
    words = ["ALPHA", "BRAVO", "CHARLIE", "DELTA"]
    results: dict[str, list[str]] = {}

    def read(word: str) -> None:
        (result,) = RapidOcrModel(Path("unused")).infer([rendered([word])])
        assert isinstance(result, TextLines)
        results[word] = result.texts

    threads = [threading.Thread(target=read, args=(word,)) for word in words]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results == {word: [word] for word in words}
    batch = model.infer([rendered([w]) for w in words])
    assert [r.texts for r in batch if isinstance(r, TextLines)] == [[w] for w in words]
