"""Golden-set quality of the assistant next to two baselines, in one run.

    python benchmarks/quality.py [--vectorstore DIR] [--archive ../shared/archive]
        [--questions benchmarks/golden/archive.jsonl] [--k 5]

The index in --vectorstore must hold the archive (`assistant ingest ../shared/archive`
with ASSISTANT_VECTORSTORE_DIR=DIR); it is opened read-only. Baselines, on the same
archive texts and the same embedder:
- langchain: the plain LangChain recipe, RecursiveCharacterTextSplitter(1000, 200) over
  each file, dense top-k by cosine (vectors cached in ~/.cache/assistant-bench);
- bm25: our lexical index alone, no dense side, no name boost.
A hit is a passage (or chunk) containing an evidence substring of the question.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.archive import Archive  # noqa: E402
from assistant.evaluate import Question, evaluate, load_questions  # noqa: E402
from assistant.ingest import discover  # noqa: E402
from assistant.lexical import tokenize  # noqa: E402
from assistant.service import Assistant  # noqa: E402
from assistant.settings import Settings  # noqa: E402

CACHE = Path.home() / ".cache" / "assistant-bench"


def recall_mrr(
    questions: list[Question], rank_texts: Callable[[Question], list[str]]
) -> tuple[float, float]:
    ranks = []
    for q in questions:
        texts = rank_texts(q)
        ranks.append(
            next((i for i, t in enumerate(texts, 1) if any(e in t for e in q.evidence)), 0)
        )
    return float(np.mean([r > 0 for r in ranks])), float(
        np.mean([1 / r if r else 0 for r in ranks])
    )


def langchain_baseline(archive_dir: Path, embedder, questions: list[Question], k: int):  # type: ignore[no-untyped-def]
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    chunks = [
        c
        for f in discover([archive_dir])
        for c in splitter.split_text(f.read_text(encoding="utf-8"))
    ]
    key = hashlib.sha256((embedder.name + "".join(chunks)).encode()).hexdigest()[:16]
    cached = CACHE / f"langchain-{key}.npy"
    if cached.exists():
        matrix = np.load(cached)
    else:
        matrix = np.vstack(
            [embedder.embed_passages(chunks[i : i + 32]) for i in range(0, len(chunks), 32)]
        )
        CACHE.mkdir(parents=True, exist_ok=True)
        np.save(cached, matrix)

    def rank(q: Question) -> list[str]:
        scores = matrix @ embedder.embed_query(q.question)
        return [chunks[i] for i in np.argsort(-scores)[:k]]

    return recall_mrr(questions, rank), len(chunks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectorstore", type=Path, default=ROOT / "vectorstore")
    parser.add_argument("--archive", type=Path, default=ROOT.parent / "shared" / "archive")
    parser.add_argument("--questions", type=Path, default=ROOT / "benchmarks/golden/archive.jsonl")
    parser.add_argument("--k", type=int, default=5)
    args = parser.parse_args()

    archive = Archive(Settings(vectorstore_dir=args.vectorstore))
    helper = Assistant(archive)
    questions = load_questions(args.questions)
    answerable = [q for q in questions if q.answerable]
    report = evaluate(
        questions,
        lambda q, n, f: helper.search(q, n, f),
        lambda q, n, f: helper.ask(q, n, f),
        args.k,
    )

    lexical = archive.retriever.lexical

    def bm25_rank(q: Question) -> list[str]:
        keep = lexical.mask(archive.retriever.resolve(q.search_filters()))
        ids = lexical.rank(tokenize(q.question), keep)[: args.k]
        found = (
            archive.store.segments.get(ids=ids, include=["metadatas"])
            if ids
            else {"ids": [], "metadatas": []}
        )
        by_id = {i: m for i, m in zip(found["ids"], found["metadatas"], strict=True)}
        return [f"{by_id[i]['text_zh']}\n{by_id[i]['text_en']}" for i in ids if i in by_id]

    bm25 = recall_mrr(answerable, bm25_rank)
    (lc_recall, lc_mrr), n_chunks = langchain_baseline(
        args.archive, archive.store.embedder, answerable, args.k
    )

    print(f"{len(questions)} questions ({len(answerable)} answerable), k={args.k}\n")
    print(
        "| system | recall@k | MRR | answer terms | language right | abstain (unanswerable) | abstain (answerable) |"
    )
    print("|---|---|---|---|---|---|---|")
    print(
        f"| assistant (hybrid + extractive) | {report.recall_at_k:.3f} | {report.mrr:.3f} | "
        f"{report.answer_term_hit_rate:.3f} | {report.answer_lang_match:.3f} | "
        f"{report.abstention_unanswerable:.3f} | {report.abstention_answerable:.3f} |"
    )
    print(f"| BM25 alone | {bm25[0]:.3f} | {bm25[1]:.3f} | – | – | – | – |")
    print(
        f"| LangChain recipe ({n_chunks} chunks, dense) | {lc_recall:.3f} | {lc_mrr:.3f} | – | – | – | – |"
    )
    print("\nby kind:", json.dumps(report.by_kind, ensure_ascii=False))
    for failure in report.failures:
        print(
            f"  FAIL {failure.id} ({failure.kind}, rank {failure.rank}): {'; '.join(failure.problems)}"
        )


if __name__ == "__main__":
    main()
