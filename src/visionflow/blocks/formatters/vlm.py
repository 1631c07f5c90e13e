"""Turn the text answer of a VLM / LLM into predictions: ``vlm_as_classifier`` (v1, v2) and
``vlm_as_detector`` (v1, v2). Pure parsers: no model is called.

An answer that cannot be read gives ``error_status: true`` and ``predictions: null`` rather
than failing the workflow, as in the reference.

>>> import numpy as np
>>> from visionflow.data.image import Image
>>> image = Image(np.zeros((100, 200, 3), dtype=np.uint8), parent_id="image")
>>> result = classify_from_vlm(image, '{"class_name": "dog", "confidence": 0.9}', ["cat", "dog"])
>>> result["error_status"], result["predictions"]["top"]
(False, 'dog')
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any, ClassVar, Literal, Optional, Union

import numpy as np
import supervision as sv
from pydantic import Field, model_validator

from visionflow.blocks.base import Block, BlockInfo, BlockManifest, DataSelector, Output
from visionflow.blocks.formatters import _vlm_parsing as vp
from visionflow.blocks.registry import register_block
from visionflow.data.detections import CLASS_NAME_KEY, attach_image_metadata, make_detections
from visionflow.data.image import Image
from visionflow.spec.kinds import (
    BOOLEAN_KIND,
    CLASSIFICATION_PREDICTION_KIND,
    IMAGE_KIND,
    INFERENCE_ID_KIND,
    LANGUAGE_MODEL_OUTPUT_KIND,
    LIST_OF_VALUES_KIND,
    OBJECT_DETECTION_PREDICTION_KIND,
    STRING_KIND,
)

logger = logging.getLogger(__name__)


def _failed(inference_id: str) -> dict[str, Any]:
    return {"error_status": True, "predictions": None, "inference_id": inference_id}


def _class_index(classes: list[str]) -> dict[str, int]:
    return {name: index for index, name in enumerate(classes)}


# ---------------------------------------------------------------------------------------------
# Classification
# ---------------------------------------------------------------------------------------------
def _single_label(image: Image, answer: dict[str, Any], classes: list[str]) -> dict[str, Any]:
    top = answer["class_name"]
    confidence = vp.clamp_confidence(answer["confidence"])
    predictions = (
        []
        if top in _class_index(classes)
        else [{"class": top, "class_id": -1, "confidence": confidence}]
    )
    predictions += [
        {"class": name, "class_id": class_id, "confidence": confidence if name == top else 0.0}
        for name, class_id in _class_index(classes).items()
    ]
    return {"predictions": predictions, "top": top, "confidence": confidence}


def _multi_label(image: Image, answer: dict[str, Any], classes: list[str]) -> dict[str, Any]:
    class_ids = _class_index(classes)
    confidences: dict[str, float] = {}
    for entry in answer["predicted_classes"]:
        name = entry["class"]
        class_ids.setdefault(name, -1)
        confidence = vp.clamp_confidence(entry["confidence"])
        confidences[name] = max(confidences.get(name, confidence), confidence)
    return {
        "predictions": {
            name: {"confidence": confidences.get(name, 0.0), "class_id": class_id}
            for name, class_id in class_ids.items()
        },
        "predicted_classes": list(confidences),
    }


def classify_from_vlm(
    image: Image, vlm_output: Any, classes: list[str], inference_id: str | None = None
) -> dict[str, Any]:
    """The outputs of ``vlm_as_classifier`` for one answer.

    ``{"class_name", "confidence"}`` gives a single-label prediction (with every class of
    ``classes``), ``{"predicted_classes": [{"class", "confidence"}...]}`` (or a bare list of
    such entries) a multi-label one; an unknown class gets ``class_id`` -1.
    """
    inference_id = inference_id or str(uuid.uuid4())
    error, payload = vp.extract_json_payload(vlm_output)
    answer = None if error else vp.coerce_classification_payload(payload)
    if answer is None:
        return _failed(inference_id)
    if "class_name" in answer and "confidence" in answer:
        parse = _single_label
    elif "predicted_classes" in answer:
        parse = _multi_label
    else:
        return _failed(inference_id)
    try:
        body = parse(image, answer, classes)
    except Exception as error:  # a malformed answer is reported, not raised (as the reference)
        logger.warning("vlm_as_classifier: unusable answer (%s: %s)", type(error).__name__, error)
        return _failed(inference_id)
    height, width = image.numpy_image.shape[:2]
    prediction = {
        "image": {"width": width, "height": height},
        **body,
        "inference_id": inference_id,
        "parent_id": image.parent_id,
    }
    return {"error_status": False, "predictions": prediction, "inference_id": inference_id}


_CLASSES_DESCRIPTION = "Class names the model chose from, in order (class id = position)."


class VLMAsClassifierManifest(BlockManifest):
    type: Literal["roboflow_core/vlm_as_classifier@v1"]
    image: DataSelector(IMAGE_KIND) = Field(
        description="The image the VLM saw (its size and id go into the prediction).",
        examples=["$inputs.image", "$steps.cropping.crops"],
    )
    vlm_output: DataSelector(LANGUAGE_MODEL_OUTPUT_KIND) = Field(
        title="VLM Output",
        description=(
            'The answer: JSON such as {"class_name": "dog", "confidence": 0.9} or '
            '{"predicted_classes": [{"class": "dog", "confidence": 0.9}]}, possibly in a '
            "```json block."
        ),
        examples=["$steps.lmm.output"],
    )
    classes: Union[DataSelector(LIST_OF_VALUES_KIND), list[str]] = Field(
        description=_CLASSES_DESCRIPTION,
        examples=[["dog", "cat", "bird"], "$inputs.classes"],
    )

    block_info = BlockInfo(
        name="VLM As Classifier",
        short="Read a VLM's answer as a classification prediction.",
        category="formatter",
    )
    outputs = (
        Output("error_status", BOOLEAN_KIND),
        Output("predictions", CLASSIFICATION_PREDICTION_KIND),
        Output("inference_id", STRING_KIND),
    )


@register_block
class VLMAsClassifierBlock(Block):
    """``predictions`` = the classification in the answer; ``error_status`` when unreadable."""

    manifest: ClassVar[type[BlockManifest]] = VLMAsClassifierManifest

    def run(self, image: Image, vlm_output: Any, classes: list[str]) -> dict[str, Any]:
        return classify_from_vlm(image, vlm_output, classes)


class VLMAsClassifierV2Manifest(VLMAsClassifierManifest):
    type: Literal["roboflow_core/vlm_as_classifier@v2"]  # type: ignore[assignment]

    outputs = (
        Output("error_status", BOOLEAN_KIND),
        Output("predictions", CLASSIFICATION_PREDICTION_KIND),
        Output("inference_id", INFERENCE_ID_KIND),
    )


@register_block
class VLMAsClassifierV2Block(VLMAsClassifierBlock):
    """As v1; ``inference_id`` has the kind ``inference_id``."""

    manifest = VLMAsClassifierV2Manifest


# ---------------------------------------------------------------------------------------------
# Detection
# ---------------------------------------------------------------------------------------------
Boxes = list[tuple[list[float], str, float]]  # (xyxy in pixels, label, confidence) per box
DetectionParser = Callable[[Image, Any, Optional[list[str]], str], sv.Detections]


def _to_detections(
    image: Image, boxes: Boxes, classes: list[str], inference_id: str
) -> sv.Detections:
    class_ids = _class_index(classes)
    xyxy = np.array([box for box, _, _ in boxes], dtype=float).reshape(-1, 4).round(0)
    labels = [label for _, label, _ in boxes]
    return make_detections(
        xyxy,
        [confidence for _, _, confidence in boxes],
        [class_ids.get(label, -1) for label in labels],
        None,
        image,
        data={CLASS_NAME_KEY: np.array(labels, dtype=str)},
        inference_id=inference_id,
    )


def _boxes_of(
    entries: list[Any],
    image: Image,
    box: Callable[[dict[str, Any], int, int], list[float]],
    label_keys: tuple[str, ...] = vp.GEMINI_LABEL_KEYS,
) -> Boxes:
    height, width = image.numpy_image.shape[:2]
    return [
        (
            box(entry, width, height),
            vp.class_label(entry, label_keys),
            vp.clamp_confidence(entry.get("confidence", 1.0)),
        )
        for entry in entries
    ]


def _parse_with(
    box: Callable[[dict[str, Any], int, int], list[float]], family: str, *, list_only: bool
) -> DetectionParser:
    """A parser for answers listing entries with one box convention."""

    def parse(
        image: Image, payload: Any, classes: Optional[list[str]], inference_id: str
    ) -> sv.Detections:
        if list_only and not isinstance(payload, list):
            raise ValueError(f"unexpected {family} object-detection answer: expected a list")
        entries = vp.detection_entries(payload, family)
        return _to_detections(image, _boxes_of(entries, image, box), classes or [], inference_id)

    return parse


parse_gemini = _parse_with(vp.gemini_box, "Gemini", list_only=False)
parse_spacexai = _parse_with(vp.spacexai_box, "SpaceXAI", list_only=False)
_parse_openai_pixels = _parse_with(vp.openai_box, "OpenAI", list_only=True)
_parse_anthropic_pixels = _parse_with(vp.anthropic_box, "Anthropic Claude", list_only=True)


def _parse_normalized(
    image: Image, payload: Any, classes: Optional[list[str]], inference_id: str
) -> sv.Detections:
    """``{"detections": [{"x_min"... in 0-1, "class_name", "confidence"?}]}`` (older prompts)."""
    height, width = image.numpy_image.shape[:2]
    boxes: Boxes = [
        (
            vp.normalized_box(entry, width, height),
            entry["class_name"],
            vp.clamp_confidence(entry.get("confidence", 1.0)),
        )
        for entry in payload["detections"]
    ]
    return _to_detections(image, boxes, classes or [], inference_id)


def _by_answer_shape(pixels: DetectionParser) -> DetectionParser:
    """Older prompts answer 0-1 fields under ``detections``, newer ones ``box_2d`` in pixels."""

    def parse(
        image: Image, payload: Any, classes: Optional[list[str]], inference_id: str
    ) -> sv.Detections:
        if isinstance(payload, dict) and "detections" in payload:
            entries = payload["detections"]
            if (
                entries
                and isinstance(entries, list)
                and isinstance(entries[0], dict)
                and ("box_2d" in entries[0])
            ):
                return pixels(image, entries, classes, inference_id)
            return _parse_normalized(image, payload, classes, inference_id)
        return pixels(image, payload, classes, inference_id)

    return parse


def parse_qwen(
    image: Image, payload: Any, classes: Optional[list[str]], inference_id: str
) -> sv.Detections:
    """``box_2d`` / ``bbox_2d`` in 0-1000; entries without a usable box are skipped."""
    height, width = image.numpy_image.shape[:2]
    boxes: Boxes = []
    for entry in vp.qwen_entries(payload):
        box = vp.qwen_box(entry) if isinstance(entry, dict) else None
        if box is not None:
            label = vp.class_label(entry, vp.QWEN_LABEL_KEYS)
            boxes.append((vp.per_mille_box(box, width, height), label, 1.0))
    return _to_detections(image, boxes, classes or [], inference_id)


def parse_muse(
    image: Image, payload: Any, classes: Optional[list[str]], inference_id: str
) -> sv.Detections:
    """``x_min``... in 0-1000 and ``label``; entries without a usable box are skipped."""
    height, width = image.numpy_image.shape[:2]
    boxes: Boxes = []
    for entry in vp.muse_entries(payload):
        box = vp.muse_box(entry)
        if box is not None:
            label = str(entry.get("label") or "unknown")
            boxes.append((vp.per_mille_box(box, width, height), label, 1.0))
    return _to_detections(image, boxes, classes or [], inference_id)


def _md5_class_id(name: str) -> int:
    """A stable class id for a free-text label (the reference's choice)."""
    return int(hashlib.md5(name.encode("utf-8")).hexdigest()[:9], 16) % 10000


def parse_florence2(
    image: Image,
    payload: Any,
    classes: Optional[list[str]],
    inference_id: str,
    task: str,
) -> sv.Detections:
    """Florence-2's answer for ``task`` (e.g. ``<OD>``), read by supervision."""
    height, width = image.numpy_image.shape[:2]
    detections = sv.Detections.from_vlm(
        "florence_2", result={task: payload}, resolution_wh=(width, height)
    )
    count = len(detections)
    names = detections.data.get(CLASS_NAME_KEY)
    labels = list(names) if names is not None else ["unknown"] * count
    class_id: np.ndarray = np.zeros(count, dtype=int)
    if task == "<REGION_PROPOSAL>":
        detections.data[CLASS_NAME_KEY] = np.array(["roi"] * count)
    elif task in ("<OD>", "<CAPTION_TO_PHRASE_GROUNDING>"):
        known = set(names) if names is not None else set()
        class_id = np.array([_md5_class_id(n) if n in known else -1 for n in labels], dtype=int)
    elif task == "<OPEN_VOCABULARY_DETECTION>":
        if classes is None:
            raise ValueError("open-vocabulary detection needs `classes`")
        class_ids = _class_index(classes)
        class_id = np.array([class_ids.get(n, -1) for n in labels], dtype=int)
    detections.class_id = class_id
    detections.confidence = np.ones(count)
    return attach_image_metadata(detections, image, "object-detection", inference_id)


_FLORENCE_TASKS = {
    "object-detection": "<OD>",
    "open-vocabulary-object-detection": "<OPEN_VOCABULARY_DETECTION>",
    "object-detection-and-caption": "<DENSE_REGION_CAPTION>",
    "phrase-grounded-object-detection": "<CAPTION_TO_PHRASE_GROUNDING>",
    "region-proposal": "<REGION_PROPOSAL>",
    "ocr-with-text-detection": "<OCR_WITH_REGION>",
}
_FLORENCE_PARSERS: dict[tuple[str, str], DetectionParser] = {
    ("florence-2", task_type): partial(parse_florence2, task=task)
    for task_type, task in _FLORENCE_TASKS.items()
}

PARSERS_V1: dict[tuple[str, str], DetectionParser] = {
    ("google-gemini", "object-detection"): parse_gemini,
    ("anthropic-claude", "object-detection"): parse_gemini,
    **_FLORENCE_PARSERS,
}
PARSERS_V2: dict[tuple[str, str], DetectionParser] = {
    ("openai", "object-detection"): _by_answer_shape(_parse_openai_pixels),
    ("google-gemini", "object-detection"): parse_gemini,
    ("anthropic-claude", "object-detection"): _by_answer_shape(_parse_anthropic_pixels),
    ("spacexai", "object-detection"): parse_spacexai,
    ("qwen", "object-detection"): parse_qwen,
    ("muse", "object-detection"): parse_muse,
    # both GLM models answer 0-1000 boxes the Qwen parser reads
    ("zai", "object-detection"): parse_qwen,
    ("zai-flash", "object-detection"): parse_qwen,
    **_FLORENCE_PARSERS,
}


def detect_from_vlm(
    image: Image,
    vlm_output: Any,
    classes: Optional[list[str]],
    model_type: str,
    task_type: str,
    parsers: dict[tuple[str, str], DetectionParser] = PARSERS_V2,
    inference_id: str | None = None,
) -> dict[str, Any]:
    """The outputs of ``vlm_as_detector`` for one answer."""
    inference_id = inference_id or str(uuid.uuid4())
    error, payload = vp.extract_json_payload(vlm_output)
    if error and model_type == "muse":  # Muse may list objects without brackets
        loose = vp.extract_flat_object_entries(vlm_output)
        if loose:
            error, payload = False, loose
    if error:
        return _failed(inference_id)
    try:
        predictions = parsers[(model_type, task_type)](image, payload, classes, inference_id)
    except Exception as failure:  # a malformed answer is reported, not raised (as the reference)
        logger.warning(
            "vlm_as_detector: unusable %s answer for %s (%s: %s)",
            model_type,
            task_type,
            type(failure).__name__,
            failure,
        )
        return _failed(inference_id)
    return {"error_status": False, "predictions": predictions, "inference_id": inference_id}


ModelTypeV2 = Literal[
    "openai",
    "google-gemini",
    "anthropic-claude",
    "spacexai",
    "qwen",
    "muse",
    "zai",
    "zai-flash",
    "florence-2",
]
TaskType = Literal[
    "object-detection",
    "object-detection-and-caption",
    "open-vocabulary-object-detection",
    "phrase-grounded-object-detection",
    "region-proposal",
    "ocr-with-text-detection",
]


class VLMAsDetectorManifest(BlockManifest):
    type: Literal["roboflow_core/vlm_as_detector@v1"]
    image: DataSelector(IMAGE_KIND) = Field(
        description="The image the VLM saw (boxes are scaled to its size).",
        examples=["$inputs.image", "$steps.cropping.crops"],
    )
    vlm_output: DataSelector(LANGUAGE_MODEL_OUTPUT_KIND) = Field(
        title="VLM Output",
        description="The answer with the boxes, as JSON (possibly in a ```json block).",
        examples=["$steps.lmm.output"],
    )
    # required, as in the reference, but may be null for florence-2
    classes: Optional[Union[DataSelector(LIST_OF_VALUES_KIND), list[str]]] = Field(
        description=_CLASSES_DESCRIPTION + " May be null for florence-2 only.",
        examples=[["dog", "cat", "bird"], "$inputs.classes"],
    )
    model_type: Literal["google-gemini", "anthropic-claude", "florence-2"] = Field(
        description="The model family that answered (decides how boxes are read).",
        examples=["google-gemini", "florence-2"],
    )
    task_type: TaskType = Field(
        description="The task the model performed.",
        examples=["object-detection"],
    )

    @model_validator(mode="after")
    def _check_model_and_task(self) -> VLMAsDetectorManifest:
        _check_detector_fields(self.model_type, self.task_type, self.classes, PARSERS_V1)
        return self

    block_info = BlockInfo(
        name="VLM As Detector",
        short="Read a VLM's answer as object-detection predictions.",
        category="formatter",
    )
    outputs = (
        Output("error_status", BOOLEAN_KIND),
        Output("predictions", OBJECT_DETECTION_PREDICTION_KIND),
        Output("inference_id", STRING_KIND),
    )


def _check_detector_fields(
    model_type: str,
    task_type: str,
    classes: Any,
    parsers: dict[tuple[str, str], DetectionParser],
) -> None:
    if (model_type, task_type) not in parsers:
        supported = sorted(task for model, task in parsers if model == model_type)
        raise ValueError(
            f"model_type {model_type!r} does not support task_type {task_type!r}; "
            f"supported: {supported}"
        )
    if model_type != "florence-2" and classes is None:
        raise ValueError(f"`classes` is required for model_type {model_type!r}")


@register_block
class VLMAsDetectorBlock(Block):
    """``predictions`` = the boxes of the answer; ``error_status`` when unreadable."""

    manifest: ClassVar[type[BlockManifest]] = VLMAsDetectorManifest
    parsers = PARSERS_V1

    def run(
        self,
        image: Image,
        vlm_output: Any,
        classes: Optional[list[str]],
        model_type: str,
        task_type: str,
    ) -> dict[str, Any]:
        return detect_from_vlm(image, vlm_output, classes, model_type, task_type, self.parsers)


class VLMAsDetectorV2Manifest(VLMAsDetectorManifest):
    type: Literal["roboflow_core/vlm_as_detector@v2"]  # type: ignore[assignment]
    model_type: ModelTypeV2 = Field(  # type: ignore[assignment]
        description="The model family that answered (decides how boxes are read).",
        examples=["openai", "google-gemini", "qwen", "florence-2"],
    )

    @model_validator(mode="after")
    def _check_model_and_task(self) -> VLMAsDetectorV2Manifest:
        _check_detector_fields(self.model_type, self.task_type, self.classes, PARSERS_V2)
        return self

    outputs = (
        Output("error_status", BOOLEAN_KIND),
        Output("predictions", OBJECT_DETECTION_PREDICTION_KIND),
        Output("inference_id", INFERENCE_ID_KIND),
    )


@register_block
class VLMAsDetectorV2Block(VLMAsDetectorBlock):
    """As v1, with more model families (OpenAI, Qwen, Muse, GLM, SpaceXAI...)."""

    manifest = VLMAsDetectorV2Manifest
    parsers = PARSERS_V2


__all__ = [
    "PARSERS_V1",
    "PARSERS_V2",
    "VLMAsClassifierBlock",
    "VLMAsClassifierManifest",
    "VLMAsClassifierV2Block",
    "VLMAsClassifierV2Manifest",
    "VLMAsDetectorBlock",
    "VLMAsDetectorManifest",
    "VLMAsDetectorV2Block",
    "VLMAsDetectorV2Manifest",
    "classify_from_vlm",
    "detect_from_vlm",
]
