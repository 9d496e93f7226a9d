"""One process's askdocs: the store, indexes, retriever, answerer and ingestion that the UI, the HTTP API and
the CLI call. Writes are serialised; BM25 reads and updates are guarded by a lock."""

from __future__ import annotations

import logging
import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from app.accounts.access import EVERYTHING, SHARED, Access, collection_label
from app.answering.answer import Answerer
from app.answering.results import Answer, AnswerEvent
from app.settings import Settings
from ingest.types import DocumentRecord, FileReport
from retrieval.hybrid import Retrieval

logger = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^\w.\- ]+")


class LockedBM25:
    """A BM25Retriever whose searches and syncs never overlap (its arrays change during a sync), brought up to
    date before a search when another process changed the store (checked at most once a second)."""

    def __init__(self, inner, refresh_s: float = 1.0):
        self.inner = inner
        self.refresh_s = refresh_s
        self.lock = threading.Lock()

    def retrieve(self, *args, **kwargs):
        with self.lock:
            self.inner.refresh(self.refresh_s)
            return self.inner.retrieve(*args, **kwargs)

    def candidates(self, *args, **kwargs):
        with self.lock:
            self.inner.refresh(self.refresh_s)
            return self.inner.candidates(*args, **kwargs)

    def sync(self, *args, **kwargs):
        with self.lock:
            return self.inner.sync(*args, **kwargs)


def safe_filename(name: str) -> str:
    """A file name that cannot leave the upload folder: no path parts, no odd characters, not hidden."""
    base = Path(name.replace("\\", "/")).name
    base = _UNSAFE.sub("_", base).strip(" .") or "upload"
    return base[:150]


class AskDocs:
    def __init__(self, settings: Settings, *, llm=None, llm_problem: str | None = None, load_llm: bool = True,
                 embedder=None):
        from app.wiring import make_bm25, make_embedder, make_ingestor, make_retriever, open_store

        self.settings = settings
        self.embedder = embedder or make_embedder(settings)
        self.store = open_store(settings, self.embedder)
        self.ingestor = make_ingestor(settings, self.embedder, self.store)
        self.bm25 = LockedBM25(make_bm25(settings, self.store))
        self.retriever = make_retriever(settings, self.embedder, self.store, self.bm25,
                                        load_reranker=bool(settings.rerank_model))
        self.llm_problem = llm_problem
        if llm is None and load_llm:
            from app.wiring import make_llm

            llm, self.llm_problem = make_llm(settings)
        self.llm = llm
        self.answerer = make_answerer(settings, self.retriever, llm, self.embedder)
        self.uploads = settings.data_dir / "uploads"
        self.uploads.mkdir(parents=True, exist_ok=True)
        self._write_lock = threading.Lock()

    def close(self) -> None:
        self.store.close()

    def warm_up(self) -> None:
        """Loads the local model and has it read the fixed system prompts once, so that the engine's prompt cache
        holds them and the first question is answered as fast as the later ones. Failures are only logged: the
        question that follows reports them."""
        from app.llm import LocalChatModel

        if not isinstance(self.llm, LocalChatModel):
            return
        from app.answering.prompts import answer_messages
        from app.answering.verify import check_messages

        try:  # the evidence check's prompt first: the engine's RAM prompt cache keeps both
            for messages in (check_messages("", ""), answer_messages("", [])):
                for _ in self.llm.stream(messages, max_tokens=1):
                    pass
        except Exception as exc:
            logger.warning("warming up the local model failed: %s", exc)

    # -- reading ------------------------------------------------------------------------------------------

    # Every reading and writing method takes the caller's `access` (app.accounts.access): what it may not read
    # does not exist for it, and the store's queries are restricted to what it may read.

    def readable_ids(self, access: Access, doc_ids: list[str] | None = None,
                     collections: list[str] | None = None) -> list[str] | None:
        """The doc ids a search may look in: `doc_ids` (or all) within what `access` reads (and `collections`,
        when given); None = no restriction. An empty list means nothing: the store then finds nothing."""
        if access.readable is None and collections is None:
            return doc_ids
        allowed = [r.doc_id for r in self.store.documents() if access.can_read(r.collection)
                   and (collections is None or r.collection in collections)]
        if doc_ids is None:
            return allowed
        readable = set(allowed)
        return [d for d in doc_ids if d in readable]

    def ask_stream(self, question: str, history: list[tuple[str, str]] | None = None, *, top_k: int | None = None,
                   mode: str | None = None, doc_ids: list[str] | None = None, access: Access = EVERYTHING,
                   collections: list[str] | None = None) -> Iterator[AnswerEvent]:
        return self.answerer.stream(question, history, doc_ids=self.readable_ids(access, doc_ids, collections),
                                    mode=mode, top_k=top_k)

    def ask(self, question: str, history: list[tuple[str, str]] | None = None, *, doc_ids: list[str] | None = None,
            access: Access = EVERYTHING, collections: list[str] | None = None, **kwargs) -> Answer:
        return self.answerer.ask(question, history, doc_ids=self.readable_ids(access, doc_ids, collections), **kwargs)

    def search(self, query: str, k: int | None = None, mode: str | None = None,
               doc_ids: list[str] | None = None, access: Access = EVERYTHING) -> Retrieval:
        return self.retriever.retrieve(query, k or self.settings.top_k, mode or self.settings.retrieval_mode,
                                       self.readable_ids(access, doc_ids))

    def documents(self, access: Access = EVERYTHING) -> list[DocumentRecord]:
        return [r for r in self.store.documents() if access.can_read(r.collection)]

    def document(self, doc_id: str, access: Access = EVERYTHING) -> DocumentRecord | None:
        """The document, or None when there is none the caller may read."""
        record = self.store.document(doc_id)
        return record if record is not None and access.can_read(record.collection) else None

    def _writable(self, doc_id: str, access: Access) -> DocumentRecord:
        """The document the caller may change; KeyError when it cannot see it, PermissionError when it may only
        read it."""
        record = self.document(doc_id, access)
        if record is None:
            raise KeyError(f"no such document: {doc_id}")
        if not access.can_write(record.collection):
            raise PermissionError(f"{doc_id}: you may read but not change the collection "
                                  f"{collection_label(record.collection)}")
        return record

    def word_boxes(self, doc_id: str, page: int, start: int, end: int, access: Access = EVERYTHING) -> list:
        """Boxes of the words in [start, end) of an OCR'd page (empty for pages with a text layer)."""
        if self.document(doc_id, access) is None:
            return []
        return self.store.word_boxes(doc_id, page, start, end)

    def page_text(self, doc_id: str, page: int, access: Access = EVERYTHING) -> str:
        """The normalised text of one page, as chunk spans refer to it (read again from the file)."""
        record = self.document(doc_id, access)
        if record is None:
            raise KeyError(f"no such document: {doc_id}")
        from ingest.loaders import load_file
        from ingest.ocr import OcrOptions

        # Text formats only (PDFs and images are shown as images): no OCR here.
        doc = load_file(record.path, max_pages=self.settings.max_pages, ocr=OcrOptions(enabled=False))
        return next((p.text for p in doc.pages if p.number == page), "")

    # -- writing ------------------------------------------------------------------------------------------

    def upload_folder(self, collection: str) -> Path:
        """Where a collection's uploads live: the upload folder itself for "shared", a folder per collection."""
        folder = self.uploads / safe_filename(collection) if collection else self.uploads
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def save_upload(self, name: str, source: Path, collection: str = SHARED) -> Path:
        """Copy an uploaded temp file into its collection's upload folder under a safe name; refuses files over
        the limit."""
        size = source.stat().st_size
        limit = self.settings.max_file_mb * 2**20
        if size > limit:
            raise ValueError(f"{name}: {size / 2**20:.1f} MB is over the {self.settings.max_file_mb:g} MB limit")
        folder = self.upload_folder(collection)
        target = folder / safe_filename(name)
        if target.resolve().parent != folder.resolve():
            raise ValueError(f"{name}: not a valid file name")
        tmp = target.with_name(f".{target.name}.{time.time_ns()}.part")
        shutil.copyfile(source, tmp)
        tmp.replace(target)  # never a half-written upload under the real name
        return target

    def ingest(self, paths: list[Path], on_progress=None, access: Access = EVERYTHING,
               collection: str = SHARED) -> list[FileReport]:
        if not access.can_write(collection):
            raise PermissionError(f"you may not add documents to the collection {collection_label(collection)}")
        with self._write_lock:
            reports = self.ingestor.ingest(paths, on_progress=on_progress, collection=collection)
            self.bm25.sync()
        return reports

    def delete(self, doc_id: str, access: Access = EVERYTHING) -> FileReport:
        try:
            record = self._writable(doc_id, access)
        except KeyError:
            return FileReport("", doc_id, "failed", reason="no such document")
        with self._write_lock:
            report = self.ingestor.remove([doc_id])[0]
            if self.uploads.resolve() in Path(record.path).parents:
                Path(record.path).unlink(missing_ok=True)  # an upload has no other home
            self.bm25.sync()
        return report

    def set_profile(self, doc_id: str, changes: dict, access: Access = EVERYTHING) -> dict:
        """Correct a document's profile (title, organisation, period, doc_type); KeyError for an unknown one,
        PermissionError for one the caller may only read."""
        self._writable(doc_id, access)
        with self._write_lock:
            return self.store.edit_profile(doc_id, changes)

    def reindex(self, doc_id: str, access: Access = EVERYTHING) -> FileReport:
        try:
            record = self._writable(doc_id, access)
        except KeyError:
            return FileReport("", doc_id, "failed", reason="no such document")
        if not Path(record.path).exists():
            return FileReport(record.path, doc_id, "failed", reason="the file is gone; delete the document instead")
        with self._write_lock:
            self.store.remove_document(doc_id)
            reports = self.ingestor.ingest([record.path], collection=record.collection)
            self.bm25.sync()
        return reports[0]


def make_answerer(settings: Settings, retriever, llm, embedder=None) -> Answerer:
    from app.wiring import token_counter

    return Answerer(retriever, llm, top_k=settings.top_k, mode=settings.retrieval_mode,
                    min_cosine=settings.abstain_min_cosine,
                    min_sentence_cosine=settings.abstain_min_sentence_cosine, min_rerank=settings.abstain_min_rerank,
                    context_tokens=settings.llm_context_tokens, answer_tokens=settings.llm_max_tokens,
                    count_tokens=token_counter(settings, llm), embedder=embedder,
                    evidence_sentences=settings.answer_evidence_sentences, follow_ups=settings.follow_up_rewrite,
                    quote_fallback=settings.answer_quote_fallback, evidence_check=settings.answer_evidence_check)
