"""The HTTP server: the reference's workflow API over visionflow's engine.

``create_app(settings)`` builds the FastAPI application; ``visionflow serve`` runs it.
"""

from visionflow.server.app import create_app
from visionflow.server.settings import ServerSettings

__all__ = ["ServerSettings", "create_app"]
