"""benchmarks/make_archive.py: generated archives parse, and hold only source paragraphs."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from conftest import ROOT, SAMPLE, SHARED_ARCHIVE

from assistant.ingest import discover
from assistant.parse import read_episode

SCRIPT = ROOT / "benchmarks" / "make_archive.py"


def make_archive(source: Path, out: Path, *options: str) -> str:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "20", str(out), "--source", str(source), *options],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.md"))}


@pytest.fixture(scope="module")
def from_sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("generated") / "out"
    return out, make_archive(SAMPLE, out)


@pytest.fixture(params=["sample", "shared"])
def generated(
    request: pytest.FixtureRequest, from_sample: tuple[Path, str], tmp_path: Path
) -> tuple[Path, Path, str]:
    """(source folder, generated folder, the script's report)."""
    if request.param == "sample":
        return SAMPLE, *from_sample
    if not SHARED_ARCHIVE.is_dir():
        pytest.skip("../shared/archive is not here")
    return SHARED_ARCHIVE, tmp_path, make_archive(SHARED_ARCHIVE, tmp_path)


def test_generated_episodes_parse_and_recombine_only_source_paragraphs(
    generated: tuple[Path, Path, str],
) -> None:
    source, out, report = generated
    originals = [read_episode(p, 10_000_000) for p in discover([source])]
    bilingual = {(s.section, s.text_zh, s.text_en) for e in originals for s in e.segments}
    chinese = {(section, zh) for section, zh, _ in bilingual}

    episodes = [read_episode(p, 10_000_000) for p in discover([out])]
    assert len(episodes) == 20
    assert all(e.segments and not e.warnings for e in episodes)
    assert len({e.id for e in episodes}) == 20
    assert not {e.id for e in episodes} & {e.id for e in originals}
    assert len({e.date for e in episodes}) == 20
    for episode in episodes:
        for s in episode.segments:
            assert (s.section, s.text_zh, s.text_en) in bilingual or (
                not s.text_en and (s.section, s.text_zh) in chinese
            )
    # Recombined: an episode takes paragraphs from more than one source section.
    assert any(len({s.section for s in e.segments}) > 1 for e in episodes)
    # An episode that lists people lists one that no other episode lists.
    named = Counter(name for e in episodes for name in e.people)
    assert all(any(named[n] == 1 for n in e.people) for e in episodes if e.people)

    # A mix (the source has no Chinese-only episode, so a fifth stands in for the wider
    # archive's), and the counts reported are the counts the parser finds.
    chinese_only = sum(1 for e in episodes if not any(s.text_en for s in e.segments))
    segments = sum(len(e.segments) for e in episodes)
    with_english = sum(1 for e in episodes for s in e.segments if s.text_en)
    assert 0 < chinese_only < 20
    assert "Chinese-only share 20%" in report
    assert (
        f"wrote 20 episodes ({chinese_only} Chinese-only) with {segments:,} segments "
        f"({with_english:,} bilingual)"
    ) in report


def test_front_matter_keeps_its_source_form(from_sample: tuple[Path, str]) -> None:
    sample = (SAMPLE / "2025-11-24-49u9cMwrKao.md").read_text(encoding="utf-8")
    keys = re.findall(r"^(\w+):", sample.split("\n---", 1)[0], re.M)
    for text in files(from_sample[0]).values():
        front = text.decode().split("\n---", 1)[0]
        assert re.findall(r"^(\w+):", front, re.M) == keys


def test_the_same_seed_writes_the_same_files(from_sample: tuple[Path, str], tmp_path: Path) -> None:
    make_archive(SAMPLE, tmp_path / "again")
    make_archive(SAMPLE, tmp_path / "seed1", "--seed", "1")
    assert files(tmp_path / "again") == files(from_sample[0])
    assert files(tmp_path / "seed1") != files(from_sample[0])


def test_an_output_folder_with_episodes_is_refused(tmp_path: Path) -> None:
    (tmp_path / "old.md").write_text("---\ntitle: t\n---\n", encoding="utf-8")
    with pytest.raises(subprocess.CalledProcessError) as info:
        make_archive(SAMPLE, tmp_path)
    assert "already holds .md files" in info.value.stderr
