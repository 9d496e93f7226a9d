"""Split pages into chunks measured in the embedder's own tokens, keeping exact character spans."""

from __future__ import annotations

import hashlib
import logging

from langchain_text_splitters import RecursiveCharacterTextSplitter

from ingest.types import Chunk, Page

logger = logging.getLogger(__name__)

SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""]


class TokenChunker:
    """Chunks of at most `chunk_tokens` tokens (no special tokens) with `overlap_tokens` of overlap.

    Each page is split on its own, so every chunk has one page and `page.text[start:end] == chunk.text`.
    """

    def __init__(self, tokenizer, chunk_tokens: int = 200, overlap_tokens: int = 30):
        if chunk_tokens <= 0:
            raise ValueError(f"chunk_tokens must be > 0, got {chunk_tokens}")
        if not 0 <= overlap_tokens < chunk_tokens:
            raise ValueError(f"overlap_tokens must be >= 0 and < chunk_tokens ({chunk_tokens}), got {overlap_tokens}")
        self.tokenizer = tokenizer
        self.chunk_tokens = chunk_tokens
        self.overlap_tokens = overlap_tokens
        self._splitter = RecursiveCharacterTextSplitter(
            chunk_size=chunk_tokens,
            chunk_overlap=overlap_tokens,
            length_function=self.count_tokens,
            separators=SEPARATORS,
            keep_separator="end",
            strip_whitespace=True,
        )

    @property
    def signature(self) -> str:
        """Changes when chunking would give other chunks, so stored documents get re-chunked."""
        return f"tokens:{getattr(self.tokenizer, 'name_or_path', '?').rsplit('/', 1)[-1]}:{self.chunk_tokens}:{self.overlap_tokens}:v1"

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])

    def split_text(self, text: str) -> list[tuple[int, int]]:
        """(start, end) spans of the chunks of `text`, in order."""
        spans: list[tuple[int, int]] = []
        lower = 0  # where the next chunk may start at the earliest
        for piece in self._splitter.split_text(text):
            start = text.find(piece, lower)
            if start < 0:  # the splitter only strips and joins, so this would be a bug
                raise AssertionError(f"chunk not found in its page text: {piece[:60]!r}")
            offsets = self.tokenizer(piece, add_special_tokens=False, return_offsets_mapping=True,
                                     verbose=False)["offset_mapping"]
            spans.extend(self._windows(start, offsets))
            # The next chunk repeats at most the last `overlap_tokens` tokens of this one; searching from
            # there keeps repeated passages (boilerplate) from matching an earlier copy.
            back = offsets[max(0, len(offsets) - self.overlap_tokens - 1)][0] if offsets else 0
            lower = max(start + 1, start + back)
        return spans

    def _windows(self, start: int, offsets: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """The piece's span, or token windows when it still exceeds the limit (merges across joins)."""
        if len(offsets) <= self.chunk_tokens:
            return [(start, start + offsets[-1][1])] if offsets else []
        out = []
        step = self.chunk_tokens - self.overlap_tokens
        for first in range(0, len(offsets), step):
            window = offsets[first : first + self.chunk_tokens]
            out.append((start + window[0][0], start + window[-1][1]))
            if first + self.chunk_tokens >= len(offsets):
                break
        return out

    def chunk(self, doc_id: str, source: str, pages: list[Page]) -> list[Chunk]:
        chunks: list[Chunk] = []
        for page in pages:
            for start, end in self.split_text(page.text):
                text = page.text[start:end]
                chunks.append(
                    Chunk(
                        doc_id=doc_id,
                        source=source,
                        page=page.number,
                        start=start,
                        end=end,
                        index=len(chunks),
                        text=text,
                        content_hash=hashlib.sha256(text.encode()).hexdigest()[:16],
                        boxes=tuple(w for w in page.words if w.start < end and w.end > start),
                    )
                )
        return chunks


def truncate_to_tokens(tokenizer, text: str, max_tokens: int) -> str:
    """The longest prefix of `text` within `max_tokens` tokens (cut at a token boundary)."""
    if max_tokens <= 0:
        return ""
    offsets = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    if len(offsets) <= max_tokens:
        return text
    return text[: offsets[max_tokens - 1][1]]
