"""Fuzzing the parser from real episodes.

Each example takes a real file, replaces one run of its lines with damaged lines, and checks
that (a) parsing fails only with `ParseError` (and never for damage confined to the body),
and (b) every segment far enough from the damage comes out with the same text.

"Far enough" is what the scanner can promise. Segments wholly before the damaged lines,
with one untouched line in between, are done before the damage is read. After the damage,
an unclosed `<details>` may swallow text until the scanner resynchronises: at a plain,
mostly-Chinese line after a blank one (the scanner's own rule for a missing `</details>`).
From the first such segment on, the rest of the file must come out unchanged.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import SAMPLE, SHARED_ARCHIVE
from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st

from assistant.models import Episode
from assistant.parse import ParseError, parse_episode, read_episode
from assistant.segment import clean_text, is_mostly_cjk, split_segments

# Picked for their quirks: a summary with Chinese pasted into its closing tag and turn
# labels; `</details` without `>`; `&gt;&gt;` turns and Chinese-only paragraphs.
SHARED_PICKS = [
    "2025-10-15-sj9Q2VcfUeA.md",
    "2025-10-28-J2t8z9rLVh0.md",
    "2025-12-11-enUkMK5JQY8.md",
]

# Bounded for CI: 300 examples a test, about 20 s in all. Derandomized, with no example
# database: every run tries the same examples, so CI cannot flake on a new one.
FUZZ = settings(
    max_examples=300,
    deadline=timedelta(seconds=5),
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

Texts = tuple[str, str]


@dataclass(frozen=True)
class Span:
    """The lines [start, end) from one segment's first line to the next segment's."""

    start: int
    end: int
    texts: Texts


@dataclass(frozen=True)
class Original:
    name: str
    lines: tuple[str, ...]
    fence: int  # the closing '---' of the front matter
    spans: tuple[Span, ...]

    # Hypothesis prints the arguments of a failing example: the name, not 60 kB of lines.
    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(f"Original({self.name!r})")


def load(path: Path) -> Original:
    text = path.read_text(encoding="utf-8")
    lines = tuple(text.split("\n"))
    fence = lines.index("---", 1)
    segments = parse_episode(text, path.name).segments
    starts = [s.line - 1 for s in segments]
    spans = []
    for i, segment in enumerate(segments):
        end = next((s for s in starts[i + 1 :] if s > starts[i]), len(lines))
        spans.append(Span(starts[i], end, (segment.text_zh, segment.text_en)))
    return Original(path.name, lines, fence, tuple(spans))


ORIGINALS = [load(SAMPLE / "2025-11-24-49u9cMwrKao.md")] + [
    load(SHARED_ARCHIVE / name) for name in SHARED_PICKS if (SHARED_ARCHIVE / name).is_file()
]


@dataclass(frozen=True)
class Mutation:
    """Lines [start, end) of an original replaced by `new`."""

    kind: str
    start: int
    end: int
    new: tuple[str, ...]

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        new = [
            line if len(line) < 200 else f"{line[:100]}…({len(line):,} chars)" for line in self.new
        ]
        printer.text(f"Mutation({self.kind!r}, {self.start}, {self.end}, {new!r})")

    def apply(self, lines: tuple[str, ...]) -> str:
        return "\n".join(lines[: self.start] + self.new + lines[self.end :])


def resynchronises(original: Original, span: Span) -> bool:
    first = original.lines[span.start]
    return (
        not original.lines[span.start - 1].strip()
        and "<" not in first
        and "english-text" not in first
        and not first.lstrip().startswith("#")
        and is_mostly_cjk(clean_text(first))
    )


def untouched(original: Original, mutation: Mutation) -> tuple[list[Texts], list[Texts]]:
    """Segments the damage cannot reach: (those before it, those after it)."""
    before = [s.texts for s in original.spans if s.end < mutation.start]
    later = [s for s in original.spans if s.start > mutation.end]
    first = next((i for i, s in enumerate(later) if resynchronises(original, s)), len(later))
    return before, [s.texts for s in later[first:]]


def assert_keeps_untouched(original: Original, mutation: Mutation, episode: Episode) -> None:
    got = [(s.text_zh, s.text_en) for s in episode.segments]
    before, after = untouched(original, mutation)
    assert got[: len(before)] == before
    assert got[len(got) - len(after) :] == after


def assert_json_safe(episode: Episode) -> None:
    # `front_matter` is served by the API and stored in the index as JSON.
    json.dumps(episode.front_matter, allow_nan=True)
    episode.model_dump_json()


# The archive's own markup, broken and whole, for lines that hit every scanner state.
MARKUP = [
    "<details>",
    "</details>",
    "</details",
    "<details",
    "<summary>View/Hide Original English</summary>",
    "<summary>View/Hide Original Original English</summary>",
    "<summary>View/Hide Original English</p>",
    "<summary>View/Hide Original English</中文。>",
    "<summary>",
    '<p class="english-text">',
    'p class="english-text">',
    "</p>",
    "<p>",
    "<br>",
    "<br><br>>>",
    "&gt;&gt;",
    ">>",
    "&amp;",
    "&#39;",
    "&",
    "<",
    ">",
    "**",
    "**Joe:**",
    "**主持人**：",
    "## ",
    "### ",
    "#",
    "---",
    "[BODY_END]",
    "中文段落。",
    "English text.",
    " ",
    "\t",
]
ODD_CHARS = [
    "\x00",
    "\x0b",
    "\x0c",
    "\x1c",
    "\x1e",
    "\x7f",
    "\x85",
    "\u00a0",
    "\u200b",
    "\u202e",
    "\u2028",
    "\u3000",
    "\ufeff",
    "\ufffd",
    "\r",
    "\r\n",
    "\t",
    "\n",
    "\u0301",
    "\U0001f600",
]
# Values PyYAML turns into something other than a string, or fails on in odd ways.
YAML_VALUES = [
    "2025-13-45",
    "2025-02-30",
    "2025-11-24 25:00:00",
    "'2025-11-24",
    '"\\x"',
    "!!int x",
    "!!bool x",
    "!!float x",
    "!!binary //79",
    "!!set {a, b}",
    "!!timestamp 2025-99-99",
    "!!python/object:os.system x",
    "&a [*a]",
    "*undefined",
    "[" * 900 + "]" * 900,
    "[" * 30_000 + "]" * 30_000,
    "{a: [b, {c: d}]}",
    "[",
    "{",
    "|",
    ">-",
    "~",
    ".nan",
    "1e999",
    "? x",
    "- a",
    ": b",
    "@x",
    "`x",
    "%YAML 1.1",
    "...",
    "---",
]

_KEY = re.compile(r"\w+:|---$")  # a front-matter key, or the closing fence
unicode_text = st.text(st.characters(codec="utf-8"), max_size=40)
markup_line = st.lists(st.sampled_from(MARKUP) | unicode_text, max_size=6).map("".join)


def odd_insertions(line: str) -> st.SearchStrategy[str]:
    """`line` with odd characters inserted at a few places."""

    def insert(spots: list[tuple[int, str]]) -> str:
        out = line
        for at, char in sorted(spots, reverse=True):
            out = out[:at] + char + out[at:]
        return out

    spot = st.tuples(st.integers(0, len(line)), st.sampled_from(ODD_CHARS))
    return st.lists(spot, min_size=1, max_size=5).map(insert)


@dataclass(frozen=True)
class LongLine:
    """About 200 kB: a start, one piece repeated, an end (printed as its three parts)."""

    head: str
    piece: str
    tail: str

    @property
    def text(self) -> str:
        return self.head + "a" + self.piece * (200_000 // len(self.piece)) + self.tail


long_lines = st.builds(
    LongLine,
    st.sampled_from(MARKUP),
    st.sampled_from([p for p in MARKUP + ODD_CHARS + ["a", "中"] if p]),
    st.sampled_from(["", "x", "中文", "</p>", "**"]),
)


LINE_DAMAGE = ["delete", "duplicate", "reorder", "copy", "markup", "odd", "crlf", "unicode", "long"]


@st.composite
def damaged_lines(draw: st.DrawFn, original: Original, start: int, end: int) -> Mutation:
    """Lines [start, end) of `original` replaced by a damaged version."""
    region = original.lines[start:end]
    kind = draw(st.sampled_from(LINE_DAMAGE))
    new: tuple[str, ...]
    if kind == "delete":
        new = ()
    elif kind == "duplicate":
        new = region + region
    elif kind == "reorder":
        new = tuple(draw(st.permutations(region)))
    elif kind == "copy":  # lines from elsewhere in the file, markup included
        at = draw(st.integers(0, len(original.lines) - 1))
        new = original.lines[at : at + draw(st.integers(1, 6))]
    elif kind == "markup":
        new = tuple(draw(st.lists(markup_line, min_size=1, max_size=6)))
    elif kind == "odd":
        new = tuple(draw(odd_insertions(line)) for line in region or ("",))
    elif kind == "crlf":
        new = tuple(line + "\r" for line in region)
    elif kind == "unicode":
        new = tuple(draw(st.lists(unicode_text, min_size=1, max_size=4)))
    else:
        new = (draw(long_lines).text,)
    return Mutation(kind, start, end, new)


@st.composite
def body_mutation(draw: st.DrawFn) -> tuple[Original, Mutation]:
    original = draw(st.sampled_from(ORIGINALS))
    lines = original.lines
    start = draw(st.integers(original.fence + 1, len(lines)))
    if start < len(lines) and draw(st.integers(0, 9)) == 0:
        cut = draw(st.integers(0, len(lines[start])))
        return original, Mutation("truncate", start, len(lines), (lines[start][:cut],))
    end = draw(st.integers(start, min(start + 8, len(lines))))
    return original, draw(damaged_lines(original, start, end))


@st.composite
def front_matter_mutation(draw: st.DrawFn) -> tuple[Original, Mutation]:
    original = draw(st.sampled_from(ORIGINALS))
    lines = original.lines
    fence = original.fence
    kind = draw(st.sampled_from(["value", "value", "lines", "fence"]))
    if kind == "fence":
        at = draw(st.sampled_from([0, fence]))
        broken = draw(st.sampled_from(["", "--", "----", "--- x", " ---", "***", "---\ufeff"]))
        return original, Mutation("fence", at, at + 1, (broken,))
    if kind == "value":
        # A one-line `key: value` keeps its key: the value is what YAML must build.
        one_line = [i for i in range(1, fence) if _KEY.match(lines[i]) and _KEY.match(lines[i + 1])]
        at = draw(st.sampled_from(one_line))
        key = lines[at].split(":", 1)[0]
        value = draw(st.sampled_from(YAML_VALUES))
        return original, Mutation("value", at, at + 1, (f"{key}: {value}",))
    at = draw(st.integers(1, fence - 1))
    # Up to the closing fence, not over it: a fence that moves is the "fence" case.
    return original, draw(damaged_lines(original, at, draw(st.integers(at, min(at + 3, fence)))))


def test_the_originals_parse_into_many_segments() -> None:
    # The properties below are only as strong as the segments they can check.
    for original in ORIGINALS:
        assert len(original.spans) > 10
        assert sum(resynchronises(original, s) for s in original.spans) > len(original.spans) / 2


@FUZZ
@given(body_mutation())
def test_damage_to_the_body_keeps_every_segment_it_does_not_touch(
    case: tuple[Original, Mutation],
) -> None:
    original, mutation = case
    episode = parse_episode(mutation.apply(original.lines), original.name)
    assert_keeps_untouched(original, mutation, episode)


@FUZZ
@given(front_matter_mutation())
def test_damage_to_the_front_matter_is_a_parse_error_or_leaves_the_body_alone(
    case: tuple[Original, Mutation],
) -> None:
    original, mutation = case
    try:
        episode = parse_episode(mutation.apply(original.lines), original.name)
    except ParseError:
        return
    assert_json_safe(episode)
    if mutation.kind != "fence":
        assert_keeps_untouched(original, mutation, episode)


@FUZZ
@given(long_lines)
def test_a_long_line_is_read_in_time_proportional_to_its_length(line: LongLine) -> None:
    text = line.text
    started = time.perf_counter()
    split_segments(text, "ep")
    seconds = time.perf_counter() - started
    # Steers the search towards the slowest shapes of line.
    target(seconds, label="seconds per long line")
    # Linear scanning reads 200 kB in well under 0.1 s; a quadratic pattern takes seconds.
    assert seconds < 1.0


@pytest.mark.parametrize("original", ORIGINALS, ids=lambda o: o.name)
def test_line_endings_and_bom_change_nothing(original: Original) -> None:
    text = "\n".join(original.lines)
    expected = parse_episode(text, original.name).segments
    for variant in ("\ufeff" + text, text.replace("\n", "\r\n"), text.replace("\n", "\r")):
        assert parse_episode(variant, original.name).segments == expected


@st.composite
def byte_mutation(draw: st.DrawFn) -> tuple[Original, bytes]:
    original = draw(st.sampled_from(ORIGINALS))
    data = "\n".join(original.lines).encode()
    at = draw(st.integers(0, len(data)))
    kind = draw(st.sampled_from(["insert", "overwrite", "truncate"]))
    if kind == "truncate":
        return original, data[:at]
    noise = draw(st.binary(min_size=1, max_size=64))
    skip = len(noise) if kind == "overwrite" else 0
    return original, data[:at] + noise + data[at + skip :]


@FUZZ
@given(case=byte_mutation())
def test_random_bytes_give_an_episode_or_a_parse_error(
    tmp_path_factory: pytest.TempPathFactory, case: tuple[Original, bytes]
) -> None:
    original, data = case
    path = tmp_path_factory.getbasetemp() / f"fuzz-{original.name}"
    path.write_bytes(data)
    try:
        episode = read_episode(path, max_bytes=len(data) + 1)
    except ParseError as exc:
        assert exc.file == str(path)
        return
    assert_json_safe(episode)
