"""Front matter, episode ids and the files that cannot be parsed."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.parse import ParseError, episode_id_from, parse_episode, read_episode

BODY = (
    "\n### 小节\n\n你好。\n\n<details>\n<summary>View/Hide Original English</summary>\n"
    '<p class="english-text">Hello.</p>\n</details>\n'
)


def test_every_front_matter_field_is_kept_and_normalised() -> None:
    text = (
        "---\nauthor: someone\ntitle: '标题'\ndate: 2025-11-24\nspeaker: Amit Kukreja\n"
        "source: https://www.youtube.com/watch?v=49u9cMwrKao&t=3s\ncategory: finance\n"
        "tags:\n  - rate-cut\n  - ai\npeople:\n- Michael Burry\ncompanies_orgs: []\n"
        "products_models: ''\nguest: ''\nsummary: >-\n  第一行\n  第二行\n---\n" + BODY
    )
    episode = parse_episode(text, "archive/x.md")
    assert episode.id == "49u9cMwrKao"
    assert episode.title == "标题"
    assert (episode.date, episode.date_int) == ("2025-11-24", 20251124)
    assert episode.speaker == "Amit Kukreja"
    assert episode.tags == ["rate-cut", "ai"]
    assert episode.people == ["Michael Burry"]
    assert episode.companies == [] and episode.products == []
    assert episode.summary == "第一行 第二行"
    assert episode.front_matter["author"] == "someone"
    assert episode.front_matter["date"] == "2025-11-24"  # a YAML date, made JSON-safe
    assert episode.front_matter["guest"] == ""
    (segment,) = episode.segments
    assert segment.line == 23  # counted from the top of the file, front matter included


def test_missing_keys_quoted_dates_and_no_trailing_newline() -> None:
    episode = parse_episode('---\ndate: "2021-07-30"\n---\n只有中文。', "dir/2021-x.md")
    assert episode.id == "2021-x"  # no source: the file stem
    assert episode.title == "2021-x"
    assert episode.date_int == 20210730
    assert episode.people == [] and episode.speaker == ""
    assert [s.text_zh for s in episode.segments] == ["只有中文。"]


def test_unreadable_date_is_a_warning_not_a_failure() -> None:
    episode = parse_episode("---\ntitle: t\ndate: sometime\n---\n" + BODY, "x.md")
    assert (episode.date, episode.date_int) == ("", 0)
    assert any("date" in w for w in episode.warnings)


def test_crlf_and_bom_are_tolerated() -> None:
    text = "\ufeff---\r\ntitle: t\r\n---\r\n" + BODY.replace("\n", "\r\n")
    assert [s.text_en for s in parse_episode(text, "x.md").segments] == ["Hello."]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("https://www.youtube.com/watch?v=abc123", "abc123"),
        ("https://youtube.com/watch?feature=x&v=abc123", "abc123"),
        ("https://youtu.be/abc123?t=5", "abc123"),
        ("https://www.youtube.com/shorts/abc123", "abc123"),
        ("https://example.com/watch?v=abc123", "stem"),
        ("", "stem"),
    ],
)
def test_episode_id(source: str, expected: str) -> None:
    assert episode_id_from(source, "stem") == expected


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "binary"),
        ("---\ntitle: t\n---\n中文".encode("gb18030"), "not UTF-8"),
        (b"# Just markdown\n\nno front matter\n", "no YAML front matter"),
        (b"---\ntitle: [unclosed\n---\nbody\n", "invalid YAML front matter"),
        (b"---\n- a\n- b\n---\nbody\n", "not a mapping"),
    ],
)
def test_unparseable_files_give_one_clear_error(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "bad.md"
    path.write_bytes(content)
    with pytest.raises(ParseError) as info:
        read_episode(path, max_bytes=10_000)
    assert reason in info.value.reason
    assert str(path) in str(info.value)


def test_files_over_the_size_limit_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "big.md"
    path.write_text("---\ntitle: t\n---\n" + "很长。" * 1000, encoding="utf-8")
    with pytest.raises(ParseError, match="over the 1,000-byte limit"):
        read_episode(path, max_bytes=1000)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.md"
    path.write_text("---\ntitle: ok\ntags: [a\nspeaker: x\n---\nbody\n", encoding="utf-8")
    with pytest.raises(ParseError, match=r"line \d+"):
        read_episode(path, max_bytes=10_000)


@pytest.mark.parametrize(
    "front",
    [
        "date: 2025-02-30",  # an unquoted date that is no day: PyYAML raises ValueError
        "draft: !!bool maybe",  # KeyError
        "tags: " + "[" * 5000 + "]" * 5000,  # RecursionError
        "tags: &a [*a]",  # a list containing itself
        "tags: " + "[" * 30_000 + "]" * 30_000,  # libyaml crashed the process (SIGSEGV)
    ],
    ids=["bad-date", "bad-bool", "deep", "self-reference", "deeper"],
)
def test_front_matter_yaml_cannot_build_is_a_parse_error(front: str) -> None:
    # Found by tests/test_parse_fuzz.py; these escaped as plain exceptions (or crashed) and
    # stopped the whole ingest.
    with pytest.raises(ParseError, match="invalid YAML front matter"):
        parse_episode(f"---\n{front}\n---\n" + BODY, "x.md")


def test_set_and_binary_front_matter_values_are_made_json_safe() -> None:
    episode = parse_episode("---\nkeys: !!set {b, a}\nblob: !!binary //79\n---\n" + BODY, "x.md")
    assert episode.front_matter == {"keys": ["a", "b"], "blob": "\ufffd" * 3}
    assert '"blob":"\ufffd\ufffd\ufffd"' in episode.model_dump_json()


def test_front_matter_fenced_by_four_dashes_parses() -> None:
    # The shape of the real note Atw2h2qCL4o.md: `----` opens and closes its front matter.
    text = "----\ntitle: t\nsource: https://www.youtube.com/watch?v=four\n----\n" + BODY
    episode = parse_episode(text, "x.md")
    assert (episode.id, episode.title, len(episode.segments)) == ("four", "t", 1)
    assert episode.segments[0].line == 8  # lines are counted from the real first fence


@pytest.mark.parametrize(
    "text, reason",
    [
        ("----\ntitle: t\n---\n" + BODY, "opened with '----' has no closing '----' line"),
        ("---\ntitle: t\n----\n" + BODY, "opened with '---' has no closing '---' line"),
    ],
)
def test_unclosed_or_mismatched_fences_say_so(text: str, reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        parse_episode(text, "x.md")
