"""Body → segments: pair each Chinese paragraph with the English block after it.

The archive's HTML is hand-made and often broken (see shared/archive/README.md), so this
is a line scanner that recognises the pieces of a `<details>` block one by one instead of
an HTML parser that would need balanced tags.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field

from assistant.language import detect_language
from assistant.models import Segment

# 2: summary labels other than "View/Hide … English", Chinese source blocks, hard-wrapped
# English, non-CJK paragraphs stored as English (the real archive's shapes, issue 12).
SEGMENTATION_VERSION = 2

# Closing hashes (`### Title ###`) are stripped in code: a pattern for them like
# `(.*?)\s*#*\s*$` backtracks cubically on a long run of spaces.
_HEADING = re.compile(r"^#{2,6}\s+(.*)")
_DETAILS_OPEN = re.compile(r"<details\b[^>]*>?", re.I)
_DETAILS_CLOSE = re.compile(r"</details\s*>?", re.I)
# The label of a `<details>` block, in the forms the real archive has: "View/Hide Original
# English", "Original English (Source)", "English Original", "查看/隐藏英文原文 / View/Hide
# Original English", "View/Hide Original Text", "View/Hide Original Chinese", typos such as
# "Veiw/Hide" or a doubled "Original". A label is a short run of text naming an original,
# English, Chinese, a text, a transcript or a translation; `*` is excluded so that a
# `<summary>` around a turn (`<summary>Tracy Alloway**: Yeah.`) is not a label. Its end is
# `</summary>`, `</p>`, or a stray Chinese paragraph pasted into the closing tag
# (`</任何协调…>`), which is captured so it is not lost.
_SUMMARY = re.compile(
    r"<summary>\s*(?P<label>[^<>*\n]{0,40}?"
    r"(?:Original|English|Chinese|Text|Transcript|Translation|原文|英文|中文)[^<>*\n]{0,40})"
    r"(?:</summary>|</p>|</(?P<stray>[^>]*)>?)?",
    re.I,
)
# A label naming English promises English; any other ("Original Text", "Original Chinese")
# may hold the Chinese source transcript of the paragraph above.
_ENGLISH_LABEL = re.compile(r"English|英文", re.I)
# `p class="english-text">` sometimes lacks its `<`.
_EN_OPEN = re.compile(r"<?p\s+class=\"english-text\"\s*>", re.I)
_P_CLOSE = re.compile(r"</p\s*>", re.I)
# Each kind of piece is found in one search of the line: a search per kind rescans the
# rest of the line for every piece, quadratic on a long line of tags.
_MARKUP = re.compile(
    "|".join(
        f"(?P<{kind}>{rx.pattern})"
        for kind, rx in (
            ("open", _DETAILS_OPEN),
            ("close", _DETAILS_CLOSE),
            ("summary", _SUMMARY),
            ("en", _EN_OPEN),
        )
    ),
    re.I,
)
_ENGLISH_END = re.compile(rf"(?P<p>{_P_CLOSE.pattern})|{_DETAILS_CLOSE.pattern}", re.I)
# `[^<>]`, not `[^>]`: a `<p` that never closes must not make every later `<p` rescan
# to the end of the text.
_STRAY_TAGS = re.compile(r"</?(?:p|details|summary|span|div|em|strong|b|i)\b[^<>]*>", re.I)
_BR = re.compile(r"<br\s*/?>", re.I)
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ODD_SPACES = re.compile(r"[\u00a0\u2000-\u200b\u202f\u205f\u3000\ufeff]")
_RUNS_OF_SPACES = re.compile(r"[ \t]+")
_NEEDS_CLEANING = re.compile(r"[<&*\n\u00a0\u2000-\u200b\u202f\u205f\u3000\ufeff]")
# Turn labels: `**Joe:** …`, `**Name**: …`, `**主持人 (Bill):**`.
_LABEL = re.compile(
    r"^\*\*(?P<a>[^*\n]{1,40}?)\s*[:：]\s*\*\*|^\*\*(?P<b>[^*\n]{1,40}?)\*\*\s*[:：]"
)
_TURN_MARK = re.compile(r"^(?:>>|&gt;&gt;)\s*")


def clean_text(text: str) -> str:
    """Plain text from a fragment of archive markup: entities, `<br>`, bold, odd spaces."""
    if not _NEEDS_CLEANING.search(text):
        return _RUNS_OF_SPACES.sub(" ", text).strip()
    text = _BR.sub("\n", text)
    text = _STRAY_TAGS.sub(" ", text)
    text = html.unescape(text)
    text = _BOLD.sub(r"\1", text)
    text = _ODD_SPACES.sub(" ", text)
    lines = (_RUNS_OF_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def turn_label(raw: str) -> str | None:
    """The speaker a raw paragraph opens with, '' for an anonymous `>>` turn, else None."""
    text = _ODD_SPACES.sub(" ", raw).strip()
    match = _LABEL.match(text)
    if match:
        return (match.group("a") or match.group("b") or "").strip()
    if _TURN_MARK.match(text):
        return ""
    return None


_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def is_mostly_cjk(text: str) -> bool:
    letters = sum(1 for ch in text if ch.isalpha())
    return bool(letters) and len(_CJK.findall(text)) / letters > 0.3


# Full-width punctuation: a translator's mark even where the Chinese is only a name
# (`**Joe:** Sam Altman。`).
_CJK_PUNCTUATION = re.compile(r"[\u3001-\u3011\uff01-\uff1f]")


def _untranslated(raw_zh: str) -> bool:
    """Whether a paragraph read as Chinese is English: Latin words outnumber Chinese
    characters (the turn label left out: `**Tracy:** 我是Tracy。` is Chinese)."""
    text = clean_text(_LABEL.sub("", _ODD_SPACES.sub(" ", raw_zh).strip()))
    return (
        any(ch.isalpha() for ch in text)
        and detect_language(text) == "en"
        and not _CJK_PUNCTUATION.search(text)
    )


def content_hash(section: str, text_zh: str, text_en: str, turn_speaker: str) -> str:
    payload = "\x00".join((section, text_zh, text_en, turn_speaker))
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


@dataclass
class _Draft:
    line: int
    section: str
    zh: list[str] = field(default_factory=list)
    # English lines, each with whether it opens a paragraph (`<p class="english-text">`).
    en: list[tuple[str, bool]] = field(default_factory=list)
    # Chinese source transcript from a block: its paragraph is the edited text of the same
    # words, so it is only the segment's Chinese when the segment has none.
    source: list[str] = field(default_factory=list)
    blocks: int = 0  # `<details>` blocks seen for this paragraph


@dataclass
class _Scanner:
    drafts: list[_Draft] = field(default_factory=list)
    section: str = ""
    in_details: bool = False
    in_english: bool = False
    english_opened: bool = False  # an english-text paragraph opened, no text in it yet
    # After a label that does not promise English, Chinese lines until `</details>` or a
    # blank line are the block's source, not a block left unclosed.
    in_source: bool = False
    paragraph_open: bool = False  # the last line was Chinese text (no blank line since)

    @property
    def current(self) -> _Draft | None:
        return self.drafts[-1] if self.drafts else None

    def start(self, line: int) -> _Draft:
        draft = _Draft(line=line, section=self.section)
        self.drafts.append(draft)
        return draft

    def add_zh(self, text: str, line: int) -> None:
        cur = self.current
        if cur is None or cur.blocks or cur.en or not self.paragraph_open:
            cur = self.start(line)
        cur.zh.append(text)
        self.paragraph_open = True

    def add_en(self, text: str, line: int) -> None:
        cur = self.current
        if cur is None:
            cur = self.start(line)
        cur.en.append((text, self.english_opened))
        self.english_opened = False

    def add_source(self, text: str, line: int) -> None:
        cur = self.current
        if cur is None:
            cur = self.start(line)
        cur.source.append(text)

    def open_details(self, line: int) -> None:
        cur = self.current
        # A second block with no Chinese since the last one: its English stands alone.
        if cur is None or cur.blocks:
            cur = self.start(line)
        cur.blocks += 1
        self.in_details = True
        self.paragraph_open = False

    def scan_line(self, raw: str, line: int) -> None:
        if not self.in_details and not self.in_english:
            heading = _HEADING.match(raw.strip())
            if heading:
                self.section = clean_text(heading.group(1).rstrip().rstrip("#"))
                self.paragraph_open = False
                return
        # A position, not the rest of the line as a new string: copying the rest for every
        # piece is quadratic on a long line of tags.
        at = 0
        while at < len(raw):
            at = self._scan_fragment(raw, at, line)

    def _scan_fragment(self, text: str, at: int, line: int) -> int:
        """Consume the first piece of `text[at:]`; return where the rest of the line starts."""
        if self.in_english:
            close = _ENGLISH_END.search(text, at)
            end = close.start() if close else len(text)
            self._english_piece(text[at:end], line)
            if not close:
                return end
            self.in_english = False
            # A `</details>` ends the English too, and is then read as the block's end.
            return close.end() if close.group("p") else end

        if text.find("<", at) < 0 and text.find("english-text", at) < 0:
            self._chinese_piece(text[at:], line)  # the common case: a line with no markup
            return len(text)
        match = _MARKUP.search(text, at)
        if not match:
            self._chinese_piece(text[at:], line)
            return len(text)
        kind = match.lastgroup  # the kind's group encloses `stray`, so it closes last
        if match.start() > at:
            self._chinese_piece(text[at : match.start()], line)
        if kind == "open":
            self.open_details(line)
        elif kind == "close":
            self.in_details = self.in_source = False
        elif kind == "summary":
            self.in_source = not _ENGLISH_LABEL.search(match.group("label"))
            stray = clean_text(match.group("stray") or "")
            if stray:
                # The stray text is the Chinese of this very block: it starts a segment.
                self.drafts.append(_Draft(line=line, section=self.section, zh=[stray], blocks=1))
        else:
            if not self.in_details:
                # English after an early `</details>` still belongs to the block before.
                self.in_details = True
            self.in_english = self.english_opened = True
        return match.end()

    def _english_piece(self, text: str, line: int) -> None:
        cleaned = clean_text(text)
        if is_mostly_cjk(cleaned):
            # Whatever the label says, Chinese in the block is the source, not English.
            self.add_source(text.strip(), line)
        elif cleaned:
            self.add_en(text.strip(), line)

    def _chinese_piece(self, text: str, line: int) -> None:
        cleaned = clean_text(text)
        if not cleaned or cleaned == "[BODY_END]":
            return
        if self.in_details:
            if not is_mostly_cjk(cleaned):
                # Text in a block but outside an english-text paragraph is still English.
                self.add_en(text.strip(), line)
                return
            if self.in_source:
                self.add_source(text.strip(), line)
                return
            # Chinese inside a block means its `</details>` is missing: the block ended.
            self.in_details = False
            self.paragraph_open = False
        self.add_zh(text.strip(), line)


# A line of English that ends here ends a sentence (or a quote, or a label).
_SENTENCE_END = re.compile(r"[.!?:;…\"'”’)\]]$")


def _join_wrapped(pieces: list[tuple[str, bool]]) -> str:
    """The English lines of a block, with hard-wrapped lines (one word a line in some
    notes) joined: a break is kept at a new paragraph, after a sentence, before a turn."""
    joined: list[str] = []
    for at, (piece, opens_paragraph) in enumerate(pieces):
        if at and not opens_paragraph and _continues(pieces[at - 1][0], piece):
            joined[-1] += " " + piece
        else:
            joined.append(piece)
    return "\n".join(joined)


def _continues(before: str, piece: str) -> bool:
    last = clean_text(before)
    return (
        bool(last)
        and not _SENTENCE_END.search(last)
        and turn_label(html.unescape(piece)) is None
        and not piece.startswith("[")
    )


def _texts(draft: _Draft) -> tuple[str, str, str | None]:
    """A draft's Chinese and English text, and the turn label it opens with."""
    # A line of English in a paragraph read as Chinese (`Speaker 0: …`, or an English
    # line over its translation) is English: in the Chinese slot it would hide its
    # language from the cross-language bonus and the answer language.
    chinese: list[str] = []
    english: list[tuple[str, bool]] = []
    for piece in draft.zh:
        if _untranslated(piece):
            english.append((piece, False))
        else:
            chinese.append(piece)
    raw_en = "\n".join(filter(None, (_join_wrapped(english), _join_wrapped(draft.en))))
    text_zh = clean_text(_TURN_MARK.sub("", "\n".join(chinese)))
    text_en = clean_text(_TURN_MARK.sub("", raw_en))
    if not text_zh:
        text_zh = clean_text("\n".join(draft.source))
    label = turn_label(draft.zh[0]) if draft.zh else None
    if label is None and raw_en:
        label = turn_label(html.unescape(raw_en))
    return text_zh, text_en, label


def split_segments(body: str, episode_id: str, line_offset: int = 0) -> list[Segment]:
    """Segments of an episode body, in document order.

    `line_offset` is the number of file lines before the body, so that `Segment.line`
    points into the file.
    """
    scanner = _Scanner()
    for number, raw in enumerate(body.split("\n"), start=line_offset + 1):
        if not raw.strip():
            # A blank line ends a paragraph, and an english-text paragraph left open.
            scanner.paragraph_open = False
            scanner.in_english = scanner.in_source = False
            continue
        scanner.scan_line(raw, number)

    segments: list[Segment] = []
    speaker = ""
    for draft in scanner.drafts:
        text_zh, text_en, label = _texts(draft)
        if not text_zh and not text_en:
            continue
        if label is not None:
            speaker = label
        position = len(segments) + 1
        segments.append(
            Segment(
                id=f"{episode_id}:{position}",
                episode_id=episode_id,
                position=position,
                section=draft.section,
                text_zh=text_zh,
                text_en=text_en,
                turn_speaker=speaker,
                line=draft.line,
                content_hash=content_hash(draft.section, text_zh, text_en, speaker),
            )
        )
    return segments
