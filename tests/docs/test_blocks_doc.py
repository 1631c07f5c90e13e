"""docs/blocks.md is generated from the manifests; this fails when it is stale."""

from __future__ import annotations

from pathlib import Path

from visionflow.blocks._docs import blocks_markdown
from visionflow.blocks.registry import BlockRegistry

PAGE = Path(__file__).resolve().parents[2] / "docs" / "blocks.md"


def test_blocks_page_is_up_to_date() -> None:
    expected = blocks_markdown(BlockRegistry())
    assert PAGE.read_text() == expected, (
        "docs/blocks.md is stale: run `make docs` (python scripts/generate_block_docs.py)"
    )


def test_blocks_page_lists_every_core_block_with_its_fields() -> None:
    text = PAGE.read_text()
    registry = BlockRegistry()
    for entry in registry.entries():
        assert f"### `{entry.identifier}`" in text
    assert "| `images` (or `image`) | selector: image |" in text
