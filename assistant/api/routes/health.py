"""Liveness and readiness."""

from __future__ import annotations

import os

from fastapi import APIRouter

from assistant.api.deps import AssistantDep
from assistant.api.schemas import Ready

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", response_model=Ready)
def readyz(assistant: AssistantDep) -> Ready:
    """The index is open; how much it holds."""
    store = assistant.archive.store
    return Ready(
        status="ready",
        collection=store.name,
        episodes=len(assistant.archive.retriever.lexical.episodes),
        segments=store.count(),
        mode=assistant.mode,
        worker=os.getpid(),
    )
