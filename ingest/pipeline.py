"""The ingestion pipeline: find files, skip unchanged ones, parse (isolated), chunk, embed, commit."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.chunking import TokenChunker, truncate_to_tokens
from ingest.embedding import Embedder
from ingest.errors import LoadError
from ingest.loaders import kind_of
from ingest.ocr import OcrOptions, tesseract_path
from ingest.pdf import stored_without_ocr
from ingest.profile import PROFILE_PAGES, DocumentProfile, read_profile
from ingest.sections import section_at
from ingest.store import ChunkStore
from ingest.types import Chunk, DocumentRecord, FileReport, LoadedDocument
from ingest.worker import ParserWorker

logger = logging.getLogger(__name__)

# on_progress(doc_id, stage, fraction): stage is one of read, ocr (pages read by OCR), chunk, embed, index, done.
ProgressCallback = Callable[[str, str, float], None]
EMBED_STEP = 256  # chunks embedded between progress reports


@dataclass(frozen=True)
class SourceFile:
    path: Path
    root: Path
    doc_id: str
    collection: str = ""


@dataclass(frozen=True)
class Limits:
    parse_timeout_s: float = 120.0
    parse_memory_mb: int | None = 4096
    max_pages: int = 5000
    max_file_mb: float = 200.0
    ocr: OcrOptions = OcrOptions()


def discover(paths: Iterable[str | Path]) -> tuple[list[SourceFile], list[FileReport]]:
    """Files under `paths` (folders recursively, hidden entries skipped); missing paths become reports."""
    found: dict[str, SourceFile] = {}
    missing: list[FileReport] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            root = path.resolve()
            for file in sorted(root.rglob("*")):
                rel = file.relative_to(root)
                if file.is_file() and not any(part.startswith(".") for part in rel.parts):
                    found[str(file)] = SourceFile(file, root, rel.as_posix())
        elif path.is_file():
            file = path.resolve()
            found[str(file)] = SourceFile(file, file.parent, file.name)
        else:
            missing.append(FileReport(str(path), path.name, "failed", reason="no such file or folder"))
    return list(found.values()), missing


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def heading_for(doc: LoadedDocument, source: str, profile: DocumentProfile | None = None) -> str:
    """Text put before each chunk when embedding and indexing: pages rarely repeat which file they are from, nor
    which company and year a report is about (the profile says it)."""
    stem = re.sub(r"[_\s]+", " ", Path(source).stem).strip()
    title = (doc.title or "").strip()
    if title and not re.search(r"[^\W\d_]", stem):  # "4983.pdf": a number says nothing, the title does
        heading = title
    elif title and title.lower() not in stem.lower() and len(title) <= 120:
        heading = f"{stem} — {title}"
    else:
        heading = stem
    about = profile.describe() if profile is not None else ""
    if about and about.lower() not in heading.lower():
        heading = f"{heading} — {about}"
    return heading


class Ingestor:
    """Brings files into the store; one bad file is reported and the batch goes on."""

    def __init__(self, store: ChunkStore, embedder: Embedder, chunker: TokenChunker, limits: Limits = Limits()):
        self.store = store
        self.embedder = embedder
        self.chunker = chunker
        self.limits = limits
        # [CLS] and [SEP] take two places of the window; the heading gets what the chunk leaves free.
        self.heading_tokens = max(0, embedder.max_tokens - 2 - chunker.chunk_tokens)
        # Stored with each document: when chunking or what is indexed with a chunk changes, it is re-ingested.
        # h2: chunk headings carry the document profile and the section heading.
        self.signature = f"{chunker.signature}:h2"

    def ingest(self, paths: Iterable[str | Path], *, sync: bool = False, on_progress: ProgressCallback | None = None,
               collection: str = "") -> list[FileReport]:
        """`collection`: stored with each document, and its doc id is "COLLECTION/NAME" (so two collections may
        hold files of one name); "" for none."""
        paths = list(paths)
        files, reports = discover(paths)
        if collection:
            files = [SourceFile(f.path, f.root, f"{collection}/{f.doc_id}", collection) for f in files]
        todo: list[tuple[SourceFile, str, int, float]] = []
        for source in files:
            started = time.perf_counter()
            early = self._precheck(source)
            if isinstance(early, FileReport):
                early.seconds = time.perf_counter() - started
                reports.append(early)
                if on_progress:
                    on_progress(source.doc_id, "done", 1.0)
            else:
                todo.append((source, *early, started))
        reports.extend(self._process(todo, on_progress))
        if sync:
            reports.extend(self._remove_missing(paths, files, collection))
        return reports

    def _profile(self, doc_id: str, name: str, doc: LoadedDocument) -> dict:
        """The profile read from the document, or the one a user corrected for its earlier version."""
        earlier = self.store.document(doc_id)
        if earlier is not None and earlier.profile.get("edited"):
            return earlier.profile
        return read_profile([p.text for p in doc.pages[:PROFILE_PAGES]], name, doc.title or "").to_dict()

    def _precheck(self, source: SourceFile) -> FileReport | tuple[str, int]:
        """A report for files that need no parsing (unsupported, too big, unchanged), else (sha256, size)."""
        report = FileReport(str(source.path), source.doc_id, "failed")
        if kind_of(source.path) is None:
            report.reason = f"unsupported file type '{source.path.suffix or '(none)'}'"
            return report
        try:
            size = source.path.stat().st_size
            if size > self.limits.max_file_mb * 1024 * 1024:
                report.reason = f"file is {size / 2**20:.0f} MB; the limit is {self.limits.max_file_mb:g} MB"
                return report
            version = file_sha256(source.path)
        except OSError as exc:
            report.reason = f"cannot read the file: {exc.strerror or exc}"
            return report
        existing = self.store.document(source.doc_id)
        if (existing and existing.version == version and existing.pipeline == self.signature
                and not self._ocr_would_add(existing)):
            report.status, report.pages, report.chunks = "unchanged", existing.pages, existing.chunks
            return report
        return version, size

    def _ocr_would_add(self, record: DocumentRecord) -> bool:
        """A document stored with pages of no text while OCR could not run, now that it can. Not one whose blank
        pages OCR did read as empty: that was read again on every run (ten FinanceBench 10-Ks with a blank page,
        14 minutes of each evaluation)."""
        ocr = self.limits.ocr
        return (ocr.enabled and not record.ocr_pages and tesseract_path(ocr) is not None
                and stored_without_ocr(record.warnings))

    def _process(self, todo, on_progress) -> list[FileReport]:
        reports = []
        with ParserWorker(self.limits.parse_timeout_s, self.limits.parse_memory_mb, self.limits.max_pages,
                          self.limits.ocr) as parser:
            submitted = {}  # when each file went to the parser: its report's seconds count from there
            if todo:
                parser.submit(todo[0][0].path)
                submitted[0] = time.perf_counter()
            for i, (source, version, size, _) in enumerate(todo):
                if on_progress:
                    on_progress(source.doc_id, "read", 0.0)
                def on_page(done: int, total: int, doc_id: str = source.doc_id) -> None:
                    if on_progress:
                        on_progress(doc_id, "ocr", done / total)

                try:
                    doc = parser.result(on_page)
                except LoadError as exc:
                    doc = exc
                if i + 1 < len(todo):
                    parser.submit(todo[i + 1][0].path)  # parse the next file while this one embeds
                    submitted[i + 1] = time.perf_counter()
                report = FileReport(str(source.path), source.doc_id, "failed")
                if isinstance(doc, LoadError):
                    report.reason = doc.reason
                else:
                    try:
                        self._store_document(source, doc, version, size, report, on_progress)
                    except Exception as exc:  # e.g. the Chroma server went away: report, go on
                        logger.exception("storing %s failed", source.path)
                        report.status, report.reason = "failed", f"could not store: {type(exc).__name__}: {exc}"
                report.seconds = time.perf_counter() - submitted[i]
                if report.status == "failed":
                    logger.warning("%s: %s", source.path, report.reason)
                if on_progress:
                    on_progress(source.doc_id, "done", 1.0)
                reports.append(report)
        return reports

    def _store_document(self, source: SourceFile, doc: LoadedDocument, version: str, size: int,
                        report: FileReport, on_progress) -> None:
        if on_progress:
            on_progress(source.doc_id, "chunk", 0.0)
        prepared = self._prepare(source, doc, version, size)
        if prepared is None:
            report.reason = "no text found"
            return
        record, chunks, texts, headings = prepared
        parts = []
        for lo in range(0, len(texts), EMBED_STEP):
            if on_progress:
                on_progress(source.doc_id, "embed", lo / len(texts))
            parts.append(self.embedder.embed_documents(texts[lo : lo + EMBED_STEP]))
        if on_progress:
            on_progress(source.doc_id, "index", 0.0)
        existed = self.store.document(source.doc_id) is not None
        self.store.write_document(record, chunks, np.concatenate(parts), headings)
        report.status = "updated" if existed else "added"
        report.pages, report.chunks, report.warnings = len(doc.pages), len(chunks), list(doc.warnings)
        report.ocr_pages = doc.ocr_pages

    def chunk_document(self, doc_id: str, name: str, doc: LoadedDocument,
                       profile: DocumentProfile | None = None) -> tuple[list[Chunk], list[str], list[str]]:
        """The document's chunks, the texts embedded for them (heading + chunk) and each chunk's heading: the
        document's, then the section the chunk falls under."""
        chunks = self.chunker.chunk(doc_id, name, doc.pages)
        document = heading_for(doc, name, profile)
        page_texts = {p.number: p.text for p in doc.pages}
        headings = []
        for c in chunks:
            section = section_at(page_texts.get(c.page, ""), c.start)
            heading = f"{document} · {section}" if section and section.lower() not in document.lower() else document
            headings.append(truncate_to_tokens(self.chunker.tokenizer, heading, self.heading_tokens))
        return chunks, [f"{h}\n{c.text}" if h else c.text for h, c in zip(headings, chunks)], headings

    def _prepare(self, source: SourceFile, doc: LoadedDocument, version: str, size: int):
        """(record, chunks, texts to embed, heading), or None when the document has no text."""
        profile = self._profile(source.doc_id, source.path.name, doc)
        chunks, texts, headings = self.chunk_document(source.doc_id, source.path.name, doc,
                                                      DocumentProfile.from_dict(profile))
        if not chunks:
            return None
        record = DocumentRecord(
            doc_id=source.doc_id, version=version, source=source.path.name, path=str(source.path),
            root=str(source.root), kind=doc.kind, title=doc.title or "", pages=len(doc.pages), chunks=len(chunks),
            size_bytes=size, ingested_at=time.time(), pipeline=self.signature, warnings=list(doc.warnings),
            profile=profile, ocr_pages=doc.ocr_pages, collection=source.collection,
        )
        return record, chunks, texts, headings

    def ingest_loaded(self, items: Iterable[tuple[SourceFile, LoadedDocument]], group: int = 64,
                      on_progress: ProgressCallback | None = None) -> list[FileReport]:
        """Add documents that are already loaded (e.g. an evaluation corpus), embedding many at once.

        A document's version is the hash of its text, so unchanged documents are skipped on a re-run.
        """
        reports: list[FileReport] = []
        pending: list[tuple] = []

        def flush() -> None:
            if not pending:
                return
            vectors = self.embedder.embed_documents([t for _, _, texts, _, _ in pending for t in texts])
            batch, offset = [], 0
            for record, chunks, texts, headings, _ in pending:
                batch.append((record, chunks, vectors[offset : offset + len(texts)], headings))
                offset += len(texts)
            self.store.write_documents(batch)
            for record, chunks, _, _, report in pending:
                report.status, report.pages, report.chunks = "added", record.pages, len(chunks)
                if on_progress:
                    on_progress(record.doc_id, "done", 1.0)
            pending.clear()

        existing = {r.doc_id: r for r in self.store.documents()}
        for source, doc in items:
            version = hashlib.sha256("\f".join(p.text for p in doc.pages).encode()).hexdigest()
            report = FileReport(str(source.path), source.doc_id, "failed")
            reports.append(report)
            old = existing.get(source.doc_id)
            if old and old.version == version and old.pipeline == self.signature:
                report.status, report.pages, report.chunks = "unchanged", old.pages, old.chunks
                continue
            prepared = self._prepare(source, doc, version, sum(len(p.text) for p in doc.pages))
            if prepared is None:
                report.reason = "no text found"
                continue
            pending.append((*prepared, report))
            if len(pending) >= group:
                flush()
        flush()
        for report in reports:
            if report.status == "added" and report.doc_id in existing:
                report.status = "updated"
        return reports

    def remove(self, doc_ids: Iterable[str]) -> list[FileReport]:
        reports = []
        for doc_id in doc_ids:
            record = self.store.document(doc_id)
            if record is None or not self.store.remove_document(doc_id):
                reports.append(FileReport("", doc_id, "failed", reason="no such document"))
            else:
                reports.append(FileReport(record.path, doc_id, "removed", record.pages, record.chunks))
        return reports

    def _remove_missing(self, paths: list, files: list[SourceFile], collection: str) -> list[FileReport]:
        """Documents of `collection` ingested from the given folders whose files are gone."""
        roots = {str(Path(p).expanduser().resolve()) for p in paths if Path(p).is_dir()}
        present = {(str(f.root), f.doc_id) for f in files}
        gone = [r.doc_id for r in self.store.documents()
                if r.root in roots and r.collection == collection and (r.root, r.doc_id) not in present]
        return self.remove(gone)
