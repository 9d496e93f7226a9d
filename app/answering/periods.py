"""The wrong-period rule: a figure the source gives for one year, stated by the answer for another.

Asked "What was Best Buy's revenue in fiscal 2019?", the 1.5B model answered "$42.2 billion [5]" from the FY2019
10-K's page that says "Consolidated revenue of $42.2 billion in fiscal 2018 increased 7.0%": the figure is in
the source, so the citation rule let it through. A report states most figures beside several periods, so a
figure counts as given for a year only where the text ties it to one, right after it: "$42.2 billion in fiscal
2018", "12% for the year ended December 31, 2021", "$1.5 billion as of February 2, 2019". A table cell is tied
to no year this way (its year is a column header), nor a year that follows a word that is no period ("notes due
2028"), so those figures are never judged here.

A sentence is removed when one of its figures is tied, wherever the sources hold it, to a year outside
the period it claims: the years the sentence itself ties to that figure, or else the question's years (from the
first to the last: "from 2017 to 2019" takes in 2018). A date counts for its year and the years either side of
it: Best Buy's second quarter of fiscal 2024 ended on July 29, 2023.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from app.answering.citations import figures, strip_markers

_YEAR = r"(?:19|20)\d{2}"
_MONTH = (r"(?:january|february|march|april|may|june|july|august|september|october|november|december|"
          r"jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)\.?")
# A year as a question names it: "2019", "FY2019", "FY 19", "fiscal 2019" (not "$2019" or "2019.5").
_ASKED_YEAR = re.compile(rf"(?<![\w$.,])(?:fy\s?({_YEAR}|\d{{2}})|({_YEAR}))(?![\w%]|[.,]\d)", re.I)
# What ties a figure to the year after it: up to two unit words ("billion", "bill ion" as a PDF line breaks it),
# then "in", "for", "during", "as of", "at" or "ended", a period word or a date, then the year.
_TIED = re.compile(
    rf"(?:\s*\)?\s*(?!(?:in|for|during|at|as|ended|ending)\b)[a-z%]{{1,9}}\.?){{0,2}}\s*,?\s*"
    rf"(?:in|for|during|at|as\s+of|as\s+at|ended|ending)\s+(?:the\s+)?"
    rf"(?:(?:fiscal|calendar|financial)\s+)?(?:(?:three|six|nine|twelve|thirteen|\d{{1,2}})\s+)?"
    rf"(?:(?:year|quarter|period|months|weeks)\s+)?"
    rf"(?:(?:ended|ending)\s+)?({_MONTH}\s+\d{{1,2}},?\s+)?(?:fy\s?)?({_YEAR})(?![\w%]|[.,]\d)", re.I)
_FIGURE = r"(?<![\w.]){}(?![\w]|\.\d)"


class Tie(NamedTuple):
    """The year a figure is given for; `dated` when by a date ("as of February 2, 2019"): a fiscal year ends
    in the calendar year of its name or the one after, and its quarters may end in the one before."""

    year: int
    dated: bool


def asked_years(question: str) -> set[int]:
    """The years a question names, a span from the first to the last ("FY2017 to FY2019": 2017-2019)."""
    years = [int(full) if full else int(fy) + (2000 if len(fy) == 2 else 0)
             for fy, full in _ASKED_YEAR.findall(question)]
    return set(range(min(years), max(years) + 1)) if years else set()


def tied_years(figure: str, text: str) -> list[Tie | None]:
    """For each place `text` states `figure` (as `figures` writes it, no thousands separators), the year the text
    ties it to there, or None."""
    plain = " ".join(text.split()).replace(",", "")  # "February 2, 2019" and "1,500" alike
    out = []
    for match in re.finditer(_FIGURE.format(re.escape(figure)), plain):
        tied = _TIED.match(plain, match.end())
        out.append(Tie(int(tied.group(2)), tied.group(1) is not None) if tied else None)
    return out


def _figures(sentence: str, question: str) -> list[str]:
    """The sentence's figures that are neither years nor given in the question."""
    given = set(figures(question))
    years = {m.group(1) or m.group(2) for m in _ASKED_YEAR.finditer(sentence)}
    return [f for f in dict.fromkeys(figures(sentence)) if f not in given and f not in years]


def _fits(tie: Tie, claimed: set[Tie]) -> bool:
    return any(tie.year == c.year or ((tie.dated or c.dated) and abs(tie.year - c.year) <= 1) for c in claimed)


def wrong_period(sentence: str, question: str, source_texts: list[str]) -> str | None:
    """"42.2 is given for 2018" when a figure of the answer `sentence` is tied, in every place `source_texts` (all
    the sources, not only the cited ones: one untied mention anywhere keeps it) hold it, to a year outside the one
    claimed for it; else None."""
    plain = strip_markers(sentence)
    for figure in _figures(plain, question):
        claimed = {t for t in tied_years(figure, plain) if t is not None} or {
            Tie(y, False) for y in asked_years(question)}
        if not claimed:
            continue
        held = [t for text in source_texts for t in tied_years(figure, text)]
        if held and all(t is not None and not _fits(t, claimed) for t in held):
            return f"{figure} is given for {', '.join(str(y) for y in sorted({t.year for t in held}))}"
    return None


def other_period_only(sentence: str, question: str) -> bool:
    """Whether a source sentence ties figures to years, none of them a year the question asks about: quoted as
    the answer to "revenue in fiscal 2019" it would give fiscal 2018's."""
    claimed = {Tie(y, False) for y in asked_years(question)}
    if not claimed:
        return False
    plain = strip_markers(sentence)
    ties = [t for figure in _figures(plain, question) for t in tied_years(figure, plain) if t is not None]
    return bool(ties) and not any(_fits(t, claimed) for t in ties)
