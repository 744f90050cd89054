"""Calibrate the extractive abstention threshold on a golden set.

    python benchmarks/calibrate.py [--vectorstore DIR] [--questions FILE]

Prints each question's evidence score (`assistant.answer.evidence_score` on its top
passages) and, for a sweep of thresholds, the share of answerable questions answered
and of unanswerable questions abstained on. `ABSTAIN_BELOW` in assistant/answer.py is
chosen from this table: the highest threshold that still answers ≥ 0.9 of answerable.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.answer import evidence_score, unknown_names  # noqa: E402
from assistant.archive import Archive  # noqa: E402
from assistant.evaluate import load_questions  # noqa: E402
from assistant.settings import Settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectorstore", type=Path, default=ROOT / "vectorstore")
    parser.add_argument("--questions", type=Path, default=ROOT / "benchmarks/golden/archive.jsonl")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()

    archive = Archive(Settings(vectorstore_dir=args.vectorstore))
    bm25 = archive.retriever.lexical.bm25
    rows = []
    for q in load_questions(args.questions):
        passages = archive.retriever.search(q.question, 8, q.search_filters())
        score = evidence_score(q.question, passages, bm25.term_idf)
        unknown = unknown_names(q.question, archive.retriever.lexical.knows)
        rows.append((q.answerable, score, unknown, q.id, q.question))
    if args.verbose:
        for answerable, score, unknown, qid, question in sorted(rows, key=lambda r: r[1]):
            print(f"{'A' if answerable else 'U'} {score:.3f} {qid} {unknown or ''} {question[:70]}")
    answerable = [r for r in rows if r[0]]
    unanswerable = [r for r in rows if not r[0]]
    print(f"{len(answerable)} answerable, {len(unanswerable)} unanswerable")
    print("| threshold | answered (answerable) | abstained (unanswerable) |")
    print("|---|---|---|")
    for threshold in np.arange(0.2, 0.75, 0.05):
        answered = np.mean([s >= threshold and not u for _, s, u, *_ in answerable])
        abstained = np.mean([s < threshold or bool(u) for _, s, u, *_ in unanswerable])
        print(f"| {threshold:.2f} | {answered:.3f} | {abstained:.3f} |")


if __name__ == "__main__":
    main()
