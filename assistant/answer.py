"""Answers without an LLM: the most relevant sentences of the top passages, quoted in the
question's language, each followed by its citation marker; or a plain abstention.

Everything here is pure: passages and token statistics in, an `Answer` out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant.citations import split_sentences
from assistant.language import Lang, detect_language
from assistant.lexical import tokenize
from assistant.models import Answer, Citation, Passage

if TYPE_CHECKING:
    from assistant.retrieve import LexicalIndex

__all__ = [
    "ABSTAIN_BELOW",
    "abstention",
    "citations_for",
    "compose_extractive",
    "evidence_score",
    "quote_side",
    "select_sentences",
    "should_abstain",
    "unknown_names",
    "without_sources",
]

# Calibrated on benchmarks/golden/archive.jsonl (see BENCHMARKS.md): the share of the
# question's information (idf-weighted terms) that the best passage contains.
ABSTAIN_BELOW = 0.25
# For a top passage in the other language only: the e5-small cosine similarity (already
# raised by retrieve.OTHER_LANGUAGE_BONUS) from which it counts as evidence. Set by hand
# on a few probes (relevant ≈ 0.83, unrelated ≤ 0.79); the golden set has too few
# Chinese-only answers to calibrate it (BENCHMARKS.md).
CROSS_LANGUAGE_MIN_SIMILARITY = 0.8
# Passages quoted at most, and sentences per passage (the best passage may give two).
MAX_PASSAGES = 3

Idf = Callable[[str], float]

_ABSTAIN = {
    "en": "The archive does not cover this: no passage answers the question.",
    "zh": "档案中没有能回答这个问题的内容。",
}
_INTRO = {"en": "From the archive:", "zh": "档案中的相关内容："}
_SOURCES = {"en": "Sources:", "zh": "来源："}
_ONLY = {"en": "(Chinese only)", "zh": "（仅有英文）"}


def quote_side(passage: Passage, lang: Lang) -> tuple[str, bool]:
    """The text to quote for a question in `lang`, and whether it is the other language."""
    own, other = (
        (passage.text_zh, passage.text_en) if lang == "zh" else (passage.text_en, passage.text_zh)
    )
    return (own, False) if own else (other, True)


def evidence_score(question: str, passages: Sequence[Passage], idf: Idf) -> float:
    """How much of the question the best passage covers: Σ idf of question terms found in
    it / Σ idf of all question terms. Terms the archive never uses weigh the most, so a
    question about something absent ('Warren Buffett') scores low."""
    terms = set(tokenize(question))
    if not terms or not passages:
        return 0.0
    total = sum(idf(t) for t in terms)
    best = 0.0
    for passage in passages[:MAX_PASSAGES]:
        found = set(tokenize(f"{passage.text_zh}\n{passage.text_en}\n{passage.section}"))
        best = max(best, sum(idf(t) for t in terms & found) / total)
    return best


_CAPITALISED = re.compile(r"(?<![\w'’])[A-Z][\w'’.&-]*(?:\s+[A-Z][\w'’.&-]*)*")
_LATIN_TERM = re.compile(r"[A-Za-z][\w'’.&-]*(?:\s+[A-Za-z][\w'’.&-]*)*")
# Capitalised words that are not names: question openers and calendar words.
_NOT_NAMES = frozenset(
    """what who whom whose which when where why how did does do is are was were can could
    should would will in on at according from for the a an and or if during roughly compared
    after before between since until about tell give list name
    january february march april may june july august september october november december
    monday tuesday wednesday thursday friday saturday sunday""".split()
)


def unknown_names(question: str, is_known: Callable[[str], bool]) -> list[str]:
    """Names in the question that the archive never uses ('Warren Buffett', 'Cerebras').

    A name is a run of capitalised words in an English question, or of Latin words in a
    Chinese one. It is unknown when one of its words (three letters or more) has no
    search term that the archive's text or front matter uses.
    """
    finder = _LATIN_TERM if detect_language(question) == "zh" else _CAPITALISED
    unknown = []
    for match in finder.findall(question):
        words = [w for w in match.split() if w.lower().strip("'’s") not in _NOT_NAMES]
        for word in words:
            terms = tokenize(word.replace("-", " "))  # 'AI-using' is known by its parts
            if len(word) >= 3 and terms and not any(is_known(t) for t in terms):
                unknown.append(" ".join(words))
                break
    return unknown


def should_abstain(
    question: str,
    passages: Sequence[Passage],
    lexical: LexicalIndex,
    similarity: Mapping[str, float] | None = None,
) -> bool:
    """Too little evidence: nothing found, a name the archive never mentions, or best
    passages that cover too little of the question.

    Words cannot be compared across languages: a top passage that lacks the question's
    language (a Chinese-only paragraph under an English question) counts as evidence
    when it is close enough in the dense space, names and terms being there in
    translation.
    """
    if not passages:
        return True
    lang = detect_language(question)
    for passage in passages[:MAX_PASSAGES]:
        other_language = quote_side(passage, lang)[1]
        close = (similarity or {}).get(passage.id, 0.0) >= CROSS_LANGUAGE_MIN_SIMILARITY
        if other_language and close:
            return False
    if unknown_names(question, lexical.knows):
        return True
    return evidence_score(question, passages, lexical.bm25.term_idf) < ABSTAIN_BELOW


@dataclass(frozen=True)
class Quote:
    passage: Passage
    text: str
    other_language: bool


def select_sentences(
    question: str, passages: Sequence[Passage], lang: Lang, idf: Idf
) -> list[Quote]:
    """The best sentence of each of the top passages (two from the first), in rank order."""
    terms = set(tokenize(question))
    quotes: list[Quote] = []
    for rank, passage in enumerate(passages[:MAX_PASSAGES]):
        text, other = quote_side(passage, lang)
        sentences = split_sentences(text)
        if not sentences:
            continue
        scored = sorted(
            range(len(sentences)),
            key=lambda i: (-sum(idf(t) for t in terms & set(tokenize(sentences[i]))), i),
        )
        picked = sorted(scored[: 2 if rank == 0 else 1])
        quotes.append(Quote(passage, " ".join(sentences[i] for i in picked), other))
    return quotes


def citations_for(passages: Sequence[Passage]) -> list[Citation]:
    return [Citation(n=n, **p.model_dump()) for n, p in enumerate(passages, start=1)]


def abstention(lang: Lang) -> Answer:
    return Answer(answer=_ABSTAIN[lang], lang=lang, citations=[], grounded=False, mode="extractive")


def compose_extractive(question: str, lang: Lang, passages: Sequence[Passage], idf: Idf) -> Answer:
    """The answer from passages already judged sufficient (see `should_abstain`)."""
    if not passages:
        return abstention(lang)
    quotes = select_sentences(question, passages, lang, idf)
    cited = [q.passage for q in quotes]
    lines = [_INTRO[lang], ""]
    for n, q in enumerate(quotes, start=1):
        speaker = f"{q.passage.turn_speaker}: " if q.passage.turn_speaker else ""
        note = f" {_ONLY[lang]}" if q.other_language else ""
        lines.append(f"- {speaker}{q.text}{note} [{n}]")
    lines += ["", _SOURCES[lang]]
    for n, passage in enumerate(cited, start=1):
        lines.append(f"[{n}] {_source_line(passage, lang)}")
    return Answer(
        answer="\n".join(lines),
        lang=lang,
        citations=citations_for(cited),
        grounded=True,
        mode="extractive",
    )


def without_sources(answer: Answer) -> str:
    """The answer text without the trailing source list of an extractive answer, for
    clients that show citations themselves (Slack)."""
    head, found, _ = answer.answer.rpartition(f"\n\n{_SOURCES[answer.lang]}\n")
    return head if found and answer.mode == "extractive" else answer.answer


def _source_line(passage: Passage, lang: Lang) -> str:
    where = " · ".join(x for x in (passage.speaker, passage.date) if x)
    section = f" › {passage.section}" if passage.section else ""
    return (
        f"{passage.title}{section} ({where})"
        if lang == "en"
        else f"{passage.title}{section}（{where}）"
    )
