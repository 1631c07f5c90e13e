"""Shared fixtures. Test-only blocks are registered through the public block API."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from testing_blocks import register_testing_blocks

register_testing_blocks()

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"


@pytest.fixture
def image() -> np.ndarray:
    """A 120x160 BGR image with a white square in the middle."""
    array = np.zeros((120, 160, 3), dtype=np.uint8)
    array[40:80, 60:100] = 255
    return array


@pytest.fixture
def dog_path() -> Path:
    return EXAMPLES / "images" / "dog.jpg"
