"""docs/errors.md has one heading per error code used in the code, and no stale ones."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CODE_RE = re.compile(
    r'"((?:spec|compile|input|step|model|source|uql|server|client|visionflow)\.[a-z_]+)"'
)
NOT_CODES = {"visionflow.blocks"}  # the entry-point group


def codes_in_source() -> set[str]:
    codes: set[str] = set()
    for path in (REPO / "src" / "visionflow").rglob("*.py"):
        codes.update(CODE_RE.findall(path.read_text()))
    return {code for code in codes - NOT_CODES if not _names_something_else(code)}


def _names_something_else(text: str) -> bool:
    """File names (``model.json``) and module paths (``visionflow.models``) look like codes."""
    if text.rsplit(".", 1)[-1] in ("json", "onnx", "txt", "py"):
        return True
    module = REPO / "src" / text.replace(".", "/")
    return module.is_dir() or module.with_suffix(".py").is_file()


def codes_in_docs() -> set[str]:
    text = (REPO / "docs" / "errors.md").read_text()
    return set(re.findall(r"^#+ `([a-z_]+\.[a-z_]+)`$", text, flags=re.M))


def test_every_code_has_a_heading() -> None:
    missing = codes_in_source() - codes_in_docs()
    assert not missing, f"add a heading to docs/errors.md for: {sorted(missing)}"


def test_every_heading_names_a_code_in_use() -> None:
    stale = codes_in_docs() - codes_in_source()
    assert not stale, f"docs/errors.md documents codes that no longer exist: {sorted(stale)}"


def test_there_are_codes_to_check() -> None:
    assert len(codes_in_source()) > 30
