"""Check a golden set against the archive it was written over.

    python benchmarks/check_golden.py [--questions benchmarks/golden/real.jsonl]
        [--archive /tmp/real]

Parses every note with the project's own parser and segmenter (what ingest sees), then:
- every answerable question names a note that parses, and each of its evidence strings
  occurs in the Chinese or the English of one segment of that note (how `evaluate.is_hit`
  recognises a hit);
- no evidence string occurs in another note (a hit there would count as right);
- a crosslingual question asked in English has its evidence in a Chinese segment with no
  English beside it;
- ids are unique, and with a `split` field both halves hold every kind.
Exits 1 when any check fails, listing each problem. The real archive (9,060 notes) takes
a minute or two, most of it parsing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.models import Episode  # noqa: E402
from assistant.parse import ParseError, read_episode  # noqa: E402
from assistant.segment import is_mostly_cjk  # noqa: E402

# Well above any note of the real archive (the largest is about 1 MB): the check is about
# questions, not about the size limit ingest applies.
MAX_BYTES = 50_000_000


SPLIT_SEED = "real-golden-2026"


def assign_splits(questions: Sequence[dict[str, Any]]) -> dict[str, str]:
    """Question id → "tune" or "report": within each (kind, language) group, questions in
    the order of a seeded hash of their id go to the two halves in turn, the turn carried
    from group to group, so each half holds every kind and language and the halves differ
    in size by one at most."""
    split: dict[str, str] = {}
    turn = 0
    groups = sorted({(str(q["kind"]), str(q["lang"])) for q in questions})
    for kind, lang in groups:
        ids = [str(q["id"]) for q in questions if (q["kind"], q["lang"]) == (kind, lang)]
        for qid in sorted(
            ids, key=lambda i: hashlib.sha256(f"{SPLIT_SEED}:{i}".encode()).hexdigest()
        ):
            split[qid] = ("tune", "report")[turn % 2]
            turn += 1
    return split


def notes(archive: Path) -> list[Path]:
    """Every note of the archive. Not `ingest.discover`: it skips `_`-named files, and
    YouTube ids (so real note names) may start with `_`."""
    return sorted(p for p in archive.rglob("*.md") if p.name.lower() != "readme.md")


def parse_all(files: Sequence[Path]) -> tuple[list[Episode], list[str]]:
    with ProcessPoolExecutor() as pool:
        results = list(pool.map(_read, files, chunksize=64))
    episodes = [r for r in results if isinstance(r, Episode)]
    return episodes, [r for r in results if isinstance(r, str)]


def _read(file: Path) -> Episode | str:
    try:
        return read_episode(file, MAX_BYTES)
    except ParseError as exc:
        return f"{file.name}: {exc.reason}"


def check(questions: Sequence[dict[str, Any]], episodes: Iterable[Episode]) -> list[str]:
    """Every problem with `questions` over `episodes`, in words; empty when all is well."""
    by_id = {e.id: e for e in episodes}
    # One string per note with a separator no evidence contains, so that a search for an
    # evidence string over all notes is one `in` per note.
    texts = {
        e.id: "\x00".join(t for s in e.segments for t in (s.text_zh, s.text_en))
        for e in by_id.values()
    }
    counts = Counter(q["id"] for q in questions)
    problems = [f"duplicate id {i}" for i, n in counts.items() if n > 1]
    for q in questions:
        qid, video, evidence = q["id"], q.get("video_id"), list(q.get("evidence") or [])
        if q["kind"] == "unanswerable":
            if evidence or video:
                problems.append(f"{qid}: unanswerable but names a note or evidence")
            continue
        episode = by_id.get(str(video))
        if episode is None:
            problems.append(f"{qid}: note {video} is not in the archive (or did not parse)")
            continue
        if not evidence:
            problems.append(f"{qid}: answerable but has no evidence")
        cross = q["kind"] == "crosslingual" and q["lang"] == "en"
        for text in evidence:
            problems.extend(f"{qid}: {p}" for p in _evidence_problems(text, episode, cross, texts))
    problems.extend(_split_problems(questions))
    return problems


def _evidence_problems(
    text: str, episode: Episode, cross: bool, texts: dict[str, str]
) -> list[str]:
    problems = []
    found = [s for s in episode.segments if text in s.text_zh or text in s.text_en]
    if not found:
        problems.append(f"evidence {text!r} is in no segment of {episode.id}")
    # English in the Chinese slot (an untranslated transcript) is not cross-language either.
    elif cross and any(s.text_en or not is_mostly_cjk(s.text_zh) for s in found):
        problems.append(f"crosslingual evidence {text!r} has English beside it")
    elsewhere = sorted(i for i, t in texts.items() if i != episode.id and text in t)
    if elsewhere:
        shown = ", ".join(elsewhere[:5])
        problems.append(f"evidence {text!r} also in {len(elsewhere)} notes: {shown}")
    return problems


def _split_problems(questions: Sequence[dict[str, Any]]) -> list[str]:
    if not any("split" in q for q in questions):
        return []
    wanted = assign_splits(questions)
    problems = [
        f"{q['id']}: split is {q.get('split')!r}, the seeded hash says {wanted[str(q['id'])]!r}"
        for q in questions
        if q.get("split") != wanted[str(q["id"])]
    ]
    for kind in sorted({str(q["kind"]) for q in questions}):
        halves = Counter(q.get("split") for q in questions if q["kind"] == kind)
        if min(halves["tune"], halves["report"]) == 0:
            problems.append(f"kind {kind} is missing from one half: {dict(halves)}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, default=ROOT / "benchmarks/golden/real.jsonl")
    parser.add_argument("--archive", type=Path, default=Path("/tmp/real"))
    args = parser.parse_args()
    questions = [
        json.loads(line)
        for line in args.questions.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    episodes, rejected = parse_all(notes(args.archive))
    print(f"{len(episodes)} notes parsed, {len(rejected)} rejected", file=sys.stderr)
    for reason in rejected:
        print(f"  rejected {reason}", file=sys.stderr)
    problems = check(questions, episodes)
    for problem in problems:
        print(problem)
    print(f"{len(questions)} questions, {len(problems)} problems", file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
