"""The paraphrase golden set: its checker, and the set itself checked against its corpus."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT, SHARED_ARCHIVE

sys.path.insert(0, str(ROOT / "benchmarks"))

from paraphrase_check import cjk_overlaps, english_overlaps

REAL_TARBALL = SHARED_ARCHIVE.parent / "real-archive.tar.xz"


def test_a_question_reusing_four_chinese_characters_is_caught() -> None:
    paragraph = "衍生品交易额是现金股票交易额的300多倍"
    assert cjk_overlaps("印度股市里，合约类交易的成交额是现金股票的多少倍？", paragraph) == [
        "额是现金股票"
    ]
    assert cjk_overlaps("印度股市里，合约类交易的成交额是现货股票的多少倍？", paragraph) == []


def test_only_word_pairs_without_stop_words_count_and_chinese_text_breaks_a_pair() -> None:
    paragraph = "Derivatives turnover is more than 300 times higher than cash equities."
    assert english_overlaps("How much bigger is turnover in cash equities?", paragraph) == [
        "cash equitie"  # the stem of both 'equities' and 'equity'
    ]
    # 'than cash' has a stop word; 'is more' too: neither is a reused phrase.
    assert english_overlaps("Is it more than cash?", paragraph) == []
    assert english_overlaps("Rust 进来以后 Linux 还剩多少", "尽管 Rust 带来了新的 Linux 内核") == []


@pytest.mark.skipif(
    not (SHARED_ARCHIVE.is_dir() and REAL_TARBALL.is_file()), reason="needs ../shared"
)
def test_every_question_passes_the_checker_over_the_assembled_corpus(tmp_path) -> None:  # type: ignore[no-untyped-def]
    corpus = tmp_path / "corpus"
    subprocess.run(
        [sys.executable, ROOT / "benchmarks" / "paraphrase_corpus.py", corpus,
         "--real", REAL_TARBALL, "--shared", SHARED_ARCHIVE],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    assert len(list((corpus / "real").glob("*.md"))) == 60
    done = subprocess.run(
        [sys.executable, ROOT / "benchmarks" / "paraphrase_check.py", corpus],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    assert "0 problems" in done.stdout
