"""Vector search through Chroma with the same embedder as ingestion."""

from __future__ import annotations

from ingest.embedding import Embedder
from ingest.store import ChunkStore
from retrieval.types import ScoreBreakdown, ScoredChunk


class VectorRetriever:
    def __init__(self, store: ChunkStore, embedder: Embedder):
        self.store = store
        self.embedder = embedder

    def retrieve(self, query: str, k: int = 10, doc_ids: list[str] | None = None) -> list[ScoredChunk]:
        hits = self.store.query(self.embedder.embed_query(query), k, doc_ids)
        return [
            ScoredChunk(h.id, h.chunk, h.cosine, ScoreBreakdown(vector_rank=rank, vector_cosine=h.cosine), h.heading)
            for rank, h in enumerate(hits, 1)
        ]
