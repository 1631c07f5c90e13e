"""Write docs/blocks.md from the block manifests (run by `make docs`; a test checks it)."""

from __future__ import annotations

from pathlib import Path

from visionflow.blocks._docs import blocks_markdown
from visionflow.blocks.registry import BlockRegistry

PAGE = Path(__file__).resolve().parents[1] / "docs" / "blocks.md"

if __name__ == "__main__":
    PAGE.write_text(blocks_markdown(BlockRegistry()))
    print(f"wrote {PAGE}")
