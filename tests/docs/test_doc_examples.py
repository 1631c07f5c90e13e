"""Every Python example in the README and docs/ runs, and every workflow in examples/ is a
reference-checked fixture (tests/workflows)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SNIPPETS = [
    (page, i, code)
    for page in PAGES
    for i, code in enumerate(re.findall(r"```python\n(.*?)```", page.read_text(), re.S))
]


@pytest.mark.parametrize(
    ("page", "index", "code"), SNIPPETS, ids=[f"{p.name}-{i}" for p, i, _ in SNIPPETS]
)
def test_python_example_runs(
    page: Path,
    index: int,
    code: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(REPO)
    exec(compile(code, f"{page.name}[{index}]", "exec"), {})
    assert capsys.readouterr().out.strip()  # every example shows something


def test_every_example_workflow_is_a_fixture() -> None:
    used = {
        json.loads(path.read_text()).get("specification_file")
        for path in (REPO / "tests" / "workflows").glob("*.json")
    }
    workflows = {
        f"examples/{path.name}"
        for path in (REPO / "examples").glob("*.json")
        if "steps" in json.loads(path.read_text())
    }
    assert workflows and workflows <= used


def test_linked_example_files_exist() -> None:
    for page in PAGES:
        for link in re.findall(r"\]\(\.\./(examples/[^)]+)\)", page.read_text()):
            assert (REPO / link).exists(), f"{page.name} links to missing {link}"
