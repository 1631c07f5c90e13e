"""End-to-end workflow fixtures: a document, its runtime inputs and the expected output.

A fixture file (``tests/workflows/*.json``) holds::

    {"description": "...", "specification": {...} or "specification_file": "examples/x.json",
     "inputs": {"image": {"$image": "examples/images/dog.jpg"},
                "predictions": {"$json": "examples/dog_predictions.json"}, "k": 3},
     "expected": [...]}

``expected`` is the reference engine's serialized output, normalized (``normalize``) so that
random ids and JPEG bytes do not matter; ``scripts/reference_expectations.py`` writes it by
running the reference. A fixture with ``"reference_differs": "<why>"`` documents a deliberate
difference (docs/compatibility.md); its ``expected`` is written and checked by hand. This module is plain Python + numpy + OpenCV so the reference's
environment can import it too.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def fixture_paths() -> list[Path]:
    return sorted(FIXTURES.glob("*.json"))


def load(path: Path) -> dict[str, Any]:
    """A fixture; ``specification_file`` (a path from the repository root) is read in."""
    fixture = json.loads(path.read_text())
    if "specification_file" in fixture:
        fixture["specification"] = json.loads((REPO / fixture["specification_file"]).read_text())
    return fixture


def runtime_inputs(spec: dict[str, Any]) -> dict[str, Any]:
    """Resolve ``{"$image": path}`` (BGR array) and ``{"$json": path}``, also inside lists."""
    return {name: _resolve(value) for name, value in spec.items()}


def _resolve(value: Any) -> Any:
    if isinstance(value, list):
        return [_resolve(v) for v in value]
    if isinstance(value, dict) and len(value) == 1:
        if "$image" in value:
            image = cv2.imread(str(REPO / value["$image"]))
            assert image is not None, value
            return image
        if "$json" in value:
            return json.loads((REPO / value["$json"]).read_text())
    return value


def compared(fixture: dict[str, Any], result: Any) -> Any:
    """The normalized result, limited to ``outputs_compared`` when the fixture names them
    (outputs too large to keep in a fixture, such as 1000-class classifications)."""
    normalized = normalize(result)
    keep = fixture.get("outputs_compared")
    if keep:
        normalized = [{k: v for k, v in row.items() if k in keep} for row in normalized]
    return normalized


def normalize(value: Any) -> Any:
    """Make outputs comparable: images by size, uuids masked, floats rounded."""
    if isinstance(value, dict):
        if value.get("type") == "base64" and isinstance(value.get("value"), str):
            pixels = cv2.imdecode(
                np.frombuffer(base64.b64decode(value["value"]), np.uint8), cv2.IMREAD_COLOR
            )
            rest = {
                k: normalize(v) for k, v in value.items() if k not in ("value", "video_metadata")
            }
            return {**rest, "value": {"height": pixels.shape[0], "width": pixels.shape[1]}}
        return {k: normalize(v) for k, v in value.items() if k != "inference_id"}
    if isinstance(value, (list, tuple)):
        return [normalize(v) for v in value]
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, str):
        return UUID_RE.sub("<uuid>", value)
    return value
