"""BM25Okapi (rank-bm25's formula) over sparse term-frequency segments, updated per document.

Each `add` writes an immutable segment (a CSC matrix of term frequencies with global term ids); a removed or
replaced document's rows are masked until `compact` merges the segments. Scoring touches only the postings of
the query's terms, so a query costs milliseconds at 100k chunks where rank-bm25 loops over every document.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import sparse

from retrieval.tokenize import tokenize

logger = logging.getLogger(__name__)

FORMAT = 1


@dataclass
class Segment:
    name: str
    chunk_ids: np.ndarray  # object array of str
    doc_ids: np.ndarray  # object array of str; a document's rows are contiguous
    lengths: np.ndarray  # int32 tokens per row
    matrix: sparse.csc_matrix  # rows x terms known when the segment was written
    new_terms: list[str] = field(default_factory=list)  # the global vocabulary this segment introduced


@dataclass(frozen=True)
class BM25Hit:
    chunk_id: str
    doc_id: str
    score: float


class BM25Index:
    def __init__(self, k1: float = 1.5, b: float = 0.75, epsilon: float = 0.25,
                 tokenizer: Callable[[str], list[str]] = tokenize):
        self.k1, self.b, self.epsilon = k1, b, epsilon
        self.tokenizer = tokenizer
        self.vocab: dict[str, int] = {}
        self.segments: list[Segment] = []
        self.docs: dict[str, tuple[str, str]] = {}  # doc_id -> (version, segment name)
        self._stats = None  # cached (alive masks, idf, avgdl)
        self._unsaved: list[Segment] = []
        self._dirty = False

    # -- updates ------------------------------------------------------------------------------------------

    def add_document(self, doc_id: str, version: str, chunk_ids: list[str], texts: list[str]) -> None:
        """Add (or replace) one document's chunks."""
        self.add_documents([(doc_id, version, chunk_ids, texts)])

    def add_documents(self, documents: list[tuple[str, str, list[str], list[str]]]) -> None:
        """Add or replace several documents in one new segment: (doc_id, version, chunk_ids, texts)."""
        documents = [d for d in documents if d[2]]
        if not documents:
            return
        name = f"seg-{uuid.uuid4().hex[:12]}"
        first_new = len(self.vocab)
        rows, cols, vals, lengths, chunk_ids, doc_ids = [], [], [], [], [], []
        for doc_id, _, ids, texts in documents:
            for chunk_id, text in zip(ids, texts):
                terms = self.tokenizer(text)
                counts = Counter(terms)
                row = len(lengths)
                for term, tf in counts.items():
                    col = self.vocab.setdefault(term, len(self.vocab))
                    rows.append(row)
                    cols.append(col)
                    vals.append(tf)
                lengths.append(len(terms))
                chunk_ids.append(chunk_id)
                doc_ids.append(doc_id)
        matrix = sparse.csc_matrix(
            (np.asarray(vals, dtype=np.float32), (np.asarray(rows, dtype=np.int32), np.asarray(cols, dtype=np.int32))),
            shape=(len(lengths), len(self.vocab)),
        )
        terms_in_order = list(self.vocab)[first_new:]
        segment = Segment(name, np.asarray(chunk_ids, dtype=object), np.asarray(doc_ids, dtype=object),
                          np.asarray(lengths, dtype=np.int32), matrix, terms_in_order)
        self.segments.append(segment)
        self._unsaved.append(segment)
        for doc_id, version, _, _ in documents:
            self.docs[doc_id] = (version, name)
        self._changed()

    def remove_document(self, doc_id: str) -> bool:
        if self.docs.pop(doc_id, None) is None:
            return False
        self._changed()
        return True

    def versions(self) -> dict[str, str]:
        return {doc_id: version for doc_id, (version, _) in self.docs.items()}

    def live_rows(self) -> dict[str, int]:
        """Chunks indexed per live document."""
        counts: dict[str, int] = {}
        for seg, alive in zip(self.segments, self._compute_stats()[0]):
            for doc_id in seg.doc_ids[alive]:
                counts[doc_id] = counts.get(doc_id, 0) + 1
        return counts

    def _changed(self) -> None:
        self._stats = None
        self._dirty = True

    # -- statistics ---------------------------------------------------------------------------------------

    def _alive(self, segment: Segment) -> np.ndarray:
        docs = self.docs
        return np.fromiter((docs.get(d, ("", ""))[1] == segment.name for d in segment.doc_ids), dtype=bool,
                           count=len(segment.doc_ids))

    def _compute_stats(self):
        if self._stats is not None:
            return self._stats
        vocab_size = len(self.vocab)
        df = np.zeros(vocab_size, dtype=np.float64)
        alive_masks, total_len, n_docs = [], 0, 0
        for seg in self.segments:
            alive = self._alive(seg)
            alive_masks.append(alive)
            n_docs += int(alive.sum())
            total_len += int(seg.lengths[alive].sum())
            m = seg.matrix
            cols = np.repeat(np.arange(m.shape[1]), np.diff(m.indptr))
            df[: m.shape[1]] += np.bincount(cols[alive[m.indices]], minlength=m.shape[1])
        present = df > 0
        idf = np.zeros(vocab_size, dtype=np.float64)
        idf[present] = np.log(n_docs - df[present] + 0.5) - np.log(df[present] + 0.5)
        # rank-bm25: negative idf (terms in over half the chunks) is floored at epsilon * mean idf.
        average_idf = idf[present].sum() / max(1, int(present.sum()))
        idf[present & (idf < 0)] = self.epsilon * average_idf
        avgdl = total_len / n_docs if n_docs else 1.0
        norms = [self.k1 * (1 - self.b + self.b * seg.lengths / avgdl) for seg in self.segments]
        self._stats = (alive_masks, idf, norms, n_docs)
        return self._stats

    def __len__(self) -> int:
        return self._compute_stats()[3]

    # -- search -------------------------------------------------------------------------------------------

    def search(self, query: str, k: int = 10, doc_ids: list[str] | None = None) -> list[BM25Hit]:
        """Top `k` chunks with a positive score, best first (optionally only of `doc_ids`)."""
        if k <= 0:
            raise ValueError(f"k must be > 0, got {k}")
        alive_masks, idf, norms, n_docs = self._compute_stats()
        query_terms = Counter(t for t in self.tokenizer(query) if t in self.vocab)
        if not n_docs or not query_terms:
            return []
        wanted = set(doc_ids) if doc_ids is not None else None
        k1 = self.k1
        candidates: list[tuple[float, int, int]] = []
        for s, seg in enumerate(self.segments):
            scores = np.zeros(len(seg.lengths), dtype=np.float64)
            norm = norms[s]
            m = seg.matrix
            for term, qtf in query_terms.items():
                col = self.vocab[term]
                if col >= m.shape[1]:
                    continue
                lo, hi = m.indptr[col], m.indptr[col + 1]
                if lo == hi:
                    continue
                rows, tf = m.indices[lo:hi], m.data[lo:hi]
                scores[rows] += qtf * idf[col] * tf * (k1 + 1) / (tf + norm[rows])
            mask = alive_masks[s] & (scores != 0)
            if wanted is not None:
                mask &= np.fromiter((d in wanted for d in seg.doc_ids), dtype=bool, count=len(seg.doc_ids))
            rows = np.flatnonzero(mask)
            if len(rows) > k:
                rows = rows[np.argpartition(-scores[rows], k - 1)[:k]]
            candidates.extend((float(scores[r]), s, int(r)) for r in rows)
        candidates.sort(key=lambda c: -c[0])
        return [BM25Hit(self.segments[s].chunk_ids[r], self.segments[s].doc_ids[r], score)
                for score, s, r in candidates[:k]]

    # -- maintenance --------------------------------------------------------------------------------------

    def compact(self) -> None:
        """Merge all segments into one, dropping the rows of removed and replaced documents."""
        if len(self.segments) <= 1 and all(self._alive(s).all() for s in self.segments):
            return
        width = len(self.vocab)
        parts, chunk_ids, doc_ids, lengths = [], [], [], []
        for seg in self.segments:
            alive = self._alive(seg)
            if not alive.any():
                continue
            m = seg.matrix.tocsr()[alive]
            parts.append(sparse.csr_matrix((m.data, m.indices, m.indptr), shape=(m.shape[0], width)))
            chunk_ids.append(seg.chunk_ids[alive])
            doc_ids.append(seg.doc_ids[alive])
            lengths.append(seg.lengths[alive])
        name = f"seg-{uuid.uuid4().hex[:12]}"
        if parts:
            matrix = sparse.vstack(parts).tocsc()
            merged = Segment(name, np.concatenate(chunk_ids), np.concatenate(doc_ids), np.concatenate(lengths),
                             matrix, list(self.vocab))
            self.segments = [merged]
            self._unsaved = [merged]
        else:
            self.segments, self._unsaved = [], []
        self.docs = {d: (v, name) for d, (v, _) in self.docs.items()}
        self._changed()

    def needs_compaction(self) -> bool:
        if len(self.segments) > 16:
            return True
        alive_masks = self._compute_stats()[0]
        total = sum(len(m) for m in alive_masks)
        return total > 0 and sum(int(m.sum()) for m in alive_masks) < 0.7 * total

    # -- persistence --------------------------------------------------------------------------------------

    def save(self, folder: str | Path) -> None:
        """Write new segments, then atomically replace the manifest; unreferenced segment files are deleted.
        Several processes may save to one folder: each save holds the folder's lock and writes every segment its
        manifest names that is not on disk (another process's save may have deleted it)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        if self.needs_compaction():
            self.compact()
        with _folder_lock(folder, fcntl.LOCK_EX):
            self._save_locked(folder)

    def _save_locked(self, folder: Path) -> None:
        unsaved = {s.name for s in self._unsaved}
        for seg in self.segments:
            path = folder / f"{seg.name}.npz"
            if seg.name in unsaved or not path.exists():
                _write_segment(path, seg)
        manifest = {
            "format": FORMAT, "k1": self.k1, "b": self.b, "epsilon": self.epsilon,
            "segments": [s.name for s in self.segments],
            "docs": {d: list(v) for d, v in self.docs.items()},
        }
        tmp = folder / f"manifest.json.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(manifest))
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, folder / "manifest.json")  # the commit point
        self._unsaved = []
        self._dirty = False
        keep = {f"{s.name}.npz" for s in self.segments}
        for path in folder.glob("seg-*.npz"):
            if path.name not in keep:
                path.unlink(missing_ok=True)

    @property
    def dirty(self) -> bool:
        return self._dirty

    @classmethod
    def load(cls, folder: str | Path, tokenizer: Callable[[str], list[str]] = tokenize) -> BM25Index:
        """The saved index, or an empty one when there is none (or it is unreadable: it is rebuilt from Chroma)."""
        folder = Path(folder)
        manifest_path = folder / "manifest.json"
        if not manifest_path.exists():
            return cls(tokenizer=tokenizer)
        with _folder_lock(folder, fcntl.LOCK_SH):
            return cls._load_locked(folder, manifest_path, tokenizer)

    @classmethod
    def _load_locked(cls, folder: Path, manifest_path: Path, tokenizer) -> BM25Index:
        try:
            manifest = json.loads(manifest_path.read_text())
            if manifest.get("format") != FORMAT:
                raise ValueError(f"format {manifest.get('format')}")
            index = cls(manifest["k1"], manifest["b"], manifest["epsilon"], tokenizer)
            for name in manifest["segments"]:
                seg = _read_segment(folder / f"{name}.npz", name)
                for term in seg.new_terms:
                    index.vocab.setdefault(term, len(index.vocab))
                index.segments.append(seg)
            index.docs = {d: (v[0], v[1]) for d, v in manifest["docs"].items()}
            return index
        except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
            logger.warning("BM25 index in %s is unreadable (%s); it will be rebuilt", folder, exc)
            return cls(tokenizer=tokenizer)


@contextmanager
def _folder_lock(folder: Path, mode: int):
    with open(folder / ".lock", "a+") as fh:
        fcntl.flock(fh, mode)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _write_segment(path: Path, seg: Segment) -> None:
    tmp = path.with_suffix(".tmp.npz")
    m = seg.matrix
    np.savez(tmp, data=m.data, indices=m.indices, indptr=m.indptr, shape=np.asarray(m.shape),
             chunk_ids=np.asarray(seg.chunk_ids, dtype=str), doc_ids=np.asarray(seg.doc_ids, dtype=str),
             lengths=seg.lengths, new_terms=np.asarray(seg.new_terms, dtype=str))
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _read_segment(path: Path, name: str) -> Segment:
    with np.load(path, allow_pickle=False) as z:
        matrix = sparse.csc_matrix((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"]))
        return Segment(name, z["chunk_ids"].astype(object), z["doc_ids"].astype(object), z["lengths"], matrix,
                       z["new_terms"].tolist())
