"""Retrieval: BM25, vector search, fusion and reranking over the chunks that `ingest` stored."""
