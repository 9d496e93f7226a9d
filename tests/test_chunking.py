import pytest

from ingest.chunking import TokenChunker, truncate_to_tokens
from ingest.loaders import load_file
from ingest.types import Page
from tests.conftest import shared_path

LONG_TEXT = (
    "The SK-220 robotic arm has six axes. Its payload is 12 kg and its reach is 1,300 mm.\n\n"
    + "Maintenance intervals depend on the duty cycle, the temperature and the payload. " * 40
    + "\n\nsupercalifragilisticexpialidocious" * 30
    + "\n\n" + "x" * 3000
)


def test_spans_are_exact_and_chunks_fit_the_limit(chunker):
    page = Page(4, LONG_TEXT)
    chunks = chunker.chunk("doc", "doc.txt", [page])
    assert len(chunks) > 5
    for i, c in enumerate(chunks):
        assert page.text[c.start:c.end] == c.text
        assert c.page == 4 and c.index == i and c.doc_id == "doc"
        assert 0 < chunker.count_tokens(c.text) <= chunker.chunk_tokens
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    non_space = {i for i, ch in enumerate(page.text) if not ch.isspace()}
    assert non_space <= covered, "every non-space character belongs to some chunk"


def test_overlap_repeats_text_between_neighbours(chunker):
    text = " ".join(f"sentence number {i} is here." for i in range(200))
    chunks = chunker.chunk("d", "d", [Page(1, text)])
    assert any(b.start < a.end for a, b in zip(chunks, chunks[1:]))


def test_chunk_tokens_never_exceed_the_embedder_window(embedder):
    """With the largest allowed chunk, what the model sees (with [CLS]/[SEP]) is inside its window."""
    chunker = TokenChunker(embedder.tokenizer, chunk_tokens=embedder.max_tokens - 2, overlap_tokens=0)
    for c in chunker.chunk("d", "d", [Page(1, LONG_TEXT)]):
        assert len(embedder.tokenizer(c.text)["input_ids"]) <= embedder.max_tokens


def test_real_pdf_pages_and_spans(chunker):
    pdf = shared_path("eval", "financebench-dev", "pdfs", "AMCOR_2023Q4_EARNINGS.pdf")
    doc = load_file(pdf)
    chunks = chunker.chunk("amcor", pdf.name, doc.pages)
    pages = {p.number: p.text for p in doc.pages}
    assert {c.page for c in chunks} == {p.number for p in doc.pages if p.text.strip()}
    for c in chunks:
        assert pages[c.page][c.start:c.end] == c.text
        assert chunker.count_tokens(c.text) <= chunker.chunk_tokens


def test_invalid_sizes_are_refused(embedder):
    with pytest.raises(ValueError, match="chunk_tokens must be > 0"):
        TokenChunker(embedder.tokenizer, chunk_tokens=0)
    with pytest.raises(ValueError, match="overlap_tokens"):
        TokenChunker(embedder.tokenizer, chunk_tokens=50, overlap_tokens=50)


def test_truncate_to_tokens(embedder):
    tok = embedder.tokenizer
    text = "one two three four five six"
    assert truncate_to_tokens(tok, text, 3) == "one two three"
    assert truncate_to_tokens(tok, text, 100) == text
    assert truncate_to_tokens(tok, text, 0) == ""
