"""The HTTP API, the web chat and the episode reader, as one FastAPI app."""

from assistant.api.app import create_app

__all__ = ["create_app"]
