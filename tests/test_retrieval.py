import numpy as np
import pytest

from retrieval.hybrid import FusionConfig, HybridRetriever
from retrieval.keyword import BM25Retriever
from retrieval.rerank import CrossEncoderReranker
from retrieval.vector import VectorRetriever
from tests.files import write_pdf

DOCS = {
    "gearbox.txt": "Gearbox maintenance: replace the grease every 10,000 operating hours.",
    "codes.txt": "Fault code SK-220-E7 means the joint encoder lost its reference position.",
    "leave.txt": "Employees receive twenty-seven days of paid holiday per calendar year.",
    "travel.txt": "The per diem for meals is forty-five euros for each full travel day.",
}


@pytest.fixture
def corpus(ingestor, store, tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name, text in DOCS.items():
        (folder / name).write_text(text)
    write_pdf(folder / "manual.pdf")
    ingestor.ingest([folder])
    return folder


@pytest.fixture
def retriever(store, embedder, corpus, tmp_path):
    bm25 = BM25Retriever(store, tmp_path / "bm25")
    bm25.sync()
    return HybridRetriever(VectorRetriever(store, embedder), bm25, FusionConfig(
        method="rrf", bm25_weight=1.0, vector_weight=1.0, bm25_candidates=10, vector_candidates=10))


def test_each_mode_and_its_breakdown(retriever):
    exact = retriever.retrieve("SK-220-E7", 3, "bm25")
    assert exact.results[0].chunk.doc_id == "codes.txt"
    assert exact.results[0].breakdown.bm25_rank == 1 and exact.results[0].breakdown.vector_rank is None

    para = retriever.retrieve("how much vacation do staff get each year", 3, "vector")
    assert para.results[0].chunk.doc_id == "leave.txt"
    assert para.results[0].breakdown.vector_cosine > 0.3 and para.results[0].breakdown.bm25_rank is None

    hybrid = retriever.retrieve("meal allowance per travel day", 5, "hybrid")
    top = hybrid.results[0]
    assert top.chunk.doc_id == "travel.txt"
    b = top.breakdown
    assert b.bm25_rank is not None and b.vector_rank is not None and b.fused_score == top.score
    assert b.fused_score == pytest.approx(1 / (60 + b.bm25_rank) + 1 / (60 + b.vector_rank))
    assert [r.score for r in hybrid.results] == sorted((r.score for r in hybrid.results), reverse=True)
    assert set(hybrid.timings_ms) == {"bm25", "vector", "fusion"}


def test_convex_fusion_breakdown(retriever):
    retriever.config = FusionConfig(method="convex", bm25_weight=0.5, vector_weight=0.5, bm25_candidates=10,
                                    vector_candidates=10)
    found = retriever.retrieve("meal allowance per travel day", 5, "hybrid")
    top = found.results[0]
    assert top.chunk.doc_id == "travel.txt" and 0 < top.score <= 1.0
    assert top.breakdown.fused_score == top.score


def test_document_filter(retriever):
    found = retriever.retrieve("maintenance grease encoder holiday", 10, "hybrid", doc_ids=["manual.pdf", "leave.txt"])
    assert found.results and {r.chunk.doc_id for r in found.results} <= {"manual.pdf", "leave.txt"}
    for mode in ("bm25", "vector"):
        assert {r.chunk.doc_id for r in retriever.retrieve("grease", 5, mode, ["codes.txt"]).results} <= {"codes.txt"}


def test_rerank_without_a_reranker_says_so(retriever):
    found = retriever.retrieve("grease", 3, "rerank")
    assert found.mode == "hybrid" and "no reranker is configured" in found.notes[0]
    assert all(r.breakdown.rerank_score is None for r in found.results)


def test_bm25_follows_chroma_through_add_replace_remove(ingestor, store, retriever, corpus, tmp_path):
    bm25 = retriever.bm25
    (corpus / "leave.txt").write_text("Holiday entitlement changed: thirty days from 2027.")
    (corpus / "new.txt").write_text("The cafeteria opens at eight.")
    (corpus / "codes.txt").unlink()
    ingestor.ingest([corpus], sync=True)
    result = bm25.sync()
    assert (result.added, result.removed) == (2, 2)
    assert bm25.index.versions() == store.committed_versions()
    assert "codes.txt" not in {r.chunk.doc_id for r in retriever.retrieve("SK-220-E7", 5, "bm25").results}
    assert retriever.retrieve("cafeteria", 1, "bm25").results[0].chunk.doc_id == "new.txt"
    assert "thirty" in retriever.retrieve("holiday entitlement", 1, "bm25").results[0].chunk.text
    reloaded = BM25Retriever(store, tmp_path / "bm25")
    assert reloaded.index.versions() == store.committed_versions()
    assert reloaded.sync().added == 0


@pytest.fixture(scope="session")
def tiny_cross_encoder(tmp_path_factory, embedder):
    """A real CrossEncoder built from the packaged MiniLM backbone (its head is untrained)."""
    import torch
    from sentence_transformers import CrossEncoder

    from ingest.embedding import resolve_model

    torch.manual_seed(0)
    model = CrossEncoder(resolve_model("all-MiniLM-L6-v2"), num_labels=1, max_length=128)
    path = tmp_path_factory.mktemp("cross-encoder") / "model"
    model.save(str(path))
    return str(path)


def test_rerank_stage_orders_by_cross_encoder_scores(retriever, tiny_cross_encoder):
    reranker = CrossEncoderReranker(tiny_cross_encoder, batch_size=2, max_length=128)
    retriever.reranker, retriever.reranker_problem = reranker, None
    retriever.config = FusionConfig(bm25_candidates=10, vector_candidates=10, rerank_candidates=5)  # convex
    hybrid = retriever.retrieve("grease maintenance", 5, "hybrid").results
    found = retriever.retrieve("grease maintenance", 3, "rerank")
    assert found.mode == "rerank" and not found.notes and "rerank" in found.timings_ms
    expected = reranker.score("grease maintenance", [c.context_text for c in hybrid])
    order = sorted(range(len(hybrid)), key=lambda i: -expected[i])[:3]
    assert [r.id for r in found.results] == [hybrid[i].id for i in order]
    for r in found.results:
        assert r.breakdown.rerank_score == pytest.approx(r.score) and r.breakdown.fused_score is not None
    deep = retriever.retrieve("grease maintenance", 7, "rerank").results
    hybrid7 = retriever.retrieve("grease maintenance", 7, "hybrid").results
    assert [r.id for r in deep[5:]] == [r.id for r in hybrid7[5:]], "past the reranked head, hybrid order"
    assert {r.id for r in deep[:5]} == {r.id for r in hybrid7[:5]}


def test_rerank_weight_blends_cross_encoder_and_hybrid_scores(retriever, tiny_cross_encoder):
    from retrieval.rerank import zscore

    with pytest.raises(ValueError, match="weight must be between 0 and 1"):
        CrossEncoderReranker(tiny_cross_encoder, weight=1.5)
    retriever.config = FusionConfig(bm25_candidates=10, vector_candidates=10, rerank_candidates=6)
    query = "grease maintenance"
    hybrid = retriever.retrieve(query, 6, "hybrid").results
    reranker = CrossEncoderReranker(tiny_cross_encoder, batch_size=4, max_length=128, weight=0.5)
    retriever.reranker, retriever.reranker_problem = reranker, None
    logits = reranker.logits(query, [c.context_text for c in hybrid])
    blend = 0.5 * zscore(logits) + 0.5 * zscore(np.array([c.score for c in hybrid]))
    found = retriever.retrieve(query, 6, "rerank")
    assert [r.id for r in found.results] == [hybrid[i].id for i in np.argsort(-blend, kind="stable")]
    assert found.best_rerank == pytest.approx(max(r.breakdown.rerank_score for r in found.results))
    for r in found.results:  # the shown rerank score stays the cross-encoder's own, a probability
        assert 0.0 < r.breakdown.rerank_score < 1.0
    reranker.weight = 0.0
    assert [r.id for r in retriever.retrieve(query, 6, "rerank").results] == [r.id for r in hybrid]
    assert zscore(np.array([2.0, 2.0])).tolist() == [0.0, 0.0]


def test_a_missing_reranker_model_is_reported(tmp_path, monkeypatch):
    from app.settings import Settings
    from app.wiring import make_reranker

    reranker, problem = make_reranker(Settings(rerank_model=str(tmp_path / "does-not-exist")))
    assert reranker is None and "failed to load" in problem


def test_check_finds_disagreement_and_rebuild_repairs_it(store, retriever):
    bm25 = retriever.bm25
    assert bm25.check() == []
    bm25.index.remove_document("leave.txt")
    bm25.index.add_document("ghost.txt", "v0", ["ghost-0"], ["boo"])
    problems = bm25.check()
    assert "leave.txt: in Chroma, missing from BM25" in problems
    assert "ghost.txt: in BM25, gone from Chroma" in problems
    result = bm25.rebuild()
    assert bm25.check() == [] and result.added == len(store.documents())
