"""Chroma storage of chunks, with a catalog of committed documents so readers never see half a document.

Write order for a document: journal entry -> new chunks (ids carry the version) -> catalog record (the commit
point, one Chroma upsert) -> delete the other versions' chunks -> drop the journal entry. Readers keep only
chunks whose version is the catalog's, and a writer opening the store replays leftover journal entries.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from urllib.parse import urlparse

import numpy as np

from ingest.errors import EmbeddingModelMismatchError, StoreLockedError, StoreUnavailableError
from ingest.profile import DocumentProfile
from ingest.types import Chunk, DocumentRecord, WordBox

logger = logging.getLogger(__name__)

_DUMMY = [1.0]  # catalog records need a vector; they are never searched by it
_GENERATION = "meta:generation"  # changes with every commit, so readers can cache the catalog


@dataclass(frozen=True)
class StoredChunk:
    """A committed chunk read back from the store."""

    id: str
    chunk: Chunk
    heading: str

    @property
    def context_text(self) -> str:
        """What BM25 indexes (and phrase evidence reads): heading, then chunk text."""
        return f"{self.heading}\n{self.chunk.text}" if self.heading else self.chunk.text


@dataclass(frozen=True)
class VectorHit:
    id: str
    chunk: Chunk
    heading: str
    cosine: float


def connect(data_dir: str | Path | None = None, url: str | None = None):
    """A Chroma client: HttpClient when `url` is set, else an embedded PersistentClient in `data_dir`."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False)
    if url:
        parsed = urlparse(url if "://" in url else f"http://{url}")
        try:
            return chromadb.HttpClient(
                host=parsed.hostname or "localhost",
                port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                ssl=parsed.scheme == "https",
                settings=settings,
            )
        except Exception as exc:
            raise StoreUnavailableError(f"cannot reach the Chroma server at {url}: {exc}") from exc
    if data_dir is None:
        raise ValueError("either data_dir or url is required")
    path = Path(data_dir) / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=settings)


class ProcessLock:
    """Exclusive lock on the embedded store: Chroma's embedded mode is not safe across processes."""

    def __init__(self, data_dir: str | Path):
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        self.path = Path(data_dir) / "askdocs.lock"
        self._fh = None

    def acquire(self) -> None:
        fh = open(self.path, "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            owner = fh.read().strip() or "?"
            fh.close()
            raise StoreLockedError(
                f"the store in {self.path.parent} is in use by another askdocs process (pid {owner}); "
                "embedded Chroma serves one process: stop it, or share through a Chroma server (ASKDOCS_CHROMA_URL)"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


def doc_key(doc_id: str) -> str:
    return hashlib.sha1(doc_id.encode()).hexdigest()[:16]


def _id_prefix(doc_id: str, version: str) -> str:
    return f"{doc_key(doc_id)}-{version[:16]}"


def chunk_id(doc_id: str, version: str, index: int) -> str:
    return f"{_id_prefix(doc_id, version)}-{index:05d}"


# Candidates the HNSW search keeps while it walks the graph. Chroma's default (100) equals the 100 vector
# candidates hybrid fusion asks for, and then the top 100 is approximate: over 100k chunks it holds 95.7% of the
# exact top 100 (500: 99.5%), and on the UDA store it changed from one process to the next (13 of 40 questions),
# so the same evaluation gave other figures. Cost over 100k chunks: 2.2-2.7 -> 3.2-3.3 ms p50 per search.
EF_SEARCH = 500
EF_SEARCH_TRIES = 5  # attempts to set it while SQLite says "database is locked" (a busy machine, another writer)


class ChunkStore:
    """Chunks with their vectors in one Chroma collection, committed documents in a catalog collection."""

    def __init__(self, client, collection: str, model_id: str, dimension: int, *, lock: ProcessLock | None = None,
                 ef_search: int = EF_SEARCH):
        self.client = client
        self.model_id = model_id
        self.dimension = dimension
        self._lock = lock
        try:
            self.chunks = client.get_or_create_collection(
                collection,
                metadata={"embedding_model": model_id, "embedding_dim": dimension},
                configuration={"hnsw": {"space": "cosine", "ef_search": ef_search}},
                embedding_function=None,
            )
            self._set_ef_search(ef_search)
            self.catalog = client.get_or_create_collection(
                f"{collection}-catalog", embedding_function=None
            )
        except Exception as exc:
            if lock is not None:
                lock.release()
            raise StoreUnavailableError(f"cannot open collection {collection!r}: {exc}") from exc
        meta = self.chunks.metadata or {}
        if meta.get("embedding_model") != model_id or int(meta.get("embedding_dim", -1)) != dimension:
            if lock is not None:
                lock.release()
            raise EmbeddingModelMismatchError(
                f"collection {collection!r} was built with the embedding model {meta.get('embedding_model')!r} "
                f"(dimension {meta.get('embedding_dim')}), but {model_id!r} (dimension {dimension}) is configured; "
                "re-index into a new collection (ASKDOCS_COLLECTION) or go back to the old model"
            )
        self._batch = max(1, min(int(client.get_max_batch_size()), 2000))
        self._versions: tuple[str, dict[str, str]] | None = None  # (generation, committed versions)
        self._live_prefixes: frozenset[str] = frozenset()  # chunk-id prefixes of committed versions

    def _set_ef_search(self, ef_search: int) -> None:
        """A store made before (or with another value) gets `ef_search`; one that refuses still opens."""
        hnsw = (getattr(self.chunks, "configuration_json", None) or {}).get("hnsw") or {}
        if not hnsw or hnsw.get("ef_search") == ef_search:
            return
        for attempt in range(EF_SEARCH_TRIES):
            try:
                self.chunks.modify(configuration={"hnsw": {"ef_search": ef_search}})
                return
            except Exception as exc:  # e.g. a server that does not let this client change the collection
                # SQLite's "database is locked" passes (another process's write, a busy machine): try again.
                if "locked" in str(exc) and attempt + 1 < EF_SEARCH_TRIES:
                    time.sleep(0.2 * (attempt + 1))
                    continue
                logger.warning("could not set ef_search=%d on the chunk collection (%s); searching with %s",
                               ef_search, exc, hnsw.get("ef_search"))
                return

    @classmethod
    def open(cls, *, collection: str, model_id: str, dimension: int, data_dir: str | Path | None = None,
             url: str | None = None, writer: bool = True, ef_search: int = EF_SEARCH) -> ChunkStore:
        lock = None
        if not url:
            lock = ProcessLock(data_dir)
            lock.acquire()
        try:
            client = connect(data_dir, url)
        except Exception:
            if lock:
                lock.release()
            raise
        store = cls(client, collection, model_id, dimension, lock=lock, ef_search=ef_search)
        if writer:
            store.recover()
        return store

    def close(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> ChunkStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- catalog ------------------------------------------------------------------------------------------

    def documents(self) -> list[DocumentRecord]:
        got = self.catalog.get(where={"kind": "document"}, include=["metadatas"])
        records = [_record_from_meta(m) for m in got["metadatas"]]
        return sorted(records, key=lambda r: r.doc_id)

    def document(self, doc_id: str) -> DocumentRecord | None:
        got = self.catalog.get(ids=[f"doc:{doc_key(doc_id)}"], include=["metadatas"])
        return _record_from_meta(got["metadatas"][0]) if got["ids"] else None

    def generation(self) -> str:
        """Changes whenever a writer (any process) commits documents or edits a profile; "" for a new store."""
        got = self.catalog.get(ids=[_GENERATION], include=["metadatas"])
        return got["metadatas"][0]["generation"] if got["ids"] else ""

    def committed_versions(self) -> Mapping[str, str]:
        """{doc_id: version} of committed documents; cached until a writer (any process) bumps the generation."""
        generation = self.generation()
        if self._versions is None or self._versions[0] != generation or not generation:
            docs = self.catalog.get(where={"kind": "document"}, include=["metadatas"])
            self._versions = (generation, {m["doc_id"]: m["version"] for m in docs["metadatas"]})
            self._live_prefixes = frozenset(_id_prefix(d, v) for d, v in self._versions[1].items())
        return MappingProxyType(self._versions[1])  # read-only: callers share the cache

    def _generation_record(self) -> dict:
        return {"ids": [_GENERATION], "embeddings": [_DUMMY],
                "metadatas": [{"kind": "meta", "generation": uuid.uuid4().hex}]}

    # -- writes -------------------------------------------------------------------------------------------

    def write_document(self, record: DocumentRecord, chunks: list[Chunk], vectors: np.ndarray,
                       headings: list[str] | None = None) -> None:
        self.write_documents([(record, chunks, vectors, headings)])

    def write_documents(self, batch: list[tuple[DocumentRecord, list[Chunk], np.ndarray, list[str] | None]]) -> None:
        """Commit several documents; each becomes visible whole (one catalog upsert commits them all)."""
        if not batch:
            return
        ids, vectors, texts, metas = [], [], [], []
        for record, chunks, vecs, headings in batch:
            if len(chunks) != len(vecs):
                raise ValueError(f"{record.doc_id}: {len(chunks)} chunks but {len(vecs)} vectors")
            if len(vecs) and vecs.shape[1] != self.dimension:
                raise ValueError(f"vectors have dimension {vecs.shape[1]}, the store {self.dimension}")
            headings = headings or [""] * len(chunks)
            ids += [chunk_id(record.doc_id, record.version, c.index) for c in chunks]
            vectors.append(vecs)
            texts += [c.text for c in chunks]
            metas += [_chunk_meta(c, record.version, h) for c, h in zip(chunks, headings)]
        previous = {r.doc_id: self.document(r.doc_id) for r, *_ in batch} if len(batch) == 1 else \
            self._existing([r.doc_id for r, *_ in batch])
        self._journal([(r.doc_id, r.version) for r, *_ in batch])
        all_vectors = np.concatenate(vectors) if vectors else np.zeros((0, self.dimension), np.float32)
        for lo in range(0, len(ids), self._batch):
            hi = lo + self._batch
            self.chunks.upsert(ids=ids[lo:hi], embeddings=all_vectors[lo:hi], documents=texts[lo:hi],
                               metadatas=metas[lo:hi])
        gen = self._generation_record()
        for lo in range(0, len(batch), self._batch - 1):  # the commit point (one upsert for a normal batch)
            part = batch[lo : lo + self._batch - 1]
            self.catalog.upsert(ids=[f"doc:{doc_key(r.doc_id)}" for r, *_ in part] + gen["ids"],
                                embeddings=[_DUMMY] * len(part) + gen["embeddings"],
                                metadatas=[_record_meta(r) for r, *_ in part] + gen["metadatas"])
        for record, *_ in batch:
            if previous.get(record.doc_id) is not None:  # a new document has no other version to delete
                self._delete_other_versions(record.doc_id, record.version)
        self.catalog.delete(ids=[f"journal:{doc_key(r.doc_id)}" for r, *_ in batch])
        logger.debug("committed %d documents (%d chunks)", len(batch), len(ids))

    def _existing(self, doc_ids: list[str]) -> dict[str, DocumentRecord]:
        got = self.catalog.get(ids=[f"doc:{doc_key(d)}" for d in doc_ids], include=["metadatas"])
        return {m["doc_id"]: _record_from_meta(m) for m in got["metadatas"]}

    def remove_document(self, doc_id: str) -> bool:
        if self.document(doc_id) is None:
            return False
        self._journal([(doc_id, "")])
        self.catalog.delete(ids=[f"doc:{doc_key(doc_id)}"])  # the commit point
        self.catalog.upsert(**self._generation_record())
        self._delete_other_versions(doc_id, "")
        self.catalog.delete(ids=[f"journal:{doc_key(doc_id)}"])
        return True

    def recover(self) -> list[str]:
        """Finish or undo writes that a crashed process left half done; returns the doc ids touched."""
        got = self.catalog.get(where={"kind": "journal"}, include=["metadatas"])
        touched = []
        for meta in got["metadatas"]:
            doc_id = meta["doc_id"]
            record = self.document(doc_id)
            self._delete_other_versions(doc_id, record.version if record else "")
            self.catalog.delete(ids=[f"journal:{doc_key(doc_id)}"])
            touched.append(doc_id)
            logger.warning("recovered an interrupted write of %s", doc_id)
        if touched or not self.catalog.get(ids=[_GENERATION])["ids"]:
            self.catalog.upsert(**self._generation_record())
        return touched

    def _journal(self, entries: list[tuple[str, str]]) -> None:
        """Record (doc_id, version) writes in progress, so a crash can be cleaned up."""
        self.catalog.upsert(ids=[f"journal:{doc_key(d)}" for d, _ in entries], embeddings=[_DUMMY] * len(entries),
                            metadatas=[{"kind": "journal", "doc_id": d, "version": v} for d, v in entries])

    def _delete_other_versions(self, doc_id: str, keep_version: str) -> None:
        where = {"doc_id": doc_id} if not keep_version else {
            "$and": [{"doc_id": doc_id}, {"version": {"$ne": keep_version}}]}
        self.chunks.delete(where=where)

    # -- reads --------------------------------------------------------------------------------------------

    def get_chunks(self, ids: list[str]) -> dict[str, StoredChunk]:
        """Committed chunks by id (ids of uncommitted or unknown chunks are left out)."""
        if not ids:
            return {}
        committed = self.committed_versions()
        got = self.chunks.get(ids=list(ids), include=["documents", "metadatas"])
        return {cid: StoredChunk(cid, _chunk_from_meta(text, meta), meta.get("heading", "")) for cid, text, meta in
                zip(got["ids"], got["documents"], got["metadatas"])
                if committed.get(meta["doc_id"]) == meta["version"]}

    def word_boxes(self, doc_id: str, page: int, start: int, end: int) -> list[WordBox]:
        """The boxes of the words of an OCR'd page that lie in [start, end) of its text (none for text pages)."""
        version = self.committed_versions().get(doc_id)
        if version is None:
            return []
        got = self.chunks.get(where={"$and": [{"doc_id": doc_id}, {"version": version}, {"page": page}]},
                              include=["metadatas"])
        words: dict[int, WordBox] = {}
        for meta in got["metadatas"]:
            for s, e, left, top, right, bottom in json.loads(meta.get("boxes") or "[]"):
                if s < end and e > start:
                    words[s] = WordBox(s, e, left, top, right, bottom)
        return [words[s] for s in sorted(words)]

    def edit_profile(self, doc_id: str, changes: dict) -> dict:
        """A user's correction of a committed document's profile: the fields in `changes` replace the stored
        ones; the profile is marked edited, so re-ingesting the file keeps it, and a new generation tells
        readers (routing) to read the profiles again. Returns the profile; KeyError for an unknown document."""
        record = self.document(doc_id)
        if record is None:
            raise KeyError(doc_id)
        profile = DocumentProfile.from_dict(record.profile | changes).to_dict()
        gen = self._generation_record()
        self.catalog.upsert(ids=[f"doc:{doc_key(doc_id)}"] + gen["ids"], embeddings=[_DUMMY] + gen["embeddings"],
                            metadatas=[_record_meta(replace(record, profile=profile | {"edited": True}))]
                            + gen["metadatas"])
        return profile

    def count(self) -> int:
        return self.chunks.count()

    def iter_chunks(self, doc_ids: list[str] | None = None, page_size: int = 5000):
        """Committed chunks (all, or of `doc_ids`), in pages of Chroma reads."""
        committed = self.committed_versions()
        where = None
        if doc_ids is not None:
            if not doc_ids:
                return
            where = {"doc_id": {"$in": list(doc_ids)}} if len(doc_ids) > 1 else {"doc_id": doc_ids[0]}
        offset = 0
        while True:
            got = self.chunks.get(where=where, include=["documents", "metadatas"], limit=page_size, offset=offset)
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"]):
                if committed.get(meta["doc_id"]) == meta["version"]:
                    yield StoredChunk(cid, _chunk_from_meta(text, meta), meta.get("heading", ""))
            if len(got["ids"]) < page_size:
                return
            offset += page_size

    def query(self, vector: np.ndarray, k: int, doc_ids: list[str] | None = None) -> list[VectorHit]:
        """Top `k` committed chunks by cosine similarity, optionally within `doc_ids`."""
        ranked = self.query_ids(vector, k, doc_ids)
        chunks = self.get_chunks([cid for cid, _ in ranked])
        return [VectorHit(cid, chunks[cid].chunk, chunks[cid].heading, cosine) for cid, cosine in ranked
                if cid in chunks]

    def query_ids(self, vector: np.ndarray, k: int, doc_ids: list[str] | None = None) -> list[tuple[str, float]]:
        """(chunk id, cosine) of the top `k` committed chunks; reads no text or metadata, so it is cheap."""
        if k <= 0:
            raise ValueError(f"k must be > 0, got {k}")
        committed = self.committed_versions()
        if doc_ids is not None:
            committed = {d: v for d, v in committed.items() if d in set(doc_ids)}
        if not committed:
            return []
        where = None
        if doc_ids is not None:
            keys = sorted(committed)
            where = {"doc_id": {"$in": keys}} if len(keys) > 1 else {"doc_id": keys[0]}
        live = self._live_prefixes if doc_ids is None else {_id_prefix(d, v) for d, v in committed.items()}
        # No count() to bound n: it costs more than the query itself (~10 ms at 100k chunks), and Chroma
        # simply returns fewer results when asked for more than it holds.
        n = k + 16
        while True:
            got = self.chunks.query(query_embeddings=[vector], n_results=n, where=where, include=["distances"])
            # A chunk id carries its document key and version, so the commit check needs no metadata.
            hits = [(cid, 1.0 - float(dist)) for cid, dist in zip(got["ids"][0], got["distances"][0])
                    if cid.rsplit("-", 1)[0] in live]
            # Uncommitted chunks of an interrupted write can crowd the top; ask for more until k remain.
            if len(hits) >= k or len(got["ids"][0]) < n:
                return hits[:k]
            n *= 4


def _chunk_meta(chunk: Chunk, version: str, heading: str) -> dict:
    meta = {
        "doc_id": chunk.doc_id, "source": chunk.source, "page": chunk.page, "start": chunk.start,
        "end": chunk.end, "chunk_index": chunk.index, "content_hash": chunk.content_hash,
        "version": version, "heading": heading,
    }
    if chunk.boxes:
        meta["boxes"] = json.dumps([[w.start, w.end, round(w.left, 4), round(w.top, 4), round(w.right, 4),
                                     round(w.bottom, 4)] for w in chunk.boxes], separators=(",", ":"))
    return meta


def _chunk_from_meta(text: str, meta: dict) -> Chunk:
    return Chunk(doc_id=meta["doc_id"], source=meta["source"], page=int(meta["page"]), start=int(meta["start"]),
                 end=int(meta["end"]), index=int(meta["chunk_index"]), text=text,
                 content_hash=meta["content_hash"])


def _record_meta(record: DocumentRecord) -> dict:
    meta = record.to_dict()
    meta["warnings"] = json.dumps(record.warnings)
    meta["profile"] = json.dumps(record.profile)
    meta["ocr_pages"] = json.dumps(record.ocr_pages)
    meta["kind_of_file"] = meta.pop("kind")
    meta["kind"] = "document"
    return meta


def _record_from_meta(meta: dict) -> DocumentRecord:
    meta = dict(meta)
    meta.pop("kind")
    meta["kind"] = meta.pop("kind_of_file")
    meta["warnings"] = json.loads(meta.get("warnings") or "[]")
    meta["profile"] = json.loads(meta.get("profile") or "{}")  # stores written before profiles have none
    meta["ocr_pages"] = json.loads(meta.get("ocr_pages") or "[]")
    meta.setdefault("collection", "")
    return DocumentRecord(**meta)
