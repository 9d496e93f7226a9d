"""Routing: a question naming an organisation is searched in that organisation's documents (real store, real
PDFs); documents that name no organisation stay in, and two named organisations get candidates from each."""

from ingest.profile import DocumentProfile
from retrieval.hybrid import FusionConfig, HybridRetriever
from retrieval.keyword import BM25Retriever
from retrieval.routing import StoredProfiles, by_period, named_organisations, route
from retrieval.vector import VectorRetriever
from tests.pdfgen import make_pdf

PROFILES = {
    "a-2021.pdf": DocumentProfile("", "ALPHA WIDGETS CORPORATION", "2021", "10-K annual report"),
    "a-2022.pdf": DocumentProfile("", "Alpha Widgets Corp.", "2022", "10-K annual report"),
    "b-2022.pdf": DocumentProfile("", "BETA FOODS, INC.", "2022", "10-K annual report"),
    "notes.md": DocumentProfile("Meeting notes", "", "", ""),
}


def test_names_are_matched_by_the_start_of_the_organisation_name():
    orgs = [p.organisation for p in PROFILES.values() if p.organisation]
    assert named_organisations("What was Alpha Widgets' revenue?", orgs) == [
        "ALPHA WIDGETS CORPORATION", "Alpha Widgets Corp."]
    assert named_organisations("Did Beta's margin improve?", orgs) == ["BETA FOODS, INC."]
    assert named_organisations("What is the beta of the alpha factor?", orgs) == [], "lower-case words are not names"


def test_part_of_a_name_does_not_route_when_the_questions_name_goes_on():
    orgs = ["American Water Works Company, Inc.", "American Express Co"]
    assert named_organisations("What was American Express's FY2022 revenue?", orgs) == ["American Express Co"]
    assert named_organisations("What was American Express's FY2022 revenue?", orgs[:1]) == [], \
        "American Express is not American Water Works"
    assert named_organisations("Did American's margin improve?", orgs[:1]) == [orgs[0]], "a name's start alone routes"
    # a name ends at a sentence's end: "Adobe? Operating …" and "MGM Resorts? Answer …" do not go on
    adobe = ["ADOBE SYSTEMS INCORPORATED", "ADOBE INC."]
    assert named_organisations("What is the FY2015 operating cash flow ratio for Adobe? Operating cash flow ratio is "
                               "defined as: cash from operations / total current liabilities.", adobe) == adobe
    assert named_organisations("What is the FY2018 amount of accounts payable for MGM Resorts? Answer in USD "
                               "millions.", ["MGM RESORTS INTERNATIONAL"]) == ["MGM RESORTS INTERNATIONAL"]


def test_route_prefers_the_named_year_and_keeps_documents_naming_no_organisation():
    chosen = route("What was Alpha's FY2022 revenue?", PROFILES)
    assert chosen.doc_ids == ["a-2022.pdf", "notes.md"] and "2022" in chosen.reason
    assert route("What was Alpha's revenue in 2019?", PROFILES).doc_ids == ["a-2021.pdf", "a-2022.pdf", "notes.md"]
    both = route("Compare Alpha and Beta revenue in 2022", PROFILES)
    assert both.groups == [["a-2022.pdf", "notes.md"], ["b-2022.pdf", "notes.md"]]
    assert route("What was revenue in 2022?", PROFILES) is None


def test_a_year_without_an_organisation_leaves_out_reports_that_end_before_it():
    assert by_period("What was the value of vehicles in 2022?", PROFILES) is None, "each report is recent enough"
    old = dict(PROFILES, **{"c-2016.pdf": DocumentProfile("", "Gamma", "2016", "10-K annual report")})
    chosen = by_period("What was the value of vehicles in 2022?", old)
    assert chosen.doc_ids == ["a-2021.pdf", "a-2022.pdf", "b-2022.pdf", "notes.md"], \
        "a 2021 report looks a year ahead; a 2016 one cannot hold 2022; a document with no period stays"
    assert "2016" not in chosen.reason and "2021" in chosen.reason
    assert by_period("How did sales in 2015 compare with 2022?", old) is None, "the earliest year counts"
    policy = dict(old, **{"travel.md": DocumentProfile("", "Gamma", "2016", "policy")})
    assert "travel.md" in by_period("What is the hotel limit in 2030?", policy).doc_ids, "a policy stays in force"
    assert by_period("What was the value of vehicles?", old) is None


def test_a_question_naming_a_year_is_not_answered_from_an_older_report(tmp_path, store, ingestor, embedder):
    folder = tmp_path / "reports"
    folder.mkdir(parents=True)
    (folder / "old.pdf").write_bytes(_report("ALPHA WIDGETS CORPORATION", 2016, "$812"))
    (folder / "new.pdf").write_bytes(_report("BETA FOODS, INC.", 2022, "$433"))
    assert all(r.status == "added" for r in ingestor.ingest([folder]))
    bm25 = BM25Retriever(store)
    bm25.sync()
    retriever = HybridRetriever(VectorRetriever(store, embedder), bm25, profiles=StoredProfiles(store))
    found = retriever.retrieve("What was the net revenue for fiscal 2022?", k=4)
    assert {r.chunk.doc_id for r in found.results} == {"new.pdf"} and "periods before 2021" in found.notes[-1]
    assert not any(r.breakdown.routed for r in found.results), "not routed: the unrouted fusion applies"
    assert {r.chunk.doc_id for r in retriever.retrieve("net revenue fiscal", k=6).results} == {"old.pdf", "new.pdf"}


def _report(company: str, year: int, revenue: str) -> bytes:
    cover = (f"FORM 10-K ANNUAL REPORT PURSUANT TO SECTION 13 For the fiscal year ended December 31, {year} "
             f"Commission File Number 001-0000\n\n{company}\n\n(Exact name of registrant as specified in its charter)")
    body = (f"Consolidated statement of operations. Net revenue for fiscal {year} was {revenue} million, driven by "
            f"volume growth in every segment. Operating income and net revenue are shown in the table below.")
    return make_pdf([cover, body, "Risk factors. Competition, supply costs and interest rates may affect results."])


def _ingest_reports(tmp_path, ingestor, companies: dict[str, str]) -> None:
    """One 2022 annual report per file name, Alpha's revenue $812 million, Beta's $433 million."""
    folder = tmp_path / "reports"
    folder.mkdir(parents=True)
    for name, company in companies.items():
        (folder / name).write_bytes(_report(company, 2022, "$812" if company.startswith("ALPHA") else "$433"))
    assert all(r.status == "added" for r in ingestor.ingest([folder]))


def test_a_question_naming_company_b_never_gets_only_company_a_pages(tmp_path, store, ingestor, embedder, chunker):
    _ingest_reports(tmp_path, ingestor, {"0279901b.pdf": "ALPHA WIDGETS CORPORATION",
                                         "report-final-v3.pdf": "BETA FOODS, INC."})
    assert store.document("report-final-v3.pdf").profile["organisation"] == "BETA FOODS, INC."
    bm25 = BM25Retriever(store)
    bm25.sync()
    retriever = HybridRetriever(VectorRetriever(store, embedder), bm25, FusionConfig(chunks_per_page=1),
                                profiles=StoredProfiles(store))
    found = retriever.retrieve("What was Beta Foods' net revenue in fiscal 2022?", k=4)
    assert {r.chunk.doc_id for r in found.results} == {"report-final-v3.pdf"}, found.notes
    assert all(r.breakdown.routed for r in found.results) and "BETA FOODS" in found.notes[-1]
    assert len({r.chunk.page for r in found.results}) == len(found.results), "one chunk per page"
    both = retriever.retrieve("Compare the net revenue of Alpha Widgets and Beta Foods", k=4)
    assert {r.chunk.doc_id for r in both.results[:2]} == {"0279901b.pdf", "report-final-v3.pdf"}
    unrouted = HybridRetriever(VectorRetriever(store, embedder), bm25).retrieve("net revenue of Beta Foods", k=4)
    assert not any(r.breakdown.routed for r in unrouted.results)
    store.edit_profile("0279901b.pdf", {"organisation": "Beta Foods, Inc."})  # seen at once, not after a commit
    again = retriever.retrieve("What was Beta Foods' net revenue in fiscal 2022?", k=4)
    assert not any(r.breakdown.routed for r in again.results), "both documents are Beta's now: nothing to route"


def test_a_question_that_names_no_report_sees_several_reports(tmp_path, store, ingestor, embedder, chunker):
    _ingest_reports(tmp_path, ingestor, {"alpha.pdf": "ALPHA WIDGETS CORPORATION", "beta.pdf": "BETA FOODS, INC."})
    bm25 = BM25Retriever(store)
    bm25.sync()
    question = "Alpha Widgets Corporation annual report: net revenue, operating income, risk factors"

    def top(config, profiles=None, k=3):
        retriever = HybridRetriever(VectorRetriever(store, embedder), bm25, config, profiles=profiles)
        return [r.chunk.doc_id for r in retriever.retrieve(question, k=k).results]

    assert top(FusionConfig())[:2] == ["alpha.pdf", "alpha.pdf"], "without the cap one document fills the top"
    spread = top(FusionConfig(chunks_per_document=1))
    assert spread[:2] == ["alpha.pdf", "beta.pdf"] and len(spread) == 3, "one of each first, then the rest"
    routed = top(FusionConfig(chunks_per_document=1), StoredProfiles(store))
    assert routed == ["alpha.pdf"] * 3, "a routed question (it names Alpha) searches Alpha's report only"
    older = tmp_path / "older"
    older.mkdir()
    (older / "alpha-2019.pdf").write_bytes(make_pdf([  # Alpha's again, in words that match the question less
        "FORM 10-K for the fiscal year ended December 31, 2019\n\nALPHA WIDGETS CORPORATION",
        "Sales grew in 2019 to $640 million.", "Employees and properties."]))
    assert [r.status for r in ingestor.ingest([older])] == ["added"]
    bm25.sync()
    assert top(FusionConfig(), StoredProfiles(store), k=4)[:2] == ["alpha.pdf", "alpha.pdf"]
    routed = top(FusionConfig(chunks_per_document=1), StoredProfiles(store), k=4)
    assert set(routed[:2]) == {"alpha.pdf", "alpha-2019.pdf"} and "beta.pdf" not in routed, \
        "a question naming a company but not which of its reports sees each report first"
