"""The golden-set harness: retrieval and answer metrics over a JSONL file of questions."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from assistant.language import detect_language
from assistant.models import Answer, Filters, Passage

__all__ = [
    "Question",
    "RankScores",
    "Report",
    "evaluate",
    "first_hit",
    "load_questions",
    "rank_scores",
    "select_split",
]

Kind = Literal["fact", "who_said", "filter", "crosslingual", "unanswerable"]


class Question(BaseModel):
    id: str
    lang: Literal["zh", "en"]
    question: str
    kind: Kind
    video_id: str | None = None
    evidence: list[str] = Field(default_factory=list)
    answer_terms: list[str] = Field(default_factory=list)
    filters: dict[str, str] = Field(default_factory=dict)
    split: Literal["tune", "report"] | None = Field(
        default=None,
        description="Which half of a set this is: weights are tuned on one half and "
        "figures reported on the other, so a figure says which half it came from.",
    )

    @property
    def answerable(self) -> bool:
        return self.kind != "unanswerable"

    def search_filters(self) -> Filters:
        f = self.filters
        return Filters(
            speaker=f.get("speaker"), date_from=f.get("date_from"), date_to=f.get("date_to")
        )


class Result(BaseModel):
    id: str
    kind: Kind
    rank: int = Field(description="1-based rank of the first hit, 0 when none in the top k.")
    abstained: bool
    answer_term_hit: bool
    lang_ok: bool
    problems: list[str]


class Report(BaseModel):
    questions: int
    k: int
    recall_at_k: float
    mrr: float
    answer_term_hit_rate: float
    answer_lang_match: float
    abstention_unanswerable: float
    abstention_answerable: float
    by_kind: dict[str, dict[str, float]]
    failures: list[Result]


class RankScores(BaseModel):
    """Retrieval quality of one system over a group of answerable questions."""

    n: int
    recall: dict[int, float] = Field(description="Cut-off k -> share with a hit in the top k.")
    mrr: float = Field(description="Mean 1/rank of the first hit; 0 past the last cut-off.")


def load_questions(path: Path) -> list[Question]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [Question.model_validate_json(line) for line in lines if line.strip()]


def select_split(questions: Sequence[Question], split: str | None) -> list[Question]:
    """The questions of one half (`tune` or `report`); all of them for None."""
    return [q for q in questions if split is None or q.split == split]


def is_hit(passage: Passage, question: Question) -> bool:
    return any(e in passage.text_zh or e in passage.text_en for e in question.evidence)


def first_hit(passages: Sequence[Passage], question: Question) -> int:
    """1-based rank of the first passage holding the question's evidence; 0 when none does."""
    return next((i for i, p in enumerate(passages, start=1) if is_hit(p, question)), 0)


def rank_scores(ranks: Sequence[int], cutoffs: Sequence[int] = (1, 5, 10)) -> RankScores:
    """Recall at each cut-off and MRR from first-hit ranks (0: not found in the list)."""
    last = max(cutoffs)
    return RankScores(
        n=len(ranks),
        recall={k: _mean([0 < r <= k for r in ranks]) for k in cutoffs},
        mrr=_mean([1 / r if 0 < r <= last else 0.0 for r in ranks]),
    )


def evaluate(
    questions: Sequence[Question],
    search: Callable[[str, int, Filters], list[Passage]],
    ask: Callable[[str, int, Filters], Answer],
    k: int = 5,
) -> Report:
    results = [_one(q, search, ask, k) for q in questions]
    answerable = [r for r, q in zip(results, questions, strict=True) if q.answerable]
    unanswerable = [r for r, q in zip(results, questions, strict=True) if not q.answerable]
    by_kind: dict[str, dict[str, float]] = {}
    for kind in sorted({q.kind for q in questions}):
        group = [r for r in results if r.kind == kind]
        by_kind[kind] = {
            "n": len(group),
            "recall_at_k": _mean([r.rank > 0 for r in group]) if kind != "unanswerable" else 0.0,
            "abstained": _mean([r.abstained for r in group]),
        }
    return Report(
        questions=len(questions),
        k=k,
        recall_at_k=_mean([r.rank > 0 for r in answerable]),
        mrr=_mean([1 / r.rank if r.rank else 0.0 for r in answerable]),
        answer_term_hit_rate=_mean([r.answer_term_hit for r in answerable]),
        answer_lang_match=_mean([r.lang_ok for r in results]),
        abstention_unanswerable=_mean([r.abstained for r in unanswerable]),
        abstention_answerable=_mean([r.abstained for r in answerable]),
        by_kind=by_kind,
        failures=[r for r in results if r.problems],
    )


def _one(
    q: Question,
    search: Callable[[str, int, Filters], list[Passage]],
    ask: Callable[[str, int, Filters], Answer],
    k: int,
) -> Result:
    filters = q.search_filters()
    rank = first_hit(search(q.question, k, filters), q)
    answer = ask(q.question, k, filters)
    abstained = not answer.citations
    text = answer.answer.casefold()
    term_hit = any(t.casefold() in text for t in q.answer_terms)
    lang_ok = answer.lang == q.lang and _prose_language(answer) == q.lang
    problems = []
    if q.answerable:
        if not rank:
            problems.append(f"no evidence in top {k}")
        if abstained:
            problems.append("abstained")
        elif not term_hit:
            problems.append("no answer term in the answer")
    elif not abstained:
        problems.append("answered an unanswerable question")
    if not lang_ok:
        problems.append(f"answered in {answer.lang}, asked in {q.lang}")
    return Result(
        id=q.id,
        kind=q.kind,
        rank=rank,
        abstained=abstained,
        answer_term_hit=term_hit,
        lang_ok=lang_ok,
        problems=problems,
    )


def _prose_language(answer: Answer) -> str:
    """The language of the answer's own words (its first line), not of its quotes."""
    first = answer.answer.strip().splitlines()[0] if answer.answer.strip() else ""
    return detect_language(first)


def _mean(values: Sequence[bool | float]) -> float:
    return round(sum(float(v) for v in values) / len(values), 4) if values else 0.0


def report_json(report: Report) -> str:
    return json.dumps(report.model_dump(), ensure_ascii=False, indent=2)
