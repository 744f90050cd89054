"""A short run of benchmarks/soak.py: two workers over a Chroma server, clients asking
and searching while an ingest process adds and revises episodes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SAMPLE, SHARED_ARCHIVE


@pytest.mark.slow
def test_a_short_soak_has_no_errors_and_only_valid_citations(tmp_path: Path) -> None:
    archive = SHARED_ARCHIVE
    if not archive.is_dir():
        # Without ../shared, episodes grown from the sample feed the ingest loop.
        archive = tmp_path / "grown"
        grow = [sys.executable, str(ROOT / "benchmarks" / "make_archive.py"), "8", str(archive)]
        subprocess.run([*grow, "--source", str(SAMPLE)], check=True, timeout=120)
    # The RSS bound is loose here: 25 s is mostly warm-up; the full soak holds 25%.
    command = [sys.executable, str(ROOT / "benchmarks" / "soak.py"), "--seconds", "25"]
    command += ["--initial", "1", "--rss-growth", "0.5", "--archive", str(archive)]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    assert ", errors: 0;" in run.stdout
    assert "invalid citations: 0," in run.stdout
    assert "ingest runs: 0 " not in run.stdout  # the ingest ran alongside
    assert "answers: 0," not in run.stdout
