"""Yes/no questions about a figure, decided by comparing it with the figure the best evidence sentence states.

A 1.5B model does not compare numbers: asked "Can I work from home four days a week?" beside "Employees may
work remotely up to three days per week." it answered "Yes, you can work from home four days a week [1]", and so
for a 40-hour week beside "A full-time week is 38 hours" and a doctor's note on the second day beside "needed
from the fourth day" (7 of the 13 wrong yes/no answers of the dev questions turned on a figure). Where the
question holds one figure and the best sentence one figure of the same unit, stated plainly or as a bound ("up
to", "at least", "longer than"…), the verdict is arithmetic; the answer then quotes that sentence.

Not decided (None), so the model answers: no figure or several, other units, a sentence with a negation ("must
not … for more than 10 minutes" turns the bound round), a question with a bound or negation of its own, or no
word in common besides the figure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from retrieval.tokenize import tokenize

_WORDS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve".split())}
_ORDINALS = {w: i for i, w in enumerate("zeroth first second third fourth fifth sixth seventh eighth ninth tenth "
                                        "eleventh twelfth".split())}
# unit word -> (family, factor to the family's base unit)
_UNITS = {"minute": ("time", 1), "min": ("time", 1), "hour": ("hour", 1), "h": ("hour", 1),
          "day": ("day", 1), "week": ("day", 7), "month": ("month", 1), "year": ("year", 1),
          "character": ("character", 1), "kg": ("kg", 1), "mm": ("length", 1), "cm": ("length", 10),
          "m": ("length", 1000), "km": ("length", 1_000_000), "%": ("percent", 1), "percent": ("percent", 1),
          "night": ("night", 1), "desk": ("desk", 1), "seat": ("seat", 1), "person": ("person", 1),
          "people": ("person", 1), "employee": ("employee", 1)}
_CURRENCY = r"(?:EUR|USD|GBP|CHF|€|\$|£)"
_NUMBER = (r"(?<![\w:.,])(?:\d+(?:[.,]\d+)*|\d+(?:st|nd|rd|th)|" + "|".join(list(_WORDS) + list(_ORDINALS)) +
           r")(?![\w:]|[.,]\d)")
_QUANTITY = re.compile(
    rf"(?P<money>{_CURRENCY}\s?)?(?P<number>{_NUMBER})(?:(?P<unit_gap>\s*-\s*|\s*)(?P<rest>(?:[A-Za-z%]+\s+){{0,2}}"
    rf"[A-Za-z%]+))?", re.I)
_PERIODS = ("day", "week", "month", "year", "night", "trip")
_PER = re.compile(r"^\S+(?:\s+\S+){0,2}?\s+(?:per|a|an|each|every)\s+(?:calendar\s+|working\s+|full\s+)?"
                  rf"({'|'.join(_PERIODS)})s?\b", re.I)
# A bound stated right before the figure: (pattern, kind)
_BOUNDS = [(re.compile(p + r"\s+(?:the\s+|an?\s+)?$", re.I), kind) for p, kind in [
    (r"\b(?:up to|at most|no more than|not more than|maximum(?: of)?|max\.?|within|limit(?:ed)?(?: to| of| is)?|"
     r"budget(?: of| is)?|allowance(?: of| is)?|capped at)", "max"),
    (r"\b(?:under|below|less than|fewer than|shorter than)", "max_strict"),
    (r"\b(?:at least|minimum(?: of)?|min\.?|from|starting (?:from|on))", "min"),
    (r"\b(?:more than|(?<!carry )(?<!carried )(?<!hand )(?<!take )over|above|longer than|exceeding)",
     "min_strict")]]
_NEGATION = re.compile(r"\b(?:not|never|no|cannot|can't|mustn't|don't|doesn't|isn't|aren't|won't|nor|without|"
                       r"prohibited|forbidden)\b", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")


@lru_cache(maxsize=1)
def _unit_terms() -> frozenset[str]:
    """The unit words as BM25 terms: they do not count as words a question and a sentence share. (Not at import:
    tokenize loads the stemmer.)"""
    return frozenset(tokenize(" ".join(_UNITS) + " days weeks hours months years per"))


@dataclass(frozen=True)
class Quantity:
    value: float
    family: str
    bound: str  # "eq", "max", "max_strict", "min", "min_strict"
    per: str = ""  # a rate's period: "three days per week", "a 40-hour week" -> week


def _number(text: str) -> float | None:
    word = text.lower()
    if word in _WORDS:
        return float(_WORDS[word])
    if word in _ORDINALS:
        return float(_ORDINALS[word])
    word = re.sub(r"(?:st|nd|rd|th)$", "", word)
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", word):
        word = word.replace(",", "")
    try:
        return float(word.replace(",", "."))
    except ValueError:
        return None


def _unit(rest: str | None) -> tuple[str, float] | None:
    """The first unit word among the (up to three) words after the figure: "4 unused leave days" -> day."""
    for word in (rest or "").split():
        word = word.lower()
        for form in (word, word[:-1] if word.endswith("s") else word):
            if form in _UNITS:
                return _UNITS[form]
    return None


def quantities(text: str) -> list[Quantity]:
    """The figures of `text` that carry a unit or a currency, with the bound stated right before them."""
    found = []
    for match in _QUANTITY.finditer(text):
        value = _number(match.group("number"))
        if value is None:
            continue
        if match.group("money"):
            family, factor = "money:" + match.group("money").strip().upper().replace("€", "EUR"), 1
        else:
            unit = _unit(match.group("rest"))
            if unit is None:
                continue
            family, factor = unit
        rate = _PER.match(text[match.end("number"):match.end("number") + 40].lstrip("- "))
        per = rate.group(1).lower() if rate else ""
        words = (match.group("rest") or "").lower().split()
        if not per and match.group("unit_gap") and "-" in match.group("unit_gap") and len(words) > 1:
            per = words[1].rstrip("s") if words[1].rstrip("s") in _PERIODS else ""  # "a four-day week"
        before = text[:match.start()]
        bound = next((kind for pattern, kind in _BOUNDS if pattern.search(before[-40:])), "eq")
        found.append(Quantity(value * factor, family, bound, per))
    return found


def holds(asked: Quantity, stated: Quantity) -> bool:
    """Whether the asked figure meets what the sentence states (the same figure, or within its bound)."""
    return {"eq": asked.value == stated.value, "max": asked.value <= stated.value,
            "max_strict": asked.value < stated.value, "min": asked.value >= stated.value,
            "min_strict": asked.value > stated.value}[stated.bound]


def figure_verdict(question: str, sentence: str, subject: str = "") -> tuple[bool, str] | None:
    """(True for yes / False for no, the sentence that decides it) when `sentence` decides the yes/no `question`
    by its figure; None otherwise.
    `subject`: more words the question is about (a follow-up's search query), for the shared-word test. A list
    item of several sentences is read as its sentences: the one sharing most words with the question decides."""
    asked = quantities(question)
    if _NEGATION.search(question) or len(asked) != 1 or asked[0].bound != "eq":
        return None
    terms = set(tokenize(f"{question} {subject}")) - _unit_terms()
    ranked = []
    for part in _SENTENCE_END.split(sentence):
        same = [q for q in quantities(part) if q.family == asked[0].family]
        shared = {t for t in terms & set(tokenize(part)) if not any(ch.isdigit() for ch in t)}
        if same and shared:
            ranked.append((len(shared), part, same))
    ranked.sort(key=lambda r: -r[0])
    if not ranked or (len(ranked) > 1 and ranked[0][0] == ranked[1][0]):
        return None
    _, part, same = ranked[0]
    if len(same) != 1 or _NEGATION.search(part) or (asked[0].per and same[0].per and asked[0].per != same[0].per):
        return None  # "a four-day week" is not decided by "27 days per year"
    return holds(asked[0], same[0]), part.strip()
