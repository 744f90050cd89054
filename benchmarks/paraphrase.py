"""Retrieval on the paraphrase golden set: the default hybrid beside its parts, by half,
kind and language, in one run.

    python benchmarks/paraphrase.py [--vectorstore DIR] [--questions FILE] [--ranks FILE]

The index in --vectorstore must hold the corpus benchmarks/paraphrase_corpus.py assembles
(`assistant ingest CORPUS` with ASSISTANT_VECTORSTORE_DIR=DIR); it is opened read-only.
Systems, each given the question's filters and asked for its top 10:
- hybrid: `Assistant.search`, what every user gets;
- dense: plain e5 cosine over every paragraph (exact, in memory), nothing else;
- dense side: the hybrid's own dense ranking (segments lacking the query's language
  raised by OTHER_LANGUAGE_BONUS), before fusion;
- bm25: the lexical ranking alone, without the name boost.
A hit is a passage holding an evidence string (`assistant.evaluate.first_hit`). Figures
are printed per half (`split`): tune on one, report the other.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.archive import Archive  # noqa: E402
from assistant.evaluate import (  # noqa: E402
    Question,
    RankScores,
    first_hit,
    load_questions,
    rank_scores,
    select_split,
)
from assistant.lexical import tokenize  # noqa: E402
from assistant.models import Passage  # noqa: E402
from assistant.retrieve import passage_from_metadata  # noqa: E402
from assistant.service import Assistant  # noqa: E402
from assistant.settings import Settings  # noqa: E402

DEPTH = 10
GROUPS = ["all", "zh", "en", "fact", "who_said", "filter", "crosslingual"]


def systems(archive: Archive) -> dict[str, Callable[[Question], list[Passage]]]:
    retriever = archive.retriever
    lexical = retriever.lexical
    found = archive.store.segments.get(include=["metadatas"])
    meta = dict(zip(found["ids"], found["metadatas"] or [], strict=True))

    def passages(ids: Sequence[str]) -> list[Passage]:
        return [passage_from_metadata(i, meta[i]) for i in ids[:DEPTH] if i in meta]

    def keep(q: Question) -> np.ndarray | None:
        return lexical.mask(retriever.resolve(q.search_filters()))

    def dense(q: Question) -> list[Passage]:
        vector = np.asarray(archive.store.embedder.embed_query(q.question), dtype=np.float32)
        scores = lexical.vectors @ vector
        allowed = keep(q)
        if allowed is not None:
            scores = np.where(allowed, scores, -np.inf)
        top = np.argsort(-scores, kind="stable")[:DEPTH]
        return passages([lexical.ids[i] for i in top if np.isfinite(scores[i])])

    def dense_side(q: Question) -> list[Passage]:
        return passages(retriever._dense(q.question, keep(q))[0])

    def bm25(q: Question) -> list[Passage]:
        return passages(lexical.rank(tokenize(q.question), keep(q)))

    helper = Assistant(archive)
    return {
        "hybrid": lambda q: helper.search(q.question, DEPTH, q.search_filters()),
        "dense": dense,
        "dense side": dense_side,
        "bm25": bm25,
    }


def in_group(q: Question, group: str) -> bool:
    return group == "all" or group in (q.lang, q.kind)


def table(questions: list[Question], ranks: dict[str, dict[str, int]]) -> str:
    """Rows: groups of answerable questions; a cell: R@1 / R@5 / R@10 / MRR of a system."""
    names = list(ranks)
    lines = [
        "| group | n | " + " | ".join(f"{n} R@1/5/10, MRR" for n in names) + " |",
        "|---|---|" + "---|" * len(names),
    ]
    for group in GROUPS:
        members = [q for q in questions if q.answerable and in_group(q, group)]
        if not members:
            continue
        cells = []
        for name in names:
            s: RankScores = rank_scores([ranks[name][q.id] for q in members], (1, 5, DEPTH))
            cells.append(" / ".join(f"{s.recall[k]:.2f}" for k in (1, 5, DEPTH)) + f", {s.mrr:.3f}")
        lines.append(f"| {group} | {len(members)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectorstore", type=Path, default=ROOT / "vectorstore")
    parser.add_argument(
        "--questions", type=Path, default=ROOT / "benchmarks/golden/paraphrase.jsonl"
    )
    parser.add_argument("--ranks", type=Path, help="Write every question's ranks here (JSON).")
    args = parser.parse_args()

    archive = Archive(Settings(vectorstore_dir=args.vectorstore))
    indexed = {e["episode_id"] for e in archive.retriever.lexical.episodes}
    every = load_questions(args.questions)
    # A question over an episode the index lacks would count as a miss of every system.
    questions = [q for q in every if not q.answerable or q.video_id in indexed]
    answerable = [q for q in questions if q.answerable]
    ranks = {
        name: {q.id: first_hit(search(q), q) for q in answerable}
        for name, search in systems(archive).items()
    }
    print(
        f"{len(questions)} questions ({len(answerable)} answerable), "
        f"{len(indexed)} episodes, {archive.store.count():,} segments, top {DEPTH}"
    )
    if len(questions) < len(every):
        print(f"left out {len(every) - len(questions)} questions: their episode is not indexed")
    print()
    for split in ("report", "tune"):
        half = select_split(questions, split)
        print(f"### {split} half ({len(half)} questions)\n\n{table(half, ranks)}\n")
    if args.ranks:
        by_question = {q.id: {n: ranks[n][q.id] for n in ranks} for q in answerable}
        args.ranks.write_text(json.dumps(by_question, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
