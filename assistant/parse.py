"""Archive file → `Episode`: front matter, episode id, and the segments of the body."""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import yaml

from assistant.models import Episode
from assistant.segment import split_segments

__all__ = ["ParseError", "episode_id_from", "parse_episode", "read_episode"]

# python-frontmatter's boundary, with one widening: a fence may be any run of three or more
# dashes, closed by the same run. One real note (Atw2h2qCL4o.md) opens and closes with `----`.
_FRONT_MATTER = re.compile(r"\A(-{3,})\s*\n(.*?\n)?\1\s*(?:\n|\Z)", re.S)
_FENCE = re.compile(r"\A(-{3,})[ \t]*\n")
# python-frontmatter's loader (libyaml when present), called directly because
# `frontmatter.loads` silently drops front matter that is not a mapping, which we report.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# What can open a nesting level on one line (nesting across lines costs indentation, so a
# file under the size limit cannot go deep that way); and how deep front matter may go.
_OPENERS = re.compile(r"[\[{]|[-?]\s")
_MAX_DEPTH = 100
# What aliases may add to front matter, in values plus characters: a 542-byte "billion
# laughs" expands to gigabytes. Text without aliases never expands (the 9,060 real notes
# use none; their largest front matter is 174 values, 2,214 characters).
_MAX_ALIAS_GROWTH = 100_000
_SIZE_CAP = 1 << 60
_LIST_FIELDS = {
    "tags": "tags",
    "people": "people",
    "companies": "companies_orgs",
    "products": "products_models",
}


class ParseError(Exception):
    """A file that cannot be ingested, with the reason in words a user can act on."""

    def __init__(self, file: str, reason: str) -> None:
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = reason


def read_episode(path: Path, max_bytes: int) -> Episode:
    """Read and parse one archive file; every failure is a `ParseError` naming the file."""
    name = str(path)
    data = _read_regular_file(path, name, max_bytes)
    if not data.strip():
        raise ParseError(name, "file is empty")
    if b"\x00" in data:
        raise ParseError(name, "binary file (contains NUL bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(name, f"not UTF-8 (invalid byte at offset {exc.start})") from exc
    return parse_episode(text, name)


def _read_regular_file(path: Path, name: str, max_bytes: int) -> bytes:
    # Opened without blocking and checked on the open descriptor: reading a FIFO named
    # `*.md` waits for a writer forever, and a check by path could be raced.
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        kind = _kind_of(path)  # a socket cannot even be opened
        if kind:
            raise ParseError(name, f"not a regular file ({kind})") from exc
        raise ParseError(name, f"cannot read file ({exc.strerror or exc})") from exc
    with os.fdopen(fd, "rb") as file:
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise ParseError(name, f"not a regular file ({_file_kind(info.st_mode)})")
            os.set_blocking(fd, True)
            # Reading one byte past the limit catches a file that grows after the fstat.
            data = file.read(max_bytes + 1) if info.st_size <= max_bytes else b""
        except OSError as exc:
            raise ParseError(name, f"cannot read file ({exc.strerror or exc})") from exc
    if info.st_size > max_bytes or len(data) > max_bytes:
        size = max(info.st_size, len(data))
        raise ParseError(name, f"file is {size:,} bytes, over the {max_bytes:,}-byte limit")
    return data


def _file_kind(mode: int) -> str:
    kinds = {
        stat.S_ISDIR: "a folder",
        stat.S_ISFIFO: "a FIFO",
        stat.S_ISSOCK: "a socket",
        stat.S_ISCHR: "a character device",
        stat.S_ISBLK: "a block device",
    }
    return next((kind for test, kind in kinds.items() if test(mode)), "not a plain file")


def _kind_of(path: Path) -> str:
    """What `path` is when it is not a regular file; empty when it is, or is not there."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return ""
    return "" if stat.S_ISREG(mode) else _file_kind(mode)


def parse_episode(text: str, file: str) -> Episode:
    """Parse the text of one archive file. Pure: `file` only names the episode."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    match = _FRONT_MATTER.match(text)
    if not match:
        fence = _FENCE.match(text)
        if fence:
            line = fence.group(1)
            reason = f"front matter opened with '{line}' has no closing '{line}' line"
            raise ParseError(file, reason)
        raise ParseError(file, "no YAML front matter (the file must start with a '---' block)")
    try:
        meta = _load_yaml(match.group(2)) if match.group(2) else {}
    except yaml.YAMLError as exc:
        raise ParseError(file, f"invalid YAML front matter: {_yaml_reason(exc)}") from exc
    # PyYAML builds typed values with plain Python errors: an unquoted `date: 2025-02-30`
    # is a ValueError, `!!bool x` a KeyError.
    except (ValueError, KeyError, TypeError) as exc:
        raise ParseError(file, f"invalid YAML front matter: unreadable value ({exc})") from exc
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise ParseError(file, "front matter is not a mapping of keys to values")

    try:
        front = {str(key): _json_safe(value) for key, value in meta.items()}
    except RecursionError as exc:  # an alias in its own anchor: `a: &a [*a]`
        reason = "invalid YAML front matter: a value contains itself, or nests too deep"
        raise ParseError(file, reason) from exc
    warnings: list[str] = []
    episode_id = episode_id_from(_text(front.get("source")), Path(file).stem)
    date, date_int = _date(front.get("date"))
    if front.get("date") not in (None, "") and not date:
        warnings.append(f"unreadable date {front.get('date')!r}")
    body = text[match.end() :]
    line_offset = text[: match.end()].count("\n")
    segments = split_segments(body, episode_id, line_offset)
    if not segments:
        warnings.append("no segments in the body")
    return Episode(
        id=episode_id,
        file=file,
        title=_text(front.get("title")) or Path(file).stem,
        date=date,
        date_int=date_int,
        speaker=_text(front.get("speaker")),
        source_url=_text(front.get("source")),
        category=_text(front.get("category")),
        summary=_text(front.get("summary")),
        front_matter=front,
        segments=segments,
        warnings=warnings,
        **{field: _string_list(front.get(key)) for field, key in _LIST_FIELDS.items()},
    )


def episode_id_from(source: str, stem: str) -> str:
    """The YouTube video id of `source` (watch?v=, youtu.be/, /shorts/), else `stem`."""
    url = urlparse(source.strip())
    host = (url.hostname or "").lower()
    if host.endswith("youtube.com"):
        video = parse_qs(url.query).get("v", [""])[0]
        if not video and url.path.startswith(("/shorts/", "/live/", "/embed/")):
            video = url.path.split("/")[2]
        if video:
            return video
    if host == "youtu.be" and url.path.strip("/"):
        return url.path.strip("/").split("/")[0]
    return stem


def _load_yaml(text: str) -> Any:
    # libyaml builds nested values by recursion in C and crashes the process (no exception)
    # at about 25,000 levels. Its event parser does not recurse, so where the text has
    # enough openers to nest deep, the depth is measured on the events first.
    if len(_OPENERS.findall(text)) > _MAX_DEPTH:
        depth = 0
        for event in yaml.parse(text, Loader=_LOADER):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > _MAX_DEPTH:
                    raise yaml.YAMLError(f"nested more than {_MAX_DEPTH} levels deep")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    # Composed first (aliases are shared nodes there, so this is as small as the text) and
    # measured as built, before anything copies the aliased values out.
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _check_expansion(root: yaml.Node) -> None:
    """Reject front matter whose aliases add more than `_MAX_ALIAS_GROWTH` to it, or whose
    value contains itself: one pass over the distinct nodes, by node identity."""
    expanded: dict[int, int] = {}  # a node's size with every alias written out (capped)
    unique = 0  # the size with every node counted once
    open_nodes: set[int] = set()  # the path from the root to the node being measured
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            open_nodes.discard(key)
            size = _own_size(node) + sum(expanded[id(child)] for child in _children(node))
            expanded[key] = min(size, _SIZE_CAP)  # a chain of aliases doubles per line
        elif key in open_nodes:
            raise yaml.YAMLError("a value contains itself")
        elif key not in expanded:
            open_nodes.add(key)
            unique += _own_size(node)
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node))
    if expanded[id(root)] > unique + _MAX_ALIAS_GROWTH:
        raise yaml.YAMLError(
            f"aliases expand it by over {_MAX_ALIAS_GROWTH:,} values and characters"
        )


def _own_size(node: yaml.Node) -> int:
    return 1 + (len(node.value) if isinstance(node, yaml.ScalarNode) else 0)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _yaml_reason(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    # +1 for the opening '---' line, +1 because YAML marks are 0-based.
    return f"{problem} (line {mark.line + 2})" if mark else str(problem)


def _json_safe(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    # `!!set` and `!!binary` values; sorted because set order changes with the hash seed.
    if isinstance(value, set | frozenset):
        return sorted((_json_safe(v) for v in value), key=str)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    return " ".join(str(value).split())


def _string_list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    items = value if isinstance(value, list) else [value]
    return [text for item in items if (text := _text(item))]


def _date(value: Any) -> tuple[str, int]:
    text = _text(value)[:10]
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return "", 0
    return day.isoformat(), day.year * 10000 + day.month * 100 + day.day
