""""Which offices have a robotics lab?": the rows of a table whose yes/no column the question names.

The 1.5B model read the office table (Amsterdam: Yes, Eindhoven: Yes, Munich: No, Lyon: No) and answered "The
office located in Amsterdam has a robotics lab [4]": a list drawn from a column is half done by a small model.
The rows are read here instead: a question "Which <things> have <feature>?" and a table in a source with a column
named like the feature whose cells are all yes or no give the first cell of each "yes" row, cited. Tables are
markdown tables (`| a | b |` under a header row) and sheet rows that name their cells ("Office: Lyon | Lab: No");
a table that runs to the end of its text is not read: it may go on in the next chunk (the Answerer adds that chunk
when it was retrieved too).
Anything else (no such column, other cell values, a feature no column names) is left to the model.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from app.answering.evidence import is_separator_row, table_cells
from app.answering.quantities import parse_number
from retrieval.tokenize import tokenize

_WHICH = re.compile(r"^\W*(?:which|what)\s+(?:of\s+(?:our|the|your)\s+)?(?P<things>[\w -]+?)\s+"
                    r"(?P<verb>have|has|offer|offers|include|includes|support|supports|provide|provides)\s+"
                    r"(?P<article>an?\s+|the\s+|any\s+)?(?P<feature>[^?]+?)\s*\??\s*$", re.I)
_SINGULAR = {"have": "has", "offer": "offers", "include": "includes", "support": "supports", "provide": "provides"}
_PLURAL = {singular: plural for plural, singular in _SINGULAR.items()}
_YES = frozenset("yes y true ✓ ✔ x".split())
_NO = frozenset("no n false ✗ ✘ - – —".split())


def _cells(line: str) -> list[str] | None:
    """A markdown table row's cells; None for other lines, and for a lone "|" aside (fewer than two columns)."""
    return table_cells(line) if line.count("|") >= 3 else None


def tables(text: str) -> list[tuple[list[str], list[list[str]]]]:
    """(column names, rows) of each table in `text`: markdown tables and runs of rows that name their cells."""
    found: list[tuple[list[str], list[list[str]]]] = []
    header: list[str] | None = None
    named: list[dict[str, str]] = []
    for line in text.split("\n") + [""]:
        cells = _cells(line)
        if cells is not None:
            if header is None:
                header = cells
                found.append((header, []))
            elif not is_separator_row(line):
                found[-1][1].append(cells)
            continue
        header = None
        pairs = [part.split(":", 1) for part in line.split(" | ")] if " | " in line else []
        if pairs and all(len(p) == 2 for p in pairs):
            named.append({name.strip(): value.strip() for name, value in pairs})
            continue
        if named:
            columns = list(named[0])
            found.append((columns, [[row.get(c, "") for c in columns] for row in named]))
            named = []
    # A table that runs to the end of the text may go on in the next chunk: its list of rows would be cut short.
    last = text.rstrip("\n").rsplit("\n", 1)[-1]
    if found and (_cells(last) is not None or " | " in last):
        found.pop()
    return [(columns, rows) for columns, rows in found if rows]


def _stems(text: str) -> set[str]:
    return set(tokenize(text))


def _rows_saying_yes(feature: set[str], sources: dict[int, str]) -> tuple[list[str], int] | None:
    """(the first cells of the rows that say yes, the source number) for the first table with a yes/no column
    named by the `feature` terms; None when no table has one."""
    for number, text in sources.items():
        for columns, rows in tables(text):
            for index, name in enumerate(columns):
                if index == 0 or not feature <= _stems(name):
                    continue
                values = [row[index].lower() if index < len(row) else "" for row in rows]
                if not values or any(v not in _YES | _NO for v in values):
                    continue
                return [row[0] for row, value in zip(rows, values) if value in _YES and row[0]], number
    return None


def table_answer(question: str, sources: dict[int, str]) -> str | None:
    """The answer to a "Which <things> have <feature>?" question read off a table, cited; None: the model answers."""
    match = _WHICH.match(question)
    feature = _stems(match.group("feature")) if match else set()
    found = _rows_saying_yes(feature, sources) if feature else None
    if found is None:
        return None
    names, number = found
    verb = match.group("verb").lower()
    plural = _PLURAL.get(verb, verb)
    singular = _SINGULAR.get(plural, plural)
    article, feature = match.group("article") or "", match.group("feature")
    if not names:
        article = "any " if article.strip().lower() in ("a", "an", "any") else article
        return f"None of the {match.group('things')} in the table {singular} {article}{feature} [{number}]."
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"{listed} {singular if len(names) == 1 else plural} {article}{feature} [{number}]."


# "the smaller of the two", "the most desks": the row whose cell is least or greatest, of the rows named (or all).
_EXTREME = re.compile(r"\bthe\s+(?P<word>smaller|smallest|fewer|fewest|least|lower|lowest|cheaper|cheapest|"
                      r"shorter|shortest|larger|largest|bigger|biggest|more|most|higher|highest|greater|greatest|"
                      r"longer|longest)\b", re.I)
_LEAST = frozenset("smaller smallest fewer fewest least lower lowest cheaper cheapest shorter shortest".split())
_NUMBER = re.compile(r"^\D{0,4}(\d[\d,]*(?:\.\d+)?)\D{0,12}$")  # a cell that is one figure ("140", "EUR 1,500")


class _Cell(NamedTuple):
    key: str  # the row's first cell
    column: str
    value: str
    source: int
    named: bool  # the question (or the conversation) names the row


def _number(cell: str) -> float | None:
    match = _NUMBER.match(cell.strip())
    return parse_number(match.group(1)) if match else None


def _extreme(question: str, found: list[_Cell]) -> _Cell | None:
    """Of `found`, the cell the question asks for as least or greatest: among the rows it names when it names two
    or more, else among all; None unless every cell is a number."""
    match = _EXTREME.search(question)
    if match is None:
        return None
    named = [f for f in found if f.named]
    pool = named if len(named) >= 2 else found
    values = [_number(f.value) for f in pool]
    if len(pool) < 2 or any(v is None for v in values) or len({f.column for f in pool}) != 1:
        return None
    pick = min if match.group("word").lower() in _LEAST else max
    return pool[values.index(pick(values))]


def cell_answer(question: str, sources: dict[int, str], subject: str = "") -> str | None:
    """"How many desks does Eindhoven have?": the one cell of a table whose column the question names ("Desks")
    in the one row whose first cell it names ("Eindhoven"), cited ("Eindhoven: Desks 60 [2]."); None otherwise.
    `subject`: more words the question is about (a follow-up's search query: "How many desks are there?" after
    a question about the Eindhoven office). The model judged such rows not to answer (P(yes) 0.43–0.47 for "How
    many desks are there?", "What is the street address of the Lyon office?"), and the answer stopped there."""
    cell = _asked_cell(question, sources, subject)
    return None if cell is None else f"{cell.key}: {cell.column} {cell.value} [{cell.source}]."


def yes_no_cell_answer(question: str, sources: dict[int, str], subject: str = "") -> str | None:
    """"Is there a robotics lab there?" about Munich: the verdict of the named row's yes/no cell, cited ("No:
    Munich: Robotics lab No [1]."); None when the cell asked for is not a yes or a no. The model answered "Yes,
    there is a robotics lab at the Munich office" beside the row "| Munich | … | No |"."""
    cell = _asked_cell(question, sources, subject)
    value = cell.value.strip().lower() if cell is not None else ""
    if value not in _YES | _NO:
        return None
    verdict = "Yes" if value in _YES else "No"
    return f"{verdict}: {cell.key}: {cell.column} {cell.value} [{cell.source}]."


# A question about when a place opens or closes asks for its hours: "When does the office close?" reads the
# "Opening hours" cell (the model answered "closed on weekends" beside the row "Mon–Fri 08:00–18:00").
_ALSO_ASKED = {"open": {"open", "hour"}, "close": {"open", "hour"}, "shut": {"open", "hour"}}


def asked_row(question: str, sources: dict[int, str], subject: str = "") -> tuple[str, int] | None:
    """The cell of the row and column asked for, as a line ("Amsterdam (head office): Opening hours Mon–Fri
    07:30–19:00."), and its source; None as for cell_answer. For a yes/no question about a figure: "Is it open at
    07:45 on a Monday?" after the head office was named had been decided by the best sentence, the IT desk's
    hours in the same building."""
    cell = _asked_cell(question, sources, subject)
    return None if cell is None else (f"{cell.key}: {cell.column} {cell.value}.", cell.source)


def _asked_cell(question: str, sources: dict[int, str], subject: str = "") -> _Cell | None:
    asked, about = _stems(question), _stems(f"{question} {subject}")
    asked |= set().union(*(_ALSO_ASKED.get(stem, set()) for stem in asked))
    found = []
    for number, text in sources.items():
        for columns, rows in tables(text):
            header = set().union(*(_stems(c) for c in columns))
            keys = [_stems(row[0]) - header if row else set() for row in rows]
            wanted = [i for i, name in enumerate(columns) if i and _stems(name) and _stems(name) <= asked]
            for row, key in zip(rows, keys):
                others = set().union(*(k for k in keys if k is not key))
                if len(wanted) == 1 and wanted[0] < len(row) and row[wanted[0]]:
                    found.append(_Cell(row[0], columns[wanted[0]], row[wanted[0]], number,
                                       bool((key - others) & about)))
    cell = _extreme(question, found)
    if cell is None:
        named = [f for f in found if f.named]
        if len({f[:3] for f in named}) != 1:
            return None
        cell = named[0]
    return cell
