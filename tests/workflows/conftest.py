"""The workflow fixtures that use models run on the default models (built once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True, scope="session")
def _default_models(default_models_dir: Path) -> Path:
    return default_models_dir
