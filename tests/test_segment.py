"""Every body quirk listed in shared/archive/README.md, on small hand-written fixtures."""

from __future__ import annotations

import time

import pytest

from assistant.segment import clean_text, split_segments, turn_label


def block(english: str, summary: str = "View/Hide Original English</summary>") -> str:
    return f'<details>\n<summary>{summary}\n<p class="english-text">{english}</p>\n</details>\n'


def test_pairs_each_chinese_paragraph_with_the_english_after_it() -> None:
    body = (
        f"### 开场\n\n大家好。\n\n{block('Hello everybody.')}\n"
        f"今天很好。\n\n{block('Today is good.')}"
    )
    segs = split_segments(body, "ep")
    assert [(s.text_zh, s.text_en) for s in segs] == [
        ("大家好。", "Hello everybody."),
        ("今天很好。", "Today is good."),
    ]
    assert [s.id for s in segs] == ["ep:1", "ep:2"]
    assert [s.position for s in segs] == [1, 2]
    assert {s.section for s in segs} == {"开场"}


def test_section_headings_of_levels_two_to_four() -> None:
    body = "## 甲\n\n一。\n\n#### 乙\n\n二。\n\n### **丙**\n\n三。\n\n# 不是标题\n"
    segs = split_segments(body, "ep")
    assert [(s.section, s.text_zh) for s in segs] == [
        ("甲", "一。"),
        ("乙", "二。"),
        ("丙", "三。"),
        ("丙", "# 不是标题"),
    ]


def test_source_line_numbers_point_into_the_file() -> None:
    body = "\n大家好。\n\n" + block("Hello.") + "\n再见。\n"
    segs = split_segments(body, "ep", line_offset=10)
    assert [s.line for s in segs] == [12, 19]


def test_doubled_original_in_summary() -> None:
    body = "你好。\n" + block("Hi.", "View/Hide Original Original English</summary>")
    assert [(s.text_zh, s.text_en) for s in split_segments(body, "ep")] == [("你好。", "Hi.")]


def test_summary_closed_by_p_with_no_english_then_stray_p_and_extra_close() -> None:
    body = (
        "第一段。\n<details>\n<summary>View/Hide Original English</p>\n</details>\n<p>\n"
        "</details>\n\n第二段。\n\n" + block("Second.")
    )
    segs = split_segments(body, "ep")
    assert [(s.text_zh, s.text_en) for s in segs] == [("第一段。", ""), ("第二段。", "Second.")]


def test_english_after_an_early_details_close_still_belongs_to_its_block() -> None:
    body = (
        "课程。\n<details>\n<summary>View/Hide Original English</p>\n</details>\n"
        '<p class="english-text">Courses.</p>\n</details>\n\n下一段。\n'
    )
    segs = split_segments(body, "ep")
    assert [(s.text_zh, s.text_en) for s in segs] == [("课程。", "Courses."), ("下一段。", "")]


def test_broken_tags_missing_angle_brackets() -> None:
    body = (
        "一。\n\n<details>\n<summary>View/Hide Original English</summary>\n"
        'p class="english-text">One.</p>\n</details\n\n二。\n\n' + block("Two.")
    )
    segs = split_segments(body, "ep")
    assert [(s.text_zh, s.text_en) for s in segs] == [("一。", "One."), ("二。", "Two.")]


def test_missing_details_close_does_not_swallow_the_next_chinese_paragraph() -> None:
    body = (
        "一。\n\n<details>\n<summary>View/Hide Original English</summary>\n"
        '<p class="english-text">One.</p>\n\n二。\n\n' + block("Two.")
    )
    segs = split_segments(body, "ep")
    assert [(s.text_zh, s.text_en) for s in segs] == [("一。", "One."), ("二。", "Two.")]


def test_several_english_paragraphs_in_one_block_are_joined() -> None:
    body = (
        "对话。\n\n<details>\n<summary>View/Hide Original English</summary>\n"
        '<p class="english-text">&gt;&gt; So we have Rust.</p>\n'
        '<p class="english-text">&gt;&gt; Oh, we do.</p>\n</details>\n'
    )
    (seg,) = split_segments(body, "ep")
    assert seg.text_en == "So we have Rust.\n>> Oh, we do."


def test_empty_english_block_gives_a_chinese_only_segment() -> None:
    body = "只有中文。\n\n" + block("   ") + "\n下一段。\n\n" + block("Next.")
    segs = split_segments(body, "ep")
    assert [(s.text_zh, s.text_en) for s in segs] == [("只有中文。", ""), ("下一段。", "Next.")]


def test_chinese_paragraphs_without_english_and_chinese_only_sections() -> None:
    body = "### 中文小节\n\n第一段。\n\n第二段，\n同一段的第二行。\n\n### 双语\n\n三。\n\n" + block(
        "Three."
    )
    segs = split_segments(body, "ep")
    assert [(s.section, s.text_zh, s.text_en) for s in segs] == [
        ("中文小节", "第一段。", ""),
        ("中文小节", "第二段，\n同一段的第二行。", ""),
        ("双语", "三。", "Three."),
    ]


def test_whole_chinese_only_body() -> None:
    segs = split_segments("### 一\n\n甲。\n\n乙。\n", "ep")
    assert [(s.text_zh, s.text_en) for s in segs] == [("甲。", ""), ("乙。", "")]


def test_second_block_with_no_chinese_before_it_stands_alone() -> None:
    body = "一。\n\n" + block("One.") + "\n" + block("Orphan English.")
    segs = split_segments(body, "ep")
    assert [(s.text_zh, s.text_en) for s in segs] == [("一。", "One."), ("", "Orphan English.")]


def test_chinese_pasted_into_the_summary_tag_is_kept_as_its_own_segment() -> None:
    body = (
        "**Matt:** 有组织的回应吗？\n\n<details>\n"
        "<summary>View/Hide Original English</任何协调一致的回应都会公开。>\n"
        '<p class="english-text">Any concerted response will be public.</p>\n</details>\n'
    )
    segs = split_segments(body, "ep")
    assert [(s.text_zh, s.text_en) for s in segs] == [
        ("Matt: 有组织的回应吗？", ""),
        ("任何协调一致的回应都会公开。", "Any concerted response will be public."),
    ]


def test_one_line_details_block_and_body_end_marker() -> None:
    body = (
        "最后。\n\n<details> <summary>View/Hide Original English</summary> "
        '<p class="english-text">Last tip.</p> </details> [BODY_END]'
    )
    assert [(s.text_zh, s.text_en) for s in split_segments(body, "ep")] == [("最后。", "Last tip.")]


def test_html_entities_br_and_bold_inside_english() -> None:
    body = "问答。\n\n" + block(
        "Are we in a bubble?<br><br>>> I do not believe we&#39;re in a **bubble** &amp; more."
    )
    (seg,) = split_segments(body, "ep")
    assert seg.text_en == "Are we in a bubble?\n>> I do not believe we're in a bubble & more."


def test_glossary_bold_and_odd_spaces_in_chinese() -> None:
    body = "\u3000**标普500指数**（S&P 500: 指数）\u00a0上涨\u2009了。\n\n" + block("S&amp;P up.")
    (seg,) = split_segments(body, "ep")
    assert seg.text_zh == "标普500指数（S&P 500: 指数） 上涨 了。"
    assert seg.text_en == "S&P up."


def test_turn_labels_set_the_turn_speaker_and_carry_over() -> None:
    body = (
        "**Joe:** 你好。\n\n" + block("Hi.") + "\n继续说。\n\n" + block("Go on.") + "\n"
        "**Tracy Alloway**: 谢谢。\n\n" + block("Thanks.") + "\n"
        "**主持人 (Bill):** 欢迎。\n\n" + block("Welcome.") + "\n"
        ">> 下一位。\n\n" + block("Next.")
    )
    segs = split_segments(body, "ep")
    assert [s.turn_speaker for s in segs] == ["Joe", "Joe", "Tracy Alloway", "主持人 (Bill)", ""]
    assert segs[0].text_zh == "Joe: 你好。"
    assert segs[-1].text_zh == "下一位。"


def test_turn_label_on_the_english_side_when_the_chinese_has_none() -> None:
    body = "你好。\n\n" + block("**Ian:** Hello.")
    (seg,) = split_segments(body, "ep")
    assert seg.turn_speaker == "Ian"
    assert seg.text_en == "Ian: Hello."


def test_content_hash_changes_with_text_and_only_with_text() -> None:
    one = split_segments("甲。\n\n" + block("A."), "ep")[0]
    same = split_segments("\n甲。\n\n\n" + block("A."), "other")[0]
    changed = split_segments("甲。\n\n" + block("A!"), "ep")[0]
    assert one.content_hash == same.content_hash
    assert one.content_hash != changed.content_hash


def test_clean_text_and_turn_label_helpers() -> None:
    assert clean_text("a  <br/> b &lt;script&gt;") == "a\nb <script>"
    assert clean_text("<script>alert(1)</script>") == "<script>alert(1)</script>"
    assert turn_label("**Dennis Yang**：好") == "Dennis Yang"
    assert turn_label("&gt;&gt; yes") == ""
    assert turn_label("plain") is None


def test_closing_hashes_of_a_heading_are_not_part_of_the_section() -> None:
    segs = split_segments("### 丙 ###\n\n三。\n\n## C#\n\n四。\n", "ep")
    assert [(s.section, s.text_zh) for s in segs] == [("丙", "三。"), ("C", "四。")]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # Before the fix each took seconds (this one about 40 s: cubic in the run of spaces).
        ("## a" + " " * 3000 + "b\n\n中文。", [("中文。", "")]),
        # These were quadratic: a search per kind of tag, and a copy of the rest of the
        # line per tag; `<p ` without `>` rescanned to the end of the line for every `<p`.
        ("中文。" + "<details>" * 10_000, [("中文。", "")]),
        ("<details>" + '<p class="english-text">x</p>' * 15_000, [("", "\n".join(["x"] * 15_000))]),
        # 40,000 Latin "words" to 2 Chinese characters: read as English since version 2.
        ("中文" + "<p " * 40_000, [("", ("中文" + "<p " * 40_000).rstrip())]),
    ],
    ids=["heading-spaces", "details-run", "english-run", "unclosed-p-run"],
)
def test_long_lines_are_read_in_linear_time(line: str, expected: list[tuple[str, str]]) -> None:
    # Found by tests/test_parse_fuzz.py (long lines); each now takes about 0.03 s.
    started = time.perf_counter()
    segs = split_segments(line, "ep")
    assert time.perf_counter() - started < 1.0
    assert [(s.text_zh, s.text_en) for s in segs] == expected


# The real archive's shapes (issue 12), on synthetic snippets of each.


@pytest.mark.parametrize(
    "label",
    [
        "Original English",
        "Original English Source",
        "查看/隐藏英文原文 / View/Hide Original English",
        "English Original",
        "Veiw/Hide Original English",
    ],
)
def test_summary_labels_of_every_form_are_not_read_as_english(label: str) -> None:
    in_p = "你好。\n\n" + block("Hello.", f"{label}</summary>")
    bare = f"你好。\n\n<details>\n<summary>{label}</summary>\n\n**Host**: Hello.\n\n</details>\n"
    assert [(s.text_zh, s.text_en) for s in split_segments(in_p, "ep")] == [("你好。", "Hello.")]
    (seg,) = split_segments(bare, "ep")
    assert (seg.text_zh, seg.text_en, seg.turn_speaker) == ("你好。", "Host: Hello.", "Host")


def test_a_summary_around_a_turn_is_not_a_label() -> None:
    body = "是的。\n\n<details>\n<summary>Tracy Alloway**: Yeah.</summary>\n</details>\n"
    (seg,) = split_segments(body, "ep")
    assert seg.text_en == "Tracy Alloway**: Yeah."  # its opening `**` is lost to the tag


def test_original_text_block_of_chinese_is_the_source_of_the_paragraph_before() -> None:
    body = (
        "### 选举\n\n大家可能已经注意到选举夜的报道。\n\n<details>\n"
        "<summary>View/Hide Original Text</summary>\n<p>大家应该已经看到\n这两天的报道\n"
        "选举之夜的结果</p>\n</details>\n\n民主党大胜。\n\n<details>\n"
        "<summary>View/Hide Original Text</summary>\n<p>So the Democrats won.</p>\n</details>\n"
    )
    segs = split_segments(body, "ep")
    assert [(s.text_zh, s.text_en) for s in segs] == [
        ("大家可能已经注意到选举夜的报道。", ""),
        ("民主党大胜。", "So the Democrats won."),
    ]


def test_original_chinese_block_is_neither_a_new_segment_nor_english() -> None:
    body = (
        "特朗普输掉了贸易战。\n\n<details>\n<summary>View/Hide Original Chinese</summary>\n"
        '<p class="english-text">川普输掉了对中国的贸易战<br>核心观点非常尖锐</p>\n</details>\n\n'
        "作者认为美国误判了形势。\n\n<details>\n<summary>View/Hide Original Chinese</summary>\n"
        '<p class="english-text">作者认为,美国一开始就严重误判了形势</p>\n</details>\n'
    )
    segs = split_segments(body, "ep")
    assert [(s.text_zh, s.text_en) for s in segs] == [
        ("特朗普输掉了贸易战。", ""),
        ("作者认为美国误判了形势。", ""),
    ]


def test_a_chinese_source_block_with_no_paragraph_before_is_the_segments_chinese() -> None:
    body = (
        "### 开头\n\n<details>\n<summary>View/Hide Original Chinese</summary>\n"
        '<p class="english-text">大家好</p>\n</details>\n'
    )
    assert [(s.text_zh, s.text_en) for s in split_segments(body, "ep")] == [("大家好", "")]


def test_english_hard_wrapped_one_word_a_line_is_joined() -> None:
    body = (
        "来自纽约时报。\n\n<details>\n<summary>Original English</summary>\n\n"
        "**Rachel Abrams**: From\n the\n New\n York\n Times,\n I'm\n Rachel\n\n\nAbrams.\n"
        " This\n is\n the\n Daily.\n [music]\n\n\nWhen\n Jeff\n Bezos\n bought\n it.\n"
        "\n</details>\n"
    )
    (seg,) = split_segments(body, "ep")
    assert seg.text_en == (
        "Rachel Abrams: From the New York Times, I'm Rachel Abrams.\n"
        "This is the Daily.\n[music]\nWhen Jeff Bezos bought it."
    )
    assert seg.turn_speaker == "Rachel Abrams"


@pytest.mark.parametrize(
    ("paragraph", "speaker"),
    [
        ("Speaker 0: So what we found is that the market moved.", None),
        ("[Speaker 7]: And that was the end of it.", None),
        ("**Narrator:** People really care about being liked.", "Narrator"),
        ("[music]", None),
    ],
)
def test_an_english_paragraph_without_a_block_is_stored_as_english(
    paragraph: str, speaker: str | None
) -> None:
    body = f"### 一\n\n{paragraph}\n\n中文段落。\n"
    first, second = split_segments(body, "ep")
    assert first.text_zh == ""
    assert first.text_en == clean_text(paragraph)
    assert first.turn_speaker == (speaker or "")
    assert (second.text_zh, second.text_en) == ("中文段落。", "")


@pytest.mark.parametrize(
    "paragraph",
    [
        "**Tracy:** 我是Tracy Aloway。",  # the label is not counted
        "只需访问brilliant.org/veritasium。",
        "**Joe:** Sam Altman。",  # a name translated as itself, with a Chinese full stop
        "标普500指数（S&P 500: Standard and Poor's index）上涨了。",
    ],
)
def test_chinese_with_latin_words_stays_chinese(paragraph: str) -> None:
    (seg,) = split_segments(paragraph + "\n", "ep")
    assert (seg.text_zh, seg.text_en) == (clean_text(paragraph), "")


def test_english_lines_over_their_translation_in_one_paragraph_are_split_by_language() -> None:
    body = (
        "**Natalie:** Did he keep that money?\n他保留了这笔钱吗？\n\n"
        "The trauma is how you respond to it.\n创伤是你对此的反应。\n"
    )
    segs = split_segments(body, "ep")
    assert [(s.text_zh, s.text_en, s.turn_speaker) for s in segs] == [
        ("他保留了这笔钱吗？", "Natalie: Did he keep that money?", "Natalie"),
        ("创伤是你对此的反应。", "The trauma is how you respond to it.", "Natalie"),
    ]


def test_a_hard_wrapped_english_paragraph_without_a_block_is_joined() -> None:
    body = "彭博社。\n\nThe\n outgoing\n Prime\n Minister\n met\n the\n Greens.\n Then\n he\n left."
    first, second = split_segments(body, "ep")
    assert (first.text_zh, first.text_en) == ("彭博社。", "")
    assert (second.text_zh, second.text_en) == (
        "",
        "The outgoing Prime Minister met the Greens.\nThen he left.",
    )
