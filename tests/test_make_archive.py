"""benchmarks/make_archive.py: a grown archive parses, with unique ids and source text."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SAMPLE, SHARED_ARCHIVE

from assistant.parse import read_episode

SCRIPT = ROOT / "benchmarks" / "make_archive.py"


def grow(source: Path, out: Path, n: int, seed: int = 0) -> list[Path]:
    done = subprocess.run(
        [sys.executable, SCRIPT, str(n), str(out), "--source", str(source), "--seed", str(seed)],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert f"wrote {n} episodes" in done.stdout
    return sorted(out.glob("*.md"))


@pytest.mark.parametrize(
    "source",
    [
        SAMPLE,
        pytest.param(
            SHARED_ARCHIVE,
            marks=pytest.mark.skipif(not SHARED_ARCHIVE.exists(), reason="no ../shared"),
        ),
    ],
    ids=["sample", "shared"],
)
def test_grown_episodes_parse_with_unique_ids_and_source_paragraphs(
    source: Path, tmp_path: Path
) -> None:
    files = grow(source, tmp_path / "a", 20)
    originals = [read_episode(p, 10**8) for p in source.glob("*.md") if p.name != "README.md"]
    known = {(s.section, s.text_zh, s.text_en) for e in originals for s in e.segments}
    episodes = [read_episode(p, 10**8) for p in files]
    assert len(episodes) == 20 and len({e.id for e in episodes}) == 20
    assert len({e.date for e in episodes}) == 20
    assert all(e.segments for e in episodes)
    assert all((s.section, s.text_zh, s.text_en) in known for e in episodes for s in e.segments)
    again = grow(source, tmp_path / "b", 20)
    assert [p.read_bytes() for p in files] == [p.read_bytes() for p in again]
    other = grow(source, tmp_path / "c", 20, seed=1)
    assert [p.name for p in other] != [p.name for p in files]
