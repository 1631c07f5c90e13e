"""OCR with PP-OCR through ``rapidocr``: text lines with their polygons and confidences.

The built-in model ``pp-ocr`` runs the ONNX files shipped in the ``rapidocr`` wheel
(PP-OCRv6 small detection and recognition, the PP-OCR mobile text-direction classifier). Their
paths are passed explicitly, so rapidocr never looks for, nor downloads, anything else.

Detection runs at the image's own resolution (rapidocr would scale the short side up to 736
pixels, ten times slower on the crops and text lines workflows usually read).

One engine serves the whole process: it is created on first use and shared by every
``RapidOcrModel``. ``RapidOCR.__call__`` stores per-call settings on the engine itself, so calls
are serialised with a lock (the ONNX sessions inside are the expensive part and are loaded once).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from visionflow.errors import ModelError
from visionflow.models.base import (
    ClassificationParams,
    DetectionParams,
    ModelInfo,
    ModelTask,
    Prediction,
    TextLines,
)

OCR_MODEL_ID = "pp-ocr"
#: files of the rapidocr 3.10 wheel, under ``rapidocr/models``
_DET_FILE = "PP-OCRv6_det_small.onnx"
_CLS_FILE = "ch_ppocr_mobile_v2.0_cls_mobile.onnx"
_REC_FILE = "PP-OCRv6_rec_small.onnx"

_engine: Any = None
_engine_lock = threading.Lock()  # creating the engine
_call_lock = threading.Lock()  # running it


def rapidocr_model_files() -> dict[str, Path]:
    """The detection, direction and recognition ONNX files shipped in the rapidocr wheel."""
    import importlib.util

    spec = importlib.util.find_spec("rapidocr")
    if spec is None or spec.origin is None:
        raise ModelError(
            "OCR needs the 'rapidocr' package (3.10), which is not installed; "
            "install it with `pip install rapidocr==3.10.0`",
            code="model.load_failed",
            loc=OCR_MODEL_ID,
        )
    folder = Path(spec.origin).parent / "models"
    files = {"det": folder / _DET_FILE, "cls": folder / _CLS_FILE, "rec": folder / _REC_FILE}
    missing = [str(path) for path in files.values() if not path.is_file()]
    if missing:
        raise ModelError(
            f"the rapidocr wheel lacks its OCR models ({', '.join(missing)}); visionflow needs "
            "rapidocr 3.10.0, which ships them: `pip install --force-reinstall rapidocr==3.10.0`",
            code="model.load_failed",
            loc=OCR_MODEL_ID,
        )
    return files


def _shared_engine() -> Any:
    global _engine
    with _engine_lock:
        if _engine is None:
            from rapidocr import RapidOCR

            files = rapidocr_model_files()
            _engine = RapidOCR(
                params={
                    "Det.model_path": str(files["det"]),
                    "Cls.model_path": str(files["cls"]),
                    "Rec.model_path": str(files["rec"]),
                    "Global.log_level": "error",
                    # detect at the image's own resolution (short side at least 64, long side at
                    # most Global.max_side_len 2000), as PaddleOCR 3 does; rapidocr's default
                    # scales the short side up to 736, which costs ~10x on crops and text lines
                    "Det.limit_side_len": 64,
                }
            )
            # rapidocr loads each session when a call first needs it; read one word now so
            # that loading the model (in the manager's loader threads) pays for all three
            _engine(_warm_up_image())
        return _engine


def _warm_up_image() -> np.ndarray:
    import cv2

    image = np.full((64, 160, 3), 255, dtype=np.uint8)
    cv2.putText(image, "OCR", (10, 48), cv2.FONT_HERSHEY_SIMPLEX, 1.5, (0, 0, 0), 3)
    return image


class RapidOcrModel:
    """``ModelAdapter`` for OCR: ``infer`` returns one ``TextLines`` per image."""

    def __init__(self, folder: Path | None = None, *, model_id: str = OCR_MODEL_ID) -> None:
        self._engine = _shared_engine()
        files = rapidocr_model_files()
        self.info = ModelInfo(
            model_id=model_id,
            task=ModelTask.OCR,
            input_size=None,
            max_batch_size=None,
            providers=("CPUExecutionProvider",),
            path=str(folder) if folder is not None else str(files["rec"].parent),
            extra={"engine": "rapidocr", "files": {k: str(v) for k, v in files.items()}},
        )

    def infer(
        self,
        images: Sequence[np.ndarray],
        params: DetectionParams | ClassificationParams | None = None,
    ) -> list[Prediction]:
        """Text lines of each BGR image (``params`` do not apply to OCR)."""
        return [self._read(_as_bgr(image)) for image in images]

    def describe(self) -> dict[str, Any]:
        return self.info.describe()

    def _read(self, image: np.ndarray) -> TextLines:
        if image.shape[0] == 0 or image.shape[1] == 0:
            return TextLines.empty()
        with _call_lock:
            result = self._engine(image)
        texts = getattr(result, "txts", None)
        boxes = getattr(result, "boxes", None)
        if not texts or boxes is None:
            return TextLines.empty()
        return TextLines(
            texts=[str(text) for text in texts],
            confidence=np.asarray(result.scores, dtype=np.float32).reshape(-1),
            polygons=np.asarray(boxes, dtype=np.float32).reshape(-1, 4, 2),
        )


def _as_bgr(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.ndim not in (2, 3):
        raise ModelError(
            f"OCR takes images as HxWx3 BGR arrays; got {getattr(image, 'shape', type(image))}",
            code="model.invalid_input",
            loc=OCR_MODEL_ID,
        )
    import cv2

    if image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    if image.ndim == 2 or image.shape[2] == 1:
        return np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR))
    if image.shape[2] == 4:
        return np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGRA2BGR))
    return np.ascontiguousarray(image)


__all__ = ["OCR_MODEL_ID", "RapidOcrModel", "rapidocr_model_files"]
