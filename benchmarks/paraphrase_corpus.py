"""Assemble the paraphrase benchmark's corpus: the shared archive plus 60 real notes.

    python benchmarks/paraphrase_corpus.py OUT [--real ../shared/real-archive.tar.xz]
        [--shared ../shared/archive]

OUT gets `shared/` (every episode of the shared archive) and `real/` (the notes listed in
benchmarks/golden/paraphrase-corpus.txt, taken from the real archive's tarball or from a
folder it was extracted to). Notes of the real archive are never committed; only their
names are, so the corpus is rebuilt here from the tarball on each machine.

The 60 notes were drawn (seeded) from the real notes whose names start with a lowercase
letter and whose video id is not a shared episode's: 28 Chinese-only of 5-20k characters
and 32 bilingual of 10-40k, at most two per speaker, spread over categories.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIST = ROOT / "benchmarks" / "golden" / "paraphrase-corpus.txt"


def corpus_names(path: Path = LIST) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def copy_real(source: Path, names: list[str], target: Path) -> None:
    """The listed notes from a tarball (members matched by file name) or a folder."""
    target.mkdir(parents=True, exist_ok=True)
    wanted = set(names)
    if source.is_dir():
        for name in names:
            shutil.copyfile(source / name, target / name)
        return
    with tarfile.open(source) as tar:
        for member in tar:
            name = Path(member.name).name
            if member.isfile() and name in wanted:
                extracted = tar.extractfile(member)
                assert extracted is not None
                (target / name).write_bytes(extracted.read())
                wanted.discard(name)
    if wanted:
        raise SystemExit(f"not in {source}: {', '.join(sorted(wanted))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--real", type=Path, default=ROOT.parent / "shared" / "real-archive.tar.xz")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "archive")
    args = parser.parse_args()
    names = corpus_names()
    shared_ids = {p.stem[11:] for p in args.shared.glob("*.md") if p.name != "README.md"}
    overlap = [n for n in names if Path(n).stem in shared_ids]
    if overlap:
        sys.exit(f"listed notes that are shared episodes: {overlap}")
    shutil.copytree(args.shared, args.out / "shared", dirs_exist_ok=True)
    copy_real(args.real, names, args.out / "real")
    print(f"{args.out}: {len(shared_ids)} shared episodes + {len(names)} real notes")


if __name__ == "__main__":
    main()
