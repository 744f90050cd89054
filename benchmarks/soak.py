"""A bounded soak on 127.0.0.1: search and ask clients against API workers that share a
Chroma server, while an ingest process keeps adding and revising episodes.

    python benchmarks/soak.py [--seconds 60] [--clients 4] [--workers 2] [--warmup 15]
        [--rss-growth 0.25] [--archive ../shared/archive] [--initial 3] [--workdir DIR]

Starts `chroma run` and `assistant serve --workers N` on free loopback ports, ingests
the sample archive and the --initial smallest archive episodes, then for --seconds runs
--clients concurrent clients (alternately /api/search and /api/ask, golden questions,
a new connection per request so both workers serve) while `assistant ingest` runs in a
loop, each run adding the next smallest episode or revising one it added (new English
text in one paragraph; the paragraphs, and so the segment ids, stay).

Fails (exit 1) unless: every request answers 200; every answer's citations are numbered
1..n, each `[n]` in the answer is a citation and each citation is marked, each carries
text, and each cited id exists in Chroma at the end; every ingest run succeeds; every
worker serves the final episode count; and each worker's RSS at the end is at most
--rss-growth above its RSS after the warm-up.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import chromadb
import httpx
import numpy as np
from chromadb.config import Settings as ChromaSettings
from load import free_port, rss_mb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.evaluate import load_questions  # noqa: E402
from assistant.ingest import discover  # noqa: E402

ENGLISH = '<p class="english-text">'
_MARKER = re.compile(r"\[(\d+)\]")


def citation_problems(answer: dict[str, Any]) -> list[str]:
    """What is wrong with an answer's citations (nothing, for a valid one)."""
    numbers = [c["n"] for c in answer["citations"]]
    problems = []
    if numbers != list(range(1, len(numbers) + 1)):
        problems.append(f"citations numbered {numbers}")
    markers = {int(m) for m in _MARKER.findall(answer["answer"])}
    if markers != set(numbers):
        problems.append(f"markers {sorted(markers)} but citations {numbers}")
    problems += [
        f"citation {c['n']} ({c['id']}) has no text"
        for c in answer["citations"]
        if not (c["text_zh"].strip() or c["text_en"].strip())
    ]
    return problems


def revise(path: Path, n: int) -> None:
    """New English text in one paragraph (the n-th, cyclically); no paragraph added."""
    parts = path.read_text(encoding="utf-8").split(ENGLISH)
    k = 1 + n % (len(parts) - 1)
    parts[k] = f"(revision {n}) {parts[k]}"
    path.write_text(ENGLISH.join(parts), encoding="utf-8")


def worker_pids(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return sorted(
        int(child)
        for child in children
        if b"resource_tracker" not in Path(f"/proc/{child}/cmdline").read_bytes()
    )


@contextmanager
def running(
    command: Sequence[str], ready_url: str, env: dict[str, str], log: Path, timeout: float = 180
) -> Iterator[subprocess.Popen[bytes]]:
    """A server process, once `ready_url` answers 200; terminated afterwards."""
    with log.open("wb") as sink:
        proc = subprocess.Popen(list(command), stdout=sink, stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    if httpx.get(ready_url, timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"{command[0]} did not start:\n{log.read_text()[-2000:]}")
                time.sleep(0.2)
            yield proc
        finally:
            proc.terminate()
            proc.wait(timeout=30)


@dataclass
class IngestRun:
    kind: str  # "added" or "revised"
    file: str
    seconds: float
    returncode: int
    output: str


@dataclass
class Results:
    # Per endpoint: (seconds into the soak when sent, latency ms) of each answered request.
    timings: dict[str, list[tuple[float, float]]] = field(
        default_factory=lambda: {"/api/search": [], "/api/ask": []}
    )
    errors: list[str] = field(default_factory=list)
    bad_citations: list[str] = field(default_factory=list)
    cited: set[str] = field(default_factory=set)
    answers: int = 0
    rss: dict[int, list[tuple[float, float]]] = field(default_factory=dict)
    ingests: list[IngestRun] = field(default_factory=list)


def ingest_loop(
    feed: list[Path], folder: Path, env: dict[str, str], stop: threading.Event, into: Results
) -> None:
    """Until `stop`: add the next episode to `folder` or revise one there, then ingest it."""
    added: list[Path] = []
    n = 0
    while not stop.is_set():
        if feed and (n % 2 == 0 or not added):
            source = feed.pop(0)
            target = folder / source.name
            shutil.copy(source, target)
            added.append(target)
            kind = "added"
        else:
            target = added[n % len(added)]
            revise(target, n)
            kind = "revised"
        started = time.monotonic()
        run = subprocess.run(
            [sys.executable, "-m", "assistant.cli", "ingest", str(folder)],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        into.ingests.append(
            IngestRun(
                kind,
                target.name,
                time.monotonic() - started,
                run.returncode,
                (run.stdout + run.stderr)[-1500:],
            )
        )
        n += 1


async def clients(
    args: argparse.Namespace, url: str, questions: list[str], serve_pid: int, into: Results
) -> None:
    started = time.monotonic()
    deadline = started + args.seconds
    pids = worker_pids(serve_pid)

    async def client(offset: int) -> None:
        # No keep-alive: each request connects anew, so requests spread over the workers.
        limits = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
            i = offset
            while time.monotonic() < deadline:
                question = questions[i % len(questions)]
                path = "/api/search" if i % 2 == 0 else "/api/ask"
                body = {"query": question, "k": 8} if i % 2 == 0 else {"question": question}
                i += 1
                sent, offset = time.perf_counter(), time.monotonic() - started
                try:
                    response = await http.post(path, json=body)
                except httpx.HTTPError as exc:
                    into.errors.append(f"{path} {type(exc).__name__}")
                    continue
                into.timings[path].append((offset, (time.perf_counter() - sent) * 1000))
                if response.status_code != 200:
                    into.errors.append(f"{path} {response.status_code} {response.text[:200]}")
                elif path == "/api/ask":
                    answer = response.json()
                    into.answers += 1
                    into.cited |= {c["id"] for c in answer["citations"]}
                    into.bad_citations += [f"{question!r}: {p}" for p in citation_problems(answer)]

    async def watch() -> None:
        while time.monotonic() < deadline:
            now = time.monotonic() - started
            for pid in pids:
                into.rss.setdefault(pid, []).append((now, rss_mb(pid)))
            await asyncio.sleep(1)
        if worker_pids(serve_pid) != pids:
            into.errors.append(f"workers changed: {pids} → {worker_pids(serve_pid)}")

    await asyncio.gather(watch(), *(client(offset) for offset in range(args.clients)))


def every_worker_serves(url: str, episodes: int, within: float = 30) -> bool:
    """Ten answers in a row, on new connections, report `episodes` (the last ingest)."""
    deadline = time.monotonic() + within
    streak = 0
    while streak < 10 and time.monotonic() < deadline:
        ready = httpx.get(url + "/readyz", timeout=10).json()
        streak = streak + 1 if ready["episodes"] == episodes else 0
        if not streak:
            time.sleep(0.2)
    return streak >= 10


def rss_table(results: Results, args: argparse.Namespace) -> tuple[list[str], bool]:
    lines = [
        f"| worker | RSS MB at 0 s | after {args.warmup:.0f} s warm-up | middle | end | peak | growth |",
        "|---|---|---|---|---|---|---|",
    ]
    within = True
    middle = (args.warmup + args.seconds) / 2
    for pid, samples in sorted(results.rss.items()):
        warm = [rss for t, rss in samples if t >= args.warmup] or [samples[-1][1]]
        mid = min(samples, key=lambda s: abs(s[0] - middle))[1]
        growth = samples[-1][1] / warm[0] - 1
        within &= growth <= args.rss_growth
        lines.append(
            f"| {pid} | {samples[0][1]:.0f} | {warm[0]:.0f} | {mid:.0f} | {samples[-1][1]:.0f} "
            f"| {max(r for _, r in samples):.0f} | {growth:+.1%} |"
        )
    return lines, within


def report(
    results: Results, args: argparse.Namespace, elapsed: float, checks: dict[str, bool]
) -> None:
    done = sum(len(v) for v in results.timings.values())
    added = sum(r.kind == "added" for r in results.ingests)
    print(
        f"soak: {args.seconds:.0f} s, {args.clients} clients, {args.workers} workers over a "
        f"Chroma server, ingest running alongside"
    )
    print(
        f"requests: {done} in {elapsed:.1f} s ({done / elapsed:.1f}/s), errors: "
        f"{len(results.errors)}; answers: {results.answers}, invalid citations: "
        f"{len(results.bad_citations)}, distinct cited ids: {len(results.cited)}"
    )
    print(
        f"ingest runs: {len(results.ingests)} ({added} added, "
        f"{len(results.ingests) - added} revised), failed: "
        f"{sum(r.returncode != 0 for r in results.ingests)}, seconds each: "
        f"{', '.join(f'{r.seconds:.1f}' for r in results.ingests)}\n"
    )
    print("| endpoint | requests | p50 ms | p95 ms | p99 ms | max ms (at s) | max after warm-up |")
    print("|---|---|---|---|---|---|---|")
    for path, timed in results.timings.items():
        if timed:
            p50, p95, p99 = np.percentile([ms for _, ms in timed], [50, 95, 99])
            at, worst = max(timed, key=lambda x: x[1])
            warm = max((ms for t, ms in timed if t >= args.warmup), default=0)
            print(
                f"| {path} | {len(timed)} | {p50:.0f} | {p95:.0f} | {p99:.0f} "
                f"| {worst:.0f} ({at:.0f}) | {warm:.0f} |"
            )
    lines, _ = rss_table(results, args)
    print("", *lines, sep="\n")
    for pid, samples in sorted(results.rss.items()):
        every = ", ".join(f"{rss:.0f}" for t, rss in samples[::10])
        print(f"worker {pid} RSS MB every 10 s: {every}")
    print()
    for name, ok in checks.items():
        print(f"{'ok  ' if ok else 'FAIL'} {name}")
    for problem in (results.errors + results.bad_citations)[:20]:
        print("  ", problem)
    for run in results.ingests:
        if run.returncode:
            print(f"   ingest of {run.file} exited {run.returncode}: {run.output}")


def soak(args: argparse.Namespace, work: Path) -> bool:
    files = sorted(discover([args.archive]), key=lambda p: p.stat().st_size)
    initial, feed = work / "initial", work / "feed"
    shutil.copytree(ROOT / "sample_archive", initial)
    feed.mkdir()
    for file in files[: args.initial]:
        shutil.copy(file, initial)
    questions = [
        q.question
        for name in ("sample.jsonl", "archive.jsonl")
        for q in load_questions(ROOT / "benchmarks" / "golden" / name)
    ]

    chroma_port, api_port = free_port(), free_port()
    chroma_url, url = f"http://127.0.0.1:{chroma_port}", f"http://127.0.0.1:{api_port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env |= {
        "PYTHONPATH": str(ROOT),
        "ASSISTANT_VECTORSTORE_DIR": str(work / "vectorstore"),
        "ASSISTANT_CHROMA_URL": chroma_url,
        "ASSISTANT_REFRESH_SECONDS": str(args.refresh),
    }
    chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    chroma_cmd = [chroma, "run", "--path", str(work / "chroma"), "--host", "127.0.0.1"]
    serve = [sys.executable, "-m", "assistant.cli", "serve", "--port", str(api_port)]
    results = Results()
    with running(
        [*chroma_cmd, "--port", str(chroma_port)],
        chroma_url + "/api/v2/heartbeat",
        env,
        work / "chroma.log",
    ):
        first = subprocess.run(
            [sys.executable, "-m", "assistant.cli", "ingest", str(initial)],
            env=env, capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        if first.returncode:
            sys.exit(f"initial ingest failed:\n{first.stderr[-2000:]}")
        with running(
            [*serve, "--workers", str(args.workers)], url + "/readyz", env, work / "api.log"
        ) as api:
            stop = threading.Event()
            feeder = threading.Thread(
                target=ingest_loop, args=(files[args.initial :], feed, env, stop, results)
            )
            started = time.monotonic()
            feeder.start()
            try:
                asyncio.run(clients(args, url, questions, api.pid, results))
                elapsed = time.monotonic() - started
            finally:
                stop.set()
                feeder.join()  # the ingest under way finishes
            client = chromadb.HttpClient(
                host="127.0.0.1",
                port=chroma_port,
                settings=ChromaSettings(anonymized_telemetry=False),
            )
            collection = client.get_collection(httpx.get(url + "/readyz").json()["collection"])
            episodes = client.get_collection(collection.name + "-episodes").count()
            cited = sorted(results.cited)
            found = set(collection.get(ids=cited, include=[])["ids"]) if cited else set()
            _, rss_within = rss_table(results, args)
            checks = {
                "every request answered 200": not results.errors,
                "every answer's citations are valid": not results.bad_citations,
                f"all {len(cited)} cited ids exist in Chroma": found == set(cited),
                "every ingest run succeeded": all(r.returncode == 0 for r in results.ingests),
                f"every worker serves all {episodes} episodes": every_worker_serves(url, episodes),
                f"worker RSS growth after warm-up <= {args.rss_growth:.0%}": rss_within,
            }
    report(results, args, elapsed, checks)
    return all(checks.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--warmup",
        type=float,
        help="Seconds before RSS is taken as the baseline; default a quarter of --seconds, "
        "at least 10 (each worker loads jieba's dictionary on its first Chinese question).",
    )
    parser.add_argument("--rss-growth", type=float, default=0.25)
    parser.add_argument("--refresh", type=float, default=1.0, help="ASSISTANT_REFRESH_SECONDS.")
    parser.add_argument("--archive", type=Path, default=ROOT.parent / "shared" / "archive")
    parser.add_argument("--initial", type=int, default=3, help="Archive episodes in at start.")
    parser.add_argument("--workdir", type=Path, help="Keep data and logs here.")
    args = parser.parse_args()
    if args.warmup is None:
        args.warmup = max(10.0, args.seconds / 4)
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
        ok = soak(args, args.workdir)
    else:
        with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
            ok = soak(args, Path(tmp))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
