"""The describe routes' bodies: blocks, kinds, connections, a workflow's interface."""

from __future__ import annotations

import threading
from typing import Any

from visionflow.blocks.dynamic import compile_dynamic_blocks, dynamic_definition_schema
from visionflow.blocks.query_language import describe_query_language
from visionflow.blocks.registry import BlockEntry, default_registry, describe_block
from visionflow.compiler import Plan
from visionflow.spec.kinds import KINDS, get_kind

_DETECTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "image": {
            "type": "object",
            "properties": {"width": {"type": "integer"}, "height": {"type": "integer"}},
        },
        "predictions": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "x": {"type": "number", "description": "box centre"},
                    "y": {"type": "number", "description": "box centre"},
                    "width": {"type": "number"},
                    "height": {"type": "number"},
                    "confidence": {"type": "number"},
                    "class_id": {"type": "integer"},
                    "class": {"type": "string"},
                    "detection_id": {"type": "string"},
                    "parent_id": {"type": "string"},
                    "tracker_id": {"type": "integer"},
                    "points": {"type": "array", "items": {"type": "object"}},
                    "keypoints": {"type": "array", "items": {"type": "object"}},
                },
            },
        },
    },
}
_IMAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "type": {"type": "string", "enum": ["base64", "url"]},
        "value": {"type": "string"},
        "video_metadata": {"type": "object"},
        "parent_id": {"type": "string"},
    },
    "required": ["type", "value"],
}
_CLASSIFICATION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "predictions": {"type": "array", "items": {"type": "object"}},
        "top": {"type": "string"},
        "confidence": {"type": "number"},
        "predicted_classes": {"type": "array", "items": {"type": "string"}},
        "parent_id": {"type": "string"},
        "prediction_type": {"type": "string"},
    },
}
#: OpenAPI-style schemas of the serialized forms (compat.md section 5), as the reference serves
KIND_SCHEMAS: dict[str, Any] = {
    "image": _IMAGE_SCHEMA,
    "video_metadata": {"type": "object"},
    "object_detection_prediction": _DETECTION_SCHEMA,
    "instance_segmentation_prediction": _DETECTION_SCHEMA,
    "keypoint_detection_prediction": _DETECTION_SCHEMA,
    "qr_code_detection": _DETECTION_SCHEMA,
    "bar_code_detection": _DETECTION_SCHEMA,
    "classification_prediction": _CLASSIFICATION_SCHEMA,
}


def describe_interface(plan: Plan) -> dict[str, Any]:
    """``inputs``, ``outputs``, ``typing_hints`` and ``kinds_schemas`` of a compiled plan."""
    interface = plan.describe_interface()
    used: set[str] = set()
    for section in ("inputs", "outputs"):
        for kinds in interface[section].values():
            if isinstance(kinds, dict):
                for nested in kinds.values():
                    used.update(nested)
            else:
                used.update(kinds)
    return {
        "inputs": interface["inputs"],
        "outputs": interface["outputs"],
        "typing_hints": {name: get_kind(name).serialised_type for name in sorted(used)},
        "kinds_schemas": {
            name: KIND_SCHEMAS[name] for name in sorted(used) if name in KIND_SCHEMAS
        },
    }


_static_cache: dict[int, dict[str, Any]] = {}
_static_lock = threading.Lock()


def describe_blocks_response(
    dynamic_blocks_definitions: list[Any] | None = None, *, allow_python_blocks: bool = False
) -> dict[str, Any]:
    """The ``/workflows/blocks/describe`` body; inline Python blocks compiled when allowed."""
    registry = default_registry
    registry.ensure_loaded()
    entries = list(registry.entries())
    if dynamic_blocks_definitions:
        dynamic = compile_dynamic_blocks(
            list(dynamic_blocks_definitions), allowed=allow_python_blocks
        )
        extra = [BlockEntry(b.manifest.identifier(), (), b, "dynamic") for b in dynamic]
        return _describe(entries + extra)
    with _static_lock:
        cached = _static_cache.get(registry.version)
        if cached is None:
            _static_cache.clear()
            cached = _static_cache[registry.version] = _describe(entries)
    return cached


def _describe(entries: list[BlockEntry]) -> dict[str, Any]:
    blocks = [describe_block(entry) for entry in entries]
    connections: dict[str, list[dict[str, Any]]] = {}
    primitives: list[dict[str, Any]] = []
    for entry in entries:
        manifest = entry.manifest
        for name, spec in manifest.field_specs().items():
            if name in ("type", "name"):
                continue
            field = manifest.model_fields.get(name)
            description = (field.description if field is not None else None) or ""
            if spec.selector_kinds is not None:
                for kind in spec.selector_kinds:
                    connections.setdefault(kind, []).append(
                        {
                            "manifest_type_identifier": entry.identifier,
                            "property_name": name,
                            "property_description": description,
                            "compatible_element": "any_data",
                            "is_list_element": False,
                            "is_dict_element": False,
                        }
                    )
            if spec.accepts_step_selector:
                connections.setdefault("*", []).append(
                    {
                        "manifest_type_identifier": entry.identifier,
                        "property_name": name,
                        "property_description": description,
                        "compatible_element": "step",
                        "is_list_element": False,
                        "is_dict_element": False,
                    }
                )
            if spec.accepts_literal and field is not None:
                primitives.append(
                    {
                        "manifest_type_identifier": entry.identifier,
                        "property_name": name,
                        "property_description": description,
                        "type_annotation": _annotation(field.annotation),
                    }
                )
    return {
        "blocks": blocks,
        "declared_kinds": [
            {
                "name": kind.name,
                "description": kind.description,
                "docs": None,
                "serialised_data_type": kind.serialised_type,
                "internal_data_type": None,
            }
            for kind in KINDS.values()
        ],
        "kinds_connections": connections,
        "primitives_connections": primitives,
        "universal_query_language_description": describe_query_language(),
        "dynamic_block_definition_schema": dynamic_definition_schema(),
    }


def _annotation(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) or str(annotation)
    return text.replace("typing.", "")


__all__ = ["KIND_SCHEMAS", "describe_blocks_response", "describe_interface"]
