"""Shared fixtures: the real packaged embedder (loaded once), Chroma embedded and as a real server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from ingest.chunking import TokenChunker
from ingest.embedding import Embedder
from ingest.pipeline import Ingestor, Limits
from ingest.store import ChunkStore

SHARED = Path(__file__).resolve().parents[2] / "shared"
if not SHARED.exists():  # the repository may be checked out elsewhere; ../shared is beside its root
    SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"evaluation material not found at {path} (see ../shared/eval/README.md)")
    return path


def small_library(folder: Path, docs: dict[str, str], embedder, chunker, collection: str):
    """A real store over `docs` ({file name: text}) and a hybrid retriever over it (five candidates a side);
    yields the retriever (use with `yield from` in a fixture: the store closes after it)."""
    from retrieval.hybrid import FusionConfig, HybridRetriever
    from retrieval.keyword import BM25Retriever
    from retrieval.vector import VectorRetriever

    for name, text in docs.items():
        (folder / name).write_text(text)
    store = ChunkStore.open(data_dir=folder / "store", collection=collection, model_id=embedder.model_id,
                            dimension=embedder.dimension)
    Ingestor(store, embedder, chunker).ingest([folder / n for n in docs])
    bm25 = BM25Retriever(store)
    bm25.sync(save=False)
    yield HybridRetriever(VectorRetriever(store, embedder), bm25, FusionConfig(bm25_candidates=5, vector_candidates=5))
    store.close()


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return Embedder("all-MiniLM-L6-v2", dtype="float32")


@pytest.fixture(scope="session")
def chunker(embedder) -> TokenChunker:
    return TokenChunker(embedder.tokenizer, chunk_tokens=120, overlap_tokens=20)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """URL of a real `chroma run` server on loopback (ASKDOCS_TEST_CHROMA_URL reuses a running one)."""
    url = os.environ.get("ASKDOCS_TEST_CHROMA_URL")
    if url:
        yield url
        return
    exe = shutil.which("chroma") or str(Path(os.sys.executable).parent / "chroma")
    port = _free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    log = open(path / "server.log", "w")
    proc = subprocess.Popen([exe, "run", "--path", str(path / "db"), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"chroma run exited: {(path / 'server.log').read_text()}")
            time.sleep(0.2)
    else:
        proc.kill()
        raise RuntimeError("chroma run did not start within 30 s")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)


@pytest.fixture(params=["embedded", "server"])
def store_location(request, tmp_path):
    """Keyword arguments for ChunkStore.open: an embedded store in a temp folder, or a fresh collection on a
    real Chroma server."""
    collection = f"t-{uuid.uuid4().hex[:12]}"
    if request.param == "server":
        return {"url": request.getfixturevalue("chroma_server"), "collection": collection}
    return {"data_dir": tmp_path / "store", "collection": collection}


@pytest.fixture
def store(store_location, embedder):
    s = ChunkStore.open(model_id=embedder.model_id, dimension=embedder.dimension, **store_location)
    yield s
    s.close()


@pytest.fixture
def ingestor(store, embedder, chunker) -> Ingestor:
    return Ingestor(store, embedder, chunker, Limits(parse_timeout_s=60))
