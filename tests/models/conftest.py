"""Fixtures for the model tests: the default packages, prepared once into a gitignored cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from visionflow.models.defaults import prepare_default_models

REPO = Path(__file__).resolve().parents[2]
#: gitignored; conversion is deterministic and checksummed, so a stale cache cannot pass as valid
MODELS_CACHE = REPO / ".models-cache"


@pytest.fixture(scope="session")
def default_models_dir() -> Path:
    """A models directory holding ``yolov3-tiny-416`` and ``efficientnet-lite0-224``."""
    prepare_default_models(MODELS_CACHE)
    return MODELS_CACHE


@pytest.fixture
def default_models_env(default_models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``VISIONFLOW_MODELS_DIR`` pointing at the prepared default models for one test."""
    monkeypatch.setenv("VISIONFLOW_MODELS_DIR", str(default_models_dir))
    return default_models_dir
