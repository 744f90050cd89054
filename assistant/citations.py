"""Citation markers in generated text: keep the valid ones, drop the rest, flag claims
that carry none. Pure functions over strings."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["CheckedText", "split_sentences", "validate_citations"]

# `[3]`, `[1, 2]`, `[1][2]`, full-width `【2】`.
_MARKER = re.compile(r"\s?[\[【]\s*(\d+(?:\s*[,，]\s*\d+)*)\s*[\]】]")
_SENTENCE_END = re.compile(
    r"(?<=[。！？；!?])\s*"  # Chinese ends need no space after them
    r"|(?<!Mr\.)(?<!Ms\.)(?<!Dr\.)(?<!Mrs\.)(?<!St\.)(?<!vs\.)"  # not after a title
    r"(?<=[.!?])[\"”’)]?\s+(?=[\"“(A-Z0-9\u4e00-\u9fff-])"
    r"|(?<=[\]】])\s+(?=[A-Z\u4e00-\u9fff])"  # 'cut. [1] Next': the marker stays behind
    r"|\n+"
)


def split_sentences(text: str) -> list[str]:
    """Sentences of Chinese, English or mixed text; citation markers stay with theirs."""
    pieces = [p.strip() for p in _SENTENCE_END.split(text)]
    sentences: list[str] = []
    for piece in pieces:
        if not piece:
            continue
        # A piece that is only markers (`[2]` after 'end.') belongs to the sentence before.
        if sentences and not _MARKER.sub("", piece).strip():
            sentences[-1] = f"{sentences[-1]} {piece}"
        else:
            sentences.append(piece)
    return sentences


@dataclass(frozen=True)
class CheckedText:
    text: str
    cited: list[int]  # valid markers, in order of first use
    unsupported: list[str]  # sentences that make a claim with no valid marker
    removed: list[int]  # markers that pointed at no source

    @property
    def grounded(self) -> bool:
        return bool(self.cited) and not self.unsupported


def validate_citations(text: str, n_sources: int) -> CheckedText:
    """Remove markers outside 1..n_sources; list the sentences left without one."""
    cited: list[int] = []
    removed: list[int] = []

    def keep_valid(match: re.Match[str]) -> str:
        numbers = [int(n) for n in re.split(r"\s*[,，]\s*", match.group(1))]
        valid = [n for n in numbers if 1 <= n <= n_sources]
        removed.extend(n for n in numbers if n not in valid)
        for n in valid:
            if n not in cited:
                cited.append(n)
        return "".join(f" [{n}]" for n in valid)

    cleaned = _MARKER.sub(keep_valid, text).strip()
    cleaned = re.sub(r"[ \t]+([.,;:!?。，；：！？])", r"\1", cleaned)
    unsupported = [s for s in split_sentences(cleaned) if not _MARKER.search(s) and _is_claim(s)]
    return CheckedText(cleaned, cited, unsupported, removed)


def _is_claim(sentence: str) -> bool:
    """Headings, list labels and 'Sources:' lines are not claims that need a citation."""
    stripped = sentence.strip(" -*•#:：")
    return len(stripped) > 12 and not stripped.lower().startswith(("source", "来源"))
