"""Retrieval and answers over a real index of the bundled sample episode."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import write_episode
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from assistant.archive import Archive
from assistant.embed import E5Embedder
from assistant.evaluate import evaluate, load_questions
from assistant.index import SegmentStore, open_client
from assistant.ingest import ingest
from assistant.langchain_retriever import ArchiveRetriever
from assistant.lexical import LexicalStore
from assistant.models import Filters
from assistant.service import Assistant, Turn
from assistant.settings import Settings

GOLDEN_SAMPLE = Path(__file__).resolve().parents[1] / "benchmarks" / "golden" / "sample.jsonl"


@pytest.fixture
def own_copy(indexed: Settings, tmp_path: Path) -> Settings:
    """Settings over a private copy of the indexed sample, for tests that change it."""
    shutil.copytree(indexed.vectorstore_dir, tmp_path / "vs")
    return Settings(vectorstore_dir=tmp_path / "vs")


@pytest.fixture(scope="module")
def helper(indexed: Settings, e5: E5Embedder) -> Assistant:
    return Assistant(Archive(indexed, e5))


def test_search_finds_misspelled_english_through_the_chinese_side(helper: Assistant) -> None:
    results = helper.search("Mary Daly supports a rate cut because of the labor market", k=3)
    assert results[0].id == "49u9cMwrKao:7"
    assert "Mary Dailyaly" in results[0].text_en and "玛丽·戴利" in results[0].text_zh
    assert results[0].url == "/episodes/49u9cMwrKao#p7"
    palantir = helper.search("How much was Palantir up?", k=3)
    assert any("Palunteer" in p.text_en for p in palantir)


def test_a_paragraph_saying_the_name_is_boosted_like_an_episode_listing_it(
    helper: Assistant,
) -> None:
    # The sample lists Nvidia in its front matter, oddlots1 does not; the exact paragraph
    # was once ranked below three sample paragraphs by the name boost alone.
    results = helper.search("Nvidia earnings beat expectations", k=3)
    assert results[0].id == "oddlots1:2"


def test_a_chinese_question_finds_english_heavy_paragraphs(helper: Assistant) -> None:
    results = helper.search("英伟达给华尔街分析师发了备忘录反驳伯里", k=5)
    assert any("memo" in p.text_en for p in results)


def test_an_english_question_reaches_a_chinese_only_paragraph(helper: Assistant) -> None:
    results = helper.search("a paragraph that exists only in Chinese", k=5)
    assert "oddlots1:4" in [p.id for p in results]


def test_filters_narrow_both_dense_and_lexical_results(helper: Assistant) -> None:
    only = helper.search("rate cut", k=10, filters=Filters(speaker="odd lots"))
    assert only and {p.speaker for p in only} == {"Odd Lots"}
    dated = helper.search("rate cut", k=10, filters=Filters(date_from="2025-11-01"))
    assert dated and {p.episode_id for p in dated} == {"49u9cMwrKao"}
    person = helper.search("stocks", k=10, filters=Filters(person="tracy alloway"))
    assert person and {p.episode_id for p in person} == {"oddlots1"}
    assert helper.search("rate cut", filters=Filters(date_to="2001-01-01")) == []
    turn = helper.search("rate cut", filters=Filters(turn_speaker="nobody"))
    assert turn == []


def test_names_in_the_question_match_front_matter(helper: Assistant) -> None:
    lexical = helper.archive.retriever.lexical
    assert "Michael Burry" in lexical.names_in("What did Burry say about Nvidia?")
    assert "Nvidia" in lexical.names_in("What did Burry say about nvidia?")


def test_extractive_answers_in_the_question_language_with_citations(helper: Assistant) -> None:
    zh = helper.ask("谁支持降息？")
    assert zh.lang == "zh" and zh.mode == "extractive" and zh.grounded
    assert zh.answer.startswith("档案中的相关内容")
    assert any("玛丽·戴利" in c.text_zh or "约翰·威廉姆斯" in c.text_zh for c in zh.citations)
    assert "[1]" in zh.answer
    en = helper.ask("What did Michael Burry say about Nvidia?")
    assert en.lang == "en" and en.answer.startswith("From the archive:")
    assert any("Bur" in c.text_en for c in en.citations)


def test_unanswerable_questions_abstain_without_citations(helper: Assistant) -> None:
    answer = helper.ask("What did Warren Buffett say about Berkshire's cash pile?")
    assert answer.citations == [] and not answer.grounded
    assert answer.answer.startswith("The archive does not cover this")
    zh = helper.ask("沃伦·巴菲特对伯克希尔的现金储备怎么看？")
    assert zh.citations == [] and zh.lang == "zh"


def test_filtered_dense_ranking_is_exact_cosine_over_the_kept_segments(helper: Assistant) -> None:
    retriever = helper.archive.retriever
    filters = retriever.resolve(Filters(episode="49u9cMwrKao"))
    keep = retriever.lexical.mask(filters)
    assert keep is not None
    ranked, similarity = retriever._dense("Nvidia memo to analysts", keep)
    stored = helper.archive.store.segments.get(
        where={"episode_id": "49u9cMwrKao"}, include=["embeddings"]
    )
    query = helper.archive.store.embedder.embed_query("Nvidia memo to analysts")
    cosine = dict(zip(stored["ids"], np.asarray(stored["embeddings"]) @ query, strict=True))
    expected = sorted(cosine, key=lambda sid: -cosine[sid])
    # Every segment of the sample has English, so no language bonus applies here.
    assert ranked == expected[: len(ranked)] and len(ranked) == min(50, len(expected))
    assert similarity[ranked[0]] == pytest.approx(cosine[ranked[0]], abs=1e-5)


def test_a_follow_up_carries_the_previous_subject_and_filters(helper: Assistant) -> None:
    history = [
        Turn(
            role="user",
            content="What did Mary Daly say about a rate cut?",
            filters=Filters(speaker="Amit Kukreja"),
        ),
        Turn(role="assistant", content="She supports one [1]."),
    ]
    answer = helper.ask("Why does she support it?", history=history)
    assert answer.citations and {c.speaker for c in answer.citations} == {"Amit Kukreja"}
    assert any("labor" in c.text_en for c in answer.citations)


def test_streaming_sends_citations_then_text_then_the_answer(helper: Assistant) -> None:
    events = list(helper.ask_stream("谁支持降息？"))
    kinds = [e.kind for e in events]
    assert kinds[0] == "citations" and kinds[-1] == "done" and set(kinds[1:-1]) == {"token"}
    assert "".join(e.data for e in events[1:-1]) == events[-1].data.answer


def test_llm_mode_validates_citations_and_sets_grounded(helper: Assistant) -> None:
    reply = "Mary Daly backs a rate cut [1]. John Williams does too [9]. Markets rallied."
    chat = GenericFakeChatModel(messages=iter([AIMessage(reply)]))
    answer = Assistant(helper.archive, chat).ask("Who supports a rate cut?")
    assert answer.mode == "llm"
    assert "[9]" not in answer.answer and "[1]" in answer.answer
    assert [c.n for c in answer.citations] == [1]
    assert answer.unsupported == ["John Williams does too.", "Markets rallied."]
    assert not answer.grounded
    good = GenericFakeChatModel(messages=iter([AIMessage("Mary Daly backs a rate cut [1].")]))
    assert Assistant(helper.archive, good).ask("Who supports a rate cut?").grounded


def test_llm_mode_rewrites_a_follow_up_before_retrieving(helper: Assistant) -> None:
    chat = GenericFakeChatModel(
        messages=iter(
            [AIMessage("Why does Mary Daly support a rate cut?"), AIMessage("Weak labor [1].")]
        )
    )
    history = [
        Turn(role="user", content="Who supports a rate cut?"),
        Turn(role="assistant", content="Mary Daly [1]."),
    ]
    answer = Assistant(helper.archive, chat).ask("Why?", history=history)
    assert answer.grounded and "labor" in answer.citations[0].text_en


def test_langchain_retriever(helper: Assistant) -> None:
    docs = ArchiveRetriever(retriever=helper.archive.retriever, k=3).invoke("谁支持降息？")
    assert len(docs) == 3
    assert docs[0].metadata["episode_id"] == "49u9cMwrKao" and docs[0].id
    assert "降息" in docs[0].page_content


def test_golden_sample_regression(helper: Assistant) -> None:
    report = evaluate(
        load_questions(GOLDEN_SAMPLE),
        lambda q, n, f: helper.search(q, n, f),
        lambda q, n, f: helper.ask(q, n, f),
        k=5,
    )
    failures = [(r.id, r.problems) for r in report.failures]
    assert report.recall_at_k >= 0.9, failures
    assert report.mrr >= 0.7, failures
    # Of the three unanswerable questions, only the SWE-bench one names something absent;
    # the other two ask what happened after the episode, on its own topic: answering
    # them is the known weakness of the extractive mode (BENCHMARKS.md).
    assert report.abstention_unanswerable >= 0.33, failures
    assert report.answer_term_hit_rate >= 0.8, failures
    assert report.abstention_answerable <= 0.1, failures
    assert report.answer_lang_match == 1.0, failures


def test_the_lexical_index_is_rebuilt_from_chroma_when_missing_or_corrupt(
    own_copy: Settings, e5: E5Embedder
) -> None:
    settings, copy = own_copy, own_copy.vectorstore_dir
    lexical_file = next(copy.glob("*.lexical.sqlite"))
    for extra in copy.glob("*.lexical.sqlite-*"):
        extra.unlink()
    lexical_file.write_bytes(b"this is not a database" * 100)
    rebuilt = Archive(settings, e5)
    assert len(rebuilt.retriever.lexical.ids) == 55
    assert rebuilt.retriever.search("谁支持降息？")[0].episode_id == "49u9cMwrKao"
    lexical_file.unlink()
    assert len(Archive(settings, e5).retriever.lexical.ids) == 55


def test_refresh_rebuilds_a_lexical_file_deleted_or_damaged_under_it(
    own_copy: Settings, e5: E5Embedder
) -> None:
    archive = Archive(own_copy, e5)
    path = archive.lexical_store.path

    def rows_on_disk() -> int:
        store = LexicalStore(path)
        try:
            return len(store.rows()[0])
        finally:
            store.close()

    path.unlink()
    assert archive.refresh() is False  # rebuilt from Chroma: the same as in memory
    assert rows_on_disk() == 55
    path.write_bytes(os.urandom(path.stat().st_size))  # same file, as the open one sees
    assert archive.refresh() is False
    assert rows_on_disk() == 55
    assert archive.refresh() is False and rows_on_disk() == 55
    assert archive.retriever.search("谁支持降息？")[0].episode_id == "49u9cMwrKao"


def test_refresh_picks_up_what_another_process_ingested(
    own_copy: Settings, e5: E5Embedder, tmp_path: Path
) -> None:
    settings = own_copy
    reader = Archive(settings, e5)
    writer = SegmentStore(open_client(settings), e5)
    write_episode(
        tmp_path / "more",
        "fresh1",
        [("全新的段落，关于量子计算。", "A new paragraph on quantum computing.")],
    )
    ingest(
        [tmp_path / "more"],
        writer,
        max_bytes=10**6,
        lexical=LexicalStore(tmp_path / "other.sqlite"),
    )
    assert reader.refresh() is True
    assert reader.retriever.search("quantum computing", k=1)[0].episode_id == "fresh1"
    assert reader.refresh() is False


def test_refresh_after_an_ingest_through_the_same_lexical_store(
    own_copy: Settings, e5: E5Embedder, tmp_path: Path
) -> None:
    archive = Archive(own_copy, e5)
    write_episode(tmp_path / "more", "fresh2", [("关于核聚变的新段落。", "About nuclear fusion.")])
    ingest([tmp_path / "more"], archive.store, max_bytes=10**6, lexical=archive.lexical_store)
    assert archive.refresh() is True
    assert archive.retriever.search("nuclear fusion", k=1)[0].episode_id == "fresh2"


def test_english_questions_reach_a_chinese_only_episode(
    own_copy: Settings, e5: E5Embedder, tmp_path: Path
) -> None:
    archive = Archive(own_copy, e5)
    zh_only = [
        ("我们今天讨论台积电在亚利桑那州新建的晶圆厂，以及它的良率问题。", ""),
        ("台积电表示，亚利桑那工厂的良率已经接近台湾本土工厂的水平。", ""),
    ]
    write_episode(tmp_path / "zh", "zhonly1", zh_only, speaker="硅谷101", tags=[], people=[])
    ingest([tmp_path / "zh"], archive.store, max_bytes=10**6, lexical=archive.lexical_store)
    archive.refresh()
    helper = Assistant(archive)
    results = helper.search("What is the yield of TSMC's Arizona fab?", k=3)
    assert results[0].episode_id == "zhonly1" and results[0].text_en == ""
    answer = helper.ask("How does the yield of TSMC's Arizona fab compare with Taiwan?")
    assert answer.lang == "en" and answer.citations
    assert "(Chinese only)" in answer.answer and "良率" in answer.answer
