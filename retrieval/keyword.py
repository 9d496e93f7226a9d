"""BM25 search over the store's chunks, with the index kept in step with Chroma's catalog."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from ingest.store import ChunkStore
from retrieval.bm25 import BM25Index
from retrieval.types import ScoreBreakdown, ScoredChunk

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncResult:
    added: int
    removed: int
    seconds: float


class BM25Retriever:
    """BM25 over the committed chunks of a `ChunkStore`; Chroma is the source of truth."""

    def __init__(self, store: ChunkStore, folder: str | Path | None = None, index: BM25Index | None = None):
        self.store = store
        self.folder = Path(folder) if folder else None
        self.index = index if index is not None else (BM25Index.load(self.folder) if self.folder else BM25Index())
        self._synced_generation: str | None = None  # the store generation the index was last brought up to
        self._checked_at = float("-inf")

    def refresh(self, max_age_s: float = 1.0) -> SyncResult | None:
        """Sync when another writer (another app process, the CLI) committed since the last sync; the store is
        asked at most every `max_age_s` seconds. None when nothing had changed."""
        now = time.monotonic()
        if now - self._checked_at < max_age_s:
            return None
        self._checked_at = now
        if self.store.generation() == self._synced_generation:
            return None
        return self.sync()

    def sync(self, save: bool = True) -> SyncResult:
        """Add what Chroma committed and the index lacks, drop what Chroma no longer has (or has newer)."""
        started = time.perf_counter()
        generation = self.store.generation()  # read first: a commit during the sync is caught by the next one
        committed = self.store.committed_versions()
        held = self.index.versions()
        stale = [d for d, v in held.items() if committed.get(d) != v]
        missing = [d for d, v in committed.items() if held.get(d) != v]
        for doc_id in stale:
            self.index.remove_document(doc_id)
        for lo in range(0, len(missing), 500):
            group = missing[lo : lo + 500]
            by_doc: dict[str, tuple[list[str], list[str]]] = {d: ([], []) for d in group}
            for stored in self.store.iter_chunks(group):
                ids, texts = by_doc[stored.chunk.doc_id]
                ids.append(stored.id)
                texts.append(stored.context_text)
            self.index.add_documents([(d, committed[d], ids, texts) for d, (ids, texts) in by_doc.items()])
        if save and self.folder and self.index.dirty:
            self.index.save(self.folder)
        self._synced_generation = generation
        result = SyncResult(len(missing), len(stale), time.perf_counter() - started)
        if missing or stale:
            logger.info("BM25 sync: %d documents added, %d removed (%.2f s)", *vars(result).values())
        return result

    def check(self) -> list[str]:
        """Where BM25 and Chroma disagree (documents, versions, chunk counts); empty when they agree."""
        problems = []
        committed = self.store.committed_versions()
        held = self.index.versions()
        rows = self.index.live_rows()
        for doc_id in sorted(set(committed) | set(held)):
            if doc_id not in held:
                problems.append(f"{doc_id}: in Chroma, missing from BM25")
            elif doc_id not in committed:
                problems.append(f"{doc_id}: in BM25, gone from Chroma")
            elif held[doc_id] != committed[doc_id]:
                problems.append(f"{doc_id}: BM25 holds another version than Chroma")
        for record in self.store.documents():
            if record.doc_id in held and rows.get(record.doc_id, 0) != record.chunks:
                problems.append(f"{record.doc_id}: {rows.get(record.doc_id, 0)} chunks in BM25, "
                                f"{record.chunks} in Chroma")
        return problems

    def rebuild(self) -> SyncResult:
        """Throw the BM25 index away and build it again from Chroma."""
        self.index = BM25Index(self.index.k1, self.index.b, self.index.epsilon, self.index.tokenizer)
        self.index._dirty = True
        return self.sync()

    def candidates(self, query: str, n: int, doc_ids: list[str] | None = None) -> list[tuple[str, float]]:
        """(chunk id, BM25 score), best first, without reading the chunks."""
        return [(hit.chunk_id, hit.score) for hit in self.index.search(query, n, doc_ids)]

    def retrieve(self, query: str, k: int = 10, doc_ids: list[str] | None = None) -> list[ScoredChunk]:
        ranked = self.candidates(query, k, doc_ids)
        chunks = self.store.get_chunks([cid for cid, _ in ranked])
        results = []
        for rank, (cid, score) in enumerate(ranked, 1):
            stored = chunks.get(cid)
            if stored is None:  # committed in BM25 but gone from Chroma since: skip, the next sync drops it
                continue
            results.append(ScoredChunk(cid, stored.chunk, score, ScoreBreakdown(bm25_rank=rank, bm25_score=score),
                                       stored.heading))
        return results
