"""The figures of a text: numbers with a unit or a currency, the bound stated before them ("up to", "at least"),
rates ("three days per week"), ranges ("0 to 45 degrees", "100-240 V", "between 18 and 22 °C"), clock times and
weekdays ("Mon–Fri 08:00–18:00", "weekends"), for the yes/no rule of figures.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_WORDS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve".split())}
_ORDINALS = {w: i for i, w in enumerate("zeroth first second third fourth fifth sixth seventh eighth ninth tenth "
                                        "eleventh twelfth".split())}
# unit word -> (family, factor to the family's base unit)
UNITS = {"minute": ("time", 1), "min": ("time", 1), "hour": ("hour", 1), "h": ("hour", 1),
          "day": ("day", 1), "week": ("day", 7), "month": ("month", 1), "year": ("year", 1),
          "character": ("character", 1), "kg": ("kg", 1), "mm": ("length", 1), "cm": ("length", 10),
          "m": ("length", 1000), "km": ("length", 1_000_000), "%": ("percent", 1), "percent": ("percent", 1),
          "night": ("night", 1), "desk": ("desk", 1), "seat": ("seat", 1), "person": ("person", 1),
          "people": ("person", 1), "employee": ("employee", 1), "degree": ("celsius", 1), "°c": ("celsius", 1),
          "°": ("celsius", 1), "celsius": ("celsius", 1), "v": ("volt", 1), "volt": ("volt", 1), "w": ("watt", 1),
          "watt": ("watt", 1), "kw": ("watt", 1000)}
_CURRENCY = r"(?:EUR|USD|GBP|CHF|€|\$|£)"
_NUMBER = (r"(?<![\w:.,])(?:\d+(?:[.,]\d+)*|\d+(?:st|nd|rd|th)|" + "|".join(list(_WORDS) + list(_ORDINALS)) +
           r")(?![\w:]|[.,]\d)")
# A word after a figure; "EUR" starts the next figure ("EUR 20 to EUR 30").
_WORD = r"(?!(?:EUR|USD|GBP|CHF)\b)[A-Za-z%°]+"
_QUANTITY = re.compile(rf"(?P<money>{_CURRENCY}\s?)?(?P<number>{_NUMBER})"
                       rf"(?:(?P<unit_gap>\s*-\s*|\s*)(?P<rest>(?:{_WORD}\s+){{0,2}}{_WORD}))?", re.I)
_MINUS = re.compile(r"(?:\bminus\s+|(?<![\w.,])[-−])$", re.I)
# A range: "0 to 45 degrees", "100-240 V", "between 18 and 22 °C", "Mon–Fri", "08:00–18:00" (gap between its ends)
_RANGE_GAP = re.compile(r"^\s*(?:to|until|till|through|–|—|-)\s*$", re.I)
_BETWEEN_GAP = re.compile(r"^\s*and\s*$", re.I)
_CLOCK = re.compile(r"(?<![\d:.,])(?P<h>[01]?\d|2[0-3])(?:[:.](?P<m>[0-5]\d)(?!\d)(?:\s*(?P<ampm>[ap])\.?m\b\.?)?|"
                    r"\s*(?P<ampm2>[ap])\.?m\b\.?)", re.I)
_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY = (r"(?:monday|mon|tuesday|tues|tue|wednesday|wed|thursday|thurs|thur|thu|friday|fri|saturday|sat|"
        r"sunday|sun)")
_DAY_RANGE = re.compile(rf"\b(?P<low>{_DAY})\.?\s*(?:–|—|-|to|until|till|through)\s*(?P<high>{_DAY})\b\.?", re.I)
_DAY_POINT = re.compile(r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?\b", re.I)
_WEEK_PART = re.compile(r"\b(?:(?P<weekend>weekends?)|(?P<weekdays>weekdays))\b", re.I)
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

@dataclass(frozen=True)
class Quantity:
    value: float
    family: str
    bound: str  # "eq", "max", "max_strict", "min", "min_strict"
    per: str = ""  # a rate's period: "three days per week", "a 40-hour week" -> week
    high: float | None = None  # bound "range": value .. high
    start: int = field(default=-1, compare=False)  # where the figure stands in its text
    end: int = field(default=-1, compare=False)


def parse_number(text: str) -> float | None:
    """One figure as written: "1,500", "0,30", "12.5", "five", "4th"."""
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


def _unit(rest: str | None) -> tuple[str, float, int] | None:
    """The first unit word among the (up to three) words after the figure, and where it ends in `rest`:
    "4 unused leave days" -> day."""
    for found in re.finditer(r"\S+", rest or ""):
        word = found.group(0).lower()
        for form in (word, word[:-1] if word.endswith("s") else word):
            if form in UNITS:
                return (*UNITS[form], found.end())
    return None


@dataclass(frozen=True)
class _Point:
    """One figure found in a text, before ranges are joined: family None is a bare number ("0" of "0 to 45 °C")."""

    start: int
    end: int
    value: float
    family: str | None
    bound: str = "eq"
    per: str = ""
    high: float | None = None
    factor: float = 1  # the unit's factor to its family's base unit, which a bare low end of a range takes


def _day(name: str) -> int:
    return _DAY_NAMES.index(name[:3].lower()) + 1


def _clock_and_day_points(text: str) -> list[_Point]:
    points = []
    for match in _CLOCK.finditer(text):
        hour, ampm = int(match.group("h")), (match.group("ampm") or match.group("ampm2") or "").lower()
        hour += 12 if ampm == "p" and hour < 12 else -12 if ampm == "a" and hour == 12 else 0
        points.append(_Point(match.start(), match.end(), hour * 60 + int(match.group("m") or 0), "clock"))
    for match in _DAY_RANGE.finditer(text):
        points.append(_Point(match.start(), match.end(), _day(match.group("low")), "weekday", "range",
                             high=_day(match.group("high"))))
    for match in _DAY_POINT.finditer(text):
        points.append(_Point(match.start(), match.end(), _day(match.group(1)), "weekday"))
    for match in _WEEK_PART.finditer(text):
        low, high = (6, 7) if match.group("weekend") else (1, 5)
        points.append(_Point(match.start(), match.end(), low, "weekday", "range", high=high))
    points.sort(key=lambda p: (p.start, -(p.end - p.start)))
    kept = []
    for point in points:  # "Mon–Fri" is one range, not also two points
        if not kept or point.start >= kept[-1].end:
            kept.append(point)
    return kept


def _number_points(text: str, taken: list[_Point]) -> list[_Point]:
    points = []
    for match in _QUANTITY.finditer(text):
        if any(p.start <= match.start("number") < p.end for p in taken):
            continue
        value = parse_number(match.group("number"))
        if value is None:
            continue
        unit = None if match.group("money") else _unit(match.group("rest"))
        if match.group("money"):
            family, factor = "money:" + match.group("money").strip().upper().replace("€", "EUR"), 1
        else:
            family, factor = unit[:2] if unit else (None, 1)
        if not match.group("money") and _MINUS.search(text[max(0, match.start() - 8):match.start()]):
            value = -value
        rate = _PER.match(text[match.end("number"):match.end("number") + 40].lstrip("- "))
        per = rate.group(1).lower() if rate else ""
        words = (match.group("rest") or "").lower().split()
        if not per and match.group("unit_gap") and "-" in match.group("unit_gap") and len(words) > 1:
            per = words[1].rstrip("s") if words[1].rstrip("s") in _PERIODS else ""  # "a four-day week"
        before = text[:match.start()]
        bound = next((kind for pattern, kind in _BOUNDS if pattern.search(before[-40:])), "eq")
        end = match.start("rest") + unit[2] if unit else match.end("number")
        points.append(_Point(match.start(), end, value * factor, family, bound, per, factor=factor))
    return points


def quantities(text: str, lone_points: bool = False) -> list[Quantity]:
    """The figures of `text` that carry a unit or a currency, with the bound stated right before them, and the
    ranges ("0 to 45 degrees", "Mon–Fri 08:00–18:00"). Clock times and weekdays that are no range count only
    with `lone_points` (a question's "at 08:30 on a Tuesday")."""
    taken = _clock_and_day_points(text)
    points = sorted(taken + _number_points(text, taken), key=lambda p: p.start)
    found, i = [], 0
    while i < len(points):
        point, after = points[i], points[i + 1] if i + 1 < len(points) else None
        if after is not None and point.high is None and after.high is None and after.family is not None \
                and point.family in (None, after.family):
            gap = text[point.end:after.start]
            between = re.search(r"\bbetween\s+(?:\S+\s?)?$", text[max(0, point.start - 12):point.start], re.I)
            if _RANGE_GAP.match(gap) or (between and _BETWEEN_GAP.match(gap)):
                low = point.value if point.family else point.value * after.factor
                found.append(Quantity(low, after.family, "range", high=after.value, start=point.start, end=after.end))
                i += 2
                continue
        if point.family is not None and (lone_points or point.high is not None
                                         or point.family not in ("clock", "weekday")):
            found.append(Quantity(point.value, point.family, point.bound, point.per, point.high, point.start,
                                  point.end))
        i += 1
    return found
