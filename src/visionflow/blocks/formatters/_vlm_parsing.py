"""Reading VLM / LLM answers: lenient JSON extraction and the box conventions of each model
family (the coordinate systems the reference's VLM blocks ask their models for).

>>> extract_json_payload('Sure! ```json\\n{"class_name": "dog"}\\n```')
(False, {'class_name': 'dog'})
>>> extract_json_payload('{"a": 1}, {"b": 2}')
(False, [{'a': 1}, {'b': 2}])
>>> extract_json_payload("no json here")
(True, {})
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any, Optional, Union

JsonPayload = Union[dict[str, Any], list[Any]]

_JSON_FENCE = re.compile(r"```json([\s\S]*?)```", flags=re.IGNORECASE)
_ANY_FENCE = re.compile(r"```[a-zA-Z0-9_+-]*[ \t]*\r?\n?([\s\S]*?)```")
_FENCE_LINE = re.compile(r"^[ \t]*```[a-zA-Z0-9_+-]*[ \t]*$", flags=re.MULTILINE)
_SEPARATOR = re.compile(r"^[\s,]*$")
_SEQUENCE_TAIL = re.compile(r"^[\s,]*\]?[\s,]*$")
CLASS_LABEL_KEYS = ("class", "class_name", "label")
NAMED_BOX_FIELDS = ("x_min", "y_min", "x_max", "y_max")


# ---------------------------------------------------------------------------------------------
# JSON extraction
# ---------------------------------------------------------------------------------------------
def extract_json_payload(raw: Any) -> tuple[bool, JsonPayload]:
    """(error, payload): the first JSON object or array found in a model's answer.

    Tried in order: the first ```json block, the first fenced block of any language, the
    whole text, the text without fence lines, a sequence of objects/arrays separated by
    commas or whitespace (JSON Lines; one stray trailing ``]`` is tolerated), and the
    outermost ``[...]`` then ``{...}`` span.
    """
    if not isinstance(raw, str):
        return True, {}
    for candidate in _candidates(raw):
        payload = _loads(candidate)
        if payload is not None:
            return False, payload
    unfenced = _FENCE_LINE.sub("", raw)
    sequence = _value_sequence(unfenced)
    if sequence is not None:
        return False, sequence
    for opening, closing in (("[", "]"), ("{", "}")):
        start, stop = unfenced.find(opening), unfenced.rfind(closing)
        if start != -1 and stop > start:
            payload = _loads(unfenced[start : stop + 1])
            if payload is not None:
                return False, payload
    return True, {}


def _candidates(raw: str) -> list[str]:
    found: list[str] = []
    json_blocks = _JSON_FENCE.findall(raw)
    if json_blocks:
        found.append(json_blocks[0])
    any_blocks = _ANY_FENCE.findall(raw)
    if any_blocks:
        found.append(any_blocks[0])
    found += [raw, _FENCE_LINE.sub("", raw)]
    return list(dict.fromkeys(found))


def _loads(text: str) -> Optional[JsonPayload]:
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, (dict, list)) else None


def _value_sequence(text: str) -> Optional[list[Any]]:
    # succeeds only when the whole text is values and separators, so garbage around
    # fragments never turns into an empty success
    decoder = json.JSONDecoder()
    entries: list[Any] = []
    found = 0
    index = 0
    while index < len(text):
        starts = [p for p in (text.find("{", index), text.find("[", index)) if p != -1]
        if not starts:
            break
        start = min(starts)
        if not _SEPARATOR.match(text[index:start]):
            return None
        try:
            value, index = decoder.raw_decode(text, start)
        except ValueError:
            return None
        if isinstance(value, dict):
            entries.append(value)
        elif isinstance(value, list):
            entries.extend(value)
        else:
            return None
        found += 1
    if not found or not _SEQUENCE_TAIL.match(text[index:]):
        return None
    return entries


def extract_flat_object_entries(text: Any) -> list[dict[str, Any]]:
    """Objects carrying all of ``x_min``... ``y_max`` found anywhere in non-JSON text."""
    if not isinstance(text, str):
        return []
    decoder = json.JSONDecoder()
    entries: list[dict[str, Any]] = []
    index = 0
    while (start := text.find("{", index)) != -1:
        try:
            entry, index = decoder.raw_decode(text, start)
        except ValueError:
            index = start + 1
            continue
        if isinstance(entry, dict) and all(field in entry for field in NAMED_BOX_FIELDS):
            entries.append(entry)
    return entries


def coerce_classification_payload(payload: JsonPayload) -> Optional[dict[str, Any]]:
    """A dict for the classifier; a bare list of labelled entries becomes multi-label."""
    if isinstance(payload, dict):
        return payload
    if not payload:
        return None
    entries = []
    for entry in payload:
        label = class_label(entry, CLASS_LABEL_KEYS, None) if isinstance(entry, dict) else None
        if label is None:
            return None
        entries.append({"class": label, "confidence": entry.get("confidence", 1.0)})
    return {"predicted_classes": entries}


# ---------------------------------------------------------------------------------------------
# Entries, labels, confidences
# ---------------------------------------------------------------------------------------------
GEMINI_LABEL_KEYS = ("class_name", "label", "class")
QWEN_LABEL_KEYS = ("label", "description", "class_name", "class")


def class_label(entry: dict[str, Any], keys: Sequence[str], default: Any = "unknown") -> Any:
    """The first non-null label under ``keys``, as a string."""
    for key in keys:
        value = entry.get(key)
        if value is not None:
            return str(value)
    return default


def clamp_confidence(value: Any) -> float:
    return min(max(float(value), 0.0), 1.0)


def detection_entries(payload: JsonPayload, family: str) -> list[Any]:
    """The list of detections: the payload itself or its ``detections`` member."""
    if isinstance(payload, list):
        return payload
    if "detections" in payload:
        return payload["detections"]  # type: ignore[no-any-return]
    raise ValueError(f"unexpected {family} object-detection answer: no list of detections")


def qwen_entries(payload: JsonPayload) -> list[Any]:
    """Qwen / GLM answers: a list, ``{"detections": [...]}`` or a single detection."""
    if isinstance(payload, list):
        return payload
    if isinstance(payload.get("detections"), list):
        return payload["detections"]  # type: ignore[no-any-return]
    if any(key in payload for key in ("box_2d", "bbox_2d")):
        return [payload]
    raise ValueError("unexpected Qwen object-detection answer")


def muse_entries(payload: JsonPayload) -> list[dict[str, Any]]:
    """Muse answers: a list, ``{"detections": [...]}`` or a single detection (dicts only)."""
    if isinstance(payload, list):
        return [entry for entry in payload if isinstance(entry, dict)]
    detections = payload.get("detections")
    if isinstance(detections, list):
        return [entry for entry in detections if isinstance(entry, dict)]
    if all(field in payload for field in NAMED_BOX_FIELDS):
        return [payload]
    raise ValueError("unexpected Muse object-detection answer")


# ---------------------------------------------------------------------------------------------
# Boxes -> pixels of the original image, [x_min, y_min, x_max, y_max]
# ---------------------------------------------------------------------------------------------
def normalized_box(entry: dict[str, Any], width: int, height: int) -> list[float]:
    """``x_min``... in 0-1 of the image."""
    return [
        entry["x_min"] * width,
        entry["y_min"] * height,
        entry["x_max"] * width,
        entry["y_max"] * height,
    ]


def gemini_box(entry: dict[str, Any], width: int, height: int) -> list[float]:
    """Gemini's native ``box_2d`` ([y_min, x_min, y_max, x_max] in 0-1000) or 0-1 fields."""
    if "box_2d" not in entry:
        return normalized_box(entry, width, height)
    y_min, x_min, y_max, x_max = entry["box_2d"]
    return [
        x_min / 1000 * width,
        y_min / 1000 * height,
        x_max / 1000 * width,
        y_max / 1000 * height,
    ]


def _clamped_scaled(
    box: Sequence[Any], box_width: float, box_height: float, width: int, height: int
) -> list[float]:
    """A box in a ``box_width`` x ``box_height`` frame, clamped to it, in image pixels."""
    x_min, y_min, x_max, y_max = box
    x_min, x_max = (min(max(float(v), 0.0), box_width) for v in (x_min, x_max))
    y_min, y_max = (min(max(float(v), 0.0), box_height) for v in (y_min, y_max))
    scale_x, scale_y = width / box_width, height / box_height
    return [x_min * scale_x, y_min * scale_y, x_max * scale_x, y_max * scale_y]


#: Longest edge of images the OpenAI blocks upload for detection.
OPENAI_DETECTION_MAX_EDGE = 2048


def scale_to_max_edge(width: int, height: int, max_edge: int) -> tuple[int, int]:
    """(width, height) shrunk (never grown) so the longest edge is at most ``max_edge``."""
    if max(width, height) <= max_edge:
        return width, height
    if width >= height:
        return max_edge, max(round(height * max_edge / width), 1)
    return max(round(width * max_edge / height), 1), max_edge


def openai_box(entry: dict[str, Any], width: int, height: int) -> list[float]:
    """``box_2d`` in pixels of the image as uploaded (longest edge at most 2048)."""
    up_w, up_h = scale_to_max_edge(width, height, OPENAI_DETECTION_MAX_EDGE)
    return _clamped_scaled(entry["box_2d"], up_w, up_h, width, height)


ANTHROPIC_MAX_EDGE = 2576
ANTHROPIC_MAX_IMAGE_TOKENS = 4784
ANTHROPIC_TILE = 28


def _anthropic_fits(width: int, height: int) -> bool:
    tile = ANTHROPIC_TILE
    return (
        math.ceil(width / tile) * tile <= ANTHROPIC_MAX_EDGE
        and math.ceil(height / tile) * tile <= ANTHROPIC_MAX_EDGE
        and math.ceil(width / tile) * math.ceil(height / tile) <= ANTHROPIC_MAX_IMAGE_TOKENS
    )


def anthropic_upload_size(width: int, height: int) -> tuple[int, int]:
    """The size Claude resizes an image to (never larger): the largest that fits its limits."""
    if _anthropic_fits(width, height):
        return width, height
    if height > width:
        resized_h, resized_w = anthropic_upload_size(height, width)
        return resized_w, resized_h
    aspect = width / height
    low, high = 1, width
    while low + 1 < high:  # binary search on the width
        middle = (low + high) // 2
        if _anthropic_fits(middle, max(round(middle / aspect), 1)):
            low = middle
        else:
            high = middle
    return low, max(round(low / aspect), 1)


def anthropic_box(entry: dict[str, Any], width: int, height: int) -> list[float]:
    """``box_2d`` in pixels of the image as Claude saw it."""
    up_w, up_h = anthropic_upload_size(width, height)
    return _clamped_scaled(entry["box_2d"], up_w, up_h, width, height)


def spacexai_box(entry: dict[str, Any], width: int, height: int) -> list[float]:
    """``box_2d`` in percent of the image (0-100), clamped."""
    x_min, y_min, x_max, y_max = (min(max(float(v), 0.0), 100.0) for v in entry["box_2d"])
    return [x_min / 100 * width, y_min / 100 * height, x_max / 100 * width, y_max / 100 * height]


def qwen_box(entry: dict[str, Any]) -> Optional[list[float]]:
    """``box_2d`` / ``bbox_2d`` (0-1000) when well formed: four plain numbers."""
    for key in ("box_2d", "bbox_2d"):
        box = entry.get(key)
        if (
            isinstance(box, list)
            and len(box) == 4
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in box)
        ):
            return [float(v) for v in box]
    return None


def muse_box(entry: dict[str, Any]) -> Optional[list[float]]:
    """``x_min``... (0-1000) when all four are finite plain numbers."""
    box = []
    for field in NAMED_BOX_FIELDS:
        value = entry.get(field)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return None
        if not math.isfinite(value):
            return None
        box.append(float(value))
    return box


def per_mille_box(box: Sequence[float], width: int, height: int) -> list[float]:
    """A 0-1000 box (clamped) in image pixels."""
    return _clamped_scaled(box, 1000.0, 1000.0, width, height)


__all__ = [
    "CLASS_LABEL_KEYS",
    "GEMINI_LABEL_KEYS",
    "QWEN_LABEL_KEYS",
    "anthropic_box",
    "anthropic_upload_size",
    "clamp_confidence",
    "class_label",
    "coerce_classification_payload",
    "detection_entries",
    "extract_flat_object_entries",
    "extract_json_payload",
    "gemini_box",
    "muse_box",
    "muse_entries",
    "normalized_box",
    "openai_box",
    "per_mille_box",
    "qwen_box",
    "qwen_entries",
    "scale_to_max_edge",
    "spacexai_box",
]
