"""Lexical-only retrieval on the real-archive golden set, with the whole archive as distractors.

    nice -n 10 python benchmarks/real_golden.py [--archive /tmp/real]
        [--questions benchmarks/golden/real.jsonl] [--distractors N] [--json FILE]

Builds the project's own BM25 (assistant/lexical.py: `tokenize` over `passage_text`, the
text ingest indexes) over every segment of the archive in memory, with no embeddings, and
ranks each answerable question with `LexicalIndex.rank` under the question's filters, as
the lexical side of `Retriever` does (without its name boost). Files are found and parsed
as ingest does (`discover`, `parse_files`), so a note ingest would skip is missing here too.
Reports recall@1/5/10 and MRR by kind and by language, for the tune and report halves,
and how often `answer.should_abstain` would abstain on the top 5 lexical passages (with no
dense similarities, so without the cross-language rescue hybrid search gives it).
`--distractors N` keeps the questions' notes plus N others (seeded), for a quicker slice.

Tokenizing ~586k segments with jieba is most of the run (tens of minutes on two cores);
it runs in a process pool, and BM25 consumes the tokens as they come.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.answer import should_abstain  # noqa: E402
from assistant.embed import passage_text  # noqa: E402
from assistant.evaluate import Question  # noqa: E402
from assistant.index import segment_record  # noqa: E402
from assistant.ingest import discover, parse_files  # noqa: E402
from assistant.lexical import BM25, episode_facts, tokenize  # noqa: E402
from assistant.models import Episode, Passage  # noqa: E402
from assistant.retrieve import LexicalIndex, passage_from_metadata  # noqa: E402

MAX_BYTES = 50_000_000  # measure retrieval, not the size limit
CUTS = (1, 5, 10)


class _Streamed(Sequence[list[str]]):
    """Token lists made in a process pool while BM25 reads them, so they are never all
    held at once. BM25 reads its documents once, in order, then asks for their number."""

    def __init__(self, texts: Sequence[str], pool: ProcessPoolExecutor) -> None:
        self._texts, self._pool = texts, pool

    def __len__(self) -> int:
        return len(self._texts)

    def __iter__(self) -> Iterator[list[str]]:
        started = time.perf_counter()
        for done, tokens in enumerate(self._pool.map(tokenize, self._texts, chunksize=512), 1):
            if done % 50_000 == 0:
                _log(f"tokenized {done:,} segments in {time.perf_counter() - started:.0f} s")
            yield tokens

    def __getitem__(self, index: Any) -> Any:
        raise TypeError("read once, in order")


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def build(
    episodes: Sequence[Episode], questions: Sequence[Question], workers: int
) -> tuple[LexicalIndex, dict[str, set[int]]]:
    """The lexical index over all segments, and for each question the rows that hold one of
    its evidence strings (in the Chinese or the English, as `evaluate.is_hit` reads them)."""
    ids: list[str] = []
    texts: list[str] = []
    episode_of: list[int] = []
    turn_speakers: list[str] = []
    hits: dict[str, set[int]] = {q.id: set() for q in questions}
    evidence = [(q.id, e) for q in questions for e in q.evidence]
    for number, episode in enumerate(episodes):
        for segment in episode.segments:
            row = len(ids)
            ids.append(segment.id)
            texts.append(passage_text(segment))
            episode_of.append(number)
            turn_speakers.append(segment.turn_speaker)
            for qid, text in evidence:
                if text in segment.text_zh or text in segment.text_en:
                    hits[qid].add(row)
    facts = [
        episode_facts(
            e.id,
            {
                "speaker": e.speaker,
                "date_int": e.date_int,
                "people": e.people,
                "companies": e.companies,
                "tags": e.tags,
                "products": e.products,
            },
        )
        for e in episodes
    ]
    _log(f"{len(ids):,} segments from {len(episodes):,} notes; tokenizing on {workers} cores")
    with ProcessPoolExecutor(workers) as pool:
        bm25 = BM25(_Streamed(texts, pool))
    index = LexicalIndex.assemble(
        ids=ids,
        episode_of=np.asarray(episode_of, dtype=np.int32),
        turn_speakers=turn_speakers,
        episodes=facts,
        bm25=bm25,
        vectors=np.zeros((len(ids), 0), dtype=np.float32),
        version="",
    )
    return index, hits


def ranked(index: LexicalIndex, question: Question) -> list[str]:
    keep = index.mask(question.search_filters())
    return index.rank(tokenize(question.question), keep)[: max(CUTS)]


def first_hit(index: LexicalIndex, ids: Sequence[str], hits: set[int]) -> int:
    """1-based rank of the first segment holding evidence, 0 when none in `ids`."""
    return next((i for i, sid in enumerate(ids, 1) if index.position[sid] in hits), 0)


def abstains(
    index: LexicalIndex, episodes: Sequence[Episode], question: Question, ids: Sequence[str]
) -> bool:
    passages: list[Passage] = []
    for sid in ids[:5]:
        row = index.position[sid]
        episode = episodes[index.episode_of[row]]
        segment = episode.segments[int(sid.rsplit(":", 1)[1]) - 1]
        passages.append(passage_from_metadata(sid, segment_record(episode, segment).metadata))
    return should_abstain(question.question, passages, index)


def summarise(ranks: Sequence[int]) -> dict[str, float]:
    n = len(ranks)
    figures: dict[str, float] = {"n": n}
    for cut in CUTS:
        figures[f"recall@{cut}"] = round(sum(0 < r <= cut for r in ranks) / n, 3) if n else 0.0
    figures["mrr@10"] = round(sum(1 / r for r in ranks if r) / n, 3) if n else 0.0
    return figures


def table(rows: dict[str, dict[str, float]]) -> str:
    head = "| group | n | recall@1 | recall@5 | recall@10 | MRR@10 |\n|---|---|---|---|---|---|"
    lines = [
        f"| {name} | {f['n']:.0f} | {f['recall@1']:.3f} | {f['recall@5']:.3f} | "
        f"{f['recall@10']:.3f} | {f['mrr@10']:.3f} |"
        for name, f in rows.items()
    ]
    return "\n".join([head, *lines])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", type=Path, default=Path("/tmp/real"))
    parser.add_argument("--questions", type=Path, default=ROOT / "benchmarks/golden/real.jsonl")
    parser.add_argument("--distractors", type=int, default=None, help="Keep only N others.")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None, help="Also write the figures here.")
    args = parser.parse_args()

    lines = args.questions.read_text(encoding="utf-8").splitlines()
    raw = [json.loads(line) for line in lines if line.strip()]
    questions = [Question.model_validate(r) for r in raw]
    split = {r["id"]: r.get("split", "all") for r in raw}
    answerable = [q for q in questions if q.answerable]
    unanswerable = [q for q in questions if not q.answerable]

    started = time.perf_counter()
    files = discover([args.archive])
    if args.distractors is not None:
        named = {str(q.video_id) for q in answerable}
        own = [f for f in files if f.stem in named]
        others = [f for f in files if f.stem not in named]
        files = own + random.Random(0).sample(others, min(args.distractors, len(others)))
    episodes, failures = parse_files(files, MAX_BYTES)
    _log(
        f"parsed {len(episodes):,} notes ({len(failures)} failed) in "
        f"{time.perf_counter() - started:.0f} s"
    )
    indexed = {e.id for e in episodes}
    missing = sorted({str(q.video_id) for q in answerable} - indexed)

    index, hits = build(episodes, answerable, args.workers)
    _log(f"index built after {time.perf_counter() - started:.0f} s")

    top = {q.id: ranked(index, q) for q in questions}
    ranks = {q.id: first_hit(index, top[q.id], hits[q.id]) for q in answerable}
    abstained = {q.id: abstains(index, episodes, q, top[q.id]) for q in questions}
    rows: dict[str, dict[str, float]] = {}
    for half in ("tune", "report", "all"):
        group = [q for q in answerable if half == "all" or split[q.id] == half]
        rows[f"{half}: all answerable"] = summarise([ranks[q.id] for q in group])
        for kind in sorted({q.kind for q in group}):
            rows[f"{half}: {kind}"] = summarise([ranks[q.id] for q in group if q.kind == kind])
        for lang in ("en", "zh"):
            rows[f"{half}: asked in {lang}"] = summarise(
                [ranks[q.id] for q in group if q.lang == lang]
            )
    print(
        f"{len(index.ids):,} segments, {len(answerable)} answerable questions, "
        f"{time.perf_counter() - started:.0f} s\n"
    )
    print(table(rows))
    print("\n| half | abstained, unanswerable | abstained, answerable (false) |\n|---|---|---|")
    for half in ("tune", "report", "all"):
        shares = [
            _share([abstained[q.id] for q in group if half == "all" or split[q.id] == half])
            for group in (unanswerable, answerable)
        ]
        print(f"| {half} | {shares[0]} | {shares[1]} |")
    if missing:
        print(
            f"\nnotes of questions that ingest's discovery/parsing left out: {', '.join(missing)}"
        )
    misses = [q for q in answerable if not ranks[q.id]]
    print(f"\nnot in the top 10 ({len(misses)}):")
    for q in misses:
        print(f"  {q.id} [{split[q.id]}, {q.kind}, {q.lang}] {q.question}")
    falsely = [q for q in answerable if abstained[q.id]]
    print(f"\nabstained although answerable ({len(falsely)}): {' '.join(q.id for q in falsely)}")
    answered = [q for q in unanswerable if not abstained[q.id]]
    print(f"answered although unanswerable ({len(answered)}): {' '.join(q.id for q in answered)}")
    if args.json:
        figures = {"rows": rows, "ranks": ranks, "abstained": abstained}
        args.json.write_text(json.dumps(figures, indent=1))


def _share(values: Sequence[bool]) -> str:
    return f"{sum(values) / len(values):.3f} ({sum(values)}/{len(values)})" if values else "–"


if __name__ == "__main__":
    main()
