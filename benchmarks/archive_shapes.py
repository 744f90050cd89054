"""How the parser reads an archive: segment counts by language, and the shapes it misreads.

    python benchmarks/archive_shapes.py --archive /tmp/real [--workers 2] [--json]

Counts notes, segments, bilingual / Chinese-only / English-only segments, `text_en` that
starts with a `<details>` summary label (the label read as English), non-CJK text in the
Chinese slot (by `is_mostly_cjk`, which also counts Chinese turns with a Latin speaker
label such as `Vishal Misra: 是的。`) and with no CJK character at all, Chinese in the
English slot, and English broken one word per line. About
two minutes for the 9,060-note real archive with 2 workers.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.parse import ParseError, read_episode  # noqa: E402
from assistant.segment import is_mostly_cjk  # noqa: E402

MAX_BYTES = 50_000_000
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LABEL_START = re.compile(
    r"^(?:查看/隐藏英文原文\s*/\s*)?(?:View/Hide\s+)?(?:Original\s+)+(?:English|Text|Chinese)"
    r"|^English\s+Original",
    re.I,
)


def _word_per_line(text: str) -> bool:
    lines = text.split("\n")
    return len(lines) >= 8 and sum(len(line.split()) <= 1 for line in lines) > len(lines) / 2


def count_file(path: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    try:
        episode = read_episode(path, MAX_BYTES)
    except ParseError:
        counts["unparsed notes"] += 1
        return counts
    counts["notes"] += 1
    odd_note = False
    for seg in episode.segments:
        counts["segments"] += 1
        zh, en = seg.text_zh, seg.text_en
        kind = "bilingual" if zh and en else "Chinese-only" if zh else "English-only"
        counts[f"{kind} segments"] += 1
        if _LABEL_START.match(en):
            counts["text_en starts with a summary label"] += 1
        if zh and not is_mostly_cjk(zh):
            counts["non-CJK text in the Chinese slot"] += 1
            odd_note = True
        if zh and not _CJK.search(zh):
            counts["Chinese slot with no CJK character"] += 1
        if en and is_mostly_cjk(en):
            counts["mostly-CJK text in the English slot"] += 1
        if _word_per_line(en):
            counts["English one word per line"] += 1
    counts["notes with non-CJK Chinese slot"] += odd_note
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--archive", type=Path, default=ROOT.parent / "shared" / "archive")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    files = sorted(args.archive.rglob("*.md"))
    total: Counter[str] = Counter()
    with ProcessPoolExecutor(args.workers) as pool:
        for counts in pool.map(count_file, files, chunksize=32):
            total.update(counts)
    if args.json:
        print(json.dumps(dict(total), indent=2, sort_keys=True))
        return
    for key in sorted(total, key=lambda k: (k != "notes", k != "segments", k)):
        print(f"{key:45} {total[key]:>9,}")


if __name__ == "__main__":
    main()
