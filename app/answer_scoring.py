"""Scoring a short answer against gold facts, by the kind of answer: number, phrase, yes/no, or absent.

A gold entry is a list of required facts; each fact is a string or a list of acceptable alternatives. An answer
is right when every fact is found in it. Numbers match by value with units and scale ("$1.2 million" =
1200000, "12%" = 0.12 where the gold is a ratio, "three" = 3) rounded to the gold's precision; phrases match
by normalised containment on word boundaries; yes/no by the answer's leading verdict.
"""

from __future__ import annotations

import re

KINDS = ("number", "phrase", "yesno", "absent")

_NUMBER_NOISE = re.compile(r"(?<=\d),(?=\d{3})|[$%€£]")
_PUNCT = re.compile(r"[^\w.\s-]|(?<!\d)\.|\.(?!\d)")
_SCALES = {"thousand": 1e3, "k": 1e3, "million": 1e6, "mn": 1e6, "m": 1e6, "millions": 1e6, "billion": 1e9,
           "bn": 1e9, "b": 1e9, "billions": 1e9, "trillion": 1e12}
_QUANTITY = re.compile(r"(?<![\w.])(-?\d[\d,]*(?:\.\d+)?)\s*(%|percent\b|per cent\b)?\s*"
                       r"(thousand|millions?|billions?|trillion|mn|bn|k|m|b)?(?![a-z])", re.I)
_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
_ORDINALS = {w: i for i, w in enumerate(
    "zeroth first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth".split())}
_WORD_NUMBER = re.compile(r"\b(" + "|".join(list(_WORDS) + list(_ORDINALS)) + r")\b", re.I)
_YES = re.compile(r"^\W*(yes|no)\b", re.I)
_NEGATION = re.compile(r"\b(no|not|never|cannot|can't|isn't|aren't|doesn't|don't|won't|nor)\b", re.I)


def normalize_answer(text: str) -> str:
    """Lower case, no thousands separators, currency or percent signs, punctuation or extra spaces."""
    text = _NUMBER_NOISE.sub("", text.lower())
    return " ".join(_PUNCT.sub(" ", text).split())


def quantities(text: str) -> list[tuple[float, int]]:
    """(value, decimals written) of every figure in text, each as written and as scaled by its unit word:
    "$1.2 million" gives 1.2 and 1200000; "12%" gives 12 and 0.12; "three" gives 3."""
    out: list[tuple[float, int]] = []
    for m in _QUANTITY.finditer(text):
        raw = m.group(1).replace(",", "")
        try:
            value = float(raw)
        except ValueError:
            continue
        decimals = len(raw.split(".")[1]) if "." in raw else 0
        out.append((value, decimals))
        if m.group(2):
            out.append((value / 100, decimals + 2))
        if m.group(3):
            out.append((value * _SCALES[m.group(3).lower()], 0))
    for m in _WORD_NUMBER.finditer(text):
        word = m.group(1).lower()
        out.append((float(_WORDS.get(word, _ORDINALS.get(word, 0))), 0))
    return out


def number_matches(gold: str, predicted: str) -> bool:
    """Some figure of `predicted` equals some reading of `gold`, rounded to the gold's precision."""
    wanted = quantities(gold)
    if not wanted:
        return phrase_matches(gold, predicted)
    found = quantities(predicted)
    for g, decimals in wanted:
        for p, _ in found:
            if round(p, decimals) == round(g, decimals) or (g and abs(p - g) / abs(g) < 5e-4):
                return True
    return False


def phrase_matches(gold: str, predicted: str) -> bool:
    g, p = normalize_answer(gold), normalize_answer(predicted)
    return bool(g) and re.search(rf"(?<!\w){re.escape(g)}(?!\w)", p) is not None


def yesno_verdict(predicted: str) -> str:
    """"yes" or "no": the leading word when it is one, else "no" when the answer negates, else "yes"."""
    m = _YES.match(predicted)
    if m:
        return m.group(1).lower()
    return "no" if _NEGATION.search(predicted) else "yes"


def fact_matches(kind: str, fact: str | list[str], predicted: str) -> bool:
    alternatives = [fact] if isinstance(fact, str) else list(fact)
    if kind == "yesno":
        return yesno_verdict(predicted) in {normalize_answer(a) for a in alternatives}
    match = number_matches if kind == "number" else phrase_matches
    return any(match(a, predicted) for a in alternatives)


def is_correct(kind: str, answers: list, predicted: str, abstained: bool) -> bool:
    """Right for its kind: absent questions are right when the answer abstains; any other is right when it does
    not abstain and holds every required fact."""
    if kind == "absent":
        return abstained
    if abstained or not answers:
        return False
    return all(fact_matches(kind, fact, predicted) for fact in answers)


def infer_kind(answers: list[str]) -> str | None:
    """The kind of a gold answer written without one (FinanceBench, UDA); None when it is too long to score."""
    if not answers:
        return None
    first = answers[0].strip()
    if normalize_answer(first) in ("yes", "no"):
        return "yesno"
    if len(first.split()) > 4:
        return None
    return "number" if quantities(first) and not _WORD_NUMBER.fullmatch(first) and re.search(r"\d", first) \
        else "phrase"
