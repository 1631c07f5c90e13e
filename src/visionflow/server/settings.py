"""Server settings: arguments, then ``VISIONFLOW_*`` environment variables, then a config file.

>>> ServerSettings().port
9001
>>> ServerSettings(api_keys=["k"]).auth_enabled
True
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

ENV_PREFIX = "VISIONFLOW_"
CONFIG_ENV = "VISIONFLOW_CONFIG"


def _default_home() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("visionflow", appauthor=False))


class ServerSettings(BaseModel):
    """Everything an operator can tune; every limit has a safe default.

    Precedence: explicit arguments > ``VISIONFLOW_<FIELD>`` environment variables > the JSON or
    TOML file named by ``config_file`` / ``VISIONFLOW_CONFIG`` > defaults. List values in the
    environment are comma-separated (``VISIONFLOW_API_KEYS=a,b``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field("127.0.0.1", description="Interface to bind; loopback unless told otherwise.")
    port: int = Field(9001, ge=0, le=65535)
    workers: int = Field(1, ge=1, description="uvicorn worker processes.")
    api_keys: list[str] = Field(
        default_factory=list, description="Accepted API keys; empty means no authentication."
    )
    max_body_bytes: int = Field(32 * 1024 * 1024, ge=1024)
    max_images_per_request: int = Field(64, ge=1)
    max_image_pixels: int = Field(40_000_000, ge=1, description="Decoded width x height limit.")
    run_timeout_s: float = Field(60.0, gt=0)
    max_concurrent_runs: int = Field(default_factory=lambda: 2 * (os.cpu_count() or 1), ge=1)
    max_queued_runs: int = Field(64, ge=0)
    max_concurrent_steps: int = Field(4, ge=1, description="Steps of one run running at once.")
    max_cached_engines: int = Field(64, ge=1)
    allow_url_input: bool = False
    allow_private_urls: bool = False
    url_timeout_s: float = Field(10.0, gt=0)
    url_max_bytes: int = Field(20 * 1024 * 1024, ge=1)
    allow_python_blocks: bool = False
    debug: bool = False
    home: Path = Field(default_factory=_default_home, description="Data directory.")

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [k.strip() for k in value.split(",") if k.strip()]
        return value

    @field_validator("home", mode="after")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def auth_enabled(self) -> bool:
        return bool(self.api_keys)

    @property
    def workflows_db(self) -> Path:
        """Where saved workflows live (``home/workflows.sqlite3``)."""
        return self.home / "workflows.sqlite3"

    @classmethod
    def load(
        cls,
        config_file: str | Path | None = None,
        *,
        environ: dict[str, str] | None = None,
        **overrides: Any,
    ) -> ServerSettings:
        """Merge the config file, the environment and ``overrides`` (``None`` means unset)."""
        env = dict(os.environ if environ is None else environ)
        values: dict[str, Any] = {}
        path = config_file or env.get(CONFIG_ENV)
        if path:
            values.update(read_config_file(Path(path)))
        for name in cls.model_fields:
            raw = env.get(ENV_PREFIX + name.upper())
            if raw is not None:
                values[name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def read_config_file(path: Path) -> dict[str, Any]:
    """Read a JSON or TOML settings file (a ``[server]`` table in TOML is also accepted)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ValueError(f"cannot read config file '{path}': {error.strerror}") from error
    if path.suffix.lower() == ".toml":
        try:
            import tomllib
        except ImportError as error:  # Python 3.10
            raise ValueError("TOML config files need Python 3.11+; use JSON") from error
        data: Any = tomllib.loads(text)
        data = data.get("server", data)
    else:
        data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"config file '{path}' must hold an object of settings")
    return data


__all__ = ["CONFIG_ENV", "ServerSettings", "read_config_file"]
