"""A process killed during ingest leaves a consistent store, and re-running completes the same way."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest.chunking import TokenChunker
from ingest.pipeline import Ingestor
from ingest.store import ChunkStore
from tests.files import write_pdf

ROOT = Path(__file__).resolve().parents[1]


def _folder(tmp_path: Path, n: int = 5, pages: int = 3) -> Path:
    folder = tmp_path / "batch"
    folder.mkdir(parents=True)
    for i in range(n):
        write_pdf(folder / f"doc{i}.pdf",
                  [f"Document {i} page {p}. " + f"Fact {i}-{p} about widgets and gears. " * 40 for p in range(pages)])
    return folder


def _run(store_args: dict, folder: Path, point: str, n: int, timeout: float = 240):
    return subprocess.run([sys.executable, "-m", "tests.crash_ingest", json.dumps(store_args), str(folder), point,
                           str(n)], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def _assert_consistent(store: ChunkStore, embedder) -> None:
    """Every committed document is whole, nothing else is visible, and no orphan chunk is left."""
    records = store.documents()
    visible = list(store.iter_chunks())
    for record in records:
        mine = [c for c in visible if c.chunk.doc_id == record.doc_id]
        assert len(mine) == record.chunks, f"{record.doc_id}: {len(mine)} chunks, catalog says {record.chunks}"
        assert sorted(c.chunk.index for c in mine) == list(range(record.chunks))
    assert {c.chunk.doc_id for c in visible} <= {r.doc_id for r in records}
    assert store.count() == sum(r.chunks for r in records), "orphan chunks left after recovery"
    for hit in store.query(embedder.embed_query("facts about widgets"), k=50):
        assert hit.chunk.doc_id in {r.doc_id for r in records}


def _summary(store: ChunkStore) -> dict:
    return {r.doc_id: (r.version, r.chunks) for r in store.documents()}


@pytest.fixture
def reference(tmp_path, embedder):
    """The store an uninterrupted run produces."""
    folder = _folder(tmp_path / "ref")
    with ChunkStore.open(data_dir=tmp_path / "ref-store", collection="crash", model_id=embedder.model_id,
                         dimension=embedder.dimension) as store:
        Ingestor(store, embedder, TokenChunker(embedder.tokenizer, 60, 10)).ingest([folder])
        return _summary(store)


@pytest.mark.parametrize("n", [1, 3])
def test_kill_before_a_commit(tmp_path, embedder, reference, n):
    point = "before-commit"
    folder = _folder(tmp_path)
    store_args = {"data_dir": str(tmp_path / "store"), "collection": "crash"}
    result = _run(store_args, folder, point, n)
    assert result.returncode == -signal.SIGKILL, result.stderr[-2000:]
    with ChunkStore.open(model_id=embedder.model_id, dimension=embedder.dimension, **store_args) as store:
        _assert_consistent(store, embedder)
        committed = len(store.documents())
        assert committed == n - 1
        reports = Ingestor(store, embedder, TokenChunker(embedder.tokenizer, 60, 10)).ingest([folder])
        assert sum(r.status == "added" for r in reports) == 5 - committed
        _assert_consistent(store, embedder)
        assert _summary(store) == reference


@pytest.mark.parametrize("point", ["before-commit", "after-commit"])
def test_kill_during_an_update_keeps_old_or_new_version(tmp_path, embedder, point):
    folder = _folder(tmp_path, n=3)
    store_args = {"data_dir": str(tmp_path / "store"), "collection": "crash"}
    assert _run(store_args, folder, "none", 0).returncode == 0
    with ChunkStore.open(model_id=embedder.model_id, dimension=embedder.dimension, **store_args) as store:
        before = _summary(store)
    write_pdf(folder / "doc1.pdf", ["Rewritten page about sprockets. " * 30])
    result = _run(store_args, folder, point, 1)
    assert result.returncode == -signal.SIGKILL
    with ChunkStore.open(model_id=embedder.model_id, dimension=embedder.dimension, **store_args) as store:
        _assert_consistent(store, embedder)
        texts = [c.chunk.text for c in store.iter_chunks(["doc1.pdf"])]
        if point == "before-commit":
            assert _summary(store) == before, "the old version stays whole until the new one commits"
            assert texts and not any("sprockets" in t for t in texts)
        else:
            assert _summary(store)["doc1.pdf"] != before["doc1.pdf"]
            assert texts and all("sprockets" in t for t in texts), "the new version alone, old chunks cleaned"


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.3, 1.0, 2.5])
def test_kill_at_random_moments(tmp_path, embedder, reference, delay):
    """SIGKILL from outside while files are being parsed, embedded and written."""
    folder = _folder(tmp_path)
    store_args = {"data_dir": str(tmp_path / "store"), "collection": "crash"}
    proc = subprocess.Popen([sys.executable, "-m", "tests.crash_ingest", json.dumps(store_args), str(folder),
                             "none", "0"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "START"
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    with ChunkStore.open(model_id=embedder.model_id, dimension=embedder.dimension, **store_args) as store:
        _assert_consistent(store, embedder)
        Ingestor(store, embedder, TokenChunker(embedder.tokenizer, 60, 10)).ingest([folder])
        _assert_consistent(store, embedder)
        assert _summary(store) == reference
