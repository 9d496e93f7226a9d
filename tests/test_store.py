import subprocess
import sys

import numpy as np
import pytest

from ingest.errors import EmbeddingModelMismatchError, StoreLockedError
from ingest.store import EF_SEARCH, ChunkStore
from ingest.types import Chunk, DocumentRecord


def _record(doc_id: str, version: str, chunks: int) -> DocumentRecord:
    return DocumentRecord(doc_id=doc_id, version=version, source=doc_id, path=f"/x/{doc_id}", root="/x",
                          kind="text", title="", pages=1, chunks=chunks, size_bytes=10, ingested_at=1.0,
                          pipeline="p", warnings=["w"])


def _chunks(doc_id: str, texts: list[str]) -> list[Chunk]:
    return [Chunk(doc_id, doc_id, 1, 0, len(t), i, t, f"h{i}") for i, t in enumerate(texts)]


def _vectors(n: int, dim: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_write_read_replace_remove(store):
    dim = store.dimension
    store.write_document(_record("a.txt", "v1", 3), _chunks("a.txt", ["x", "y", "z"]), _vectors(3, dim, 1))
    store.write_document(_record("b.txt", "v1", 2), _chunks("b.txt", ["p", "q"]), _vectors(2, dim, 2))
    assert [r.doc_id for r in store.documents()] == ["a.txt", "b.txt"]
    assert store.document("a.txt").warnings == ["w"]
    assert store.count() == 5

    vectors = _vectors(2, dim, 3)
    store.write_document(_record("a.txt", "v2", 2), _chunks("a.txt", ["new1", "new2"]), vectors)
    assert store.document("a.txt").version == "v2"
    assert sorted(c.chunk.text for c in store.iter_chunks(["a.txt"])) == ["new1", "new2"]
    assert store.count() == 4, "the old version's chunks are gone"

    hits = store.query(vectors[1], k=1)
    assert hits[0].chunk.text == "new2" and hits[0].cosine == pytest.approx(1.0, abs=1e-4)
    only_b = store.query(vectors[1], k=5, doc_ids=["b.txt"])
    assert {h.chunk.doc_id for h in only_b} == {"b.txt"}

    assert store.remove_document("a.txt") is True
    assert store.remove_document("a.txt") is False
    assert [r.doc_id for r in store.documents()] == ["b.txt"] and store.count() == 2


def test_uncommitted_chunks_are_invisible_and_recovered(store):
    """A crash between staging chunks and the commit leaves chunks nobody may see."""
    dim = store.dimension
    store.write_document(_record("a.txt", "v1", 1), _chunks("a.txt", ["old"]), _vectors(1, dim, 1))
    staged = _vectors(2, dim, 9)
    store._journal([("a.txt", "v2")])
    store.chunks.upsert(ids=["staged-0", "staged-1"], embeddings=staged, documents=["half", "done"],
                        metadatas=[{"doc_id": "a.txt", "source": "a.txt", "page": 1, "start": 0, "end": 4,
                                    "chunk_index": i, "content_hash": "h", "version": "v2", "heading": ""}
                                   for i in range(2)])
    assert [h.chunk.text for h in store.query(staged[0], k=5)] == ["old"]
    assert [c.chunk.text for c in store.iter_chunks()] == ["old"]
    assert store.recover() == ["a.txt"]
    assert store.count() == 1 and store.recover() == []


def test_model_mismatch_is_refused(store_location, embedder):
    first = ChunkStore.open(model_id="model-a", dimension=384, **store_location)
    first.close()
    with pytest.raises(EmbeddingModelMismatchError, match="model-a"):
        ChunkStore.open(model_id="model-b", dimension=384, **store_location)
    with pytest.raises(EmbeddingModelMismatchError, match="dimension"):
        ChunkStore.open(model_id="model-a", dimension=768, **store_location)


def test_the_vector_search_walks_500_candidates_in_new_and_older_stores(store_location):
    # Chroma's default ef_search (100) made the top 100 approximate and different from process to process.
    def ef(store):
        return store.chunks.configuration_json["hnsw"]["ef_search"]

    old = ChunkStore.open(model_id="m", dimension=8, ef_search=100, **store_location)
    assert ef(old) == 100
    old.close()
    store = ChunkStore.open(model_id="m", dimension=8, **store_location)
    assert ef(store) == EF_SEARCH >= 400, "a store made before is set to the default when opened"
    store.close()


def test_second_process_is_refused_quickly(tmp_path):
    with ChunkStore.open(data_dir=tmp_path, collection="locked", model_id="m", dimension=4):
        code = (
            "import sys, time; from ingest.store import ChunkStore\n"
            "t = time.monotonic()\n"
            "try:\n"
            f"    ChunkStore.open(data_dir={str(tmp_path)!r}, collection='locked', model_id='m', dimension=4)\n"
            "except Exception as e:\n"
            "    print(type(e).__name__, round(time.monotonic() - t, 2), e)\n"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    name, seconds, message = out.split(" ", 2)
    assert name == StoreLockedError.__name__
    assert float(seconds) < 2 and "ASKDOCS_CHROMA_URL" in message
    ChunkStore.open(data_dir=tmp_path, collection="locked", model_id="m", dimension=4).close()
