"""Document profiles: what a document is (title, organisation, period, type), read by rules from its first pages
and its metadata at ingest.

Long reports are asked about by company and year ("Adobe's FY2015 operating cash flow"), and their file names often
say nothing (`0279901b.pdf`), so retrieval routes by what the cover page says: the registrant of an SEC filing,
the company that "reports" results in an earnings release, the organisation in a policy's title line.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

PROFILE_PAGES = 3  # cover, table of contents and the first page of text are enough


@dataclass(frozen=True)
class DocumentProfile:
    title: str = ""
    organisation: str = ""
    period: str = ""  # the year a report covers (fiscal year, quarter's year) or a policy's effective year
    doc_type: str = ""  # 10-K annual report, 10-Q quarterly report, 8-K current report, earnings release, policy…

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> DocumentProfile:
        data = data or {}
        return cls(**{k: str(data.get(k) or "") for k in ("title", "organisation", "period", "doc_type")})

    def describe(self) -> str:
        """One line for chunk headers and listings: "ADOBE SYSTEMS INCORPORATED · 10-K annual report · 2015"."""
        return " · ".join(p for p in (self.organisation, self.doc_type, self.period) if p)


_SPACE = re.compile(r"\s+")
_MONTH = (r"(?:January|February|March|April|May|June|July|August|September|October|November|December|"
          r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?")
_DATE_YEAR = rf"{_MONTH}\s+\d{{1,2}}\s*,\s*((?:19|20)\d\d)"
_PERIOD_RULES = [
    re.compile(rf"fiscal\s+year\s+ended\s*:?\s*{_DATE_YEAR}", re.I),
    re.compile(rf"quarterly\s+period\s+ended\s*:?\s*{_DATE_YEAR}", re.I),
    re.compile(rf"Date\s+of\s+report[^:]*:\s*{_DATE_YEAR}", re.I),
    re.compile(rf"(?:quarter|year)s?\s+(?:and\s+(?:full\s+)?year\s+)?ended\s+{_DATE_YEAR}", re.I),
    re.compile(r"\bfiscal\s+(?:year\s+)?((?:19|20)\d\d)\b", re.I),
    re.compile(r"\bfull\s+year\s+((?:19|20)\d\d)\b", re.I),
    re.compile(r"\beffective\s*:?\s*(?:\d{1,2}\s+)?" + _MONTH + r"\s+(?:\d{1,2},?\s+)?((?:19|20)\d\d)", re.I),
]
_FILINGS = [
    (re.compile(r"\bFORM\s+10-K\b|\bannual\s+report\s+pursuant\b", re.I), "10-K annual report"),
    (re.compile(r"\bFORM\s+10-Q\b|\bquarterly\s+report\s+pursuant\b", re.I), "10-Q quarterly report"),
    (re.compile(r"\bFORM\s+8-K\b", re.I), "8-K current report"),
    (re.compile(r"\bExhibit\s+99\.1\b|\breports?\b.{0,60}\bresults\b", re.I), "earnings release"),
]
_TYPES = [
    (re.compile(r"\bannual\s+report\b", re.I), "annual report"),
    (re.compile(r"\bdatasheet\b|\bdata\s+sheet\b", re.I), "datasheet"),
    (re.compile(r"\bhandbook\b", re.I), "handbook"),
    (re.compile(r"\bpolicy\b", re.I), "policy"),
    (re.compile(r"\bmanual\b|\buser\s+guide\b", re.I), "manual"),
    (re.compile(r"\bcatalogue\b|\bcatalog\b", re.I), "catalogue"),
    (re.compile(r"\bchecklist\b", re.I), "checklist"),
    (re.compile(r"\bguide\b", re.I), "guide"),
]
# A capitalised name: words starting upper-case or with a digit (3M), joined by spaces, "&", "," or "-".
_NAME_WORD = r"(?:[A-Z0-9][\w.'’&-]*,?|\.)"
_REGISTRANT = re.compile(rf"((?:{_NAME_WORD}\s+){{0,5}}{_NAME_WORD})\s*\(\s*Exact\s+name\s+of\s+regis", re.I)
# "Microsoft Corporation", "The Coca-Cola Company": a capitalised name ending in a company form.
_COMPANY = re.compile(r"\b((?:[A-Z][\w.&'’-]*,?\s+){0,3}?(?:[A-Z][\w.&'’-]*),?\s+(?:Inc\.?|INC\.?|Incorporated|"
                      r"INCORPORATED|Corporation|CORPORATION|Company|COMPANY|Corp\.|CORP\.|plc|PLC|N\.V\.|"
                      r"S\.A\.|AG|SE|Ltd\.?|LTD\.?|Limited|LIMITED|GmbH))(?![\w])")
_REPORTS = re.compile(rf"^\W*((?:{_NAME_WORD}\s+){{0,5}}?{_NAME_WORD})\s+(?:reports|announces|REPORTS|ANNOUNCES)\b")
_TITLE_SPLIT = re.compile(r"\s+[—–-]\s+")
_NOT_NAME = re.compile(r"^(?:\d[\d-]*|-+|Number:?|No\.?|File|Commission|FILE|NUMBER|COMMISSION|\(.*|.*\))$")
_ACCESSION = re.compile(r"^[\d-]{10,}$")


def read_profile(pages: list[str], file_name: str, title: str = "") -> DocumentProfile:
    """The profile of a document from the text of its first pages, its metadata title and its file name."""
    raw = "\n".join(pages[:PROFILE_PAGES])
    text = _SPACE.sub(" ", raw)
    heading = _first_line(raw)
    organisation = (_registrant(text) or _reporter(heading) or _title_organisation(heading)
                    or _most_named_company(text))
    period = next((m.group(1) for rule in _PERIOD_RULES for m in [rule.search(text)] if m), "")
    if not period:
        year = re.search(r"\b((?:19|20)\d\d)\b", heading)  # "Datasheet, revision C (2026)"
        period = year.group(1) if year else ""
    # Filings say what they are on the cover; other documents in their title line.
    doc_type = next((name for rule, name in _FILINGS if rule.search(text[:3000])), "") or next(
        (name for rule, name in _TYPES if rule.search(f"{title} {heading}")), "")
    if _meaningful(title):
        pass
    elif _meaningful(heading.lstrip("# ")):
        title = heading.lstrip("# ").strip()
    elif organisation and doc_type:
        title = " ".join(p for p in (organisation, doc_type, period) if p)
    else:
        title = file_name
    return DocumentProfile(title=title, organisation=organisation, period=period, doc_type=doc_type)


def _registrant(text: str) -> str:
    m = _REGISTRANT.search(text)
    if m is None:
        return ""
    words = m.group(1).split()
    kept: list[str] = []
    for word in reversed(words):  # the name is the capitalised run right before "(Exact name…"
        if _NOT_NAME.match(word) or not (word[0].isupper() or word[0].isdigit()):
            break
        kept.insert(0, word)
    return " ".join(kept).strip(" ,")


def _most_named_company(text: str) -> str:
    counts: dict[str, int] = {}
    first: dict[str, str] = {}
    for m in _COMPANY.finditer(text):
        words = m.group(1).strip(" ,").split()
        while len(words) > 2 and (words[0].endswith(".") or words[0].lower() in _NOT_FIRST):
            words = words[1:]  # "Part III. THE COCA-COLA COMPANY"
        name = " ".join(words)
        if name and name.lower() not in _NOT_COMPANIES and not words[0].endswith("."):
            key = name.lower()
            counts[key] = counts.get(key, 0) + 1
            first.setdefault(key, name)
    return first[max(counts, key=lambda k: counts[k])] if counts else ""


_NOT_FIRST = frozenset("a an of by and or for with to in on as at from this that its part item".split())
_NOT_COMPANIES = frozenset({"documents incorporated", "our company", "the company", "this company"})


def _reporter(heading: str) -> str:
    m = _REPORTS.match(heading)
    return m.group(1).strip(" ,") if m else ""


def _title_organisation(heading: str) -> str:
    """"Harbor Lane Robotics — Employee Handbook": the organisation before the dash."""
    parts = _TITLE_SPLIT.split(heading.lstrip("# ").strip(), maxsplit=1)
    # "SK-220 Collaborative Robotic Arm - Datasheet" names a product, not who wrote it
    if len(parts) == 2 and 1 <= len(parts[0].split()) <= 6 and not re.search(r"[A-Z]+-?\d", parts[0]):
        return parts[0].strip()
    return ""


def _first_line(raw: str) -> str:
    for line in raw.splitlines():
        line = line.strip()
        if len(line) > 3 and not re.match(r"^(?:page\s+\d+|\d+|exhibit\s+[\d.]+)(?:\s+of\s+\d+)?$", line, re.I):
            return line[:200]
    return ""


def _meaningful(title: str) -> bool:
    """A metadata title that names the document: not an accession number, "Document", "Microsoft Word - x.docx"."""
    title = title.strip()
    return bool(title) and not _ACCESSION.match(title) and re.search(r"[^\W\d_]{3}", title) is not None \
        and not re.match(r"^(?:document|untitled|microsoft word\b|table of contents|united states\b|page \d)", title,
                         re.I)
