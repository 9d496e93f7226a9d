""""Who owns the employee handbook?": read off the document's own "Owner: …" line.

Policies, handbooks and catalogues state who owns, approves or maintains them in a labelled line ("Owner: People
Operations (people@harborlane.example)", "Approver: Finance"). Beside that line the 1.5B model answered "The
employee handbook is owned by the company [1]". A question "Who <verb>s X?" or "Who is the <noun> of X?" is
answered from the line labelled with that agent noun (own -> Owner, approve -> Approver) in the source whose file
name shares the most words with X; None (the model answers) when no source's name shares one.
"""

from __future__ import annotations

import re
from pathlib import Path

from retrieval.tokenize import tokenize

# "Which department approves it?" asks who as well.
_WHO_VERB = re.compile(r"^\W*(?:and\s+)?(?:who|which\s+(?:department|team|person|group|unit|function|role))\s+"
                       r"(?!is\b|are\b|was\b|do\b|does\b|did\b|can\b|should\b)(?P<verb>\w+)\s+(?P<rest>.+)$", re.I)
_WHO_NOUN = re.compile(r"^\W*(?:and\s+)?who\s+(?:is|are)\s+(?:the\s+)?(?P<noun>\w+)\s+(?:of|for)\s+(?P<rest>.+)$",
                       re.I)
# A labelled line or sentence: "Owner: People Operations (people@harborlane.example)." (the value ends at a
# sentence end, a semicolon or the line's end; dots inside an address stay).
_FIELD = re.compile(r"(?:^|(?<=[.;]\s)|(?<=\n))[ \t]*(?P<label>[A-Z][A-Za-z]{1,20}(?: [A-Za-z]{1,20})?):[ \t]*"
                    r"(?P<value>[^\n;]+?)(?=\.\s|\.$|;|\n|$)")


def _asked(question: str) -> tuple[set[str], set[str]] | None:
    """(the labels the question asks for, as terms; its other terms), or None when it asks no such thing."""
    noun = _WHO_NOUN.match(question.strip())
    if noun:
        return set(tokenize(noun.group("noun"))), set(tokenize(noun.group("rest")))
    verb = _WHO_VERB.match(question.strip())
    if not verb:
        return None
    stems = tokenize(verb.group("verb"))
    if not stems:
        return None
    stem = stems[0]
    # "Approver" stems to "approv", as "approves" does; "Owner" stays "owner"
    return {stem, stem + "er", stem + "r", stem + "or"}, set(tokenize(verb.group("rest")))


def field_answer(question: str, sources: dict[int, str], files: dict[int, str], subject: str = "") -> str | None:
    """The labelled value the question asks for, cited ("Owner: People Operations (people@…) [2]"), or None.
    `sources`: {number: text}; `files`: {number: file name}; `subject`: more words the question is about (a
    follow-up's search query)."""
    asked = _asked(question)
    if asked is None:
        return None
    labels, about = asked
    about |= set(tokenize(subject))
    best: tuple[int, int, str] | None = None  # (words shared with the file name, -source number, answer)
    for number, text in sources.items():
        shared = len(about & set(tokenize(Path(files.get(number, "")).stem.replace("-", " "))))
        if not shared:
            continue
        for match in _FIELD.finditer(text):
            if set(tokenize(match.group("label"))) & labels:
                candidate = (shared, -number, f"{match.group('label')}: {match.group('value').strip()} [{number}]")
                if best is None or candidate[:2] > best[:2]:
                    best = candidate
                break
    return None if best is None else best[2]
