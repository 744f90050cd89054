"""Block Kit rendering: pure functions over the shared Answer type."""

from __future__ import annotations

from assistant.models import Answer, Citation
from assistant.slack.blocks import answer_message, citation_line, error_message, escape


def citation(n: int = 1, **overrides: str) -> Citation:
    fields = {
        "id": "vid:3",
        "episode_id": "vid",
        "title": "Rates <live> & more",
        "date": "2025-11-24",
        "speaker": "Odd Lots",
        "turn_speaker": "Tracy",
        "position": 3,
        "text_zh": "美联储可能降息。",
        "text_en": "The Fed may cut. " * 40,
        "source_url": "https://www.youtube.com/watch?v=vid",
        "url": "/episodes/vid#p3",
        **overrides,
    }
    return Citation(n=n, **fields)  # type: ignore[arg-type]


def test_citation_line_links_title_quotes_shortened_and_links_the_reader() -> None:
    line = citation_line(citation(), "en", "https://archive.example/")
    head, quote = line.split("\n")
    assert head == (
        "*[1]* <https://www.youtube.com/watch?v=vid|Rates &lt;live&gt; &amp; more>"
        " · 2025-11-24 · Odd Lots · Tracy"
    )
    assert quote.startswith("> The Fed may cut.") and "…" in quote
    assert quote.endswith("<https://archive.example/episodes/vid#p3|paragraph>")
    assert len(quote) < 400


def test_the_chinese_side_is_quoted_for_a_chinese_answer_and_no_reader_link_without_url() -> None:
    line = citation_line(citation(source_url=""), "zh", "")
    assert (
        line
        == "*[1]* Rates &lt;live&gt; &amp; more · 2025-11-24 · Odd Lots · Tracy\n> 美联储可能降息。"
    )


def test_a_long_answer_is_split_into_sections_within_slack_limits() -> None:
    text = "\n".join(f"- <b>point</b> {i} " + "x" * 150 + f" [{i % 3 + 1}]" for i in range(60))
    answer = Answer(
        answer=text + "\n\nSources:\n[1] a",
        lang="en",
        citations=[citation(n) for n in (1, 2, 3)],
        grounded=True,
        mode="extractive",
    )
    message = answer_message(answer)
    sections = [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]
    assert len(sections) > 1 and all(len(s) <= 3000 for s in sections)
    assert "<b>" not in "".join(sections) and "&lt;b&gt;" in sections[0]
    assert "Sources:" not in "".join(sections)
    assert sum(b["type"] == "context" for b in message["blocks"]) == 3
    assert len(message["blocks"]) <= 50


def test_errors_are_messages_in_the_question_language() -> None:
    assert error_message("zh", "ConnectError: <down>")["text"] == (
        ":warning: 抱歉，回答失败：ConnectError: &lt;down&gt;。请稍后再试。"
    )


def test_escape() -> None:
    assert escape("a < b && c > d") == "a &lt; b &amp;&amp; c &gt; d"


def test_the_manifest_matches_what_the_bot_listens_to() -> None:
    from pathlib import Path

    import yaml

    manifest = yaml.safe_load(
        (Path(__file__).resolve().parents[1] / "deploy" / "slack-manifest.yaml").read_text()
    )
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == "/ask" and command["url"].endswith("/slack/events")
    events = manifest["settings"]["event_subscriptions"]
    assert events["request_url"].endswith("/slack/events")
    assert set(events["bot_events"]) == {
        "app_mention",
        "message.im",
        "message.channels",
        "message.groups",
    }
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"app_mentions:read", "chat:write", "commands", "im:history"} <= scopes
