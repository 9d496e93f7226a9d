"""Small records that flow between the ingestion stages."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class WordBox:
    """Where a word of an OCR'd page lies: its span in the page text and its box as fractions of the page
    (left, top, right, bottom; 0..1 from the top-left corner)."""

    start: int
    end: int
    left: float
    top: float
    right: float
    bottom: float


@dataclass(frozen=True)
class Page:
    """Normalised text of one page (1-based); formats without pages have a single page 1. Pages read by OCR
    carry the box of each word, since they have no text layer to find a passage in."""

    number: int
    text: str
    words: tuple[WordBox, ...] = ()
    ocr: bool = False


@dataclass(frozen=True)
class LoadedDocument:
    """What a loader read from one file."""

    path: str
    kind: str  # pdf, image, text, markdown, html, docx, pptx, xlsx, csv
    title: str | None
    pages: list[Page]
    warnings: list[str] = field(default_factory=list)

    @property
    def text_pages(self) -> int:
        return sum(1 for p in self.pages if p.text.strip())

    @property
    def ocr_pages(self) -> list[int]:
        return [p.number for p in self.pages if p.ocr]


@dataclass(frozen=True)
class Chunk:
    """A piece of one page: `page_text[start:end] == text`."""

    doc_id: str
    source: str  # display name of the file
    page: int
    start: int
    end: int
    index: int  # position of the chunk within its document
    text: str
    content_hash: str
    # OCR'd pages only: the words of the chunk with their boxes (spans in page offsets), for the page viewer.
    boxes: tuple[WordBox, ...] = field(default=(), repr=False, compare=False)

    def to_dict(self) -> dict:
        out = asdict(self)
        out.pop("boxes")
        return out


@dataclass(frozen=True)
class DocumentRecord:
    """A committed document as the store knows it."""

    doc_id: str  # path relative to the ingested root (or the file name)
    version: str  # sha256 of the file's bytes
    source: str  # file name shown to users
    path: str  # absolute path at ingest time
    root: str  # absolute folder the doc_id is relative to
    kind: str
    title: str
    pages: int
    chunks: int
    size_bytes: int
    ingested_at: float  # unix time
    pipeline: str  # chunking signature; a change re-ingests the file
    warnings: list[str] = field(default_factory=list)
    profile: dict = field(default_factory=dict)  # ingest.profile.DocumentProfile as a dict
    ocr_pages: list[int] = field(default_factory=list)  # pages whose text was read by OCR
    collection: str = ""  # who may see it is the app's business; "" = none (the doc id has no prefix)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class FileReport:
    """Outcome of one file in a batch: added, updated, unchanged, removed or failed."""

    path: str
    doc_id: str
    status: str
    pages: int = 0
    chunks: int = 0
    reason: str = ""
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    ocr_pages: list[int] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "name": self.doc_id,
            "path": self.path,
            "status": self.status,
            "pages": self.pages,
            "chunks": self.chunks,
            "reason": self.reason,
            "warnings": list(self.warnings),
            "ocr_pages": list(self.ocr_pages),
            "seconds": round(self.seconds, 3),
        }
