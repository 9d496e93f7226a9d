"""Slides and spreadsheets: one page per slide or sheet, notes kept, rows whole with their column names."""

import pytest

from ingest.errors import LoadError
from ingest.loaders import load_file
from ingest.office import table_text
from tests.files import write_pptx, write_xlsx


def test_pptx_one_page_per_slide_with_notes(tmp_path):
    path = write_pptx(tmp_path / "deck.pptx", [
        ("Quarterly review", "Revenue grew 12% to EUR 4.1 million", "Mention the Lisbon office opening."),
        ("Hiring plan", "Eight engineers in 2027\nTwo in support", ""),
    ], title="Q3 review")
    doc = load_file(path)
    assert doc.kind == "pptx" and doc.title == "Q3 review" and [p.number for p in doc.pages] == [1, 2]
    first = doc.pages[0].text
    assert first.index("Quarterly review") < first.index("Revenue grew 12%") < first.index("Notes: Mention the Lisbon")
    assert "Eight engineers in 2027\nTwo in support" in doc.pages[1].text and "Notes" not in doc.pages[1].text


def test_xlsx_one_page_per_sheet_rows_name_their_columns(tmp_path):
    path = write_xlsx(tmp_path / "budget.xlsx", {
        "Travel": [["Travel budget 2026"], ["Region", "Quarter", "Budget (EUR)"], ["EMEA", "Q1", 12000],
                   ["APAC", "Q1", 8500.5], [None, None, None], ["EMEA", "Q2", 13000]],
        "Empty": [],
        "Staff": [["Team", "Headcount"], ["Platform", 14]],
    })
    doc = load_file(path)
    assert doc.kind == "xlsx" and [p.number for p in doc.pages] == [1, 2, 3]
    travel = doc.pages[0].text.splitlines()
    assert travel[:3] == ["Sheet: Travel", "Travel budget 2026", "Columns: Region | Quarter | Budget (EUR)"]
    assert "Region: APAC | Quarter: Q1 | Budget (EUR): 8500.5" in travel
    assert "Region: EMEA | Quarter: Q2 | Budget (EUR): 13000" in travel
    assert doc.pages[1].text == "" and "Team: Platform | Headcount: 14" in doc.pages[2].text


def test_csv_sniffs_its_delimiter(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text("product;price;currency\nSK-220;48 500;EUR\nSK-110;31 900;EUR\n", encoding="cp1252")
    doc = load_file(path)
    assert doc.kind == "csv" and "product: SK-110 | price: 31 900 | currency: EUR" in doc.pages[0].text


def test_a_long_sheet_is_chunked_between_rows_and_every_chunk_keeps_column_names(tmp_path, chunker):
    rows = [["Employee", "Office", "Laptop model", "Serial number"]]
    rows += [[f"Person {i}", "Lisbon" if i % 2 else "Hamburg", "ThinkPad X1 Carbon Gen 12", f"PF{i:06d}"]
             for i in range(300)]
    doc = load_file(write_xlsx(tmp_path / "assets.xlsx", {"Laptops": rows}))
    pieces = chunker.chunk("assets.xlsx", "assets.xlsx", doc.pages)
    assert len(pieces) > 5
    for piece in pieces:
        for line in piece.text.splitlines():
            if not line.startswith(("Sheet:", "Columns:")):  # a whole row, every value named
                assert line.startswith("Employee: Person ") and line.count("|") == 3, line
                assert "Laptop model: ThinkPad" in line and line.split("Serial number: PF")[1].isdigit(), line


def test_table_text_without_a_header_keeps_the_values():
    assert table_text(None, [["only"], ["single"], ["values"]]) == "only\nsingle\nvalues"


@pytest.mark.parametrize("name, data, reason", [
    ("broken.pptx", b"PK\x03\x04 not really", "corrupt PowerPoint"),
    ("broken.xlsx", b"PK\x03\x04 not really", "Excel"),
    ("empty.csv", b"\n\n", "no values"),
])
def test_bad_office_files_give_a_reason(tmp_path, name, data, reason):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(LoadError, match=reason):
        load_file(path)
