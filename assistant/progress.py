"""Ingest progress for people: a bar on a terminal, a line per episode in logs and pipes."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from assistant.ingest import FileResult

__all__ = ["BarProgress", "LineProgress"]


class BarProgress:
    """Episodes and segments bars, with the embedding rate and time left."""

    def __init__(self, console: Console) -> None:
        self._bar = Progress(
            TextColumn("{task.description:<9}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
        )
        self._episodes: TaskID | None = None
        self._segments: TaskID | None = None
        self._started = 0.0

    def __enter__(self) -> BarProgress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def start(self, episodes: int, segments: int) -> None:
        self._started = time.perf_counter()
        self._episodes = self._bar.add_task("episodes", total=episodes, rate="")
        self._segments = self._bar.add_task("segments", total=segments, rate="")

    def segments_done(self, count: int) -> None:
        if self._segments is not None:
            self._bar.advance(self._segments, count)
            done = self._bar.tasks[self._segments].completed
            rate = done / max(time.perf_counter() - self._started, 1e-9)
            self._bar.update(self._segments, rate=f"{rate:5.1f}/s")

    def episode_done(self, result: FileResult) -> None:
        if self._episodes is not None:
            self._bar.advance(self._episodes, 1)


class LineProgress:
    """For logs and pipes: one line per finished episode, with the rate and time left."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._episodes = self._segments = self._done = self._finished = 0
        self._started = 0.0

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def start(self, episodes: int, segments: int) -> None:
        self._episodes, self._segments = episodes, segments
        self._started = time.perf_counter()
        if episodes:
            self._console.print(f"ingesting {episodes} episodes, {segments} segments to embed")

    def segments_done(self, count: int) -> None:
        self._done += count

    def episode_done(self, result: FileResult) -> None:
        self._finished += 1
        elapsed = time.perf_counter() - self._started
        rate = self._done / elapsed if elapsed else 0.0
        left = (self._segments - self._done) / rate if rate else 0.0
        cached = f", {result.cached} from the cache" if result.cached else ""
        self._console.print(
            f"[{self._finished}/{self._episodes}] {result.status} {result.episode_id}: "
            f"{result.embedded} embedded{cached}, {result.deleted} removed "
            f"({self._done}/{self._segments} segments, {rate:.1f}/s, ETA {left:.0f}s)",
            highlight=False,
        )
