"""Classification predictions: plain dicts already in the wire format of the reference.

Single-label (``multi_label=False``)::

    {"inference_id"?, "image": {"width", "height"},
     "predictions": [{"class", "class_id", "confidence"}, ...],   # sorted, best first
     "top": str, "confidence": float,
     "prediction_type": "classification", "parent_id", "root_parent_id"}

Multi-label: ``predictions`` is a dict ``{class: {"confidence", "class_id"}}`` and
``predicted_classes`` lists the classes at or above the threshold; no ``top``/``confidence``.

>>> import numpy as np
>>> from visionflow.data.image import Image
>>> image = Image(np.zeros((4, 6, 3), dtype=np.uint8), parent_id="image")
>>> result = make_classification([0.2, 0.8], ["cat", "dog"], image)
>>> result["top"], result["confidence"], result["image"]
('dog', 0.8, {'width': 6, 'height': 4})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from visionflow.data.image import Image

CLASSIFICATION_PREDICTION_TYPE = "classification"
#: Default cut-off for ``predicted_classes`` of multi-label classifiers (the reference's 0.4).
DEFAULT_MULTI_LABEL_THRESHOLD = 0.4


def make_classification(
    confidences: Sequence[float] | Any,
    class_names: Sequence[str] | Mapping[int, str],
    image: Image,
    *,
    multi_label: bool = False,
    confidence_threshold: float | None = None,
    inference_id: str | None = None,
) -> dict[str, Any]:
    """Build a classification prediction for ``image`` from one score per class.

    Single-label keeps classes at or above ``confidence_threshold`` (all when None), rounded
    to 4 digits and sorted best first, like the reference's model blocks.
    """
    scores = [float(score) for score in _flat(confidences)]
    height, width = image.numpy_image.shape[:2]
    result: dict[str, Any] = {}
    if inference_id is not None:
        result["inference_id"] = inference_id
    result["image"] = {"width": int(width), "height": int(height)}
    if multi_label:
        threshold = (
            DEFAULT_MULTI_LABEL_THRESHOLD if confidence_threshold is None else confidence_threshold
        )
        result["predictions"] = {
            _name(class_names, class_id): {"confidence": score, "class_id": class_id}
            for class_id, score in enumerate(scores)
        }
        result["predicted_classes"] = [
            _name(class_names, class_id)
            for class_id, score in enumerate(scores)
            if score >= threshold
        ]
    else:
        predictions: list[dict[str, Any]] = [
            {
                "class": _name(class_names, class_id),
                "class_id": class_id,
                "confidence": round(score, 4),
            }
            for class_id, score in enumerate(scores)
            if confidence_threshold is None or score >= confidence_threshold
        ]
        predictions.sort(key=lambda item: item["confidence"], reverse=True)
        result["predictions"] = predictions
        result["top"] = predictions[0]["class"] if predictions else ""
        result["confidence"] = predictions[0]["confidence"] if predictions else 0.0
    result["prediction_type"] = CLASSIFICATION_PREDICTION_TYPE
    result["parent_id"] = image.parent_id
    result["root_parent_id"] = image.root_id
    return result


def _flat(values: Any) -> list[Any]:
    if hasattr(values, "reshape"):
        return list(values.reshape(-1))
    return list(values)


def _name(class_names: Sequence[str] | Mapping[int, str], class_id: int) -> str:
    if isinstance(class_names, Mapping):
        return str(class_names.get(class_id, class_id))
    return str(class_names[class_id]) if class_id < len(class_names) else str(class_id)


def is_classification(value: Any) -> bool:
    """True for a dict shaped like a classification prediction."""
    return (
        isinstance(value, dict)
        and "predictions" in value
        and ("top" in value or "predicted_classes" in value)
    )


__all__ = [
    "CLASSIFICATION_PREDICTION_TYPE",
    "DEFAULT_MULTI_LABEL_THRESHOLD",
    "is_classification",
    "make_classification",
]
