"""Yes/no questions about a figure, decided by comparing it with the figure the best evidence sentence states.

A 1.5B model does not compare numbers: asked "Can I work from home four days a week?" beside "Employees may
work remotely up to three days per week." it answered "Yes, you can work from home four days a week [1]", and so
for a 40-hour week beside "A full-time week is 38 hours" and a doctor's note on the second day beside "needed
from the fourth day" (7 of the 13 wrong yes/no answers of the dev questions turned on a figure). Where the
question holds one figure and the best sentence one figure of the same unit, stated plainly or as a bound ("up
to", "at least", "longer than"…), the verdict is arithmetic; the answer then quotes that sentence.

Ranges decide too: "Can I run it at minus 10 degrees?" beside "Operating temperature: 0 to 45 degrees Celsius",
"Is the Eindhoven office open at 08:30 on a Tuesday?" beside its row "Mon–Fri 08:00–18:00" (clock times and
weekdays count only as such ranges in a sentence: a lone "by 10:30" is no rule). A capacity stated plainly
("Payload: 12 kg") is a maximum when the question asks what is possible ("Can it lift 10 kg?").

Not decided (None), so the model answers: no figure or several, other units, a sentence with a negation ("must
not … for more than 10 minutes" turns the bound round), a question with a bound or negation of its own, or no
word in common besides the figure.
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache

from app.answering.quantities import UNITS, Quantity, quantities
from retrieval.tokenize import tokenize

# "Payload: 12 kg" states what the arm can do at most; asked "Can it lift 10 kg?" the answer is yes.
_CAPACITY = re.compile(r"\b(?:payload|capacity|reach|load|range)\b", re.I)
_POSSIBLE = re.compile(r"^\W*(?:can|could|may|will|would|is it able|am i allowed|are we allowed)\b", re.I)
# A point of a range asked as a start or an end ("Do core hours start at 9:00?") is not a point inside it.
_ENDPOINT = re.compile(r"\b(?:start|starts|begin|begins|end|ends|finish|finishes|until|till|from|close|closes|"
                       r"opens)\b|^\W*(?:do|does|did)\b.*\bopen\b", re.I)
_NEGATION = re.compile(r"\b(?:not|never|no|cannot|can't|mustn't|don't|doesn't|isn't|aren't|won't|nor|without|"
                       r"prohibited|forbidden|closed)\b", re.I)
_YES_NO_CELL = re.compile(r":\s*(?:no|yes)\s*(?:[;.]|$)", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")  # not at ";": a table row read as "Office: Lyon; Desks: 20" stays one


@lru_cache(maxsize=1)
def _unit_terms() -> frozenset[str]:
    """The unit words as BM25 terms: they do not count as words a question and a sentence share. (Not at import:
    tokenize loads the stemmer.)"""
    return frozenset(tokenize(" ".join(UNITS) + " days weeks hours months years per"))


# "Should I take the train or fly …?": the words either side of the "or".
_CHOICE = re.compile(r"\b(?P<first>[\w-]+)\s+or\s+(?:(?:the|a|an|to|by)\s+)?(?P<second>[\w-]+)", re.I)
_NOT_AN_OPTION = frozenset("more less fewer later earlier longer shorter not so never one two three four five six "
                           "seven eight nine ten".split())


def is_choice(question: str) -> bool:
    """A yes/no-shaped question that asks to choose between two things ("Should I take the train or fly?"; not
    "ten or more days")."""
    match = _CHOICE.search(question)
    return match is not None and all(w.isalpha() and w.lower() not in _NOT_AN_OPTION for w in match.groups())


def named_option(question: str, sentence: str) -> str | None:
    """The option of a choice question that `sentence` names first ("Trains are preferred over flights" ->
    "train"); None when it names neither."""
    if not is_choice(question):
        return None
    match = _CHOICE.search(question)
    words = tokenize(sentence)
    at = {o: words.index(t[0]) for o in (match.group("first"), match.group("second"))
          if (t := tokenize(o)) and t[0] in words}
    return min(at, key=at.get) if at else None


def holds(asked: Quantity, stated: Quantity) -> bool | None:
    """Whether the asked figure meets what the sentence states (the same figure, within its bound or its range);
    None when it cannot say (an asked range that overlaps the stated one in part)."""
    if stated.bound == "range":
        if asked.bound == "range":
            if stated.value <= asked.value and asked.high <= stated.high:
                return True
            return False if asked.high < stated.value or asked.value > stated.high else None
        return stated.value <= asked.value <= stated.high
    if asked.bound == "range":
        return None
    return {"eq": asked.value == stated.value, "max": asked.value <= stated.value,
            "max_strict": asked.value < stated.value, "min": asked.value >= stated.value,
            "min_strict": asked.value > stated.value}[stated.bound]


_QUALIFIER_AFTER = re.compile(r"^\s*(?:in|for|at|on|per|during|with|from|to)\b", re.I)
_NAME = re.compile(r"(?<=\s)[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*")
_DEFAULT_PLACE = re.compile(r"\b(?:most|other|all other|elsewhere|otherwise|everywhere else|any other)\b", re.I)


def _the_one_for(question: str, subject: str, sentence: str, stated: list[Quantity]) -> list[Quantity]:
    """Of several figures of one unit in a sentence, the one stated for what the question names ("EUR 160 in most
    cities and EUR 220 in London, Paris…" asked about Paris: 220; about Vienna: 160, the figure for "most
    cities"), as a one-item list; the list unchanged when no single one is named. A figure listed after a bound
    shares it ("The limit is EUR 160 in … and EUR 220 in …": both limits)."""
    stated = sorted(stated, key=lambda q: q.start)
    # Qualifiers follow the figures ("EUR 160 in most cities") or precede them ("London: EUR 220; Paris: …").
    follow = bool(_QUALIFIER_AFTER.match(sentence[stated[0].end:]))
    edges = [q.start for q in stated] + [len(sentence)]
    spans = [sentence[q.end:edges[i + 1]] if follow else sentence[(stated[i - 1].end if i else 0):q.start]
             for i, q in enumerate(stated)]
    asked = set(tokenize(f"{question} {subject}")) - _unit_terms()
    held = [asked & set(tokenize(span)) for span in spans]
    common = set.intersection(*held)
    named = [i for i, terms in enumerate(held) if terms - common]
    if len(named) != 1:
        # "most cities" answers for a place the sentence does not list ("Vienna"), not for a question naming none.
        unlisted = [n for n in _NAME.findall(question) if not set(tokenize(n)) & set(tokenize(sentence))]
        defaults = [i for i, span in enumerate(spans) if _DEFAULT_PLACE.search(span)]
        if named or len(defaults) != 1 or not unlisted:
            return stated
        named = defaults
    chosen = stated[named[0]]
    first = stated[0]
    if chosen.bound == "eq" and first.bound != "eq":
        chosen = replace(chosen, bound=first.bound)
    return [chosen]


def figure_verdict(question: str, sentence: str, subject: str = "") -> tuple[bool, str] | None:
    """(True for yes / False for no, the sentence that decides it) when `sentence` decides the yes/no `question`
    by its figures; None otherwise.
    `subject`: more words the question is about (a follow-up's search query), for the shared-word test. A list
    item of several sentences is read as its sentences: the one sharing most words with the question decides.
    A question with figures of several kinds ("at 08:30 on a Tuesday") is a yes when each holds, a no when one
    does not."""
    asked = quantities(question, lone_points=True)
    families = [q.family for q in asked]
    if _NEGATION.search(question) or not asked or len(set(families)) != len(families) \
            or any(q.bound not in ("eq", "range") for q in asked):
        return None
    terms = set(tokenize(f"{question} {subject}")) - _unit_terms()
    ranked = []
    for part in _SENTENCE_END.split(sentence):
        stated = quantities(part)
        same = {f: [q for q in stated if q.family == f] for f in families}
        shared = {t for t in terms & set(tokenize(part)) if not any(ch.isdigit() for ch in t)}
        if any(same.values()) and shared:
            ranked.append((len(shared), part, same))
    ranked.sort(key=lambda r: -r[0])
    if not ranked or (len(ranked) > 1 and ranked[0][0] == ranked[1][0]):
        return None
    _, part, same = ranked[0]
    if _NEGATION.search(_YES_NO_CELL.sub(";", part)):  # "Robotics lab: No" is a cell, not a negation
        return None
    verdicts = []
    for question_figure in asked:
        stated = same[question_figure.family]
        if len(stated) > 1:
            stated = _the_one_for(question, subject, part, stated)
            if len(stated) > 1:
                return None
        if not stated:
            verdicts.append(None)
            continue
        figure = stated[0]
        if question_figure.per and figure.per and question_figure.per != figure.per:
            return None  # "a four-day week" is not decided by "27 days per year"
        if figure.bound == "range" and _ENDPOINT.search(question):
            return None  # "Do core hours start at 9:00?" asks for an end of the range, not a point inside it
        if figure.bound == "eq" and _CAPACITY.search(part) and _POSSIBLE.match(question):
            figure = replace(figure, bound="max")
        verdicts.append(holds(question_figure, figure))
    if False in verdicts:
        return False, part.strip()
    if verdicts and all(v is True for v in verdicts):
        return True, part.strip()
    return None


_YES = re.compile(r"^\W*yes\b(?!:\s*the documents say)", re.I)


def unstated_figures(question: str, sentence: str, source_texts: list[str]) -> list[str]:
    """The figures of a yes/no question that a "Yes" sentence affirms while the sources' figures of that unit (and
    period, for a rate) all fail to meet them: "Yes, you can work a four-day week on full pay" beside a handbook
    whose only days per week are remote work "up to three days per week".
    The quote of a decided question ("Yes: the documents say …") states its own figure and is left alone."""
    if not _YES.match(sentence):
        return []
    said = quantities(sentence, lone_points=True)
    asked = [q for q in quantities(question, lone_points=True)
             if any(s.family == q.family and s.value == q.value for s in said)]
    if not asked:
        return []
    stated = [s for text in source_texts for s in quantities(text)]
    unmet = []
    for q in asked:
        alike = [s for s in stated if s.family == q.family and (not q.per or s.per == q.per)]
        # Sources silent on the unit cannot say ("3 a.m." beside "24 hours a day"); ones that speak of it must meet it.
        if alike and all(holds(q, s) is False for s in alike):
            unmet.append(question[q.start:q.end])
    return unmet
