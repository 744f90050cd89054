"""benchmarks/check_golden.py, and the real-archive golden set it guards."""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from types import ModuleType
from typing import Any

from conftest import ROOT

from assistant.evaluate import load_questions
from assistant.parse import parse_episode

REAL = ROOT / "benchmarks" / "golden" / "real.jsonl"


def _load_checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "check_golden", ROOT / "benchmarks" / "check_golden.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


checker = _load_checker()

BILINGUAL = """---
title: A bilingual episode
source: https://www.youtube.com/watch?v=bilingual01
---
### Section

鲍威尔说通胀仍然太高。

<details>
<summary>View/Hide Original English</summary>
<p class="english-text">Powell said inflation is still too high.</p>
</details>

美联储将在十二月再次开会。

<details>
<summary>View/Hide Original English</summary>
<p class="english-text">The Fed meets again in December.</p>
</details>
"""

CHINESE_ONLY = """---
title: 只有中文
source: https://www.youtube.com/watch?v=chineseonly
---
### 一节

特斯拉上海超级工厂仅用十一个月便实现投产。

鲍威尔说通胀仍然太高。
"""


def question(qid: str, **fields: Any) -> dict[str, Any]:
    base = {"id": qid, "lang": "en", "question": "?", "kind": "fact", "evidence": []}
    return base | fields


def problems_of(questions: list[dict[str, Any]]) -> list[str]:
    episodes = [parse_episode(BILINGUAL, "a.md"), parse_episode(CHINESE_ONLY, "b.md")]
    result: list[str] = checker.check(questions, episodes)
    return result


def test_a_sound_question_has_no_problem() -> None:
    sound = [
        question("q1", video_id="bilingual01", evidence=["The Fed meets again"]),
        question("q2", kind="crosslingual", video_id="chineseonly", evidence=["仅用十一个月"]),
        question("q3", kind="unanswerable", video_id=None),
    ]
    assert problems_of(sound) == []


def test_each_kind_of_problem_is_reported() -> None:
    found = problems_of(
        [
            question("missing", video_id="bilingual01", evidence=["not in the episode"]),
            question("no-note", video_id="nosuchnote", evidence=["x"]),
            # In both notes: a hit in the other one would count as right.
            question("ambiguous", video_id="bilingual01", evidence=["鲍威尔说通胀仍然太高"]),
            # Its Chinese has English beside it, so an English question is not cross-language.
            question("not-cross", kind="crosslingual", video_id="bilingual01", evidence=["十二月"]),
            question("unanswerable", kind="unanswerable", evidence=["x"]),
            question("no-evidence", video_id="bilingual01"),
            question("twice", video_id="bilingual01", evidence=["Powell said"]),
            question("twice", video_id="bilingual01", evidence=["Powell said"]),
        ]
    )
    text = "\n".join(found)
    assert "missing: evidence 'not in the episode' is in no segment" in text
    assert "no-note: note nosuchnote is not in the archive" in text
    assert "ambiguous: evidence '鲍威尔说通胀仍然太高' also in 1 notes: chineseonly" in text
    assert "not-cross: crosslingual evidence '十二月' has English beside it" in text
    assert "unanswerable: unanswerable but names a note or evidence" in text
    assert "no-evidence: answerable but has no evidence" in text
    assert "duplicate id twice" in text


def test_splits_must_follow_the_seeded_hash() -> None:
    questions = [
        question(f"q{i}", kind=kind, video_id="bilingual01", evidence=["Powell said"])
        for i, kind in enumerate(["fact", "fact", "who_said", "who_said"])
    ]
    halves = checker.assign_splits(questions)
    for q in questions:
        q["split"] = halves[q["id"]]
    assert set(halves.values()) == {"tune", "report"}
    assert problems_of(questions) == []
    questions[0]["split"] = "report" if questions[0]["split"] == "tune" else "tune"
    assert any(p.startswith("q0: split is") for p in problems_of(questions))


def test_the_real_golden_set_has_what_the_issue_asks_for() -> None:
    questions = load_questions(REAL)  # every line is a valid `Question`
    raw = [json.loads(line) for line in REAL.read_text(encoding="utf-8").splitlines()]
    kinds = Counter((q.kind, q.lang) for q in questions)
    halves = Counter(r["split"] for r in raw)
    assert len(questions) >= 80
    assert kinds["crosslingual", "en"] >= 35
    assert kinds["unanswerable", "en"] + kinds["unanswerable", "zh"] >= 12
    assert {"fact", "who_said", "filter"} <= {kind for kind, _ in kinds}
    assert min(halves["tune"], halves["report"]) >= 40
    assert checker.assign_splits(raw) == {r["id"]: r["split"] for r in raw}
