"""Asking where there is no index is an error that says where it looked, not "not covered"."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import ASSISTANT


def run(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ASSISTANT, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize("command", [["ask", "谁支持降息？"], ["search", "Nvidia"], ["stats"]])
def test_a_missing_index_is_an_error_naming_the_folder_and_creates_nothing(
    tmp_path: Path, cli_env: dict[str, str], command: list[str]
) -> None:
    env = {k: v for k, v in cli_env.items() if k != "ASSISTANT_VECTORSTORE_DIR"}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run(env, elsewhere, *command)
    assert result.returncode == 2, result.stdout + result.stderr
    message = " ".join(result.stderr.split())
    assert f"no index at {elsewhere / 'vectorstore'}" in message
    assert "assistant ingest" in message
    assert not (elsewhere / "vectorstore").exists()
    assert "档案中没有" not in result.stdout


def test_an_index_without_episodes_is_an_error(tmp_path: Path, cli_env: dict[str, str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run(cli_env, tmp_path, "ingest", str(empty)).returncode == 0
    result = run(cli_env, tmp_path, "ask", "What did Michael Burry say about Nvidia?")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "holds no episodes" in " ".join(result.stderr.split())
