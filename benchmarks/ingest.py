"""Ingest throughput against the embedder alone, re-ingest time, and the dry-run rate.

    python benchmarks/ingest.py [--archive ../shared/archive] [--embedder e5|use] [--limit N]

Everything is measured in one run on the same texts, so the ratios hold on a noisy
machine even where the absolute times do not.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import chromadb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.embed import E5Embedder, Embedder, USEEmbedder, passage_text  # noqa: E402
from assistant.index import SegmentStore  # noqa: E402
from assistant.ingest import discover, ingest, parse_files  # noqa: E402

BATCH = 32


def replicated_dry_run(files: list[Path], copies: int) -> tuple[int, float]:
    """Parse `copies` renamed copies of every file (a large archive): (files, seconds)."""
    with tempfile.TemporaryDirectory() as folder:
        for n in range(copies):
            for file in files:
                text = file.read_text(encoding="utf-8").replace("watch?v=", f"watch?v=c{n}-", 1)
                (Path(folder) / f"c{n}-{file.name}").write_text(text, encoding="utf-8")
        many = discover([Path(folder)])
        started = time.perf_counter()
        episodes, failures = parse_files(many, 10_000_000)
        seconds = time.perf_counter() - started
    assert len(episodes) == len(many) and not failures
    return len(many), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", type=Path, default=ROOT.parent / "shared" / "archive")
    parser.add_argument("--embedder", choices=["e5", "use"], default="e5")
    parser.add_argument("--limit", type=int, default=0, help="only the first N files")
    parser.add_argument("--copies", type=int, default=20, help="for the large dry run")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    files = discover([args.archive])
    if args.limit:
        files = files[: args.limit]
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        episodes, failures = parse_files(files, 10_000_000)
        runs.append(time.perf_counter() - started)
    dry_run = statistics.median(runs)
    texts = [passage_text(s) for e in episodes for s in e.segments]
    copies = replicated_dry_run(files, args.copies)

    embedder: Embedder = E5Embedder() if args.embedder == "e5" else USEEmbedder()
    embedder.embed_passages(["warm up"])

    started = time.perf_counter()
    for start in range(0, len(texts), BATCH):
        embedder.embed_passages(texts[start : start + BATCH])
    embed_only = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as folder:
        store = SegmentStore(chromadb.PersistentClient(path=folder), embedder)
        started = time.perf_counter()
        first = ingest(files, store, max_bytes=10_000_000, batch_size=BATCH)
        full = time.perf_counter() - started
        started = time.perf_counter()
        again = ingest(files, store, max_bytes=10_000_000, batch_size=BATCH)
        reingest = time.perf_counter() - started
    assert first.embedded == len(texts) and again.embedded == 0 and not first.failures

    result = {
        "embedder": embedder.name,
        "files": len(files),
        "segments": len(texts),
        "dry_run_files_per_s": round(len(files) / dry_run, 1),
        "dry_run_segments_per_s": round(len(texts) / dry_run),
        f"dry_run_x{args.copies}_files": copies[0],
        f"dry_run_x{args.copies}_files_per_s": round(copies[0] / copies[1], 1),
        "embedder_alone_segments_per_s": round(len(texts) / embed_only, 2),
        "ingest_segments_per_s": round(len(texts) / full, 2),
        "overhead_ratio": round(full / embed_only, 3),
        "reingest_unchanged_s": round(reingest, 2),
        "parse_failures": len(failures),
    }
    if args.json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        print(f"{key:32} {value}")


if __name__ == "__main__":
    main()
