"""Which language a question is in: zh or en (the two the archive speaks)."""

from __future__ import annotations

import re
from typing import Literal

__all__ = ["Lang", "detect_language"]

Lang = Literal["zh", "en"]

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")


def detect_language(text: str) -> Lang:
    """Chinese when Chinese characters outnumber Latin words.

    Questions mix scripts ("英伟达 Nvidia 的财报", "What did 鲍威尔 say?"): one Chinese
    character carries about as much as one English word, so the counts compare directly.
    """
    cjk = len(_CJK.findall(text))
    words = len(_LATIN_WORD.findall(text))
    return "zh" if cjk and cjk >= words else "en"
