"""Dependencies shared by the routes, as `Annotated` aliases."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from assistant.api.availability import current_assistant
from assistant.service import Assistant
from assistant.settings import Settings


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_assistant(request: Request) -> Assistant:
    assistant = current_assistant(request.app)
    # Another process (ingest, another worker) may have changed the index.
    assistant.archive.refresh_if_stale()
    return assistant


SettingsDep = Annotated[Settings, Depends(get_settings)]
AssistantDep = Annotated[Assistant, Depends(get_assistant)]


def require_api_key(request: Request, settings: SettingsDep) -> None:
    expected = settings.api_key.get_secret_value()
    if not expected:
        return
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not secrets.compare_digest(token.strip(), expected):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing or wrong API key: send 'Authorization: Bearer <key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )


def check_limits(settings: Settings, text: str, k: int, field: str) -> None:
    """Limits that come from settings, so they cannot live in the request models."""
    if not text.strip():
        raise HTTPException(422, f"{field} must not be blank")
    if len(text) > settings.max_question_chars:
        raise HTTPException(
            422, f"{field} is {len(text)} characters; the limit is {settings.max_question_chars}"
        )
    if k > settings.max_k:
        raise HTTPException(422, f"k is {k}; the limit is {settings.max_k}")
