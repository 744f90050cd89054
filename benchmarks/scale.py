"""Latency, start-up, memory and disk at several index sizes, in one run.

    python benchmarks/scale.py --store shared=/tmp/store-shared --store 100k=/tmp/store-100k
        [--questions benchmarks/golden/archive.jsonl] [--rounds 2]

For each store (a vectorstore folder made by `assistant ingest`): start `assistant serve`
on a free loopback port and time it until /readyz answers; send every golden question to
/api/search without filters, with each kind of filter (speaker, date range, person, tag,
episode; values drawn from the index), and to /api/ask; report p50/p95 per path, the
server's RSS after start-up and after the run, and the index size on disk. Latencies are
client-side over HTTP on 127.0.0.1, so they include the HTTP round trip.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from load import free_port, rss_mb  # noqa: E402


def disk_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20


def start(store: Path, port: int, log: Path) -> tuple[subprocess.Popen[bytes], float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env |= {"ASSISTANT_VECTORSTORE_DIR": str(store), "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "assistant.cli", "serve", "--port", str(port)]
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc, time.perf_counter() - started
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.perf_counter() - started > 600:
            raise SystemExit(f"server did not start: {log.read_text()[-2000:]}")
        time.sleep(0.05)


def filter_kinds(client: httpx.Client, rng: random.Random) -> dict[str, dict[str, Any]]:
    """One filter of each kind, with values taken from the index."""
    episodes = client.get("/api/episodes", params={"limit": 500}).json()["episodes"]
    speakers = [e["speaker"] for e in episodes if e["speaker"]]
    dated = sorted(e["date"] for e in episodes if e["date"])
    people = [p for e in episodes for p in e["people"]]
    tags = [t for e in episodes for t in e["tags"]]
    middle = dated[len(dated) // 2]
    return {
        "speaker": {"speaker": max(set(speakers), key=speakers.count)},
        "date range (1 year)": {
            "date_from": middle,
            "date_to": f"{int(middle[:4]) + 1}{middle[4:]}",
        },
        "person": {"person": rng.choice(people)},
        "tag": {"tag": rng.choice(tags)},
        "episode": {"episode": rng.choice(episodes)["episode_id"]},
    }


def timed_post(client: httpx.Client, path: str, body: dict[str, Any]) -> float:
    started = time.perf_counter()
    response = client.post(path, json=body)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise SystemExit(f"{path} {body}: {response.status_code} {response.text[:300]}")
    return elapsed


def measure(name: str, store: Path, questions: list[str], rounds: int) -> dict[str, Any]:
    port = free_port()
    proc, startup = start(store, port, Path(f"/tmp/scale-{name}.log"))
    try:
        rss_ready = rss_mb(proc.pid)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            ready = client.get("/readyz").json()
            kinds = filter_kinds(client, random.Random(0))
            client.post("/api/search", json={"query": "warm up"})
            rows: dict[str, list[float]] = {"search": [], "search, any filter": []}
            rows |= {f"search, {kind}": [] for kind in kinds}
            rows["ask (extractive)"] = []
            for _ in range(rounds):
                for q in questions:
                    rows["search"].append(timed_post(client, "/api/search", {"query": q}))
                    for kind, filters in kinds.items():
                        ms = timed_post(client, "/api/search", {"query": q, "filters": filters})
                        rows[f"search, {kind}"].append(ms)
                        rows["search, any filter"].append(ms)
                    rows["ask (extractive)"].append(timed_post(client, "/api/ask", {"question": q}))
        rss_end = rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return {
        "name": name,
        "segments": ready["segments"],
        "episodes": ready["episodes"],
        "startup_s": startup,
        "rss_ready_mb": rss_ready,
        "rss_end_mb": rss_end,
        "disk_mb": disk_mb(store),
        "filters": kinds,
        "latency": {
            path: dict(zip(("p50", "p95"), np.percentile(v, [50, 95]).tolist(), strict=True))
            for path, v in rows.items()
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", action="append", required=True, help="NAME=DIR")
    parser.add_argument("--questions", type=Path, default=ROOT / "benchmarks/golden/archive.jsonl")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--limit", type=int, default=0, help="Use the first N questions.")
    parser.add_argument("--json", type=Path, help="Also write the results here.")
    args = parser.parse_args()
    lines = args.questions.read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["question"] for line in lines if line.strip()]
    questions = questions[: args.limit] if args.limit else questions
    results = []
    for spec in args.store:
        name, _, folder = spec.partition("=")
        results.append(measure(name, Path(folder), questions, args.rounds))
        print(f"measured {name}", file=sys.stderr, flush=True)
    print(f"{len(questions)} questions × {args.rounds} rounds, over HTTP on 127.0.0.1\n")
    print("| | " + " | ".join(r["name"] for r in results) + " |")
    print("|---|" + "---|" * len(results))
    for label, key, fmt in (
        ("segments", "segments", "{:,}"),
        ("episodes", "episodes", "{:,}"),
        ("server start-up to /readyz (s)", "startup_s", "{:.2f}"),
        ("RSS after start-up (MB)", "rss_ready_mb", "{:.0f}"),
        ("RSS after the run (MB)", "rss_end_mb", "{:.0f}"),
        ("index on disk (MB)", "disk_mb", "{:.0f}"),
    ):
        print(f"| {label} | " + " | ".join(fmt.format(r[key]) for r in results) + " |")
    for path in results[0]["latency"]:
        cells = [
            f"{r['latency'][path]['p50']:.1f} / {r['latency'][path]['p95']:.1f}" for r in results
        ]
        print(f"| {path}: p50 / p95 ms | " + " | ".join(cells) + " |")
    for r in results:
        print(f"\nfilters for {r['name']}: {json.dumps(r['filters'], ensure_ascii=False)}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
