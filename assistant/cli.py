"""The `assistant` command line."""

from __future__ import annotations

import json
import time
from collections import Counter
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from assistant.ingest import IngestReport, discover, ingest, parse_files
from assistant.links import web_link
from assistant.models import Filters, iso_date
from assistant.progress import BarProgress, LineProgress
from assistant.settings import Settings, get_settings

if TYPE_CHECKING:
    from assistant.service import Assistant

app = typer.Typer(
    help="Bilingual research assistant over an archive of episode transcripts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)

# EX_TEMPFAIL: nothing is wrong; try again later.
EXIT_BUSY = 75

Paths = Annotated[list[Path], typer.Argument(help="Archive files or folders of Markdown episodes.")]


@app.command("ingest")
def ingest_command(
    paths: Paths,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Parse and validate only; write nothing.")
    ] = False,
    prune: Annotated[
        bool, typer.Option("--prune", help="Remove indexed episodes whose files are gone.")
    ] = False,
) -> None:
    """Index archive files into Chroma, incrementally: unchanged episodes cost nothing."""
    settings = get_settings()
    missing = [p for p in paths if not p.exists()]
    for path in missing:
        err.print(f"[red]error[/]: {path}: no such file or folder")
    if dry_run:
        raise typer.Exit(_dry_run(paths, settings) or int(bool(missing)))

    from assistant.archive import lexical_path
    from assistant.embed import EmbeddingError
    from assistant.embed_cache import ingest_embedder
    from assistant.index import open_store
    from assistant.index_lock import IndexBusy, hold_index_lock, index_lock_path
    from assistant.lexical import LexicalStore

    store = open_store(settings, ingest_embedder(settings))
    lexical = LexicalStore(lexical_path(settings, store.name))
    progress = BarProgress(err) if err.is_terminal else LineProgress(err)
    try:
        # Held through the summary, so the counts it prints are this run's alone.
        with hold_index_lock(index_lock_path(settings.vectorstore_dir, store.name)):
            with progress:
                report = ingest(
                    paths,
                    store,
                    max_bytes=settings.max_file_bytes,
                    batch_size=settings.embed_batch_size,
                    prune=prune,
                    progress=progress,
                    lexical=lexical,
                )
            _print_report(report, store.name, store.count())
    except IndexBusy as exc:
        err.print(
            f"[red]error[/]: index '{store.name}' is busy: another ingest is writing it "
            f"({exc.holder}). Run again when it has finished."
        )
        raise typer.Exit(EXIT_BUSY) from None
    except EmbeddingError as exc:
        # Finished episodes are kept; a rerun once the endpoint is fixed completes the rest.
        err.print(f"[red]error[/]: {exc}")
        raise typer.Exit(1) from None
    if report.interrupted:
        raise typer.Exit(130)
    raise typer.Exit(1 if report.failures or missing else 0)


def _dry_run(paths: list[Path], settings: Settings) -> int:
    started = time.perf_counter()
    files = discover(paths)
    episodes, failures = parse_files(files, settings.max_file_bytes)
    seconds = time.perf_counter() - started
    for failure in failures:
        err.print(f"[red]FAIL[/] {failure.file}: {failure.error}")
    for episode in episodes:
        for warning in episode.warnings:
            err.print(f"[yellow]WARN[/] {episode.file}: {warning}")
    segments = [s for e in episodes for s in e.segments]
    with_en = sum(1 for s in segments if s.text_en)
    zh_only = sum(1 for s in segments if s.text_zh and not s.text_en)
    out.print(
        f"{len(files)} files: {len(episodes)} ok, {len(failures)} failed; "
        f"{len(segments)} segments ({with_en} with English, {zh_only} Chinese-only); "
        f"{seconds:.2f}s, {len(files) / max(seconds, 1e-9):.0f} files/s"
    )
    return 1 if failures else 0


def _print_report(report: IngestReport, collection: str, total: int) -> None:
    for failure in report.failures:
        err.print(f"[red]FAIL[/] {failure.file}: {failure.error}")
    for result in report.results:
        if result.status == "pruned":
            out.print(f"pruned {result.episode_id} ({result.deleted} segments; {result.note})")
    vectors = report.embedded + report.cached
    rate = vectors / report.seconds if report.seconds else 0.0
    cached = f", {report.cached} from the cache" if report.cached else ""
    out.print(
        f"{'interrupted: rerun to complete. ' if report.interrupted else ''}"
        f"episodes: {report.count('added')} added, {report.count('updated')} updated, "
        f"{report.count('unchanged')} unchanged, {report.count('failed')} failed"
        + (f", {report.count('pruned')} pruned" if report.count("pruned") else "")
    )
    out.print(
        f"segments: {report.embedded} embedded{cached}, {report.written} written, "
        f"{report.deleted} removed; {report.seconds:.1f}s ({rate:.1f} segments/s); "
        f"index '{collection}' holds {total} segments"
    )


@app.command()
def stats(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """What is indexed: episodes and segments, by speaker and by year."""
    from assistant.embed import make_embedder
    from assistant.index import open_store

    _require_index(get_settings())
    store = open_store(get_settings(), make_embedder(get_settings()))
    manifest = store.manifest()
    by_speaker: Counter[str] = Counter()
    by_year: Counter[str] = Counter()
    episodes: Counter[str] = Counter()
    for entry in manifest.values():
        count = int(entry.get("segment_count", 0))
        speaker = str(entry.get("speaker") or "(none)")
        year = str(entry.get("date") or "unknown")[:4]
        by_speaker[speaker] += count
        by_year[year] += count
        episodes[speaker] += 1
        episodes["year:" + year] += 1
    by_speaker_rows = {k: (episodes[k], v) for k, v in by_speaker.items()}
    by_year_rows = {k: (episodes["year:" + k], v) for k, v in by_year.items()}
    if as_json:
        summary = {
            "collection": store.name,
            "episodes": len(manifest),
            "segments": store.count(),
            "by_speaker": {
                k: {"episodes": e, "segments": s} for k, (e, s) in by_speaker_rows.items()
            },
            "by_year": {k: {"episodes": e, "segments": s} for k, (e, s) in by_year_rows.items()},
        }
        out.print_json(json.dumps(summary, ensure_ascii=False))
        return
    out.print(f"index '{store.name}': {len(manifest)} episodes, {store.count()} segments")
    for title, rows in (("speaker", by_speaker_rows), ("year", by_year_rows)):
        table = Table(title=f"by {title}")
        table.add_column(title)
        table.add_column("episodes", justify="right")
        table.add_column("segments", justify="right")
        for key, (count, segments) in sorted(rows.items(), key=lambda kv: (-kv[1][1], kv[0])):
            table.add_row(key, str(count), str(segments))
        out.print(table)


Speaker = Annotated[str | None, typer.Option("--speaker", help="Episode speaker (channel).")]
TurnSpeaker = Annotated[str | None, typer.Option("--turn-speaker", help="Who speaks.")]
Since = Annotated[
    str | None, typer.Option("--since", parser=iso_date, help="From this date (YYYY-MM-DD).")
]
Until = Annotated[
    str | None, typer.Option("--until", parser=iso_date, help="Up to this date (YYYY-MM-DD).")
]
Person = Annotated[str | None, typer.Option("--person", help="A person in the front matter.")]
Company = Annotated[str | None, typer.Option("--company", help="A company in the front matter.")]
Tag = Annotated[str | None, typer.Option("--tag", help="A front-matter tag.")]
EpisodeOpt = Annotated[str | None, typer.Option("--episode", help="An episode id.")]
K = Annotated[int, typer.Option("--k", min=1, max=50, help="How many passages.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


class Split(StrEnum):
    tune = "tune"
    report = "report"


def _filters(**values: str | None) -> Filters:
    return Filters(
        speaker=values["speaker"],
        turn_speaker=values["turn_speaker"],
        date_from=values["since"],
        date_to=values["until"],
        person=values["person"],
        company=values["company"],
        tag=values["tag"],
        episode=values["episode"],
    )


def _require_index(settings: Settings) -> None:
    """Opening a folder without an index would quietly create an empty one, and every
    question would then be "not covered": say where we looked instead."""
    if settings.chroma_url:
        return
    where = settings.vectorstore_dir.resolve()
    if not (where / "chroma.sqlite3").is_file():
        _no_index(f"no index at {where}")


def _no_index(problem: str) -> None:
    err.print(
        f"[red]error[/]: {problem}. Ingest an archive first (assistant ingest ARCHIVE_DIR), "
        "or point ASSISTANT_VECTORSTORE_DIR (default: ./vectorstore, in the current "
        "directory) or ASSISTANT_CHROMA_URL at an existing index."
    )
    raise typer.Exit(2)


def _assistant() -> Assistant:
    from assistant.service import Assistant

    settings = get_settings()
    _require_index(settings)
    helper = Assistant.from_settings(settings)
    if not helper.archive.store.count():
        where = settings.chroma_url or settings.vectorstore_dir.resolve()
        _no_index(f"the index at {where} holds no episodes")
    return helper


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for, in Chinese or English.")],
    k: K = 8,
    speaker: Speaker = None,
    turn_speaker: TurnSpeaker = None,
    since: Since = None,
    until: Until = None,
    person: Person = None,
    company: Company = None,
    tag: Tag = None,
    episode: EpisodeOpt = None,
    as_json: AsJson = False,
) -> None:
    """The passages that best match QUERY (hybrid dense + BM25 search)."""
    filters = _filters(
        speaker=speaker,
        turn_speaker=turn_speaker,
        since=since,
        until=until,
        person=person,
        company=company,
        tag=tag,
        episode=episode,
    )
    results = _assistant().search(query, k, filters)
    if as_json:
        payload = {"results": [p.model_dump() for p in results]}
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    if not results:
        out.print("no passages match")
    for n, p in enumerate(results, start=1):
        who = f" · {p.turn_speaker}" if p.turn_speaker else ""
        out.print(f"[bold][{n}] {p.title}[/] · {p.date} · {p.speaker}{who} · {p.section}")
        if p.text_zh:
            out.print(f"    {_shorten(p.text_zh, 160)}")
        if p.text_en:
            out.print(f"    [dim]{_shorten(p.text_en, 200)}[/]")
        out.print(f"    {p.url}  {web_link(p.source_url)}", style="cyan")


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="A question in Chinese or English.")],
    k: K = 8,
    speaker: Speaker = None,
    turn_speaker: TurnSpeaker = None,
    since: Since = None,
    until: Until = None,
    person: Person = None,
    company: Company = None,
    tag: Tag = None,
    episode: EpisodeOpt = None,
    as_json: AsJson = False,
) -> None:
    """Answer QUESTION from the archive, in its language, with cited paragraphs."""
    filters = _filters(
        speaker=speaker,
        turn_speaker=turn_speaker,
        since=since,
        until=until,
        person=person,
        company=company,
        tag=tag,
        episode=episode,
    )
    answer = _assistant().ask(question, k, filters)
    if as_json:
        print(answer.model_dump_json(indent=2))
        return
    out.print(answer.answer)
    for c in answer.citations:
        out.print(f"[{c.n}] {c.url}  {web_link(c.source_url)}", style="cyan")


@app.command("eval")
def eval_command(
    questions: Annotated[Path, typer.Argument(help="Golden questions, one JSON object a line.")],
    k: K = 5,
    as_json: AsJson = False,
    split: Annotated[
        Split | None,
        typer.Option(
            "--split", help="Only one half of a split set: tune on one, report the other."
        ),
    ] = None,
) -> None:
    """Retrieval and answer metrics over a golden set (recall@k, MRR, abstention…)."""
    from assistant.evaluate import evaluate, load_questions, report_json, select_split

    chosen = select_split(load_questions(questions), split.value if split else None)
    if not chosen:
        which = f" with split {split.value}" if split else ""
        err.print(f"[red]error[/]: no questions in {questions}{which}")
        raise typer.Exit(2)
    helper = _assistant()
    report = evaluate(
        chosen,
        lambda q, n, f: helper.search(q, n, f),
        lambda q, n, f: helper.ask(q, n, f),
        k=k,
    )
    if as_json:
        print(report_json(report))
        return
    half = f" ({split.value} half)" if split else ""
    out.print(
        f"{report.questions} questions{half}, k={report.k}: recall@k {report.recall_at_k:.3f}, "
        f"MRR {report.mrr:.3f}, answer terms {report.answer_term_hit_rate:.3f}, "
        f"language {report.answer_lang_match:.3f}, abstained on unanswerable "
        f"{report.abstention_unanswerable:.3f} and on answerable {report.abstention_answerable:.3f}"
    )
    for kind, row in report.by_kind.items():
        recall, abstained = row["recall_at_k"], row["abstained"]
        out.print(
            f"  {kind:13} n={row['n']:<4.0f} recall@k {recall:.3f}  abstained {abstained:.3f}"
        )
    for failure in report.failures:
        problems = "; ".join(failure.problems)
        out.print(f"  FAIL {failure.id} ({failure.kind}, rank {failure.rank}): {problems}")


def _shorten(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes (use a Chroma server for more than 1).")
    ] = 1,
) -> None:
    """Serve the HTTP API, the web chat and the episode reader."""
    import uvicorn

    settings = get_settings()
    if not settings.chroma_url and not (settings.vectorstore_dir / "chroma.sqlite3").is_file():
        # Not an error: a server may well start before the first ingest, and picks it up.
        err.print(
            f"[yellow]warning[/]: no index yet at {settings.vectorstore_dir.resolve()}; "
            "`assistant ingest ARCHIVE_DIR` fills it, and the server picks it up."
        )
    out.print(f"web chat: http://{host}:{port}/   API docs: http://{host}:{port}/docs")
    uvicorn.run("assistant.api.app:create_app", factory=True, host=host, port=port, workers=workers)


@app.command()
def slack() -> None:
    """Run the Slack bot over Socket Mode (no public URL needed; see the README)."""
    from assistant.slack import run_socket_mode

    try:
        run_socket_mode(get_settings())
    except ValueError as exc:
        err.print(f"[red]error[/]: {exc}")
        raise typer.Exit(2) from None


@app.command()
def mcp() -> None:
    """Serve the archive as MCP tools over stdio (search_archive, ask_archive, get_episode)."""
    from assistant.mcp_server import serve_stdio

    _require_index(get_settings())
    serve_stdio(get_settings())


@app.command()
def config() -> None:
    """Print the effective settings (secrets masked)."""
    settings = get_settings()
    for name, info in Settings.model_fields.items():
        out.print(f"[bold]{name}[/] = {getattr(settings, name)!s}  [dim]# {info.description}[/]")


if __name__ == "__main__":
    app()
