"""Authoring blocks: registration, third-party entry points, description, JSON Schema."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from visionflow import Workflow
from visionflow.blocks import BlockRegistry, default_registry, describe_blocks
from visionflow.blocks.registry import describe_block
from visionflow.compiler import definition_schema


def test_third_party_blocks_arrive_through_the_entry_point_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "vf_plugin_example"
    package.mkdir()
    (package / "__init__.py").write_text(
        textwrap.dedent("""
        from typing import Literal
        from visionflow.blocks import Block, BlockInfo, BlockManifest, DataSelector, Output

        class ShoutManifest(BlockManifest):
            type: Literal["acme/shout@v1", "Shout"]
            text: DataSelector("string")
            block_info = BlockInfo(name="Shout", short="Upper-cases text")
            outputs = (Output("text", "string"),)

        class ShoutBlock(Block):
            manifest = ShoutManifest

            def run(self, text):
                return {"text": text.upper()}

        def blocks():
            return [ShoutBlock]
    """)
    )
    dist = tmp_path / "vf_plugin_example-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: vf-plugin-example\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[visionflow.blocks]\nexample = vf_plugin_example:blocks\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = BlockRegistry()
    entry = registry.get("Shout")
    assert entry.identifier == "acme/shout@v1"
    assert entry.source == "plugin:example"
    assert registry.get("roboflow_core/dynamic_crop@v1")  # the core catalogue too
    sys.modules.pop("vf_plugin_example", None)


def test_describe_blocks_has_the_reference_fields() -> None:
    described = {d["manifest_type_identifier"]: d for d in describe_blocks()}
    crop = described["roboflow_core/dynamic_crop@v1"]
    assert crop["human_friendly_block_name"] == "Dynamic Crop"
    assert crop["block_schema"]["properties"]["images"]["kind"] == [{"name": "image"}]
    assert crop["input_dimensionality_offsets"]["predictions"] == 0
    assert described["roboflow_core/continue_if@v1"]["outputs_manifest"] == []
    for identifier in (
        "roboflow_core/absolute_static_crop@v1",
        "roboflow_core/relative_statoic_crop@v1",
        "roboflow_core/detections_filter@v1",
        "roboflow_core/detections_transformation@v1",
        "roboflow_core/detection_offset@v1",
        "roboflow_core/property_definition@v1",
        "roboflow_core/expression@v1",
        "roboflow_core/first_non_empty_or_default@v1",
        "roboflow_core/dimension_collapse@v1",
    ):
        assert identifier in described


def test_describing_one_block_is_cached() -> None:
    entry = default_registry.get("roboflow_core/dynamic_crop@v1")
    assert describe_block(entry)["block_schema"] is describe_block(entry)["block_schema"]


def test_definition_schema_validates_a_real_document() -> None:
    import json

    import jsonschema

    document = json.loads(
        (Path(__file__).resolve().parents[2] / "examples" / "crop_and_filter.json").read_text()
    )
    schema = definition_schema()
    jsonschema.validate(document, schema)
    bad = dict(document, steps=[{"type": "roboflow_core/dynamic_crop@v1", "name": 3}])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_a_block_registered_with_the_decorator_runs() -> None:
    from typing import Literal

    from visionflow.blocks import Block, BlockInfo, BlockManifest, DataSelector, Output

    class CountManifest(BlockManifest):
        type: Literal["tests/length@v1"]
        value: DataSelector("list_of_values", "*")
        block_info = BlockInfo(name="Length")
        outputs = (Output("length", "integer"),)

    class CountBlock(Block):
        manifest = CountManifest

        def run(self, value: list) -> dict:
            return {"length": len(value)}

    default_registry.register(CountBlock)
    try:
        workflow = Workflow.load(
            {
                "version": "1.0",
                "inputs": [{"type": "WorkflowBatchInput", "name": "v"}],
                "steps": [{"type": "tests/length@v1", "name": "n", "value": "$inputs.v"}],
                "outputs": [{"type": "JsonField", "name": "n", "selector": "$steps.n.length"}],
            }
        )
        assert workflow.run(v=[[1, 2], []]) == [{"n": 2}, {"n": 0}]
        with pytest.raises(ValueError, match="already registered"):
            other = type("Other", (CountBlock,), {})
            default_registry.register(other)
    finally:
        default_registry.unregister("tests/length@v1")
