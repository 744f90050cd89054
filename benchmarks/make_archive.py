"""Grow a large archive of realistic shape out of the real one, for ingest at scale.

    python benchmarks/make_archive.py N OUT [--source ../shared/archive] [--seed 0]
        [--zh-only SHARE]

Each generated episode takes the front matter of one source episode (its key order,
quoting and other quirks as published) with a new video id, date and people, and a body
of runs of paragraphs from sections of several source episodes, each run under its own
section's heading. Every paragraph is a source paragraph byte for byte, quirks included,
so a cache keyed by the embedded text embeds only the source's texts, however many
episodes are generated. A share of the episodes is Chinese-only: the same paragraphs
without their English blocks. The output is the same for the same --seed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import re
import string
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.models import Segment  # noqa: E402
from assistant.parse import ParseError, parse_episode  # noqa: E402
from assistant.segment import split_segments  # noqa: E402

# The wider archive holds "many" Chinese-only episodes (shared/archive/README.md), the
# 61 shared files none; this share stands in when the source has none.
ZH_ONLY_FALLBACK = 0.2
LAST_DAY = dt.date(2025, 12, 31)
VIDEO_ID_CHARS = string.ascii_letters + string.digits + "-_"

_HEADING_LINE = re.compile(r"\s*#{2,6}\s")
_ENGLISH_START = re.compile(r"<details|<summary|english-text", re.I)
_VIDEO = re.compile(r"v=[\w-]+")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_LIST_ITEM = re.compile(r"(\s*)- (.*)")
# Around each source paragraph when it is checked: a paragraph that leaves a block open
# would swallow the heading after it, and one that opens with a bare English block would
# attach to the paragraph before it. Those depend on their neighbours and are not used.
_BEFORE = "前一段。"
_AFTER = "### 后一节\n\nNext."


@dataclass
class Chunk:
    """One source paragraph's lines as published, which parse the same anywhere."""

    text: str
    zh_only: str | None  # its lines before the English block, when those parse alone
    segments: int  # what `text` parses to: 1, or 2 with Chinese pasted into the summary
    english: int  # of them with English text


@dataclass
class Section:
    heading: str  # the heading line as published; '' for paragraphs before any heading
    chunks: list[Chunk]


@dataclass
class Source:
    episode_id: str
    front: list[str]  # the front-matter lines, both fences included
    people_indent: str | None  # how its `people:` items are indented; None: no such list
    people: list[str]  # its `people:` items as published
    sections: list[Section]
    segments: int
    english: int  # segments with English text
    ends_with_newline: bool


def parses_to(heading: str, text: str, expected: list[tuple[str, str, str]]) -> bool:
    section = expected[0][0]
    body = "\n\n".join(part for part in (heading, _BEFORE, text, _AFTER) if part)
    got = [(s.section, s.text_zh, s.text_en) for s in split_segments(body, "check")]
    return got == [(section, _BEFORE, ""), *expected, ("后一节", "Next.", "")]


def joined(lines: list[str]) -> str:
    """The lines as published, less the blank ones at the end."""
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return "\n".join(lines)


def read_chunk(heading: str, lines: list[str], segments: list[Segment]) -> Chunk | None:
    text = joined(lines)
    expected = [(s.section, s.text_zh, s.text_en) for s in segments]
    if not parses_to(heading, text, expected):
        return None
    zh_only = None
    first = segments[0]
    if len(segments) == 1 and first.text_zh:
        cut = next((i for i, line in enumerate(lines) if _ENGLISH_START.search(line)), len(lines))
        zh_lines = joined(lines[:cut])
        if parses_to(heading, zh_lines, [(first.section, first.text_zh, "")]):
            zh_only = zh_lines
    return Chunk(text, zh_only, len(segments), sum(1 for s in segments if s.text_en))


def read_sections(lines: list[str], fence: int, segments: list[Segment]) -> list[Section]:
    """The source's paragraphs, cut at each segment's first line and at each heading."""
    starts = sorted({s.line - 1 for s in segments})
    by_start: dict[int, list[Segment]] = {}
    for segment in segments:
        by_start.setdefault(segment.line - 1, []).append(segment)
    sections: list[Section] = []
    heading, previous = "", fence
    for i, start in enumerate(starts):
        section = by_start[start][0].section
        for line in lines[previous + 1 : start]:
            if _HEADING_LINE.match(line):
                heading = line
        if not sections or section != by_start[starts[i - 1]][0].section:
            sections.append(Section(heading if section else "", []))
        end = starts[i + 1] if i + 1 < len(starts) else len(lines)
        cut = next((j for j in range(start + 1, end) if _HEADING_LINE.match(lines[j])), end)
        chunk = read_chunk(sections[-1].heading, lines[start:cut], by_start[start])
        if chunk:
            sections[-1].chunks.append(chunk)
        previous = cut - 1
    return [s for s in sections if s.chunks]


def read_source(path: Path) -> Source | None:
    text = path.read_text(encoding="utf-8-sig")
    try:
        episode = parse_episode(text, str(path))
    except ParseError:
        return None
    lines = text.split("\n")
    fence = next((i for i in range(1, len(lines)) if lines[i].rstrip() == "---"), None)
    if fence is None or not episode.segments:
        return None
    front = lines[: fence + 1]
    people_at = next((i for i, line in enumerate(front) if line.rstrip() == "people:"), None)
    items = []
    if people_at is not None:
        for line in front[people_at + 1 :]:
            if not (item := _LIST_ITEM.fullmatch(line)):
                break
            items.append(item)
    return Source(
        episode_id=episode.id,
        front=front,
        people_indent=items[0].group(1) if items else None,
        people=[item.group(2) for item in items],
        sections=read_sections(lines, fence, episode.segments),
        segments=len(episode.segments),
        english=sum(1 for s in episode.segments if s.text_en),
        ends_with_newline=text.endswith("\n"),
    )


def front_matter(source: Source, video_id: str, day: str, people: list[str]) -> list[str]:
    out: list[str] = []
    skipping_people = False
    for line in source.front:
        if skipping_people and _LIST_ITEM.fullmatch(line):
            continue
        skipping_people = False
        if line.startswith("source:"):
            line = _VIDEO.sub(f"v={video_id}", line, count=1)
        elif line.startswith("date:"):
            line = _DAY.sub(day, line, count=1)
        out.append(line)
        if line.rstrip() == "people:" and source.people_indent is not None:
            out.extend(f"{source.people_indent}- {name}" for name in people)
            skipping_people = True
    return out


# A section's heading and its paragraphs: (text, segments, of them with English).
Run = tuple[str, list[tuple[str, int, int]]]


class Generator:
    """New episodes' parts, drawn from the sources with one random generator."""

    def __init__(self, sources: list[Source], rng: random.Random) -> None:
        self.rng = rng
        self.lengths = [s.segments for s in sources]
        self.names = list({name: None for s in sources for name in s.people})
        self.taken_ids = {s.episode_id for s in sources}
        sections = [section for s in sources for section in s.sections]
        bilingual = [
            (s.heading, [(c.text, c.segments, c.english) for c in s.chunks]) for s in sections
        ]
        chinese = [
            (s.heading, [(c.zh_only, 1, 0) for c in s.chunks if c.zh_only]) for s in sections
        ]
        self.runs: dict[bool, list[Run]] = {False: bilingual, True: [r for r in chinese if r[1]]}
        # After the first run, only runs under a heading: one without would take the
        # heading of the run before it, and its texts would change.
        self.headed = {zh: [r for r in runs if r[0]] or runs for zh, runs in self.runs.items()}

    def video_id(self) -> str:
        while True:
            video = "".join(self.rng.choices(VIDEO_ID_CHARS, k=11))
            if video not in self.taken_ids:
                self.taken_ids.add(video)
                return video

    def body(self, zh_only: bool) -> tuple[str, int, int]:
        """Runs of paragraphs under their headings: (text, segments, with English)."""
        target = self.rng.choice(self.lengths)
        parts: list[str] = []
        segments = english = 0
        while segments < target:
            heading, paragraphs = self.rng.choice(
                self.headed[zh_only] if parts else self.runs[zh_only]
            )
            start = self.rng.randrange(len(paragraphs))
            run = paragraphs[start : start + self.rng.randint(1, target - segments)]
            texts = [text for text, _, _ in run]
            parts.append("\n\n".join([heading, *texts] if heading else texts))
            segments += sum(n for _, n, _ in run)
            english += sum(n for _, _, n in run)
        return "\n\n".join(parts), segments, english

    def people(self, source: Source, index: int) -> list[str]:
        """As many as the template names: one no other episode has, the rest real names."""
        if not source.people:
            return []
        real = self.rng.sample(self.names, min(len(source.people) - 1, len(self.names)))
        return [f"Guest {index:06d}", *real]


def generate(
    sources: list[Source], count: int, out: Path, seed: int, zh_share: float
) -> dict[str, int]:
    rng = random.Random(seed)
    make = Generator(sources, rng)
    days = rng.sample(range(max(2 * count, 3650)), count)
    totals = {"episodes": 0, "zh_only": 0, "segments": 0, "english": 0}
    for index, days_back in enumerate(days):
        template = rng.choice(sources)
        zh_only = rng.random() < zh_share
        body, segments, english = make.body(zh_only)
        video_id = make.video_id()
        day = (LAST_DAY - dt.timedelta(days=days_back)).isoformat()
        front = front_matter(template, video_id, day, make.people(template, index))
        text = "\n".join(front) + "\n\n" + body + ("\n" if template.ends_with_newline else "")
        with open(out / f"{day}-{video_id}.md", "w", encoding="utf-8") as file:
            file.write(text)
        totals["episodes"] += 1
        totals["zh_only"] += zh_only
        totals["segments"] += segments
        totals["english"] += english
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int, metavar="N", help="episodes to write")
    parser.add_argument("out", type=Path, metavar="OUT", help="folder to write them to")
    parser.add_argument("--source", type=Path, default=ROOT.parent / "shared" / "archive")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--zh-only",
        type=float,
        default=None,
        help="share of Chinese-only episodes (default: the source's share, or "
        f"{ZH_ONLY_FALLBACK} when the source has none)",
    )
    args = parser.parse_args()
    if args.zh_only is not None and not 0 <= args.zh_only <= 1:
        parser.error("--zh-only is a share between 0 and 1")
    if args.out.exists() and any(args.out.glob("*.md")):
        parser.error(f"{args.out} already holds .md files; give an empty or new folder")

    started = time.perf_counter()
    # Not `assistant.ingest.discover`: importing it loads Chroma, longer than the whole run.
    paths = sorted(p for p in args.source.glob("*.md") if p.name.lower() != "readme.md")
    sources = [s for path in paths if (s := read_source(path))]
    if not sources:
        parser.error(f"no parseable episodes in {args.source}")
    chunks = [c for s in sources for section in s.sections for c in section.chunks]
    paragraphs = sum(s.segments for s in sources)
    zh_share = args.zh_only
    if zh_share is None:
        zh_share = sum(1 for s in sources if not s.english) / len(sources) or ZH_ONLY_FALLBACK

    if zh_share and not any(c.zh_only for c in chunks):
        parser.error(f"no Chinese paragraph in {args.source} can stand without its English")
    args.out.mkdir(parents=True, exist_ok=True)
    totals = generate(sources, args.count, args.out, args.seed, zh_share)
    seconds = time.perf_counter() - started
    print(
        f"wrote {totals['episodes']:,} episodes ({totals['zh_only']:,} Chinese-only) with "
        f"{totals['segments']:,} segments ({totals['english']:,} bilingual) to {args.out} "
        f"in {seconds:.1f} s"
    )
    print(
        f"from {len(sources)} source episodes: {len(chunks):,} of their {paragraphs:,} "
        f"paragraphs reused ({sum(1 for c in chunks if c.zh_only):,} also Chinese-only); "
        f"Chinese-only share {zh_share:.0%}"
    )


if __name__ == "__main__":
    main()
