"""Question in, answer out: the one place the CLI, the API, Slack and MCP all call.

retrieve → (follow-up handling) → extractive answer, or LLM answer with its citations
validated. `ask_stream` yields the same answer as events: citations first, then text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, Field

from assistant.answer import abstention, compose_extractive, should_abstain
from assistant.archive import Archive
from assistant.citations import validate_citations
from assistant.language import Lang, detect_language
from assistant.llm import generate, make_chat_model, rewrite_question
from assistant.models import Answer, Citation, Filters, Passage
from assistant.settings import Settings

__all__ = ["MAX_TURN_CHARS", "Assistant", "Event", "Turn"]

MAX_TURN_CHARS = 20_000


class Turn(BaseModel):
    """One earlier message of the conversation."""

    role: Literal["user", "assistant"]
    content: str = Field(max_length=MAX_TURN_CHARS)
    filters: Filters | None = Field(
        default=None, description="The filters that user question was asked with."
    )


@dataclass(frozen=True)
class Event:
    """A streamed piece of an answer: `citations`, then `token`s, then `done`."""

    kind: Literal["citations", "token", "done"]
    data: Any


# The turns of a conversation a question uses: the rewrite prompt shows the LLM the last
# six (llm.rewrite_question), and without an LLM only the last user turn counts.
HISTORY_TURNS = 6

# A follow-up leans on the question before it when it is short or points back.
_ANAPHORA = re.compile(
    r"\b(he|she|they|him|her|them|his|their|it|its|that|this|those|these|there|also|"
    r"what about|and)\b|他|她|它|他们|这个|那个|这些|那些|此|其|还|呢",
    re.I,
)


class Assistant:
    def __init__(self, archive: Archive, chat: BaseChatModel | None = None) -> None:
        self.archive = archive
        self.chat = chat

    @classmethod
    def from_settings(cls, settings: Settings) -> Assistant:
        """The archive from settings, with an LLM when one is configured."""
        return cls(Archive(settings), make_chat_model(settings))

    @property
    def mode(self) -> Literal["extractive", "llm"]:
        return "llm" if self.chat is not None else "extractive"

    def search(self, query: str, k: int = 8, filters: Filters | None = None) -> list[Passage]:
        return self.archive.retriever.search(query, k, filters)

    def ask(
        self,
        question: str,
        k: int = 8,
        filters: Filters | None = None,
        history: Sequence[Turn] = (),
    ) -> Answer:
        answer: Answer | None = None
        for event in self.ask_stream(question, k, filters, history):
            if event.kind == "done":
                answer = event.data
        assert answer is not None
        return answer

    def ask_stream(
        self,
        question: str,
        k: int = 8,
        filters: Filters | None = None,
        history: Sequence[Turn] = (),
    ) -> Iterator[Event]:
        history = self._used(history)
        lang = detect_language(question)
        query, filters = self._standalone(question, lang, filters, history)
        passages, similarity = self.archive.retriever.search_scored(query, k, filters)
        lexical = self.archive.retriever.lexical
        if should_abstain(query, passages, lexical, similarity):
            answer = abstention(lang)
            if self.chat is not None:
                answer = answer.model_copy(update={"mode": "llm"})
            yield Event("citations", [])
            yield Event("token", answer.answer)
            yield Event("done", answer)
            return
        if self.chat is None:
            answer = compose_extractive(query, lang, passages, lexical.bm25.term_idf)
            yield Event("citations", answer.citations)
            # The extractive answer is complete at once; it streams line by line.
            for line in answer.answer.splitlines(keepends=True):
                yield Event("token", line)
            yield Event("done", answer)
            return
        yield from self._llm_answer(question, lang, passages, history)

    def _llm_answer(
        self, question: str, lang: Lang, passages: Sequence[Passage], history: Sequence[Turn]
    ) -> Iterator[Event]:
        assert self.chat is not None
        offered = [Citation(n=n, **p.model_dump()) for n, p in enumerate(passages, start=1)]
        yield Event("citations", offered)
        parts: list[str] = []
        for token in generate(self.chat, question, lang, passages, _pairs(history)):
            parts.append(token)
            yield Event("token", token)
        checked = validate_citations("".join(parts), len(passages))
        cited = [offered[n - 1] for n in checked.cited]
        yield Event(
            "done",
            Answer(
                answer=checked.text,
                lang=lang,
                citations=cited,
                grounded=checked.grounded,
                mode="llm",
                unsupported=checked.unsupported,
            ),
        )

    def _used(self, history: Sequence[Turn]) -> list[Turn]:
        """The part of `history` an answer uses, so that no request costs more than a
        long question: the last turns, each cut to the question limit. A 4,000-character
        turn made an answer take 37 s (embedded and tokenized whole with the follow-up).
        """
        limit = self.archive.settings.max_question_chars
        return [
            turn.model_copy(update={"content": turn.content[:limit]})
            for turn in history[-HISTORY_TURNS:]
        ]

    def _standalone(
        self, question: str, lang: Lang, filters: Filters | None, history: Sequence[Turn]
    ) -> tuple[str, Filters | None]:
        """The question to retrieve for, and its filters, given the conversation."""
        previous = next((t for t in reversed(history) if t.role == "user"), None)
        if previous is None:
            return question, filters
        if (filters is None or filters.is_empty()) and previous.filters is not None:
            filters = previous.filters
        if self.chat is not None:
            return rewrite_question(self.chat, question, lang, _pairs(history)), filters
        if self._is_follow_up(question):
            return f"{previous.content} {question}", filters
        return question, filters

    def _is_follow_up(self, question: str) -> bool:
        names = self.archive.retriever.lexical.names_in(question)
        short = (
            len(question.split()) <= 6 if detect_language(question) == "en" else len(question) <= 12
        )
        return not names and (short or bool(_ANAPHORA.search(question)))


def _pairs(history: Sequence[Turn]) -> list[tuple[str, str]]:
    return [(t.role, t.content) for t in history]
