"""Pure pieces of answering: language, fusion, tokens, sentences, citations, composition."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.answer import (
    abstention,
    compose_extractive,
    evidence_score,
    quote_side,
    select_sentences,
    should_abstain,
    unknown_names,
)
from assistant.citations import split_sentences, validate_citations
from assistant.language import detect_language
from assistant.lexical import BM25, tokenize
from assistant.models import Passage
from assistant.retrieve import LexicalIndex, fuse_rankings


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("谁支持降息？", "zh"),
        ("What did Michael Burry say about Nvidia?", "en"),
        ("英伟达 Nvidia 的财报怎么样", "zh"),
        ("What did 鲍威尔 say about rates?", "en"),
        ("In the Odd Lots episodes this autumn, how does HRT use AI?", "en"),
        ("GPT-5 和 Claude 哪个更好？", "zh"),
        ("", "en"),
    ],
)
def test_detect_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang


def test_fuse_rankings_rewards_agreement_and_respects_weights() -> None:
    fused = fuse_rankings([["a", "b", "c"], ["b", "c", "d"]])
    assert [item for item, _ in fused] == ["b", "c", "a", "d"]
    assert fused[0][1] == pytest.approx(1 / 62 + 1 / 61)
    heavy = fuse_rankings([["a"], ["z"]], weights=[1.0, 3.0])
    assert heavy[0][0] == "z"
    assert fuse_rankings([]) == []


def test_tokenize_both_languages_and_drop_stopwords() -> None:
    tokens = tokenize("Michael Burry's bets on the Fed; 迈克尔·伯里做空了英伟达 81%")
    assert {"michael", "burry", "bet", "fed", "81%", "伯里", "做空"} <= set(tokens)
    assert "the" not in tokens and "了" not in tokens and "on" not in tokens


def test_bm25_ranks_the_rare_term_match_first() -> None:
    docs = [tokenize(t) for t in ["the fed cut rates", "nvidia earnings beat", "fed fed fed"]]
    bm25 = BM25(docs)
    scores = bm25.scores(tokenize("nvidia earnings"))
    assert scores.argmax() == 1 and scores[0] == 0
    assert bm25.term_idf("never-seen") > bm25.term_idf("fed")


def test_split_sentences_keeps_markers_and_titles() -> None:
    assert split_sentences("美联储可能降息。[1] 玛丽支持降息！英伟达涨了 8%。") == [
        "美联储可能降息。 [1]",
        "玛丽支持降息！",
        "英伟达涨了 8%。",
    ]
    assert split_sentences("It may cut. [1] Mr. Smith agreed [2]. Odds hit 81%.") == [
        "It may cut. [1]",
        "Mr. Smith agreed [2].",
        "Odds hit 81%.",
    ]


def test_validate_citations_removes_bad_markers_and_flags_unsupported_claims() -> None:
    checked = validate_citations(
        "The Fed may cut in December [1]. Mary Daly backs a cut [7]. Odds rose to 81% [2, 9].", 2
    )
    assert (
        checked.text
        == "The Fed may cut in December [1]. Mary Daly backs a cut. Odds rose to 81% [2]."
    )
    assert checked.cited == [1, 2]
    assert checked.removed == [7, 9]
    assert checked.unsupported == ["Mary Daly backs a cut."]
    assert not checked.grounded
    assert validate_citations("降息的概率达到了 81% 【1】。", 1).grounded
    assert not validate_citations("No markers at all in this sentence here.", 3).grounded


def passage(n: int, zh: str, en: str, **extra: str) -> Passage:
    return Passage(
        id=f"ep:{n}",
        episode_id="ep",
        title="标题",
        date="2025-11-24",
        speaker="Amit",
        position=n,
        text_zh=zh,
        text_en=en,
        url=f"/episodes/ep#p{n}",
        **extra,
    )


PASSAGES = [
    passage(
        1,
        "旧金山联储的玛丽·戴利表示她支持降息。概率达到了 81%。",
        "Mary Dailyaly said she supports a rate cut. Odds are at 81%.",
    ),
    passage(2, "这是一段只有中文的话，关于英伟达。", ""),
    passage(3, "", "Nvidia emailed analysts to push back on Burry.", turn_speaker="Joe"),
]


def idf(term: str) -> float:
    return 1.0


def test_quote_side_follows_the_question_language() -> None:
    assert quote_side(PASSAGES[0], "en") == (PASSAGES[0].text_en, False)
    assert quote_side(PASSAGES[1], "en") == (PASSAGES[1].text_zh, True)
    assert quote_side(PASSAGES[2], "zh") == (PASSAGES[2].text_en, True)


def test_select_sentences_picks_the_matching_sentence() -> None:
    quotes = select_sentences("What were the odds of a rate cut? 81%", PASSAGES[:1], "en", idf)
    assert "81%" in quotes[0].text


def test_compose_extractive_in_english_marks_chinese_only_quotes() -> None:
    answer = compose_extractive(
        "Who supports a rate cut, and what about Nvidia?", "en", PASSAGES, idf
    )
    assert answer.lang == "en" and answer.mode == "extractive" and answer.grounded
    assert answer.answer.startswith("From the archive:")
    assert "(Chinese only) [2]" in answer.answer
    assert "Joe: Nvidia emailed analysts" in answer.answer
    assert [c.n for c in answer.citations] == [1, 2, 3]
    assert [c.id for c in answer.citations] == ["ep:1", "ep:2", "ep:3"]
    assert "标题" in answer.answer and "2025-11-24" in answer.answer


def test_abstains_on_names_the_archive_never_uses_and_on_thin_evidence() -> None:
    docs = [tokenize(f"{p.text_zh} {p.text_en}") for p in PASSAGES]
    lexical = LexicalIndex(
        ids=[p.id for p in PASSAGES],
        episode_of=np.zeros(len(PASSAGES), dtype=np.int32),
        turn_speakers=[p.turn_speaker for p in PASSAGES],
        episodes=[],
        bm25=BM25(docs),
        front_matter_terms=frozenset({"tracy", "alloway"}),
    )
    knows = lexical.knows
    assert unknown_names("What did Warren Buffett say about Nvidia?", knows) == ["Warren Buffett"]
    assert unknown_names("What did Tracy Alloway say about Nvidia in August?", knows) == []
    assert unknown_names("How many Rate-Cut backers are there?", knows) == []
    assert "SWE-bench" in unknown_names("Claude 在 SWE-bench 上得分多少？", knows)
    assert unknown_names("What did Mary Dailyaly say about Nvidia?", knows) == []
    assert should_abstain("What did Warren Buffett say about Nvidia?", PASSAGES, lexical)
    assert should_abstain("沃伦·巴菲特怎么看苹果公司的股票回购？", PASSAGES, lexical)
    assert should_abstain("Who supports a rate cut?", [], lexical)
    assert not should_abstain("Who supports a rate cut?", PASSAGES, lexical)
    assert evidence_score("rate cut odds", PASSAGES, lexical.bm25.term_idf) == 1.0
    # A Chinese-only passage under an English question: dense closeness decides.
    zh_only = PASSAGES[1:2]
    assert not should_abstain("What did Zorblax say?", zh_only, lexical, {"ep:2": 0.85})
    assert should_abstain("What did Zorblax say?", zh_only, lexical, {"ep:2": 0.7})


def test_an_abstention_is_in_the_question_language_and_cites_nothing() -> None:
    answer = compose_extractive("谁支持降息？", "zh", [], idf)
    assert answer.citations == [] and not answer.grounded
    assert answer.answer == "档案中没有能回答这个问题的内容。"
    assert abstention("en").answer.startswith("The archive does not cover this")
