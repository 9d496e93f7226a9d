"""Build the library objects from Settings: the only place that knows both."""

from __future__ import annotations

import logging

from app.settings import Settings
from ingest.chunking import TokenChunker
from ingest.embedding import Embedder
from ingest.pipeline import Ingestor, Limits
from ingest.store import ChunkStore

logger = logging.getLogger(__name__)


def make_embedder(settings: Settings) -> Embedder:
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # the per-run "Loading weights" bar is noise in a CLI
    return Embedder(
        settings.embedding_model,
        device=settings.embedding_device,
        batch_size=settings.embedding_batch_size,
        dtype=settings.embedding_dtype,
        query_prefix=settings.embedding_query_prefix,
        document_prefix=settings.embedding_document_prefix,
    )


def open_store(settings: Settings, embedder: Embedder) -> ChunkStore:
    return ChunkStore.open(
        collection=settings.collection,
        model_id=embedder.model_id,
        dimension=embedder.dimension,
        data_dir=settings.data_dir,
        url=settings.chroma_url,
    )


def make_chunker(settings: Settings, embedder: Embedder) -> TokenChunker:
    limit = embedder.max_tokens - 2
    if settings.chunk_tokens > limit:
        raise ValueError(f"ASKDOCS_CHUNK_TOKENS={settings.chunk_tokens} exceeds the embedder's window ({limit} tokens)")
    return TokenChunker(embedder.tokenizer, settings.chunk_tokens, settings.chunk_overlap_tokens)


def make_ingestor(settings: Settings, embedder: Embedder, store: ChunkStore) -> Ingestor:
    limits = Limits(
        parse_timeout_s=settings.parse_timeout_s,
        parse_memory_mb=settings.parse_memory_mb or None,
        max_pages=settings.max_pages,
        max_file_mb=settings.max_file_mb,
    )
    return Ingestor(store, embedder, make_chunker(settings, embedder), limits)
