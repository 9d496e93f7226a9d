"""Map [n] markers to sources, drop the ones that point nowhere, and check each cited sentence."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from retrieval.tokenize import tokenize

_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])|\n+")
_NUMBER = re.compile(r"\d[\d,.]*\d|\d")


@dataclass
class CitationCheck:
    sentence: str
    sources: list[int]
    supported: bool
    overlap: float  # share of the sentence's terms found in its cited sources

    def to_dict(self) -> dict:
        return asdict(self)


def clean_markers(text: str, n_sources: int) -> str:
    """Keep [n] markers with 1 <= n <= n_sources; drop the rest (a model may invent [7] with 5 sources)."""

    def keep(match: re.Match) -> str:
        numbers = [int(n) for n in re.split(r"\s*,\s*", match.group(1))]
        valid = [n for n in dict.fromkeys(numbers) if 1 <= n <= n_sources]
        return "".join(f"[{n}]" for n in valid)

    cleaned = _MARKER.sub(keep, text)
    return re.sub(r"[ \t]+([.,;:!?])", r"\1", cleaned)


def cited_numbers(text: str) -> list[int]:
    seen: dict[int, None] = {}
    for match in _MARKER.finditer(text):
        for n in re.split(r"\s*,\s*", match.group(1)):
            seen[int(n)] = None
    return list(seen)


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text) if s and s.strip()]


def check_citations(text: str, source_texts: dict[int, str], threshold: float = 0.5) -> list[CitationCheck]:
    """For every sentence with markers: is it backed by what its sources say (terms and numbers)?"""
    source_terms = {n: set(tokenize(t)) for n, t in source_texts.items()}
    source_numbers = {n: set(_numbers(t)) for n, t in source_texts.items()}
    checks = []
    for sentence in split_sentences(text):
        numbers = cited_numbers(sentence)
        if not numbers:
            continue
        plain = _MARKER.sub(" ", sentence)
        terms = set(tokenize(plain))
        cited_terms = set().union(*(source_terms.get(n, set()) for n in numbers))
        overlap = len(terms & cited_terms) / len(terms) if terms else 1.0
        # Figures are where small models go wrong: every number must appear in a cited source.
        wanted_numbers = set(_numbers(plain))
        have_numbers = set().union(*(source_numbers.get(n, set()) for n in numbers))
        supported = overlap >= threshold and wanted_numbers <= have_numbers
        checks.append(CitationCheck(sentence, numbers, supported, round(overlap, 3)))
    return checks


def _numbers(text: str) -> list[str]:
    return [n.replace(",", "").rstrip(".") for n in _NUMBER.findall(text)]
