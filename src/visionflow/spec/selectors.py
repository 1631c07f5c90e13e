"""Selectors: references from one part of a document to another.

``$inputs.<name>``, ``$steps.<step>.<output>``, ``$steps.<step>.*`` and ``$steps.<step>``.

>>> parse_selector("$steps.det.predictions")
Selector(raw='$steps.det.predictions', source='steps', name='det', output='predictions')
>>> parse_selector("$inputs.image").is_input
True
>>> parse_selector("$steps.crop").is_step
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

NAME_PATTERN = r"[A-Za-z0-9_\-]+"
INPUT_SELECTOR_RE = re.compile(rf"^\$inputs\.({NAME_PATTERN})$")
STEP_OUTPUT_SELECTOR_RE = re.compile(rf"^\$steps\.({NAME_PATTERN})\.({NAME_PATTERN}|\*)$")
STEP_SELECTOR_RE = re.compile(rf"^\$steps\.({NAME_PATTERN})$")
ANY_SELECTOR_RE = re.compile(
    rf"^\$(inputs\.{NAME_PATTERN}|steps\.{NAME_PATTERN}(\.({NAME_PATTERN}|\*))?)$"
)
NAME_RE = re.compile(rf"^{NAME_PATTERN}$")

#: JSON-schema patterns used in manifests.
INPUT_SELECTOR_PATTERN = INPUT_SELECTOR_RE.pattern
STEP_OUTPUT_SELECTOR_PATTERN = STEP_OUTPUT_SELECTOR_RE.pattern
STEP_SELECTOR_PATTERN = STEP_SELECTOR_RE.pattern
DATA_SELECTOR_PATTERN = rf"^\$(inputs\.{NAME_PATTERN}|steps\.{NAME_PATTERN}\.({NAME_PATTERN}|\*))$"

WILDCARD_OUTPUT = "*"


@dataclass(frozen=True)
class Selector:
    """A parsed selector. ``output`` is None for ``$inputs.x`` and ``$steps.x``."""

    raw: str
    source: str  # "inputs" | "steps"
    name: str
    output: str | None = None

    @property
    def is_input(self) -> bool:
        return self.source == "inputs"

    @property
    def is_step(self) -> bool:
        """A reference to a step itself (flow-control targets)."""
        return self.source == "steps" and self.output is None

    @property
    def is_step_output(self) -> bool:
        return self.source == "steps" and self.output is not None

    @property
    def is_wildcard(self) -> bool:
        return self.output == WILDCARD_OUTPUT

    def __str__(self) -> str:
        return self.raw


def looks_like_selector(value: Any) -> bool:
    """True for strings that start like a selector (``$inputs.`` or ``$steps.``)."""
    return isinstance(value, str) and (value.startswith("$inputs.") or value.startswith("$steps."))


def parse_selector(value: str) -> Selector:
    """Parse a selector string; raises ``ValueError`` with the expected forms on bad input."""
    match = INPUT_SELECTOR_RE.match(value)
    if match:
        return Selector(raw=value, source="inputs", name=match.group(1))
    match = STEP_OUTPUT_SELECTOR_RE.match(value)
    if match:
        return Selector(raw=value, source="steps", name=match.group(1), output=match.group(2))
    match = STEP_SELECTOR_RE.match(value)
    if match:
        return Selector(raw=value, source="steps", name=match.group(1))
    raise ValueError(
        f"'{value}' is not a valid selector; expected '$inputs.<name>', "
        "'$steps.<step>.<output>', '$steps.<step>.*' or '$steps.<step>' "
        "(names use letters, digits, '_' and '-')"
    )


__all__ = [
    "DATA_SELECTOR_PATTERN",
    "INPUT_SELECTOR_PATTERN",
    "NAME_PATTERN",
    "STEP_OUTPUT_SELECTOR_PATTERN",
    "STEP_SELECTOR_PATTERN",
    "Selector",
    "looks_like_selector",
    "parse_selector",
]
