"""Search and ask latency over the golden questions, next to the bare embedder + Chroma.

    python benchmarks/latency.py [--vectorstore DIR] [--questions FILE] [--rounds 3]

Each golden question is timed through: the bare baseline (embed the query, one Chroma
query, no filters), `search` without and with its filters (questions without filters get
a date range over the archive), and `ask` (extractive). Percentiles over all timings.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.archive import Archive  # noqa: E402
from assistant.evaluate import load_questions  # noqa: E402
from assistant.models import Filters  # noqa: E402
from assistant.service import Assistant  # noqa: E402
from assistant.settings import Settings  # noqa: E402


def timed(fn: Callable[[], object], rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectorstore", type=Path, default=ROOT / "vectorstore")
    parser.add_argument("--questions", type=Path, default=ROOT / "benchmarks/golden/archive.jsonl")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    started = time.perf_counter()
    archive = Archive(Settings(vectorstore_dir=args.vectorstore))
    open_ms = (time.perf_counter() - started) * 1000
    helper = Assistant(archive)
    questions = load_questions(args.questions)
    helper.search("warm up")
    rows: dict[str, list[float]] = {
        "bare embed + Chroma query": [],
        "search": [],
        "search, filtered": [],
        "ask (extractive)": [],
    }
    for q in questions:
        filters = q.search_filters()
        if filters.is_empty():
            filters = Filters(date_from="2025-01-01", date_to="2025-12-31")

        def bare(question: str = q.question) -> object:
            vector = archive.store.embedder.embed_query(question)
            return archive.store.segments.query(
                query_embeddings=[vector], n_results=50, include=["metadatas"]
            )

        rows["bare embed + Chroma query"] += timed(bare, args.rounds)
        rows["search"] += timed(lambda q=q: helper.search(q.question, 8), args.rounds)
        rows["search, filtered"] += timed(
            lambda q=q, f=filters: helper.search(q.question, 8, f), args.rounds
        )
        rows["ask (extractive)"] += timed(lambda q=q: helper.ask(q.question, 8), args.rounds)

    print(
        f"{len(questions)} questions × {args.rounds} rounds; {archive.store.count()} segments; open {open_ms:.0f} ms\n"
    )
    print("| path | p50 ms | p95 ms | mean ms |")
    print("|---|---|---|---|")
    for name, values in rows.items():
        p50, p95 = np.percentile(values, [50, 95])
        print(f"| {name} | {p50:.1f} | {p95:.1f} | {statistics.fmean(values):.1f} |")


if __name__ == "__main__":
    main()
