"""A bounded load run on 127.0.0.1 against /api/search and /api/ask.

    python benchmarks/load.py [--vectorstore DIR] [--clients 20] [--requests 2000]
        [--questions benchmarks/golden/archive.jsonl] [--max-seconds 600]

Starts `assistant serve` on a free loopback port over the given index, then runs
`--clients` concurrent clients that send `--requests` requests in all (half search,
half ask, questions from the golden set), stopping early at `--max-seconds`. Reports
throughput, latency percentiles, errors (anything but 200) and the server's RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def run(args: argparse.Namespace, url: str, questions: list[str], pid: int) -> None:
    jobs: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    for i in range(args.requests):
        path = "/api/search" if i % 2 == 0 else "/api/ask"
        jobs.put_nowait((path, questions[i % len(questions)]))
    timings: dict[str, list[float]] = {"/api/search": [], "/api/ask": []}
    errors: list[str] = []
    peak = [rss_mb(pid)]
    deadline = time.monotonic() + args.max_seconds

    async def client() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=120) as http:
            while not jobs.empty() and time.monotonic() < deadline:
                path, question = jobs.get_nowait()
                body = (
                    {"query": question, "k": 8} if path == "/api/search" else {"question": question}
                )
                started = time.perf_counter()
                try:
                    response = await http.post(path, json=body)
                    if response.status_code != 200:
                        errors.append(f"{path} {response.status_code}")
                except httpx.HTTPError as exc:
                    errors.append(f"{path} {type(exc).__name__}")
                timings[path].append((time.perf_counter() - started) * 1000)

    async def watch() -> None:
        while time.monotonic() < deadline and not jobs.empty():
            peak.append(rss_mb(pid))
            await asyncio.sleep(0.5)

    started = time.perf_counter()
    await asyncio.gather(watch(), *(client() for _ in range(args.clients)))
    elapsed = time.perf_counter() - started
    done = sum(len(v) for v in timings.values())
    print(
        f"{done} requests by {args.clients} clients in {elapsed:.1f}s: {done / elapsed:.1f} req/s; errors: {len(errors)}"
    )
    print(f"server RSS: {peak[0]:.0f} MB at start, {max(peak):.0f} MB peak\n")
    print("| endpoint | requests | p50 ms | p95 ms | p99 ms |")
    print("|---|---|---|---|---|")
    for path, values in timings.items():
        p50, p95, p99 = np.percentile(values, [50, 95, 99])
        print(f"| {path} | {len(values)} | {p50:.0f} | {p95:.0f} | {p99:.0f} |")
    if errors:
        print("errors:", sorted(set(errors)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectorstore", type=Path, default=ROOT / "vectorstore")
    parser.add_argument("--questions", type=Path, default=ROOT / "benchmarks/golden/archive.jsonl")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--max-seconds", type=float, default=600)
    args = parser.parse_args()

    questions = [
        json.loads(line)["question"] for line in args.questions.read_text().splitlines() if line
    ]
    port = free_port()
    env = {**os.environ, "ASSISTANT_VECTORSTORE_DIR": str(args.vectorstore)}
    server = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        asyncio.run(run(args, url, questions, server.pid))
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
