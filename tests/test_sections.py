"""What is indexed with a chunk: the document's profile and the section it falls under; tables keep their rows
whole (a real PDF with a financial statement, through the real store)."""

from ingest.sections import is_heading, section_at
from tests.pdfgen import make_pdf


def test_heading_like_lines():
    assert all(is_heading(h) for h in ["CONSOLIDATED BALANCE SHEETS", "## 3. Per diem", "4. Claims",
                                       "Item 7. Management's Discussion and Analysis"])
    assert not any(is_heading(h) for h in ["Total current assets 1,234 5,678", "Table of Contents", "59",
                                           "Net revenue grew by 4% in the year.", "the payload is 12 kg"])
    page = "ADOBE INC.\nCONSOLIDATED BALANCE SHEETS\n(In thousands)\nCash 1,200\nTotal assets 9,000"
    assert section_at(page, page.index("Cash")) == "CONSOLIDATED BALANCE SHEETS"
    assert section_at(page, 0) == ""


def test_statement_rows_stay_whole_and_chunks_know_their_company_and_section(tmp_path, store, ingestor):
    rows = [f"Line item {i:02d} net revenue segment {i} 2022 ${800 + i},{i:03d} 2021 ${700 + i},{i:03d}"
            for i in range(60)]
    cover = ("FORM 10-K ANNUAL REPORT PURSUANT TO SECTION 13 For the fiscal year ended December 31, 2022 "
             "Commission File Number 001-0000\n\nBETA FOODS, INC.\n\n(Exact name of registrant as specified in "
             "its charter)")
    statement = "CONSOLIDATED STATEMENTS OF OPERATIONS\n\n" + "\n\n".join(rows)  # one line per row
    pdf = tmp_path / "0279901b.pdf"
    pdf.write_bytes(make_pdf([cover, statement], width=200))
    assert ingestor.ingest([pdf])[0].status == "added"
    stored = list(store.iter_chunks(["0279901b.pdf"]))
    statement_chunks = [s for s in stored if s.chunk.page == 2]
    assert len(statement_chunks) > 1, "the statement spans several chunks"
    for row in rows:
        assert any(row in s.chunk.text for s in statement_chunks), f"row cut in half: {row}"
    later = [s for s in statement_chunks if not s.chunk.text.startswith("CONSOLIDATED")]
    assert later and all("CONSOLIDATED STATEMENTS OF OPERATIONS" in s.heading for s in later)
    assert all("BETA FOODS, INC. · 10-K annual report · 2022" in s.heading for s in stored)
