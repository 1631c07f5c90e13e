"""Fixtures for the model tests: the default packages, prepared once into a gitignored cache."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def default_models_env(default_models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``VISIONFLOW_MODELS_DIR`` pointing at the prepared default models for one test."""
    monkeypatch.setenv("VISIONFLOW_MODELS_DIR", str(default_models_dir))
    return default_models_dir
