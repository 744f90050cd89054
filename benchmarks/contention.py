"""Does one request's size change another's latency, and how soon does a running server
see an ingest? Both over HTTP against a real `assistant serve` on 127.0.0.1.

    python benchmarks/contention.py [--vectorstore DIR] [--archive sample_archive]
        [--short 40] [--heavy 3] [--episodes 3] [--refresh-seconds 5]

1. Latency: `--short` short questions (golden set) to /api/search one after another,
   alone, then while `--heavy` clients keep sending the largest requests the API
   accepts: a question of `max_question_chars` to /api/search, and an /api/ask whose
   history turn is the longest a turn may be (20,000 characters). p50/p95 of each.
2. Refresh convergence: `--episodes` small new episodes, each ingested by its own
   `assistant ingest` process beside the server (embedded Chroma, the same folder),
   while a client queries; for each, the time from that process's exit to the first
   /api/search that returns it (a word no other episode has).

Without `--vectorstore`, `--archive` is ingested into a temporary folder first.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from conftest import PAIRS, free_port, write_episode  # noqa: E402

CLI = [sys.executable, "-m", "assistant.cli"]
# The longest history turn `Turn` accepts (assistant/service.py).
TURN_CHARS = 20_000


@contextmanager
def serving(env: dict[str, str], log: Path) -> Iterator[str]:
    port = free_port()
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [*CLI, "serve", "--port", str(port)], env=env, stdout=sink, stderr=subprocess.STDOUT
        )
        url = f"http://127.0.0.1:{port}"
        try:
            until(lambda: _ready(url), 300, "the server answers /readyz")
            yield url
        finally:
            server.terminate()
            server.wait(timeout=30)


def _ready(url: str) -> bool:
    try:
        return httpx.get(url + "/readyz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def until(condition: Callable[[], bool], seconds: float, what: str) -> float | None:
    """Seconds until `condition` held, or None if it did not within `seconds`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > seconds:
            print(f"  not within {seconds:.0f} s: {what}")
            return None
        time.sleep(0.1)
    return time.monotonic() - started


def percentiles(values: list[float]) -> str:
    p50, p95 = np.percentile(values, [50, 95])
    return f"{p50 * 1000:.0f} / {p95 * 1000:.0f}"


def short_latencies(url: str, questions: list[str]) -> list[float]:
    timings = []
    with httpx.Client(base_url=url, timeout=600) as client:
        for question in questions:
            started = time.perf_counter()
            reply = client.post("/api/search", json={"query": question, "k": 8})
            timings.append(time.perf_counter() - started)
            assert reply.status_code == 200, reply.text
    return timings


def heavy_load(url: str, clients: int, text: str, stop: threading.Event) -> list[list[float]]:
    """Start `clients` threads sending the largest requests; their latencies, by kind."""
    timings: list[list[float]] = [[], []]
    history = [{"role": "user", "content": (text * 20)[:TURN_CHARS]}]

    def send(n: int) -> None:
        with httpx.Client(base_url=url, timeout=600) as client:
            while not stop.is_set():
                started = time.perf_counter()
                if n % 2 == 0:
                    reply = client.post("/api/search", json={"query": text, "k": 8})
                else:
                    body = {"question": "what about him?", "history": history}
                    reply = client.post("/api/ask", json=body)
                timings[n % 2].append(time.perf_counter() - started)
                assert reply.status_code == 200, reply.text

    for n in range(clients):
        threading.Thread(target=send, args=(n,), daemon=True).start()
    return timings


def latency(args: argparse.Namespace, url: str, questions: list[str], text: str) -> None:
    short_latencies(url, questions[:3])  # warm up
    alone = short_latencies(url, questions)
    stop = threading.Event()
    heavy = heavy_load(url, args.heavy, text, stop)
    until(lambda: all(heavy), 600, "every kind of heavy request answered once")
    beside = short_latencies(url, questions)
    stop.set()
    print(f"\nshort /api/search, {len(questions)} questions, p50 / p95 ms:")
    print("| | p50 / p95 ms |\n|---|---|")
    print(f"| alone | {percentiles(alone)} |")
    print(f"| beside {args.heavy} clients of maximum-size requests | {percentiles(beside)} |")
    print(f"| (the {len(text)}-character searches themselves) | {percentiles(heavy[0])} |")
    if heavy[1]:
        print(f"| (the asks with a {TURN_CHARS:,}-character turn) | {percentiles(heavy[1])} |")


def convergence(args: argparse.Namespace, env: dict[str, str], url: str, work: Path) -> None:
    stop = threading.Event()
    statuses: list[int] = []

    def query() -> None:
        with httpx.Client(base_url=url, timeout=600) as client:
            while not stop.is_set():
                body = {"query": "Who supports a rate cut?", "k": 5}
                statuses.append(client.post("/api/search", json=body).status_code)

    reader = threading.Thread(target=query, daemon=True)
    reader.start()
    waits = []
    for n in range(args.episodes):
        word = f"zyxquartz{n}"
        folder = work / f"new{n}"
        write_episode(
            folder, f"bench{n}", [(f"{word} 是一个新词。", f"{word} is a new word."), *PAIRS]
        )
        done = subprocess.run([*CLI, "ingest", str(folder)], env=env, capture_output=True)
        assert done.returncode == 0, done.stderr
        finished = time.monotonic()

        def found(word: str = word, episode: str = f"bench{n}") -> bool:
            reply = httpx.post(url + "/api/search", json={"query": word, "k": 3}, timeout=600)
            return episode in [r["episode_id"] for r in reply.json()["results"]]

        seen = until(found, args.give_up, f"bench{n} searchable")
        waits.append(time.monotonic() - finished if seen is not None else float("inf"))
    stop.set()
    reader.join()
    shown = ", ".join("never" if w == float("inf") else f"{w:.1f}" for w in waits)
    print(f"\nrefresh every {args.refresh_seconds} s; seconds from each ingest's exit to")
    print(f"its episode in /api/search: {shown} (max {max(waits):.1f})")
    print(f"queries meanwhile: {len(statuses)}, statuses {sorted(set(statuses))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectorstore", type=Path)
    parser.add_argument("--archive", type=Path, default=ROOT / "sample_archive")
    parser.add_argument("--questions", type=Path, default=ROOT / "benchmarks/golden/archive.jsonl")
    parser.add_argument("--short", type=int, default=40)
    parser.add_argument("--heavy", type=int, default=3)
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--refresh-seconds", type=float, default=5.0)
    parser.add_argument("--give-up", type=float, default=120.0)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="contention-"))
    store = args.vectorstore or work / "vectorstore"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env |= {
        "PYTHONPATH": str(ROOT),
        "ASSISTANT_VECTORSTORE_DIR": str(store),
        "ASSISTANT_REFRESH_SECONDS": str(args.refresh_seconds),
    }
    if args.vectorstore is None:
        subprocess.run([*CLI, "ingest", str(args.archive)], env=env, check=True)
    lines = args.questions.read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["question"] for line in lines if line][: args.short]
    # The largest question the API takes, from real archive text in both languages.
    text = next(args.archive.glob("*.md")).read_text(encoding="utf-8")[:2000]
    with serving(env, work / "serve.log") as url:
        latency(args, url, questions, text)
        convergence(args, env, url, work)
    failed = (work / "serve.log").read_text().count("checking for new ingests failed")
    print(f"failed refreshes in the server's log: {failed} ({work / 'serve.log'})")


if __name__ == "__main__":
    main()
