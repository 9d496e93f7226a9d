"""All settings, read from the environment and `.env` (prefix ASKDOCS_). Built in main(), passed down."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ASKDOCS_", env_file=".env", extra="ignore")

    # Storage
    data_dir: Path = Field(Path(".askdocs"), description="folder of the embedded store and indexes")
    chroma_url: str | None = Field(None, description="Chroma server URL; unset = embedded store in data_dir")
    collection: str = Field("askdocs", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{1,60}[A-Za-z0-9]$",
                            description="Chroma collection name (3-62 letters, digits, . _ -)")

    # Embedding and chunking
    embedding_model: str = Field("all-MiniLM-L6-v2", description="packaged name, local path or HF model name")
    embedding_device: str = "cpu"
    embedding_dtype: str = Field("auto", description="auto, float32 or bfloat16")
    embedding_batch_size: int = Field(32, gt=0)
    embedding_query_prefix: str = ""
    embedding_document_prefix: str = ""
    chunk_tokens: int = Field(200, gt=0, description="chunk size in embedder tokens")
    chunk_overlap_tokens: int = Field(30, ge=0)

    # Parsing limits
    parse_timeout_s: float = Field(120.0, gt=0)
    parse_memory_mb: int = Field(4096, ge=0, description="0 = no limit")
    max_pages: int = Field(5000, gt=0)
    max_file_mb: float = Field(200.0, gt=0)
    ocr: bool = Field(True, description="read pages without a text layer (scans) and image files with Tesseract")
    ocr_languages: str = Field("eng", pattern=r"^[a-z_]+(\+[a-z_]+)*$",
                               description="Tesseract language packs joined by +, e.g. eng+deu")
    ocr_dpi: int = Field(225, ge=70, le=600, description="resolution scans are read at")
    ocr_page_timeout_s: float = Field(60.0, gt=0)

    # Retrieval
    top_k: int = Field(5, gt=0, description="chunks handed to the answer / shown by search")
    retrieval_mode: str = Field("hybrid", pattern="^(bm25|vector|hybrid|rerank)$")
    # Defaults tuned on SciFact train and FinanceBench-dev (benchmarks/tune_fusion.py), never on a test split.
    fusion_method: str = Field("convex", pattern="^(rrf|convex)$")
    rrf_k: float = Field(60.0, ge=0)
    bm25_weight: float = Field(0.5, ge=0)
    vector_weight: float = Field(0.5, ge=0)
    # 100, not 50: on FinanceBench-dev page hit@5 0.467 -> 0.547 and document hit@1 0.853 -> 0.880, at no cost
    # in latency; UDA document hit@5 0.943 -> 0.934 (2 of 244 questions). SciFact's eval ranks 300 anyway.
    bm25_candidates: int = Field(100, gt=0)
    vector_candidates: int = Field(100, gt=0)
    rerank_model: str | None = Field(None, description="cross-encoder name or path; unset = no reranking")
    rerank_candidates: int = Field(20, gt=0)
    routing: bool = Field(True, description="a question naming an organisation (and year) is searched in that "
                                            "organisation's documents, as their profiles name it")
    chunks_per_page: int = Field(1, ge=0, description="at most this many results from one page of a many-page "
                                                      "document; 0 = no cap")
    # Chosen on UDA, FinanceBench-dev and SciFact train (benchmarks/tune_unrouted.py), then checked on the dev
    # answers; the figures are in the README. A question naming no organisation is searched in the whole library:
    # there the document has to be found first, and BM25 finds it more often (UDA document hit@1 BM25 0.840,
    # vector 0.680).
    unrouted_bm25_weight: float = Field(0.6, ge=0, le=1, description="BM25's weight (vector: 1 - it) for a "
                                        "question that is not routed")
    chunks_per_document: int = Field(1, ge=0, description="at most this many results of one many-page document "
                                     "before the other documents'; 0 = no cap")
    phrase_weight: float = Field(0.5, ge=0, description="added to the fused score of a chunk of a many-page "
                                 "document: this times the share of the question's adjacent word pairs it holds "
                                 "adjacent; 0 = off")
    rerank_batch_size: int = Field(16, gt=0)
    rerank_max_length: int = Field(208, gt=0, description="tokens per (query, chunk) pair; 208 keeps 20 candidates "
                                                          "under 0.4 s on 2 cores with models/reranker")
    rerank_dtype: str = Field("auto", pattern="^(auto|float32|bfloat16|int8)$",
                              description="auto = bfloat16 where the CPU has native bf16, else float32")
    rerank_weight: float = Field(0.6, ge=0, le=1, description="order by w*z(cross-encoder) + (1-w)*z(hybrid score); "
                                                             "1 = cross-encoder alone")
    rerank_train_minutes: float = Field(30.0, gt=0, description="time limit of `askdocs train-reranker`")

    # Answering
    llm_backend: str = Field("local", pattern="^(local|openai|ollama|none)$",
                             description="local GGUF in-process, an OpenAI-compatible endpoint, Ollama, or none")
    llm_model: str = Field("qwen2.5-coder-1.5b", description="local: packaged name or .gguf path; else model name")
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_temperature: float = Field(0.0, ge=0, description="0 = greedy: the same sources give the same answer")
    llm_max_tokens: int = Field(512, gt=0)
    llm_context_tokens: int = Field(4096, gt=256)
    llm_threads: int = Field(0, ge=0, description="local engine threads; 0 = one per CPU core")
    llm_timeout_s: float = Field(120.0, gt=0)
    model_dir: Path | None = Field(None, description="where local GGUF models are assembled; unset = data_dir/models")
    abstain_min_cosine: float = Field(0.18, description="best vector cosine below this: answer 'not found' without "
                                                     "asking the model (benchmarks/gate_signals.py)")
    abstain_min_sentence_cosine: float = Field(0.38, description="best cosine of a sentence of the retrieved "
                                               "chunks below this: 'not found' without asking the model; decides "
                                               "instead of the chunk cosine (benchmarks/gate_signals.py)")
    abstain_min_rerank: float | None = Field(None, description="best rerank score below this: 'not found'")
    answer_evidence_sentences: int = Field(8, ge=0, description="sentences of the sources the model reads, the "
                                                                "best-matching first; 0 = whole chunks")
    answer_quote_fallback: float = Field(0.8, ge=0, description="when the model finds no answer but the best "
                                                                "sentence scores at least this, quote it; 0 = never")
    answer_evidence_check: float = Field(0.5, ge=0, le=1, description="before answering, the model judges whether "
                                         "the evidence holds the answer; under this P(yes): 'not found'; 0 = off")
    follow_up_rewrite: str = Field("rule", pattern="^(rule|llm)$",
                                   description="follow-ups searched with the previous question's key terms "
                                               "(rule) or rewritten by the LLM (llm)")

    # Serving
    host: str = Field("127.0.0.1", description="address the UI and API listen on")
    port: int = Field(7860, gt=0, lt=65536)
    username: str | None = Field(None, description="login for every page, upload, file and API route")
    password: SecretStr | None = None
    queue_size: int = Field(64, gt=0, description="requests waiting beyond this are told the server is busy")
    allowed_origins: str = Field("", description="comma-separated browser origins allowed besides the server's "
                                                 "own (e.g. https://intranet.example); empty = same-origin only")

    log_level: str = "WARNING"

    @field_validator("chroma_url", "rerank_model", "llm_base_url", "username")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None

    # `NAME=` (as .env.example writes an unset one) is "unset", not a number that fails to parse.
    @field_validator("abstain_min_rerank", "llm_api_key", "model_dir", "password", mode="before")
    @classmethod
    def _blank_is_none(cls, value):
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def models_path(self) -> Path:
        return self.model_dir or self.data_dir / "models"
