"""Files that ship beside the code: `prompts/` and `web/`.

In a wheel they live inside the package (`assistant/prompts`, `assistant/web`); in a
source checkout or an editable install they are the top-level folders.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["resource_dir"]

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    packaged = _PACKAGE / name
    if packaged.is_dir():
        return packaged
    checkout = _PACKAGE.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"resource folder {name!r} is missing from this installation")
