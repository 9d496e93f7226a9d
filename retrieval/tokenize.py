"""BM25 tokenisation: case-folded, English-stemmed words, codes like SK-220 or 10-K kept whole and in parts."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_TOKEN = re.compile(r"[^\W_]+(?:[-_./:'’][^\W_]+)*")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_SPLIT = re.compile(r"[-_./:'’]")

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her here
    hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now of
    off on once only or other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up very was we were what
    when where which while who whom why will with would you your yours yourself yourselves""".split()
)


@lru_cache(maxsize=1)
def _stemmer():
    try:
        import Stemmer
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise ImportError("BM25 stemming needs PyStemmer: pip install PyStemmer") from exc
    return Stemmer.Stemmer("english")


def tokenize(text: str) -> list[str]:
    """Terms of `text` for BM25, in order (repeats kept: they are term frequencies)."""
    text = _THOUSANDS.sub("", unicodedata.normalize("NFKC", text).casefold())
    stem = _stemmer().stemWord
    out: list[str] = []
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token.endswith(("'s", "’s")):  # possessive: "company's" -> company, "SK-220's" -> sk-220
            token = token[:-2]
        if not _SPLIT.search(token):
            if token not in STOPWORDS:
                out.append(token if _has_digit(token) else stem(token))
            continue
        out.append(token)  # the code as written: sk-220, 10-k, 3.5, harborlane.example
        parts = [p for p in _SPLIT.split(token) if p]
        for part in parts:
            if part in STOPWORDS or (len(part) == 1 and not part.isdigit()):
                continue
            if _has_digit(part):
                if not _is_decimal(token):  # "3.5" should not also match every 3 and 5
                    out.append(part)
            else:
                out.append(stem(part))
    return out


def _has_digit(token: str) -> bool:
    return any(ch.isdigit() for ch in token)


def _is_decimal(token: str) -> bool:
    return bool(re.fullmatch(r"\d+[.,:]\d+", token))
