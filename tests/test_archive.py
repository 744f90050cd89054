"""Integration over the real shared archive (skipped where ../shared is absent)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant.ingest import discover, parse_files
from assistant.parse import read_episode

ARCHIVE = Path(__file__).resolve().parents[1].parent / "shared" / "archive"
FILES = sorted(p for p in ARCHIVE.glob("*.md") if p.name != "README.md")

pytestmark = pytest.mark.skipif(not FILES, reason="../shared/archive is not here")

_EN_PARAGRAPH = re.compile(r"english-text\">(.*?)(?:</p>|</details|\n\n|$)", re.S)


def english_blocks_with_text(text: str) -> int:
    """Counted independently of the parser: `<details` chunks holding any English text."""
    count = 0
    for chunk in text.split("<details")[1:]:
        paragraphs = _EN_PARAGRAPH.findall(chunk)
        if any(re.sub(r"<[^>]+>|\s", "", p) for p in paragraphs):
            count += 1
    return count


_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3001-\u3011\uff01-\uff1f]")


def english_paragraphs_outside_blocks(text: str) -> int:
    """Plain paragraphs of the body with letters, no markup and no Chinese (`[music]`):
    read as English since segmentation version 2."""
    body = text.split("\n---", 1)[-1]
    return sum(
        1
        for paragraph in body.split("\n\n")
        if re.search(r"[A-Za-z]", paragraph)
        and not _CJK.search(paragraph)
        and "<" not in paragraph
        and "english-text" not in paragraph
        and not paragraph.lstrip().startswith("#")
    )


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_english_block_with_text_becomes_one_segment(path: Path) -> None:
    episode = read_episode(path, max_bytes=10_000_000)
    text = path.read_text(encoding="utf-8")
    expected = english_blocks_with_text(text) + english_paragraphs_outside_blocks(text)
    assert sum(1 for s in episode.segments if s.text_en) == expected
    assert episode.segments, "every archive episode has segments"
    assert [s.position for s in episode.segments] == list(range(1, len(episode.segments) + 1))
    for segment in episode.segments:
        assert segment.text_zh or segment.text_en
        for text in (segment.text_zh, segment.text_en):
            assert "<p" not in text and "</details" not in text and "<summary" not in text


def test_the_whole_archive_parses_with_unique_ids_and_known_quirks() -> None:
    episodes, failures = parse_files(discover([ARCHIVE]), 10_000_000)
    assert failures == []
    assert len(episodes) == len(FILES)  # README.md is skipped in a folder
    assert len({e.id for e in episodes}) == len(episodes)
    by_id = {e.id: e for e in episodes}
    # The Chinese pasted into a summary tag (2025-11-20-HGoQnDFHTVA) becomes its own segment.
    pasted = [s for s in by_id["HGoQnDFHTVA"].segments if s.text_zh.startswith("任何协调一致")]
    assert len(pasted) == 1 and pasted[0].text_en.startswith("I think any concerted")
    # Interview turn labels become turn speakers.
    assert {"Ian", "Joe", "Tracy"} <= {s.turn_speaker for s in by_id["ADfpBrl8Avo"].segments}
    # Misspelled English, right Chinese, in one segment of the reference episode.
    reference = by_id["49u9cMwrKao"]
    assert any("Palunteer" in s.text_en and "Palantir" in s.text_zh for s in reference.segments)
