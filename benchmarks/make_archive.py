"""Grow an archive of realistic shape from ../shared/archive, for scale benchmarks.

    python benchmarks/make_archive.py N OUT [--source DIR] [--seed 0]

Writes N episode files to OUT. Each is built from one source episode's front matter and
body sections recombined with sections of another episode of the same kind (bilingual or
Chinese-only, in the source's proportion), shuffled, so lengths vary. Sections are copied
raw, heading and all, so every markup quirk of the source survives and every paragraph
is a source paragraph verbatim: with the embedding cache, ingesting the grown archive
embeds only text the source did not have. Each episode gets a unique YouTube id (its
episode id), a unique date, and people drawn from the whole source. Deterministic for a
seed. Generated files are not committed.
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
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.parse import ParseError, parse_episode  # noqa: E402

_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?\n)?---\s*(?:\n|\Z)", re.S)
_HEADING = re.compile(r"^#{2,4} ", re.M)
FIRST_DAY = dt.date(2012, 1, 1)


@dataclass
class Source:
    front: dict[str, Any]
    sections: list[str]  # raw body text, each from a heading to the next
    segments: list[int]  # segments per section
    bilingual: bool


def read_source(path: Path) -> Source | None:
    text = path.read_text(encoding="utf-8").replace("\r\n", "\n").lstrip("\ufeff")
    match = _FRONT_MATTER.match(text)
    try:
        episode = parse_episode(text, path.name)
        front = yaml.safe_load(match.group(1) or "") if match else None
    except (ParseError, yaml.YAMLError):
        return None
    if not isinstance(front, dict) or not episode.segments or match is None:
        return None
    body, offset = text[match.end() :], text[: match.end()].count("\n")
    starts = [0, *(m.start() for m in _HEADING.finditer(body) if m.start() > 0)]
    sections = [body[a:b] for a, b in zip(starts, [*starts[1:], len(body)], strict=True)]
    first_lines = [offset + body[:a].count("\n") + 1 for a in starts]
    segments = [0] * len(sections)
    for segment in episode.segments:
        index = max(i for i, line in enumerate(first_lines) if line <= segment.line)
        segments[index] += 1
    bilingual = any(s.text_en for s in episode.segments)
    return Source(front, sections, segments, bilingual)


def video_id(rng: random.Random, used: set[str]) -> str:
    alphabet = string.ascii_letters + string.digits + "-_"
    while True:
        candidate = "".join(rng.choice(alphabet) for _ in range(11))
        if candidate not in used:
            used.add(candidate)
            return candidate


def generate(sources: list[Source], n: int, out: Path, seed: int) -> tuple[int, int]:
    rng = random.Random(seed)
    people = sorted({str(p) for s in sources for p in s.front.get("people") or []})
    by_kind = {kind: [s for s in sources if s.bilingual == kind] for kind in (True, False)}
    share = len(by_kind[True]) / len(sources)
    # Unique dates: n distinct days, spread over the years from FIRST_DAY.
    days = sorted(rng.sample(range(max(n * 3, 365 * 14)), n))
    used: set[str] = set()
    out.mkdir(parents=True, exist_ok=True)
    total = 0
    for i in range(n):
        pool = by_kind[rng.random() < share] or sources
        template, other = rng.choice(pool), rng.choice(pool)
        # Paragraphs before the first heading have no section: they stay first.
        lead, *rest = zip(template.sections, template.segments, strict=True)
        headed = [
            p for p in zip(other.sections, other.segments, strict=True) if _HEADING.match(p[0])
        ]
        pairs = [*rest, *rng.sample(headed, k=len(headed) // 2)]
        if _HEADING.match(lead[0]):
            pairs.append(lead)
            lead = ("", 0)
        keep = max(1, round(len(pairs) * rng.uniform(0.5, 1.0)))
        chosen = [lead, *rng.sample(pairs, min(keep, len(pairs)))]
        vid = video_id(rng, used)
        date = FIRST_DAY + dt.timedelta(days=days[i])
        front = dict(template.front)
        front["source"] = f"https://www.youtube.com/watch?v={vid}"
        front["date"] = date.isoformat()
        front["title"] = f"{front.get('title') or 'Episode'} #{i + 1}"
        front["people"] = sorted(set(rng.sample(people, k=min(len(people), rng.randint(1, 4)))))
        head = yaml.safe_dump(front, allow_unicode=True, sort_keys=False, width=10**6)
        body = "\n".join(section.rstrip("\n") + "\n" for section, _ in chosen)
        (out / f"{date.isoformat()}-{vid}.md").write_text(f"---\n{head}---\n\n{body}", "utf-8")
        total += sum(count for _, count in chosen)
    return n, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, help="How many episodes to write.")
    parser.add_argument("out", type=Path, help="The folder to write them to.")
    parser.add_argument("--source", type=Path, default=ROOT.parent / "shared" / "archive")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()
    files = sorted(p for p in args.source.glob("*.md") if p.name != "README.md")
    sources = [s for s in map(read_source, files) if s is not None]
    if not sources:
        raise SystemExit(f"no readable episodes in {args.source}")
    episodes, segments = generate(sources, args.n, args.out, args.seed)
    seconds = time.perf_counter() - started
    print(
        f"wrote {episodes} episodes, about {segments:,} segments, to {args.out} "
        f"from {len(sources)} source episodes in {seconds:.1f} s"
    )


if __name__ == "__main__":
    main()
