"""`assistant serve --workers 2` over a Chroma server: every worker answers, and a new
ingest shows up in all of them without a restart."""

from __future__ import annotations

import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from conftest import ASSISTANT, SAMPLE, free_port, server_process, wait_until, write_episode

pytestmark = pytest.mark.slow  # a Chroma server and two API workers


def test_several_workers_share_a_chroma_server(tmp_path: Path, cli_env: dict[str, str]) -> None:
    chroma = shutil.which("chroma") or str(Path(ASSISTANT[0]).parent / "chroma")
    chroma_port, api_port = free_port(), free_port()
    chroma_url = f"http://127.0.0.1:{chroma_port}"
    env = {**cli_env, "ASSISTANT_CHROMA_URL": chroma_url, "ASSISTANT_REFRESH_SECONDS": "0.5"}
    chroma_cmd = [chroma, "run", "--path", str(tmp_path / "chroma"), "--host", "127.0.0.1"]
    with server_process(
        [*chroma_cmd, "--port", str(chroma_port)], chroma_url + "/api/v2/heartbeat"
    ):
        first = subprocess.run(
            [*ASSISTANT, "ingest", str(SAMPLE)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert first.returncode == 0, first.stderr
        serve = [*ASSISTANT, "serve", "--port", str(api_port), "--workers", "2"]
        api = f"http://127.0.0.1:{api_port}"
        with (
            server_process(serve, api + "/readyz", timeout=120, env=env),
            httpx.Client(base_url=api, timeout=120) as client,
        ):

            def ask(_: int) -> int:
                reply = client.post("/api/ask", json={"question": "谁支持降息？"})
                return reply.status_code if reply.json()["citations"] else 0

            with ThreadPoolExecutor(8) as pool:
                assert set(pool.map(ask, range(16))) == {200}

            news = [
                (
                    "量子计算机今天实现了新的突破。",
                    "Quantum computers had a breakthrough today.",
                )
            ]
            write_episode(tmp_path / "more", "late1", news)
            more = subprocess.run(
                [*ASSISTANT, "ingest", str(tmp_path / "more")],
                env=env, capture_output=True, text=True, timeout=300,
            )  # fmt: skip
            assert more.returncode == 0, more.stderr

            def sees_new_episode(_: int) -> list[str]:
                body = {"query": "quantum computer breakthrough", "k": 3}
                results = client.post("/api/search", json=body).json()["results"]
                return [r["episode_id"] for r in results]

            def every_worker_sees_it() -> bool:
                with ThreadPoolExecutor(8) as pool:
                    return all("late1" in ids for ids in pool.map(sees_new_episode, range(16)))

            # Each worker notices at a request past its refresh interval and swaps the new
            # index in once built, in the background: every one of 16 concurrent requests
            # (over both workers) finds the episode within the deadline.
            wait_until(every_worker_sees_it, 30, "every worker sees the new episode")
