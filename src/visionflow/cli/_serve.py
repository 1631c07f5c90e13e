"""``visionflow serve``: the HTTP server under uvicorn."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def serve_command(
    host: str | None,
    port: int | None,
    workers: int | None,
    config: Path | None,
    log_level: str = "info",
) -> None:
    """Merge the settings (arguments > environment > config file) and run uvicorn."""
    import uvicorn

    from visionflow.server.app import SETTINGS_ENV, create_app
    from visionflow.server.settings import ServerSettings

    settings = ServerSettings.load(config, host=host, port=port, workers=workers)
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": log_level,
        # the server enforces its own body limit; uvicorn's defaults cover the rest
        "server_header": False,
    }
    if settings.workers > 1:
        # worker processes rebuild the app from the settings this process resolved
        os.environ[SETTINGS_ENV] = settings.model_dump_json()
        uvicorn.run(
            "visionflow.server.app:app_from_environment",
            factory=True,
            workers=settings.workers,
            **options,
        )
        return
    uvicorn.run(create_app(settings), **options)
