"""Stitch OCR detections: put detected words or characters back into reading order as text.

v1 groups boxes into lines by a pixel tolerance; v2 adds two groupings that need no tuning
(Otsu's threshold on the gaps between characters) or that follow skewed lines (collimate).

>>> import numpy as np
>>> from visionflow.data.image import Image
>>> from visionflow.data.detections import make_detections
>>> image = Image(np.zeros((100, 200, 3), dtype=np.uint8), parent_id="image")
>>> words = make_detections([[60, 5, 90, 15], [0, 5, 50, 15]], [0.9, 0.9], [0, 1],
...                         ["world", "hello"], image)
>>> stitch_detections(words, "left_to_right", delimiter=" ")
'hello world'
"""

from __future__ import annotations

from typing import Any, Literal, Union

import numpy as np
import supervision as sv
from pydantic import Field, field_validator

from visionflow.blocks.base import Batch, Block, BlockInfo, BlockManifest, DataSelector, Output
from visionflow.blocks.registry import register_block
from visionflow.blocks.transformations._ocr_grouping import (
    by_collimation,
    by_gaps,
    by_tolerance,
    detect_reading_direction,
)
from visionflow.data.detections import CLASS_NAME_KEY
from visionflow.spec.kinds import (
    FLOAT_KIND,
    INTEGER_KIND,
    OBJECT_DETECTION_PREDICTION_KIND,
    STRING_KIND,
)

ReadingDirection = Literal[
    "left_to_right",
    "right_to_left",
    "vertical_top_to_bottom",
    "vertical_bottom_to_top",
    "auto",
]

_PREDICTIONS_FIELD = Field(
    title="OCR Detections",
    description="Detections whose class names are the recognised texts (words or characters).",
    examples=["$steps.ocr_model.predictions"],
)
_READING_DIRECTION_FIELD = Field(
    title="Reading Direction",
    description=(
        "How the text is read: left_to_right, right_to_left, vertical_top_to_bottom, "
        "vertical_bottom_to_top, or auto (horizontal when boxes are wider than tall on "
        "average, else top to bottom)."
    ),
    examples=["left_to_right", "right_to_left", "auto"],
)
_TOLERANCE_DESCRIPTION = (
    "Boxes whose top edges (left edges for vertical text) round to the same multiple of this "
    "many pixels form one line. Must be greater than zero."
)
_DELIMITER_FIELD = Field(
    default="",
    title="Delimiter",
    description="Put between consecutive texts (empty: texts are joined directly).",
    examples=["", " ", ","],
)


def _positive_tolerance(value: Any) -> Any:
    if isinstance(value, int) and value <= 0:
        raise ValueError("`tolerance` must be greater than zero")
    return value


class StitchOCRDetectionsV1Manifest(BlockManifest):
    type: Literal["roboflow_core/stitch_ocr_detections@v1"]
    predictions: DataSelector(OBJECT_DETECTION_PREDICTION_KIND) = _PREDICTIONS_FIELD
    reading_direction: ReadingDirection = _READING_DIRECTION_FIELD
    tolerance: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=10, title="Tolerance", description=_TOLERANCE_DESCRIPTION, examples=[10, 20]
    )
    delimiter: Union[str, DataSelector(STRING_KIND)] = _DELIMITER_FIELD

    _check_tolerance = field_validator("tolerance")(_positive_tolerance)

    block_info = BlockInfo(
        name="Stitch OCR Detections",
        short="Join OCR detections into text, line by line in reading order.",
        category="transformation",
    )
    outputs = (Output("ocr_text", STRING_KIND),)
    batch_fields = ("predictions",)


@register_block
class StitchOCRDetectionsV1Block(Block):
    """One ``ocr_text`` string per set of detections."""

    manifest = StitchOCRDetectionsV1Manifest

    def run(
        self,
        predictions: Batch[sv.Detections],
        reading_direction: str,
        tolerance: int,
        delimiter: str,
    ) -> list[dict[str, Any]]:
        return [
            {"ocr_text": stitch_detections(d, reading_direction, tolerance, delimiter)}
            for d in predictions
        ]


class StitchOCRDetectionsV2Manifest(BlockManifest):
    type: Literal["roboflow_core/stitch_ocr_detections@v2"]
    stitching_algorithm: Literal["tolerance", "otsu", "collimate"] = Field(
        title="Stitching Algorithm",
        description=(
            "tolerance: lines by a fixed pixel tolerance (v1); otsu: words split where the gap "
            "between characters, relative to their size, is unusually wide (no tuning, any "
            "resolution); collimate: lines followed from box to box (skewed or curved text)."
        ),
        examples=["tolerance", "otsu", "collimate"],
    )
    predictions: DataSelector(OBJECT_DETECTION_PREDICTION_KIND) = _PREDICTIONS_FIELD
    reading_direction: ReadingDirection = _READING_DIRECTION_FIELD
    tolerance: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=10,
        title="Tolerance",
        description=f"With 'tolerance': {_TOLERANCE_DESCRIPTION}",
        examples=[10, 20],
    )
    delimiter: Union[str, DataSelector(STRING_KIND)] = _DELIMITER_FIELD
    otsu_threshold_multiplier: Union[float, DataSelector(FLOAT_KIND)] = Field(
        default=1.0,
        title="Otsu Threshold Multiplier",
        description=(
            "With 'otsu': scales the word-gap threshold (above 1: fewer word breaks, below 1: "
            "more)."
        ),
        examples=[1.0, 1.3, 0.8],
    )
    collimate_tolerance: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=10,
        title="Collimate Tolerance",
        description=(
            "With 'collimate': how far in pixels (beyond half a box) the next box of a line may "
            "sit off the line."
        ),
        examples=[5, 10, 20],
    )

    _check_tolerance = field_validator("tolerance")(_positive_tolerance)

    block_info = BlockInfo(
        name="Stitch OCR Detections",
        short="Join OCR detections into text, with a choice of line and word grouping.",
        category="transformation",
    )
    outputs = (Output("ocr_text", STRING_KIND),)
    batch_fields = ("predictions",)


@register_block
class StitchOCRDetectionsV2Block(Block):
    """One ``ocr_text`` string per set of detections."""

    manifest = StitchOCRDetectionsV2Manifest

    def run(
        self,
        predictions: Batch[sv.Detections],
        stitching_algorithm: str,
        reading_direction: str,
        tolerance: int,
        delimiter: str,
        otsu_threshold_multiplier: float,
        collimate_tolerance: int,
    ) -> list[dict[str, Any]]:
        return [
            {
                "ocr_text": stitch_detections(
                    detections,
                    reading_direction,
                    tolerance,
                    delimiter,
                    algorithm=stitching_algorithm,
                    otsu_threshold_multiplier=otsu_threshold_multiplier,
                    collimate_tolerance=collimate_tolerance,
                )
            }
            for detections in predictions
        ]


def stitch_detections(
    detections: sv.Detections,
    reading_direction: str,
    tolerance: int = 10,
    delimiter: str = "",
    *,
    algorithm: str = "tolerance",
    otsu_threshold_multiplier: float = 1.0,
    collimate_tolerance: int = 10,
) -> str:
    """The text of ``detections`` (their class names) in reading order; "" when empty."""
    if len(detections) == 0:
        return ""
    names = detections.data.get(CLASS_NAME_KEY)
    if names is None:
        raise ValueError(
            f"the detections have no '{CLASS_NAME_KEY}' column holding the recognised texts; "
            "connect the predictions of an OCR model"
        )
    texts = [str(name) for name in names]
    xyxy = np.asarray(detections.xyxy, dtype=float)
    if reading_direction == "auto":
        reading_direction = detect_reading_direction(xyxy)
    if algorithm == "otsu":
        return by_gaps(xyxy, texts, reading_direction, delimiter, otsu_threshold_multiplier)
    if algorithm == "collimate":
        return by_collimation(xyxy, texts, reading_direction, delimiter, collimate_tolerance)
    return by_tolerance(xyxy, texts, reading_direction, tolerance, delimiter)


__all__ = [
    "StitchOCRDetectionsV1Block",
    "StitchOCRDetectionsV1Manifest",
    "StitchOCRDetectionsV2Block",
    "StitchOCRDetectionsV2Manifest",
    "stitch_detections",
]
