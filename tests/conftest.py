"""Shared fixtures. Test-only blocks are registered through the public block API."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from testing_blocks import register_testing_blocks

register_testing_blocks()

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
#: the default models are built once into this gitignored folder (conversion is deterministic
#: and checksummed, so a stale cache cannot pass as valid); set before any model is looked up
MODELS_CACHE = REPO / ".models-cache"
os.environ["VISIONFLOW_MODELS_DIR"] = str(MODELS_CACHE)


@pytest.fixture(scope="session")
def default_models_dir() -> Path:
    """A models directory holding ``yolov3-tiny-416`` and ``efficientnet-lite0-224``."""
    from visionflow.models.defaults import prepare_default_models

    prepare_default_models(MODELS_CACHE)
    return MODELS_CACHE


@pytest.fixture
def image() -> np.ndarray:
    """A 120x160 BGR image with a white square in the middle."""
    array = np.zeros((120, 160, 3), dtype=np.uint8)
    array[40:80, 60:100] = 255
    return array


@pytest.fixture
def dog_path() -> Path:
    return EXAMPLES / "images" / "dog.jpg"
