"""Choose the default embedder: speed and dense-retrieval quality on the real archive.

    python benchmarks/embedders.py [--archive ../shared/archive]
        [--questions benchmarks/golden/archive.jsonl] [--embedders e5,use]

Every segment of the archive is embedded as ingest embeds it (`passage_text`), each
golden question is embedded as a query, and the segments are ranked by cosine
similarity alone (no lexical index, no filters): the embedder's own contribution.
A hit is a segment whose Chinese or English text contains an evidence substring.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.embed import E5Embedder, Embedder, USEEmbedder, passage_text  # noqa: E402
from assistant.ingest import discover, parse_files  # noqa: E402

EMBEDDERS = {"e5": E5Embedder, "use": USEEmbedder}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", type=Path, default=ROOT.parent / "shared" / "archive")
    parser.add_argument("--questions", type=Path, default=ROOT / "benchmarks/golden/archive.jsonl")
    parser.add_argument("--embedders", default="e5,use")
    args = parser.parse_args()

    episodes, _ = parse_files(discover([args.archive]), 10_000_000)
    segments = [s for e in episodes for s in e.segments]
    texts = [passage_text(s) for s in segments]
    questions = [json.loads(line) for line in args.questions.read_text().splitlines() if line]
    answerable = [q for q in questions if q["evidence"]]
    relevant = [
        {
            i
            for i, s in enumerate(segments)
            if s.episode_id == q["video_id"]
            and any(ev in s.text_zh or ev in s.text_en for ev in q["evidence"])
        }
        for q in answerable
    ]
    print(f"{len(segments)} segments, {len(answerable)} answerable questions")
    print("| embedder | dim | passages/s | query ms | recall@1 | recall@5 | recall@10 | MRR |")
    print("|---|---|---|---|---|---|---|---|")
    for key in args.embedders.split(","):
        embedder: Embedder = EMBEDDERS[key]()
        embedder.embed_passages(["warm up"])
        started = time.perf_counter()
        matrix = np.vstack(
            [embedder.embed_passages(texts[i : i + 32]) for i in range(0, len(texts), 32)]
        )
        rate = len(texts) / (time.perf_counter() - started)
        started = time.perf_counter()
        queries = np.vstack([embedder.embed_query(q["question"]) for q in answerable])
        query_ms = 1000 * (time.perf_counter() - started) / len(answerable)
        ranks = []
        for vector, wanted in zip(queries, relevant, strict=True):
            order = np.argsort(-(matrix @ vector))
            hits = [r for r, index in enumerate(order[:100]) if index in wanted]
            ranks.append(hits[0] + 1 if hits else 0)
        recall = {k: np.mean([0 < r <= k for r in ranks]) for k in (1, 5, 10)}
        mrr = np.mean([1 / r if r else 0 for r in ranks])
        print(
            f"| {embedder.name} | {matrix.shape[1]} | {rate:.1f} | {query_ms:.1f} | "
            f"{recall[1]:.3f} | {recall[5]:.3f} | {recall[10]:.3f} | {mrr:.3f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
