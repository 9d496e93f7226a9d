import json

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from retrieval.bm25 import BM25Index
from retrieval.tokenize import tokenize
from tests.conftest import shared_path


@pytest.fixture(scope="module")
def scifact():
    root = shared_path("eval", "beir", "scifact")
    with open(root / "corpus.jsonl") as fh:
        docs = [json.loads(line) for line in fh][:2000]
    with open(root / "queries.jsonl") as fh:
        queries = [json.loads(line)["text"] for line in fh][:60]
    return docs, queries


def _text(d):
    return d["title"] + "\n" + d["text"]


def _reference_top(ref, docs, query, k=10):
    scores = ref.get_scores(tokenize(query))
    top = np.argsort(-scores, kind="stable")[:k]
    return [docs[i]["_id"] for i in top if scores[i] > 0], scores


def test_same_top10_and_scores_as_rank_bm25(scifact):
    docs, queries = scifact
    ref = BM25Okapi([tokenize(_text(d)) for d in docs])
    index = BM25Index()
    third = len(docs) // 3  # several segments must score as one corpus
    for part in (docs[:third], docs[third : 2 * third], docs[2 * third :]):
        index.add_documents([(d["_id"], "v1", [d["_id"]], [_text(d)]) for d in part])
    for query in queries:
        expected, scores = _reference_top(ref, docs, query)
        hits = index.search(query, 10)
        assert [h.chunk_id for h in hits] == expected, query
        assert [h.score for h in hits] == pytest.approx(sorted(scores, reverse=True)[: len(hits)], rel=1e-6)


def test_replace_remove_and_compact_match_a_fresh_build(scifact, tmp_path):
    docs, queries = scifact
    docs = docs[:400]
    index = BM25Index()
    for d in docs:
        index.add_document(d["_id"], "v1", [d["_id"]], [_text(d)])
    edited = {d["_id"]: "completely different words about zebra migration" for d in docs[:20]}
    for doc_id, text in edited.items():
        index.add_document(doc_id, "v2", [doc_id], [text])
    removed = [d["_id"] for d in docs[20:60]]
    for doc_id in removed:
        assert index.remove_document(doc_id)
    assert not index.remove_document("no-such-doc")

    live = [(d["_id"], edited.get(d["_id"], _text(d))) for d in docs if d["_id"] not in removed]
    fresh = BM25Index()
    fresh.add_documents([(i, "x", [i], [t]) for i, t in live])
    assert len(index) == len(fresh) == len(live)
    for query in queries[:20] + ["zebra migration"]:
        assert [h.chunk_id for h in index.search(query, 10)] == [h.chunk_id for h in fresh.search(query, 10)]

    index.save(tmp_path / "bm25")
    loaded = BM25Index.load(tmp_path / "bm25")
    assert loaded.versions() == index.versions()
    index.compact()
    assert len(index.segments) == 1
    for query in queries[:20]:
        expected = [h.chunk_id for h in fresh.search(query, 10)]
        assert [h.chunk_id for h in index.search(query, 10)] == expected
        assert [h.chunk_id for h in loaded.search(query, 10)] == expected


def test_filter_and_persistence_leave_no_stray_files(tmp_path):
    index = BM25Index()
    index.add_document("a", "1", ["a-0", "a-1"], ["gear box oil", "gear teeth"])
    index.add_document("b", "1", ["b-0"], ["gear ratio table"])
    assert {h.doc_id for h in index.search("gear", 10, doc_ids=["b"])} == {"b"}
    assert index.search("gear", 10, doc_ids=[]) == []
    assert index.search("unknownword", 10) == []
    folder = tmp_path / "idx"
    index.save(folder)
    index.add_document("a", "2", ["a2-0"], ["replaced text"])
    for n in range(20):
        index.add_document(f"c{n}", "1", [f"c{n}-0"], [f"filler {n}"])
    index.save(folder)  # many segments: compacts on save
    files = sorted(p.name for p in folder.iterdir())
    assert files == [".lock", "manifest.json"] + [f"{s.name}.npz" for s in index.segments]  # .lock: saves take turns
    again = BM25Index.load(folder)
    assert [h.chunk_id for h in again.search("replaced", 5)] == ["a2-0"]
    assert again.search("oil", 5) == []


def test_corrupt_manifest_loads_empty(tmp_path):
    (tmp_path / "manifest.json").write_text("{not json")
    assert len(BM25Index.load(tmp_path)) == 0
