"""Hybrid retrieval: dense search in Chroma plus our BM25, fused by reciprocal rank.

A question reaches a bilingual segment through either language: the dense side embeds
both languages of each segment together, and the lexical side indexes the tokens of
both, so 'Michael Burry' finds a paragraph whose English says 'Michael Bur' through its
Chinese '迈克尔·伯里（Michael Burry）'. Names in the question that match front-matter
people or companies add a third ranking, of segments from episodes that list them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from assistant.index import SegmentStore
from assistant.language import detect_language
from assistant.lexical import BM25, LexicalStore, tokenize
from assistant.links import reader_path
from assistant.models import Filters, Passage

__all__ = [
    "LexicalIndex",
    "Retriever",
    "fuse_rankings",
    "passage_from_metadata",
]

RRF_K = 60
# Cosine distance handicap of a passage that lacks the query's language (e5-small: an
# English query scores ~0.04 lower against Chinese-only text than against bilingual text
# of the same relevance). Measured on benchmarks/golden/archive.jsonl: see BENCHMARKS.md.
OTHER_LANGUAGE_BONUS = 0.04
# How many candidates each ranking contributes to the fusion.
CANDIDATES = 50


def fuse_rankings(
    rankings: Sequence[Sequence[str]], weights: Sequence[float] | None = None, k: int = RRF_K
) -> list[tuple[str, float]]:
    """Reciprocal rank fusion: score(d) = Σ w_i / (k + rank_i(d)), best first."""
    weights = weights or [1.0] * len(rankings)
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def passage_from_metadata(segment_id: str, meta: dict[str, Any], score: float = 0.0) -> Passage:
    episode_id = str(meta.get("episode_id", ""))
    position = int(meta.get("position", 0))
    return Passage(
        id=segment_id,
        episode_id=episode_id,
        title=str(meta.get("title", "")),
        date=str(meta.get("date", "")),
        speaker=str(meta.get("speaker", "")),
        turn_speaker=str(meta.get("turn_speaker", "")),
        section=str(meta.get("section", "")),
        position=position,
        text_zh=str(meta.get("text_zh", "")),
        text_en=str(meta.get("text_en", "")),
        source_url=str(meta.get("source_url", "")),
        url=reader_path(episode_id, position),
        score=round(score, 6),
    )


@dataclass
class LexicalIndex:
    """BM25 plus the per-segment facts the filters need, all in memory."""

    ids: list[str]
    episode_of: npt.NDArray[np.int32]
    turn_speakers: list[str]
    episodes: list[dict[str, Any]]
    bm25: BM25
    # Every segment's vector, row-aligned with `ids`, for exact search under filters.
    vectors: npt.NDArray[np.float32] = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    names: dict[str, str] = field(default_factory=dict)  # lowercased name part → full name
    version: str = ""  # the lexical store's version this was built from
    front_matter_terms: frozenset[str] = frozenset()
    position: dict[str, int] = field(default_factory=dict)  # segment id → row
    # Filter field → casefolded value → the archive's spelling, for `Retriever.resolve`.
    spellings: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def load(cls, lexical: LexicalStore) -> LexicalIndex:
        """Built from the lexical store's rows (seconds at 100k segments; see snapshot.py)."""
        version = lexical.version()
        episodes = lexical.episodes()
        position = {e["episode_id"]: i for i, e in enumerate(episodes)}
        rows, vectors = lexical.rows()
        return cls.assemble(
            ids=[r.id for r in rows],
            episode_of=np.asarray([position.get(r.episode_id, -1) for r in rows], dtype=np.int32),
            turn_speakers=[r.turn_speaker for r in rows],
            episodes=episodes,
            bm25=BM25([r.tokens for r in rows]),
            vectors=vectors,
            version=version,
        )

    @classmethod
    def assemble(
        cls,
        ids: list[str],
        episode_of: npt.NDArray[np.int32],
        turn_speakers: list[str],
        episodes: list[dict[str, Any]],
        bm25: BM25,
        vectors: npt.NDArray[np.float32],
        version: str,
        front_matter_terms: frozenset[str] | None = None,
    ) -> LexicalIndex:
        """The index from its stored parts, with what derives from them (cheap, but for
        the front-matter terms: tokenizing them loads jieba, a second at start-up)."""
        index = cls(ids, episode_of, turn_speakers, episodes, bm25, vectors, version=version)
        index.names = _name_parts(episodes)
        if front_matter_terms is None:
            front_matter_terms = frozenset(
                term
                for e in episodes
                for value in [e["speaker"], *e["people"], *e["companies"], *e.get("products", [])]
                for term in tokenize(value)
            )
        index.front_matter_terms = front_matter_terms
        index.position = {sid: i for i, sid in enumerate(ids)}
        index.spellings = {
            key: {v.casefold(): v for e in episodes for v in values(e)}
            for key, values in (
                ("speaker", lambda e: [e["speaker"]]),
                ("person", lambda e: e["people"]),
                ("company", lambda e: e["companies"]),
                ("tag", lambda e: e["tags"]),
            )
        }
        return index

    def mask(self, filters: Filters) -> npt.NDArray[np.bool_] | None:
        """Which segments pass the filters; None when nothing is filtered."""
        if filters.is_empty():
            return None
        since = _date_int(filters.date_from) if filters.date_from else 0
        until = _date_int(filters.date_to) if filters.date_to else 0
        allowed = np.asarray(
            [_episode_passes(e, filters, since, until) for e in self.episodes], dtype=bool
        )
        keep = np.zeros(len(self.ids), dtype=bool)
        valid = self.episode_of >= 0
        keep[valid] = allowed[self.episode_of[valid]]
        if filters.turn_speaker:
            wanted = filters.turn_speaker.casefold()
            keep &= np.asarray([t.casefold() == wanted for t in self.turn_speakers], dtype=bool)
        return keep

    def rows_of(self, ids: Sequence[str]) -> npt.NDArray[np.bool_]:
        """A mask of the rows holding `ids` (those it knows)."""
        mask = np.zeros(len(self.ids), dtype=bool)
        mask[[self.position[i] for i in ids if i in self.position]] = True
        return mask

    def rank(self, tokens: Sequence[str], keep: npt.NDArray[np.bool_] | None) -> list[str]:
        scores = self.bm25.scores(tokens)
        if keep is not None:
            scores = np.where(keep, scores, 0.0)
        top = np.argsort(-scores, kind="stable")[:CANDIDATES]
        return [self.ids[i] for i in top if scores[i] > 0]

    def knows(self, term: str) -> bool:
        """Whether the archive uses this search term, in its text or its front matter."""
        return term in self.bm25.vocabulary or term in self.front_matter_terms

    def names_in(self, question: str) -> list[str]:
        """Front-matter people and companies that the question names, in full."""
        words = {w.casefold() for w in re.findall(r"[\w'’.-]+", question)}
        lowered = question.casefold()
        found = {full for part, full in self.names.items() if part in words}
        found |= {full for full in set(self.names.values()) if full.casefold() in lowered}
        return sorted(found)

    def rows_mentioning(self, names: Sequence[str]) -> set[int]:
        """Segments whose text holds the rarest word of any of `names`."""
        rows: set[int] = set()
        for name in names:
            terms = tokenize(name)
            if terms:
                rows.update(self.bm25.rows_with(max(terms, key=self.bm25.term_idf)).tolist())
        return rows

    def episodes_naming(self, names: Sequence[str]) -> set[int]:
        wanted = {n.casefold() for n in names}
        return {
            i
            for i, e in enumerate(self.episodes)
            if wanted & {p.casefold() for p in e["people"] + e["companies"]}
        }


def _name_parts(episodes: Sequence[dict[str, Any]]) -> dict[str, str]:
    """Distinctive parts of names ('burry' → 'Michael Burry'); common words are skipped."""
    parts: dict[str, str] = {}
    for episode in episodes:
        for name in episode["people"] + episode["companies"]:
            for part in re.findall(r"[\w'’.-]+", name):
                key = part.casefold()
                if len(key) >= 4 and key not in _COMMON_NAME_PARTS:
                    parts.setdefault(key, name)
    return parts


_COMMON_NAME_PARTS = frozenset(
    "the and group bank federal reserve company inc. corp capital street journal "
    "university institute google's open partners global research news media labs".split()
)


def _episode_passes(episode: dict[str, Any], f: Filters, since: int, until: int) -> bool:
    date = int(episode.get("date_int") or 0)
    checks = [
        not f.speaker or episode["speaker"].casefold() == f.speaker.casefold(),
        not f.episode or episode["episode_id"] == f.episode,
        not since or (date and date >= since),
        not until or (date and date <= until),
        not f.person or _contains(episode["people"], f.person),
        not f.company or _contains(episode["companies"], f.company),
        not f.tag or _contains(episode["tags"], f.tag),
    ]
    return all(checks)


def _contains(values: Sequence[str], wanted: str) -> bool:
    return wanted.casefold() in {v.casefold() for v in values}


def _dot(matrix: npt.NDArray[np.float32], vector: npt.NDArray[np.float32]) -> Any:
    """matrix · vector without BLAS: OpenBLAS leaves its threads spinning after a large
    product, and the next query embedding then ran twice as slow (median 15 → 31 ms, max
    115 ms); einsum's own loop is as fast here and leaves nothing behind."""
    return np.einsum("ij,j->i", matrix, vector)


def _date_int(iso: str) -> int:
    digits = re.sub(r"\D", "", iso)[:8].ljust(8, "0")
    return int(digits)


def one_sided_ids(store: SegmentStore) -> dict[str, list[str]]:
    """The segments that lack each language, by the language they lack.

    Ids only: their vectors are rows of the lexical index. Reading vectors from an
    embedded Chroma would return what its process loaded, not what another process
    wrote since (Chroma's "Error finding id"; see `SegmentStore.catch_up`).
    """
    return {
        lang: list(store.segments.get(where={f"text_{lang}": ""}, include=[])["ids"])
        for lang in ("en", "zh")
    }


class Retriever:
    """Search the archive: `search(query, k, filters)` → passages, best first."""

    def __init__(
        self,
        store: SegmentStore,
        lexical: LexicalIndex,
        one_sided: dict[str, list[str]] | None = None,
    ) -> None:
        self.store = store
        self.lexical = lexical
        # The ids of the segments that lack each language (see `one_sided_ids`).
        self.one_sided = one_sided if one_sided is not None else one_sided_ids(store)
        # Keyed by the query's language: the rows that lack it.
        self.lacking = {lang: lexical.rows_of(ids) for lang, ids in self.one_sided.items()}

    def search(self, query: str, k: int = 8, filters: Filters | None = None) -> list[Passage]:
        return self.search_scored(query, k, filters)[0]

    def search_scored(
        self, query: str, k: int = 8, filters: Filters | None = None
    ) -> tuple[list[Passage], dict[str, float]]:
        """Passages, best first, and the dense similarity of those the dense side found
        (for a passage lacking the query's language, raised by OTHER_LANGUAGE_BONUS)."""
        filters = self.resolve(filters or Filters())
        names = self.lexical.names_in(query)
        tokens = tokenize(query)
        for name in names:
            tokens.extend(tokenize(name))
        keep = self.lexical.mask(filters)
        if keep is not None and not keep.any():
            return [], {}
        lexical = self.lexical.rank(tokens, keep)
        dense, similarity = self._dense(query, keep)
        rankings: list[Sequence[str]] = [dense, lexical]
        # Dense 0.8 to lexical 1.0: on the golden set, recall@5 0.939 / MRR 0.805 against
        # 0.930 / 0.797 at 1:1 (benchmarks/quality.py); names come in at half weight.
        weights = [0.8, 1.0]
        if names:
            naming = self.lexical.episodes_naming(names)
            mentioning = self.lexical.rows_mentioning(names)
            position = self.lexical.position
            # A paragraph that says the name counts as much as an episode that lists it;
            # otherwise the boost buries exact matches from episodes with sparse front matter.
            boosted = [
                sid
                for sid in lexical + dense
                if sid in position
                and (
                    self.lexical.episode_of[position[sid]] in naming or position[sid] in mentioning
                )
            ]
            rankings.append(list(dict.fromkeys(boosted)))
            weights.append(0.5)
        fused = fuse_rankings(rankings, weights)[:k]
        # Read now, not from the index: a segment deleted since (re-ingested) drops out.
        found = self.store.segments.get(ids=[sid for sid, _ in fused], include=["metadatas"])
        metadata = dict(zip(found["ids"], found["metadatas"] or [], strict=True))
        passages = [
            passage_from_metadata(sid, metadata[sid], score)
            for sid, score in fused
            if sid in metadata
        ]
        return passages, {p.id: similarity[p.id] for p in passages if p.id in similarity}

    def _dense(
        self, query: str, keep: npt.NDArray[np.bool_] | None
    ) -> tuple[list[str], dict[str, float]]:
        """Dense candidates and their similarity: exact cosine over the kept rows (all of
        them without filters) of the lexical index's vectors, in memory.

        Segments that lack the query's language get a fair chance: a query's vector
        sits closer to passages in its own language, so an English question would
        never reach a Chinese-only paragraph among bilingual ones; their distances are
        lowered by OTHER_LANGUAGE_BONUS. Chroma is not asked: its filtered query took
        0.3–1.7 s at 100k segments (BENCHMARKS.md), and an embedded Chroma's vector
        index holds only what its own process saw, so segments another process
        ingested since would never be found (see `SegmentStore.catch_up`). The
        product costs about 18 ms at 100k segments on these two cores.
        """
        vector = np.asarray(self.store.embedder.embed_query(query), dtype=np.float32)
        lang = detect_language(query)
        vectors, lacking = self.lexical.vectors, self.lacking[lang]
        rows = None if keep is None else np.flatnonzero(keep)
        if rows is not None:
            vectors, lacking = vectors[rows], lacking[rows]
        if not len(vectors):
            return [], {}
        distances = 1.0 - _dot(vectors, vector)
        distances[lacking] -= OTHER_LANGUAGE_BONUS
        n = min(CANDIDATES, len(distances))
        best = np.argpartition(distances, n - 1)[:n]
        best = best[np.argsort(distances[best], kind="stable")]
        found = best if rows is None else rows[best]
        ranked = [self.lexical.ids[i] for i in found]
        similarity = {sid: 1.0 - float(distances[i]) for sid, i in zip(ranked, best, strict=True)}
        return ranked, similarity

    def resolve(self, filters: Filters) -> Filters:
        """Filter values as the archive spells them ('odd lots' → 'Odd Lots')."""
        updates = {}
        for key, spellings in self.lexical.spellings.items():
            wanted = getattr(filters, key)
            if wanted:
                updates[key] = spellings.get(wanted.casefold(), wanted)
        return filters.model_copy(update=updates)
