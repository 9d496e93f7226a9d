"""Document profiles read at ingest: the organisation, period and type of real filings and of the sample data."""

import re
from pathlib import Path

from pypdf import PdfReader

from ingest.loaders import load_file
from ingest.profile import PROFILE_PAGES, DocumentProfile, read_profile
from tests.conftest import shared_path

ROOT = Path(__file__).resolve().parents[1]


def _squeezed(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def test_financebench_profiles_name_the_company_and_year_of_the_file_name():
    pdfs = sorted(shared_path("eval", "financebench-dev", "pdfs").glob("*.pdf"))
    assert len(pdfs) == 49
    right, wrong = 0, []
    for pdf in pdfs:
        reader = PdfReader(pdf)
        pages = [reader.pages[i].extract_text() or "" for i in range(min(PROFILE_PAGES, len(reader.pages)))]
        profile = read_profile(pages, pdf.name, str((reader.metadata or {}).get("/Title") or ""))
        company, year = re.match(r"([A-Za-z]+)_(\d{4})", pdf.name).groups()
        if company.lower()[:5] in _squeezed(profile.organisation) and profile.period == year:
            right += 1
        else:
            wrong.append((pdf.name, profile.organisation, profile.period))
        assert profile.doc_type, pdf.name
    assert right >= 45, wrong


def test_sample_documents_get_their_profiles():
    profiles = {}
    for path in sorted((ROOT / "data").iterdir()):
        doc = load_file(path)
        profiles[path.name] = read_profile([p.text for p in doc.pages], path.name, doc.title or "")
    assert profiles["employee-handbook.md"] == DocumentProfile(
        "Harbor Lane Robotics — Employee Handbook", "Harbor Lane Robotics", "2026", "handbook")
    assert profiles["travel-expenses.txt"].organisation == "HARBOR LANE ROBOTICS"
    assert profiles["travel-expenses.txt"].doc_type == "policy"
    assert profiles["it-service-catalogue.txt"].doc_type == "catalogue"
    assert profiles["sk-220-datasheet.pdf"].doc_type == "datasheet"
    assert profiles["sk-220-datasheet.pdf"].organisation == "", "a product name is not an organisation"
    assert profiles["it-security-policy.html"].title == "IT Security Policy"


def test_a_filing_with_a_meaningless_file_name_and_title_is_named_by_its_cover():
    cover = ("UNITED STATES SECURITIES AND EXCHANGE COMMISSION FORM 10-K ANNUAL REPORT PURSUANT TO SECTION 13 "
             "For the fiscal year ended January 31, 2021 Commission File Number 001-12345\n"
             "NORTHWIND TRADERS, INC.\n(Exact name of registrant as specified in its charter)")
    profile = read_profile([cover], "0279901b.pdf", "0000950170-21-000123")
    assert profile == DocumentProfile("NORTHWIND TRADERS, INC. 10-K annual report 2021", "NORTHWIND TRADERS, INC.",
                                      "2021", "10-K annual report")
    assert profile.describe() == "NORTHWIND TRADERS, INC. · 10-K annual report · 2021"
    release = read_profile(["Contoso Ltd reports fourth quarter and full year 2022 results\nRevenue grew 4%."],
                           "report-final-v3.pdf")
    assert (release.organisation, release.period, release.doc_type) == ("Contoso Ltd", "2022", "earnings release")
