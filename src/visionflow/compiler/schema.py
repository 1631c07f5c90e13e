"""JSON Schema of a whole workflow definition (served at ``/workflows/definition/schema``)."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from visionflow.blocks.registry import BlockRegistry, block_schema, default_registry
from visionflow.spec.document import JsonField, WorkflowInput


def definition_schema(registry: BlockRegistry | None = None) -> dict[str, Any]:
    """A JSON Schema whose ``steps`` items are any registered block's manifest."""
    registry = registry or default_registry
    defs: dict[str, Any] = {}
    step_refs = []
    for entry in registry.entries():
        schema = dict(block_schema(entry.manifest))
        defs.update(schema.pop("$defs", {}))
        key = entry.manifest.__name__
        defs[key] = schema
        step_refs.append({"$ref": f"#/$defs/{key}"})
    input_schema = TypeAdapter(WorkflowInput).json_schema(ref_template="#/$defs/{model}")
    defs.update(input_schema.pop("$defs", {}))
    output_schema = JsonField.model_json_schema(ref_template="#/$defs/{model}")
    defs.update(output_schema.pop("$defs", {}))
    defs["JsonField"] = output_schema
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Workflow definition (Workflows specification v1)",
        "type": "object",
        "properties": {
            "version": {"type": "string", "pattern": r"^1(\.\d+){0,2}$"},
            "inputs": {"type": "array", "items": input_schema},
            "steps": {"type": "array", "items": {"anyOf": step_refs}},
            "outputs": {"type": "array", "items": {"$ref": "#/$defs/JsonField"}},
            "dynamic_blocks_definitions": {"type": "array", "items": {"type": "object"}},
        },
        "required": ["version", "inputs", "steps", "outputs"],
        "$defs": defs,
    }
