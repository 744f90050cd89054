"""Mechanical checks of the paraphrase golden set, and its seeded tune/report split.

    python benchmarks/paraphrase_check.py CORPUS [--questions benchmarks/golden/paraphrase.jsonl]
    python benchmarks/paraphrase_check.py CORPUS --assign-splits   # rewrite the `split` fields

CORPUS is the folder benchmarks/paraphrase_corpus.py assembles. A question passes when:
- each evidence string occurs in a segment of its own episode (as the index will hold it:
  text_zh or text_en after segmentation, which is how `is_hit` recognises a hit) and in no
  other episode of the corpus;
- it shares with none of its evidence segments a run of 4+ Chinese characters, nor an
  English word pair in which neither word is a stop word (the set's promise: questions
  written from a paragraph without reusing its words);
- an unanswerable one names terms that no note of the corpus contains (`ABSENT`).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.evaluate import Question, load_questions  # noqa: E402
from assistant.ingest import discover  # noqa: E402
from assistant.parse import read_episode  # noqa: E402

QUESTIONS = ROOT / "benchmarks" / "golden" / "paraphrase.jsonl"
SEED = "paraphrase-2026-12"

# What each unanswerable question asks about, spelled as a note would spell it: none may
# occur in the corpus, or the question is answerable after all.
ABSENT: dict[str, list[str]] = {
    "p098": ["SU7"],
    "p099": ["Jony"],
    "p100": ["欧洲央行", "ECB", "European Central"],
    "p101": ["Go Broke", "国家如何破产"],
    "p102": ["Wegovy", "诺和诺德", "Novo Nordisk"],
    "p103": ["Cathie", "木头姐", "ARK Invest"],
    "p104": ["海外销量", "BYD"],
    "p105": ["Novo", "诺和诺德"],
    "p106": ["Cybertruck"],
    "p107": ["宁德", "CATL"],
    "p108": ["Activision", "动视"],
}

_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]{4,}")
_WORD = re.compile(r"[a-z0-9][a-z0-9'.+-]*")
STOP_WORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers him his how i if in into is it its itself
    just me more most my no nor not now of off on once only or other our out over own same
    she should so some such than that the their them then there these they this those through
    to too under until up very was we were what when where which while who whom why will with
    would you your yours s t don did says said say according per vs""".split()
)


def cjk_overlaps(question: str, paragraph: str) -> list[str]:
    """Runs of 4+ Chinese characters of the question that the paragraph also contains."""
    found = []
    for run in _CJK_RUN.findall(question):
        for size in range(len(run), 3, -1):
            hits = [run[i : i + size] for i in range(len(run) - size + 1)]
            shared = [h for h in hits if h in paragraph]
            if shared:
                found.extend(shared)
                break
    return found


# Words either side of Chinese text or punctuation are not a pair.
_BREAK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef,;:!?()\"“”]+")


def _chunks(text: str) -> list[list[str]]:
    return [
        [_stem(w.rstrip(".'-").removesuffix("'s")) for w in _WORD.findall(chunk)]
        for chunk in _BREAK.split(text.casefold())
    ]


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def english_overlaps(question: str, paragraph: str) -> list[str]:
    """Word pairs of the question, neither a stop word, that the paragraph also has."""

    def pairs(text: str) -> set[tuple[str, str]]:
        return {
            (a, b)
            for words in _chunks(text)
            for a, b in itertools.pairwise(words)
            if a not in STOP_WORDS and b not in STOP_WORDS
        }

    return sorted(" ".join(p) for p in pairs(question) & pairs(paragraph))


def load_corpus(folder: Path) -> dict[str, list[tuple[str, str]]]:
    """Episode id -> its segments' (text_zh, text_en), as ingest would index them."""
    episodes = (read_episode(f, 10_000_000) for f in discover([folder]))
    return {e.id: [(s.text_zh, s.text_en) for s in e.segments] for e in episodes}


def problems(
    q: Question, corpus: dict[str, list[tuple[str, str]]], raw: dict[str, str]
) -> Iterable[str]:
    if not q.answerable:
        if not ABSENT.get(q.id):
            yield "unanswerable without ABSENT terms"
        for term in ABSENT.get(q.id, []):
            holders = [e for e, text in raw.items() if term.casefold() in text.casefold()]
            if holders:
                yield f"absent term {term!r} occurs in {holders[:3]}"
        return
    if q.video_id not in corpus:
        yield f"episode {q.video_id} not in the corpus"
        return
    if not q.evidence or not q.answer_terms:
        yield "answerable without evidence or answer terms"
    for evidence in q.evidence:
        own = [zh + "\n" + en for zh, en in corpus[q.video_id] if evidence in zh or evidence in en]
        if not own:
            yield f"evidence {evidence!r} is in no segment of {q.video_id}"
        others = [
            e
            for e, segs in corpus.items()
            if e != q.video_id and any(evidence in z + en for z, en in segs)
        ]
        if others:
            yield f"evidence {evidence!r} also in {others}"
        for paragraph in own:
            if shared := cjk_overlaps(q.question, paragraph):
                yield f"shares {shared} with its paragraph"
            if shared := english_overlaps(q.question, paragraph):
                yield f"shares {shared} with its paragraph"


def assign_splits(questions: list[Question]) -> dict[str, str]:
    """Half of each (kind, language) group to `tune`, half to `report`, by a seeded hash.

    A group of odd size has one question over; which half gets each of those is chosen
    (over every way, at most 2^10) so that kinds and languages stay as even as they can.
    """
    groups: dict[tuple[str, str], list[Question]] = defaultdict(list)
    for q in questions:
        groups[(q.kind, q.lang)].append(q)
    odd = sorted(key for key, members in groups.items() if len(members) % 2)

    def imbalance(extra_to_tune: tuple[bool, ...]) -> tuple[int, int]:
        lang: Counter[str] = Counter()
        kind: Counter[str] = Counter()
        for (k, lg), to_tune in zip(odd, extra_to_tune, strict=True):
            lang[lg] += 1 if to_tune else -1
            kind[k] += 1 if to_tune else -1
        return sum(map(abs, lang.values())), sum(map(abs, kind.values()))

    best = min(itertools.product([True, False], repeat=len(odd)), key=imbalance)
    extra = dict(zip(odd, best, strict=True))
    split: dict[str, str] = {}
    for key, members in groups.items():
        ranked = sorted(
            members, key=lambda q: hashlib.sha256(f"{SEED}:{q.id}".encode()).hexdigest()
        )
        first = "tune" if extra.get(key, True) else "report"
        other = "report" if first == "tune" else "tune"
        for i, q in enumerate(ranked):
            split[q.id] = first if i % 2 == 0 else other
    return split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--assign-splits", action="store_true")
    args = parser.parse_args()
    questions = load_questions(args.questions)
    if args.assign_splits:
        split = assign_splits(questions)
        questions = [q.model_copy(update={"split": split[q.id]}) for q in questions]
        lines = [json.dumps(q.model_dump(), ensure_ascii=False) for q in questions]
        args.questions.write_text("\n".join(lines) + "\n", encoding="utf-8")
    corpus = load_corpus(args.corpus)
    raw = {f.stem: f.read_text(encoding="utf-8") for f in discover([args.corpus])}
    failed = 0
    for q in questions:
        for problem in problems(q, corpus, raw):
            failed += 1
            print(f"{q.id} ({q.kind}, {q.lang}): {problem}")
    ids = Counter(q.id for q in questions)
    for dup in [i for i, n in ids.items() if n > 1]:
        failed += 1
        print(f"{dup}: duplicate id")
    table = Counter((q.split, q.kind, q.lang) for q in questions)
    for (split, kind, lang), n in sorted(table.items(), key=lambda kv: tuple(map(str, kv[0]))):
        print(f"  {split or '-':6} {kind:13} {lang} {n}")
    print(f"{len(questions)} questions, {failed} problems")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
