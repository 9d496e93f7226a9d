"""Query latency, memory and update time of askdocs' hybrid beside the textbook LangChain hybrid.

The textbook hybrid is what most tutorials (and Open WebUI) build: langchain-community's BM25Retriever
(whitespace split, rank-bm25 underneath) and a Chroma retriever in langchain-classic's EnsembleRetriever.
Both run over the same chunks and the same Chroma collection. Chunks are SciFact's real chunks and vectors
(from the `askdocs eval beir` store), replicated up to each size with a little noise on the vectors.

usage: python benchmarks/retrieval_scale.py [--sizes 10000,100000,1000000] [--queries 50]
                                           [--baseline-max 100000] [--json OUT] [--keep DIR]
--keep DIR builds each size's store and BM25 index under DIR/<size>/ once and reuses them on later runs
(a 1M-chunk Chroma store takes about half an hour to build on 2 cores).
Needs: pip install langchain-community langchain-classic (the `bench` extra).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SCIFACT = ROOT.parent / "shared/eval/beir/scifact"


def rss_mb() -> float:
    gc.collect()
    return psutil.Process().memory_info().rss / 2**20


def pct(values, q):
    from retrieval.metrics import percentile

    return round(percentile(values, q), 2)


def source_chunks(settings):
    """Real SciFact chunks (text, heading, vector) from the evaluation store; built by `askdocs eval` first."""
    from app.evaluate import eval_settings
    from app.wiring import make_embedder, open_store

    s = eval_settings(settings, SCIFACT)
    embedder = make_embedder(settings)
    with open_store(s, embedder) as store:
        got = store.chunks.get(include=["documents", "metadatas", "embeddings"])
    if not got["ids"]:
        raise SystemExit("run `askdocs eval beir ../shared/eval/beir/scifact` first: it builds the source chunks")
    return got["documents"], [m.get("heading", "") for m in got["metadatas"]], np.asarray(got["embeddings"]), embedder


def build_store(folder: Path, texts, headings, vectors, n: int, embedder, seed: int = 0):
    """A ChunkStore of n chunks written through the real write path, 100 chunks per document."""
    from ingest.store import ChunkStore
    from ingest.types import Chunk, DocumentRecord

    rng = np.random.default_rng(seed)
    store = ChunkStore.open(data_dir=folder, collection="bench", model_id=embedder.model_id,
                            dimension=embedder.dimension)
    batch, per_doc = [], 100
    for doc_no in range(0, n, per_doc):
        idx = [(doc_no + i) % len(texts) for i in range(min(per_doc, n - doc_no))]
        vecs = vectors[idx] + rng.normal(scale=0.02, size=(len(idx), vectors.shape[1]))
        vecs = (vecs / np.linalg.norm(vecs, axis=1, keepdims=True)).astype(np.float32)
        doc_id = f"doc{doc_no // per_doc:06d}"
        chunks = [Chunk(doc_id, doc_id, 1, 0, len(texts[j]), i, texts[j], "h") for i, j in enumerate(idx)]
        record = DocumentRecord(doc_id, "v1", doc_id, doc_id, "/", "text", "", 1, len(chunks), 0, 0.0, "bench")
        batch.append((record, chunks, vecs, [headings[j] for j in idx]))
        if len(batch) == 20:
            store.write_documents(batch)
            batch = []
    store.write_documents(batch)
    return store


def open_or_build_store(folder: Path, texts, headings, vectors, n: int, embedder):
    """(store, built): a kept store of exactly n committed chunks is reused, anything else rebuilt."""
    import shutil

    from ingest.store import ChunkStore

    if folder.exists():
        store = ChunkStore.open(data_dir=folder, collection="bench", model_id=embedder.model_id,
                                dimension=embedder.dimension)
        if store.count() == n and sum(r.chunks for r in store.documents()) == n:
            return store, False
        store.close()
        shutil.rmtree(folder)
    return build_store(folder, texts, headings, vectors, n, embedder), True


def textbook_hybrid(store, embedder, texts: list[str], k: int = 10, metadatas: list[dict] | None = None):
    from langchain_chroma import Chroma
    from langchain_classic.retrievers import EnsembleRetriever
    from langchain_community.retrievers import BM25Retriever
    from langchain_core.embeddings import Embeddings

    class Wrapped(Embeddings):
        def embed_documents(self, docs):
            return embedder.embed_documents(docs).tolist()

        def embed_query(self, text):
            return embedder.embed_query(text).tolist()

    bm25 = BM25Retriever.from_texts(texts, metadatas=metadatas, k=k)
    chroma = Chroma(client=store.client, collection_name=store.chunks.name, embedding_function=Wrapped())
    return EnsembleRetriever(retrievers=[bm25, chroma.as_retriever(search_kwargs={"k": k})], weights=[0.5, 0.5])


def time_queries(fn, queries) -> list[float]:
    fn(queries[0])  # warm-up
    out = []
    for q in queries:
        started = time.perf_counter()
        fn(q)
        out.append(1000 * (time.perf_counter() - started))
    return out


def update_time(store, bm25, embedder, tmp: Path, texts) -> dict:
    """Add one 20-page PDF to the index: parse + chunk + embed + Chroma commit, then the BM25 update + save."""
    from ingest.chunking import TokenChunker
    from ingest.pipeline import Ingestor
    from tests.pdfgen import make_pdf

    pdf = tmp / "new-report.pdf"
    pdf.write_bytes(make_pdf([" ".join(texts[i * 3 : i * 3 + 3]) for i in range(20)], title="New report"))
    ingestor = Ingestor(store, embedder, TokenChunker(embedder.tokenizer, 200, 30))
    started = time.perf_counter()
    report = ingestor.ingest([pdf])[0]
    ingest_s = time.perf_counter() - started
    started = time.perf_counter()
    bm25.sync()
    bm25_s = time.perf_counter() - started
    ingestor.remove([report.doc_id])  # leave a kept store as it was
    bm25.sync()
    return {"pages": report.pages, "chunks": report.chunks, "ingest_s": round(ingest_s, 2),
            "bm25_update_and_save_s": round(bm25_s, 2), "total_s": round(ingest_s + bm25_s, 2)}


def textbook_quality(settings, split: str = "test") -> dict:
    """nDCG@10 on SciFact of the textbook hybrid and of askdocs' hybrid, over the same chunks and Chroma store."""
    from app.evaluate import eval_settings, read_jsonl, read_qrels
    from app.wiring import make_embedder, make_retriever, open_store
    from retrieval.metrics import ndcg_at_k, unique_in_order

    s = eval_settings(settings, SCIFACT)
    qrels = read_qrels(SCIFACT / "qrels" / f"{split}.tsv")
    queries = [q for q in read_jsonl(SCIFACT / "queries.jsonl") if q["_id"] in qrels]
    embedder = make_embedder(settings)
    out = {}
    with open_store(s, embedder) as store:
        got = store.chunks.get(include=["documents", "metadatas"])
        texts = [f"{m.get('heading', '')}\n{t}" for t, m in zip(got["documents"], got["metadatas"])]
        textbook = textbook_hybrid(store, embedder, texts, metadatas=got["metadatas"])
        ours = make_retriever(s, embedder, store, load_reranker=False)
        for name, run in (("textbook", lambda q: [d.metadata.get("doc_id") for d in textbook.invoke(q)]),
                          ("askdocs", lambda q: [r.chunk.doc_id for r in ours.retrieve(q, 10, "hybrid").results])):
            scores = [ndcg_at_k(unique_in_order([d for d in run(q["text"]) if d]), qrels[q["_id"]], 10)
                      for q in queries]
            out[f"{name}_ndcg@10"] = round(statistics.fmean(scores), 4)
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--baseline-max", type=int, default=100000, help="largest size to run the textbook at")
    parser.add_argument("--json")
    parser.add_argument("--quality", action="store_true", help="also compare nDCG@10 on SciFact test")
    parser.add_argument("--keep", help="build the stores under this folder once and reuse them")
    args = parser.parse_args()

    from app.evaluate import read_jsonl
    from app.settings import Settings
    from retrieval.hybrid import FusionConfig, HybridRetriever
    from retrieval.keyword import BM25Retriever
    from retrieval.vector import VectorRetriever

    settings = Settings()
    texts, headings, vectors, embedder = source_chunks(settings)
    queries = [q["text"] for q in read_jsonl(SCIFACT / "queries.jsonl")][: args.queries]
    report = {"source_chunks": len(texts), "queries": len(queries), "sizes": {}}
    if args.quality:
        report["quality"] = textbook_quality(settings)
        print(json.dumps(report["quality"]), flush=True)
    for n in [int(s) for s in args.sizes.split(",")]:
        row: dict = {}
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            folder = Path(args.keep) / str(n) if args.keep else tmp
            base = rss_mb()
            started = time.perf_counter()
            store, built = open_or_build_store(folder / "store", texts, headings, vectors, n, embedder)
            row["chroma_build_s" if built else "chroma_open_s"] = round(time.perf_counter() - started, 1)
            row["chroma_rss_mb"] = round(rss_mb() - base, 1)
            base = rss_mb()
            started = time.perf_counter()
            bm25 = BM25Retriever(store, folder / "bm25")
            bm25.sync()
            row["bm25_build_s"] = round(time.perf_counter() - started, 1)
            row["bm25_rss_mb"] = round(rss_mb() - base, 1)
            ours = HybridRetriever(VectorRetriever(store, embedder), bm25, FusionConfig())
            ms = time_queries(lambda q: ours.retrieve(q, 10, "hybrid"), queries)
            row["askdocs_hybrid_p50_ms"], row["askdocs_hybrid_p95_ms"] = pct(ms, 50), pct(ms, 95)
            ms = time_queries(lambda q: bm25.retrieve(q, 10), queries)
            row["askdocs_bm25_p50_ms"] = pct(ms, 50)
            ms = time_queries(lambda q: ours.vector.retrieve(q, 10), queries)
            row["askdocs_vector_p50_ms"] = pct(ms, 50)
            if n <= args.baseline_max:
                base = rss_mb()
                started = time.perf_counter()
                all_texts = [f"{headings[i % len(texts)]}\n{texts[i % len(texts)]}" for i in range(n)]
                textbook = textbook_hybrid(store, embedder, all_texts)
                row["textbook_build_s"] = round(time.perf_counter() - started, 1)
                row["textbook_bm25_rss_mb"] = round(rss_mb() - base, 1)
                ms = time_queries(textbook.invoke, queries[: max(5, len(queries) // (1 + n // 100000))])
                row["textbook_p50_ms"], row["textbook_p95_ms"] = pct(ms, 50), pct(ms, 95)
                row["speedup_p50"] = round(row["textbook_p50_ms"] / row["askdocs_hybrid_p50_ms"], 1)
                del textbook, all_texts
            if n == 100000:
                row["add_20_page_pdf"] = update_time(store, bm25, embedder, tmp, texts)
            store.close()
        report["sizes"][n] = row
        print(json.dumps({n: row}), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
