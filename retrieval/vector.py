"""Vector search through Chroma with the same embedder as ingestion."""

from __future__ import annotations

from ingest.embedding import Embedder
from ingest.store import ChunkStore
from retrieval.types import ScoreBreakdown, ScoredChunk


class VectorRetriever:
    def __init__(self, store: ChunkStore, embedder: Embedder):
        self.store = store
        self.embedder = embedder

    def candidates(self, query: str, n: int, doc_ids: list[str] | None = None) -> list[tuple[str, float]]:
        """(chunk id, cosine), best first, without reading the chunks."""
        return self.store.query_ids(self.embedder.embed_query(query), n, doc_ids)

    def retrieve(self, query: str, k: int = 10, doc_ids: list[str] | None = None) -> list[ScoredChunk]:
        ranked = self.candidates(query, k, doc_ids)
        stored = self.store.get_chunks([cid for cid, _ in ranked])
        return [
            ScoredChunk(cid, stored[cid].chunk, cosine, ScoreBreakdown(vector_rank=rank, vector_cosine=cosine),
                        stored[cid].heading)
            for rank, (cid, cosine) in enumerate(ranked, 1) if cid in stored
        ]
