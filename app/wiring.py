"""Build the library objects from Settings: the only place that knows both."""

from __future__ import annotations

import copy
import logging
import os

from app.settings import Settings
from ingest.chunking import TokenChunker
from ingest.embedding import Embedder
from ingest.ocr import OcrOptions
from ingest.pipeline import Ingestor, Limits
from ingest.store import ChunkStore
from retrieval.hybrid import FusionConfig, HybridRetriever
from retrieval.keyword import BM25Retriever
from retrieval.vector import VectorRetriever

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
    # A copy: the embedder's tokenizer is switched to truncation and padding by every embedding call, which may
    # run in another thread while an upload is chunked (seen as "Unable to create tensor" under load).
    tokenizer = copy.deepcopy(embedder.tokenizer)
    return TokenChunker(tokenizer, settings.chunk_tokens, settings.chunk_overlap_tokens)


def ocr_options(settings: Settings) -> OcrOptions:
    return OcrOptions(enabled=settings.ocr, languages=settings.ocr_languages, dpi=settings.ocr_dpi,
                      page_timeout_s=settings.ocr_page_timeout_s)


def make_ingestor(settings: Settings, embedder: Embedder, store: ChunkStore) -> Ingestor:
    limits = Limits(
        parse_timeout_s=settings.parse_timeout_s,
        parse_memory_mb=settings.parse_memory_mb or None,
        max_pages=settings.max_pages,
        max_file_mb=settings.max_file_mb,
        ocr=ocr_options(settings),
    )
    return Ingestor(store, embedder, make_chunker(settings, embedder), limits)


def make_bm25(settings: Settings, store: ChunkStore, sync: bool = True) -> BM25Retriever:
    """The BM25 index beside the store, brought in step with Chroma (the source of truth)."""
    bm25 = BM25Retriever(store, settings.data_dir / "bm25" / settings.collection)
    if sync:
        bm25.sync()
    return bm25


def make_reranker(settings: Settings):
    """(reranker or None, why there is none)."""
    if not settings.rerank_model:
        return None, "no reranker is configured (ASKDOCS_RERANK_MODEL)"
    from retrieval.rerank import CrossEncoderReranker

    try:
        reranker = CrossEncoderReranker(settings.rerank_model, device=settings.embedding_device,
                                        batch_size=settings.rerank_batch_size,
                                        max_length=settings.rerank_max_length, dtype=settings.rerank_dtype,
                                        weight=settings.rerank_weight)
    except Exception as exc:
        logger.warning("could not load the reranker %s: %s", settings.rerank_model, exc)
        return None, f"the reranker {settings.rerank_model!r} failed to load: {type(exc).__name__}: {exc}"
    return reranker, None


def fusion_config(settings: Settings) -> FusionConfig:
    return FusionConfig(method=settings.fusion_method, rrf_k=settings.rrf_k, bm25_weight=settings.bm25_weight,
                        vector_weight=settings.vector_weight, bm25_candidates=settings.bm25_candidates,
                        vector_candidates=settings.vector_candidates, rerank_candidates=settings.rerank_candidates,
                        chunks_per_page=settings.chunks_per_page,
                        unrouted_bm25_weight=settings.unrouted_bm25_weight,
                        chunks_per_document=settings.chunks_per_document,
                        phrase_weight=settings.phrase_weight)


def make_retriever(settings: Settings, embedder: Embedder, store: ChunkStore, bm25: BM25Retriever | None = None,
                   load_reranker: bool = True) -> HybridRetriever:
    reranker, problem = make_reranker(settings) if load_reranker else (None, "reranking not requested")
    from retrieval.routing import StoredProfiles

    return HybridRetriever(VectorRetriever(store, embedder), bm25 or make_bm25(settings, store),
                           fusion_config(settings), reranker, problem,
                           profiles=StoredProfiles(store) if settings.routing else None)


def llm_config(settings: Settings):
    from app.llm import LLMConfig

    return LLMConfig(
        backend=settings.llm_backend, model=settings.llm_model, base_url=settings.llm_base_url,
        api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
        temperature=settings.llm_temperature, max_tokens=settings.llm_max_tokens,
        context_tokens=settings.llm_context_tokens, threads=settings.llm_threads or len(os.sched_getaffinity(0)),
        cache_dir=settings.models_path, timeout_s=settings.llm_timeout_s,
    )


def make_llm(settings: Settings):
    """(chat model or None, why there is none). A broken backend is reported, never raised."""
    if settings.llm_backend == "none":
        return None, "no language model is configured (ASKDOCS_LLM_BACKEND=none)"
    from app.llm import LLMError, make_chat_model

    try:
        return make_chat_model(llm_config(settings)), None
    except LLMError as exc:
        logger.warning("LLM unavailable: %s", exc)
        return None, str(exc)


def token_counter(settings: Settings, llm):
    """Counts tokens as the model will (its own tokenizer when it has one), for fitting sources."""
    from app.answering.answer import approximate_tokens

    if llm is None:
        return approximate_tokens
    from app.llm import count_tokens

    return lambda text: count_tokens(llm, text)
