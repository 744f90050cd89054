"""The golden-set harness: first-hit ranks, recall at cut-offs, and the tune/report halves."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import ASSISTANT, ROOT

from assistant.evaluate import first_hit, load_questions, rank_scores, select_split
from assistant.models import Passage
from assistant.settings import Settings

GOLDEN_SAMPLE = ROOT / "benchmarks" / "golden" / "sample.jsonl"


def passage(text_zh: str, text_en: str = "") -> Passage:
    return Passage(
        id="e:1", episode_id="e", title="", date="", speaker="", position=1,
        text_zh=text_zh, text_en=text_en, source_url="", url="",
    )  # fmt: skip


def test_first_hit_is_the_rank_of_the_first_passage_holding_evidence() -> None:
    question = load_questions(GOLDEN_SAMPLE)[0].model_copy(update={"evidence": ["降息"]})
    passages = [passage("无关"), passage("", "a rate cut 降息"), passage("降息")]
    assert first_hit(passages, question) == 2
    assert first_hit(passages[:1], question) == 0


def test_rank_scores_count_recall_at_each_cut_off_and_no_reciprocal_past_the_last() -> None:
    scores = rank_scores([1, 3, 7, 12, 0], cutoffs=(1, 5, 10))
    assert scores.n == 5
    assert scores.recall == {1: 0.2, 5: 0.4, 10: 0.6}
    # 12 is past the deepest cut-off: it counts as not found, like 0.
    assert scores.mrr == round((1 + 1 / 3 + 1 / 7) / 5, 4)


def test_select_split_keeps_one_half_and_none_keeps_all() -> None:
    questions = load_questions(GOLDEN_SAMPLE)[:3]
    halves = [
        q.model_copy(update={"split": s})
        for q, s in zip(questions, ["tune", "report", None], strict=True)
    ]
    assert [q.id for q in select_split(halves, "report")] == [questions[1].id]
    assert len(select_split(halves, None)) == 3


def test_eval_reports_only_the_requested_half(
    indexed: Settings, cli_env: dict[str, str], tmp_path: Path
) -> None:
    questions = load_questions(GOLDEN_SAMPLE)[:5]
    golden = tmp_path / "split.jsonl"
    golden.write_text(
        "\n".join(
            q.model_copy(update={"split": "report" if i < 2 else "tune"}).model_dump_json()
            for i, q in enumerate(questions)
        ),
        encoding="utf-8",
    )
    env = {**cli_env, "ASSISTANT_VECTORSTORE_DIR": str(indexed.vectorstore_dir)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [*ASSISTANT, "eval", str(golden), *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)

    report = run("--split", "report", "--json")
    assert report.returncode == 0, report.stderr
    assert json.loads(report.stdout)["questions"] == 2
    tune = run("--split", "tune")
    assert tune.returncode == 0, tune.stderr
    assert "3 questions (tune half)" in tune.stdout
    assert run("--split", "other").returncode == 2


@pytest.mark.parametrize("split", ["tune", "report"])
def test_the_paraphrase_set_has_two_even_halves_by_kind_and_language(split: str) -> None:
    questions = load_questions(ROOT / "benchmarks" / "golden" / "paraphrase.jsonl")
    half = select_split(questions, split)
    assert len(half) * 2 == len(questions) >= 90
    assert sum(q.lang == "zh" for q in half) * 2 == len(half)
    for kind in ("fact", "who_said", "filter", "crosslingual", "unanswerable"):
        of_kind = [q for q in questions if q.kind == kind]
        assert abs(2 * sum(q.split == split for q in of_kind) - len(of_kind)) <= 1, kind
