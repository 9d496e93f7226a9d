import pytest

from retrieval.fusion import convex_combination, min_max, reciprocal_rank_fusion


def test_rrf_arithmetic():
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "d"]], k=60)
    assert fused["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert fused["a"] == pytest.approx(1 / 61)
    assert fused["d"] == pytest.approx(1 / 62)
    assert max(fused, key=fused.get) == "b"


def test_rrf_weights():
    fused = reciprocal_rank_fusion([["a"], ["b"]], k=0, weights=[1.0, 3.0])
    assert fused == {"a": 1.0, "b": 3.0}
    with pytest.raises(ValueError, match="2 weights for 1"):
        reciprocal_rank_fusion([["a"]], weights=[1, 2])


def test_min_max_and_convex():
    assert min_max({"a": 2.0, "b": 4.0, "c": 3.0}) == {"a": 0.0, "b": 1.0, "c": 0.5}
    assert min_max({"a": 5.0}) == {"a": 1.0}
    fused = convex_combination([{"a": 10.0, "b": 0.0}, {"b": 0.9, "c": 0.1}], weights=[0.25, 0.75])
    assert fused == pytest.approx({"a": 0.25, "b": 0.75, "c": 0.0})
    with pytest.raises(ValueError, match="weights"):
        convex_combination([{"a": 1.0}], weights=[0.0])


def test_page_cap_keeps_the_best_chunks_of_each_page_of_a_many_page_document():
    from ingest.types import Chunk
    from retrieval.hybrid import FusionConfig, cap_per_page
    from retrieval.types import ScoredChunk

    def result(doc, page, n):
        return ScoredChunk(f"{doc}:{page}:{n}", Chunk(doc, doc, page, 0, 1, n, "x", "h"), 1.0 / (n + 1))

    ranked = [result("report.pdf", 37, 0), result("report.pdf", 37, 1), result("report.pdf", 37, 2),
              result("notes.md", 1, 3), result("notes.md", 1, 4), result("notes.md", 1, 5),
              result("report.pdf", 38, 6), result("report.pdf", 37, 7)]
    assert [r.id for r in cap_per_page(ranked, 2)] == ["report.pdf:37:0", "report.pdf:37:1", "notes.md:1:3",
                                                       "notes.md:1:4", "notes.md:1:5", "report.pdf:38:6"]
    assert [r.chunk.page for r in cap_per_page(ranked, 1) if r.chunk.doc_id == "report.pdf"] == [37, 38]
    with pytest.raises(ValueError):
        FusionConfig(chunks_per_page=-1)


def test_spread_over_documents_moves_a_documents_extra_chunks_behind_the_others():
    from ingest.types import Chunk
    from retrieval.hybrid import spread_over_documents
    from retrieval.types import ScoredChunk

    def result(doc, n, page=None):
        return ScoredChunk(f"{doc}:{n}", Chunk(doc, doc, n if page is None else page, 0, 1, n, "x", "h"), 1 / (n + 1))

    ranked = [result("a", 0), result("a", 1), result("a", 2), result("b", 3), result("a", 4), result("c", 5)]
    assert [r.id for r in spread_over_documents(ranked, 2)] == ["a:0", "a:1", "b:3", "c:5", "a:2", "a:4"]
    assert [r.id for r in spread_over_documents(ranked, 1)] == ["a:0", "b:3", "c:5", "a:1", "a:2", "a:4"]
    assert len(spread_over_documents(ranked[:3], 1)) == 3, "a single document keeps all its chunks"
    one_page = [result("notes.md", 0, 1), result("notes.md", 1, 1), result("notes.md", 2, 1), result("b", 3)]
    assert spread_over_documents(one_page, 1) == one_page, "a one-page document's chunks are one passage"


def test_unrouted_fusion_weights():
    from retrieval.hybrid import FusionConfig

    cfg = FusionConfig(bm25_weight=0.5, vector_weight=0.5, unrouted_bm25_weight=0.6)
    assert (cfg.unrouted().bm25_weight, cfg.unrouted().vector_weight) == pytest.approx((0.6, 0.4))
    assert FusionConfig().unrouted() == FusionConfig(), "no unrouted weight: the same fusion"
    with pytest.raises(ValueError):
        FusionConfig(unrouted_bm25_weight=1.5)
    with pytest.raises(ValueError):
        FusionConfig(chunks_per_document=-1)


def test_phrase_share_counts_adjacent_query_terms_adjacent_in_the_chunk():
    from retrieval.phrases import PhraseScorer

    scorer = PhraseScorer(cache_size=2)
    texts = {"label": "Payroll and incentive compensation $ 3,009 $ 1,937",
             "scattered": "Incentive pay is set by the committee; payroll taxes and deferred compensation follow.",
             "none": "Real estate taxes 398 398"}
    shares = scorer.scores("What is the value of payroll and incentive compensation in 2019?", texts)
    # query pairs (stop words out): value-payrol, payrol-incent, incent-compens, compens-2019
    assert shares == {"label": 0.5, "scattered": 0.0, "none": 0.0}
    assert scorer.scores("payroll", texts) == {"label": 0.0, "scattered": 0.0, "none": 0.0}, "one term: no pairs"
    assert len(scorer._pairs) == 2, "the cache keeps at most cache_size chunks"


def test_phrase_evidence_reorders_the_fused_head_of_long_documents():
    from ingest.store import StoredChunk
    from ingest.types import Chunk
    from retrieval.hybrid import FusionConfig, HybridRetriever

    text = {"other": "Finished products and raw goods of the other report", "label": "Finished goods 4,512 3,977",
            "abstract": "Finished goods of a one-page note", "far": "Revenue by region"}
    page = {"other": 2, "label": 3, "abstract": 1, "far": 2}  # "abstract" is a one-page document

    class Store:  # a ChunkStore's get_chunks: the texts of the fused head
        def get_chunks(self, ids):
            return {i: StoredChunk(i, Chunk(i, i, page[i], 0, 1, 0, text[i], "h"), "") for i in ids}

    class Vector:
        store = Store()

    retriever = HybridRetriever(Vector(), bm25=None, config=FusionConfig(phrase_weight=0.5))
    keyword = [("other", 10.0), ("abstract", 9.5), ("label", 9.0), ("far", 1.0)]
    semantic = [("other", 0.6), ("abstract", 0.58), ("label", 0.55), ("far", 0.2)]
    fused_only = ["other", "abstract", "label", "far"]
    assert [r.id for r in retriever.fuse(keyword, semantic, 4, FusionConfig())] == fused_only
    found = retriever.fuse(keyword, semantic, 4, query="What is the value of finished goods in 2019?")
    assert [r.id for r in found] == ["label", "other", "abstract", "far"], "only 'label' holds finish-good"
    assert [r.breakdown.phrase_share and round(r.breakdown.phrase_share, 2) for r in found] == [0.33, 0.0, None, 0.0]
    assert [r.id for r in retriever.fuse(keyword, semantic, 4)] == fused_only, "no query: no phrases"
