"""The retrieval seam the UI, the CLI and the evaluation all call: bm25, vector, hybrid or rerank."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from ingest.profile import DocumentProfile
from ingest.types import Chunk
from retrieval.fusion import convex_combination, reciprocal_rank_fusion
from retrieval.keyword import BM25Retriever
from retrieval.phrases import PhraseScorer
from retrieval.rerank import CrossEncoderReranker
from retrieval.routing import by_period, route
from retrieval.types import ScoreBreakdown, ScoredChunk
from retrieval.vector import VectorRetriever

logger = logging.getLogger(__name__)

MODES = ("bm25", "vector", "hybrid", "rerank")
PAGE_CAP_DEPTH = 4  # with chunks_per_page, k * this many chunks are ranked before the cap
PHRASE_DEPTH = 50  # the fused head whose texts are read for phrase evidence (at least the chunks returned)


@dataclass(frozen=True)
class FusionConfig:
    method: str = "convex"  # convex (weighted min-max scores) or rrf
    rrf_k: float = 60.0
    bm25_weight: float = 0.5
    vector_weight: float = 0.5
    bm25_candidates: int = 100
    vector_candidates: int = 100
    rerank_candidates: int = 20
    # At most this many chunks of one page of a many-page document in the results (0 = no cap): on long reports
    # the chunks of one page otherwise fill the top-k, and the right page is the next one.
    chunks_per_page: int = 0
    # A question that names no organisation is searched in the whole library (not routed): the document has to
    # be found first. Its BM25 weight (vector: 1 - it; None: the weights above).
    unrouted_bm25_weight: float | None = None
    # At most this many chunks of one many-page document before the other documents' (0 = no cap; the rest follow
    # in order): a question that names no document, or a company but not which of its reports, sees several.
    chunks_per_document: int = 0
    # Added to the fused score of a chunk of a many-page document: this times the share of the query's adjacent
    # term pairs it holds adjacent (retrieval.phrases); 0 = off.
    phrase_weight: float = 0.0

    def __post_init__(self):
        if self.method not in ("rrf", "convex"):
            raise ValueError(f"fusion method must be rrf or convex, got {self.method!r}")
        for name in ("bm25_candidates", "vector_candidates", "rerank_candidates"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.chunks_per_page < 0:
            raise ValueError(f"chunks_per_page must be >= 0, got {self.chunks_per_page}")
        if self.chunks_per_document < 0:
            raise ValueError(f"chunks_per_document must be >= 0, got {self.chunks_per_document}")
        if self.phrase_weight < 0:
            raise ValueError(f"phrase_weight must be >= 0, got {self.phrase_weight}")
        if self.unrouted_bm25_weight is not None and not 0 <= self.unrouted_bm25_weight <= 1:
            raise ValueError(f"unrouted_bm25_weight must be in [0, 1], got {self.unrouted_bm25_weight}")

    def unrouted(self) -> "FusionConfig":
        """The fusion of a question searched in the whole library: weights (w, 1 - w)."""
        if self.unrouted_bm25_weight is None:
            return self
        return replace(self, bm25_weight=self.unrouted_bm25_weight, vector_weight=1 - self.unrouted_bm25_weight)


@dataclass
class Retrieval:
    """Ranked chunks, the mode that produced them, and anything the user should know (e.g. no reranker)."""

    query: str
    mode: str
    results: list[ScoredChunk]
    notes: list[str] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    # Absolute relevance signals for an abstention gate (fused scores are relative to the query).
    best_cosine: float | None = None
    best_rerank: float | None = None


class HybridRetriever:
    def __init__(self, vector: VectorRetriever, bm25: BM25Retriever, config: FusionConfig = FusionConfig(),
                 reranker: CrossEncoderReranker | None = None, reranker_problem: str | None = None,
                 profiles: Callable[[], Mapping[str, DocumentProfile]] | None = None):
        self.vector = vector
        # The library's document profiles, for routing questions that name an organisation (None: no routing).
        self.profiles = profiles
        self.bm25 = bm25
        self.config = config
        self.reranker = reranker
        # Why there is no reranker (not configured, failed to load), shown with every rerank request.
        self.reranker_problem = reranker_problem or (None if reranker else "no reranker is configured")
        # One worker: BM25 searches are serialised anyway (the index is not safe under a concurrent sync).
        self._keyword_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bm25")
        self.phrases = PhraseScorer()

    def retrieve(self, query: str, k: int = 10, mode: str = "hybrid", doc_ids: list[str] | None = None) -> Retrieval:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        if k <= 0:
            raise ValueError(f"k must be > 0, got {k}")
        per_page, per_doc = self.config.chunks_per_page, self.config.chunks_per_document
        # Deeper, then capped: the chunks a full page (or document) pushes out make room for the next ones.
        depth = k * PAGE_CAP_DEPTH if per_page or per_doc else k
        found = self._routed(query, depth, mode, doc_ids)
        if per_page:
            found.results = cap_per_page(found.results, per_page)
        if per_doc:
            found.results = spread_over_documents(found.results, per_doc)
        found.results = found.results[:k]
        return found

    def _routed(self, query: str, k: int, mode: str, doc_ids: list[str] | None) -> Retrieval:
        """Search the documents of the organisations the query names (each one's best in turn when it names
        several); everything when it names none, or when their documents hold nothing that matches."""
        chosen, profiles = None, {}
        if self.profiles is not None:  # route among the documents the caller may search only
            profiles = self.profiles()
            if doc_ids is not None:
                allowed = set(doc_ids)
                profiles = {d: p for d, p in profiles.items() if d in allowed}
            chosen = route(query, profiles)
        if chosen is None:
            return self._unrouted(query, k, mode, doc_ids, profiles)
        runs = [self._retrieve(query, k, mode, group) for group in chosen.groups]
        if not any(run.results for run in runs):
            return self._unrouted(query, k, mode, doc_ids, profiles)
        found = runs[0]
        if len(runs) > 1:
            found.results = _interleave([run.results for run in runs])
            found.best_cosine = max((r.best_cosine for r in runs if r.best_cosine is not None), default=None)
            found.best_rerank = max((r.best_rerank for r in runs if r.best_rerank is not None), default=None)
            for run in runs[1:]:
                for name, ms in run.timings_ms.items():
                    found.timings_ms[name] = found.timings_ms.get(name, 0.0) + ms
        for result in found.results:
            result.breakdown.routed = True
        found.notes.append(chosen.reason)
        return found

    def _unrouted(self, query: str, k: int, mode: str, doc_ids: list[str] | None,
                  profiles: Mapping[str, DocumentProfile]) -> Retrieval:
        """The whole library (or `doc_ids`), less the reports whose period ends before a year the question names
        (routing.by_period); all of it when those hold nothing that matches."""
        narrowed = by_period(query, profiles) if profiles else None
        if narrowed is not None:
            found = self._retrieve(query, k, mode, narrowed.doc_ids, self.config.unrouted())
            if found.results:
                found.notes.append(narrowed.reason)
                return found
        return self._retrieve(query, k, mode, doc_ids, self.config.unrouted())

    def _retrieve(self, query: str, k: int, mode: str, doc_ids: list[str] | None,
                  cfg: FusionConfig | None = None) -> Retrieval:
        timings: dict[str, float] = {}
        notes: list[str] = []
        if mode == "bm25":
            results = self._timed(timings, "bm25", lambda: self.bm25.retrieve(query, k, doc_ids))
            return Retrieval(query, mode, results, notes, timings)
        if mode == "vector":
            results = self._timed(timings, "vector", lambda: self.vector.retrieve(query, k, doc_ids))
            return Retrieval(query, mode, results, notes, timings, _best_cosine(results))

        cfg = cfg or self.config
        # BM25 runs beside the query embedding + Chroma search (both release the GIL): the hybrid costs about
        # the slower of the two instead of their sum.
        pending = self._keyword_pool.submit(
            self._timed, timings, "bm25", lambda: self.bm25.candidates(query, cfg.bm25_candidates, doc_ids))
        semantic = self._timed(timings, "vector",
                               lambda: self.vector.candidates(query, cfg.vector_candidates, doc_ids))
        keyword = pending.result()
        cosine = max((c for _, c in semantic), default=None)
        depth = max(k, cfg.rerank_candidates) if mode == "rerank" and self.reranker else k
        fused = self._timed(timings, "fusion", lambda: self.fuse(keyword, semantic, depth, cfg, query))
        if mode == "hybrid":
            return Retrieval(query, mode, fused[:k], notes, timings, cosine)

        if self.reranker is None:
            notes.append(f"reranking unavailable ({self.reranker_problem}): results are in hybrid order")
            return Retrieval(query, "hybrid", fused[:k], notes, timings, cosine)
        # The cross-encoder reorders the head; beyond it (k > rerank_candidates) the hybrid order continues.
        candidates = fused[: cfg.rerank_candidates]
        try:
            reranked = self._timed(timings, "rerank", lambda: self.reranker.rerank(query, candidates))
        except Exception as exc:  # a broken reranker must not take search down with it
            logger.exception("reranking failed")
            notes.append(f"reranking failed ({type(exc).__name__}: {exc}): results are in hybrid order")
            return Retrieval(query, "hybrid", fused[:k], notes, timings, cosine)
        best = max((c.breakdown.rerank_score for c in reranked), default=None)
        return Retrieval(query, mode, (reranked + fused[len(candidates):])[:k], notes, timings, cosine, best)

    def fuse(self, keyword: list[tuple[str, float]], semantic: list[tuple[str, float]],
             limit: int, cfg: FusionConfig | None = None, query: str = "") -> list[ScoredChunk]:
        """Fuse two (chunk id, score) rankings, add the phrase evidence of the head's chunks of many-page
        documents (with `query` and a phrase weight), and read the text of the best `limit` chunks only.

        Phrases tell apart the pages of long reports that use a row label word for word; on one-page documents
        (SciFact's abstracts) weight 1.0 cost nDCG@10 (train 0.731 -> 0.726), so their scores are left as fused."""
        cfg = cfg or self.config
        weights = [cfg.bm25_weight, cfg.vector_weight]
        if cfg.method == "rrf":
            scores = reciprocal_rank_fusion([[i for i, _ in keyword], [i for i, _ in semantic]], cfg.rrf_k, weights)
        else:
            scores = convex_combination([dict(keyword), dict(semantic)], weights)
        ranked = sorted(scores, key=lambda i: (-scores[i], i))
        phrase: dict[str, float] = {}
        if cfg.phrase_weight and query:
            head = ranked[:max(limit, PHRASE_DEPTH)]
            stored = self.vector.store.get_chunks(head)
            paged = many_page_documents(s.chunk for s in stored.values())
            phrase = self.phrases.scores(query, {cid: s.context_text for cid, s in stored.items()
                                                 if s.chunk.doc_id in paged})
            for cid, share in phrase.items():
                scores[cid] += cfg.phrase_weight * share
            top = sorted(stored, key=lambda i: (-scores[i], i))[:limit]
        else:
            top = ranked[:limit]
            stored = self.vector.store.get_chunks(top)
        bm25_rank = {cid: (rank, score) for rank, (cid, score) in enumerate(keyword, 1)}
        vector_rank = {cid: (rank, cos) for rank, (cid, cos) in enumerate(semantic, 1)}
        out = []
        for cid in top:
            if cid not in stored:  # removed since the indexes were read
                continue
            b = ScoreBreakdown(fused_score=scores[cid], phrase_share=phrase.get(cid))
            if cid in bm25_rank:
                b.bm25_rank, b.bm25_score = bm25_rank[cid]
            if cid in vector_rank:
                b.vector_rank, b.vector_cosine = vector_rank[cid]
            out.append(ScoredChunk(cid, stored[cid].chunk, scores[cid], b, stored[cid].heading))
        return out

    @staticmethod
    def _timed(timings: dict[str, float], name: str, fn):
        started = time.perf_counter()
        value = fn()
        timings[name] = round(1000 * (time.perf_counter() - started), 2)
        return value


def _best_cosine(results: list[ScoredChunk]) -> float | None:
    values = [r.breakdown.vector_cosine for r in results if r.breakdown.vector_cosine is not None]
    return max(values) if values else None


def _interleave(rankings: list[list[ScoredChunk]]) -> list[ScoredChunk]:
    """First of each, then second of each…; a chunk found twice keeps its first place."""
    out, seen = [], set()
    for i in range(max(len(r) for r in rankings)):
        for ranking in rankings:
            if i < len(ranking) and ranking[i].id not in seen:
                seen.add(ranking[i].id)
                out.append(ranking[i])
    return out


def many_page_documents(chunks: Iterable[Chunk]) -> set[str]:
    """The documents some of `chunks` lie beyond the first page of (a text file is one long page)."""
    return {c.doc_id for c in chunks if c.page > 1}


def spread_over_documents(results: list[ScoredChunk], per_document: int) -> list[ScoredChunk]:
    """`results` with the chunks of a many-page document beyond its first `per_document` moved behind the others'
    (in order): a question that names no document sees candidates from several reports (host crowding in web
    search). A document whose results all lie on its first page (a text file is one long page, a short note) is
    not capped: its chunks are one passage, and "How many of those can be carried over?" needed the handbook's
    third chunk."""
    paged = many_page_documents(r.chunk for r in results)
    taken: dict[str, int] = {}
    first, later = [], []
    for r in results:
        taken[r.chunk.doc_id] = taken.get(r.chunk.doc_id, 0) + 1
        capped = r.chunk.doc_id in paged and taken[r.chunk.doc_id] > per_document
        (later if capped else first).append(r)
    return first + later


def cap_per_page(results: list[ScoredChunk], per_page: int) -> list[ScoredChunk]:
    """`results` in order, keeping at most `per_page` chunks of one page of a document whose results lie on
    more than one page (a text file is one long page: its chunks are not capped)."""
    pages_of: dict[str, set[int]] = {}
    for r in results:
        pages_of.setdefault(r.chunk.doc_id, set()).add(r.chunk.page)
    taken: dict[tuple[str, int], int] = {}
    out = []
    for r in results:
        key = (r.chunk.doc_id, r.chunk.page)
        if len(pages_of[r.chunk.doc_id]) > 1 and taken.get(key, 0) >= per_page:
            continue
        taken[key] = taken.get(key, 0) + 1
        out.append(r)
    return out
