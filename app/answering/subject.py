"""The swapped-subject rule: a figure the source gives for one thing, stated by the answer for another.

Asked "How many days of bereavement leave do employees get?", the 1.5B model answered "Employees get 16 weeks of
bereavement leave [1]": the source says "Parental leave: 16 weeks". Every figure is in the source, and so are
"leave" and "employees", so the citation rule let it through. Here the sentence's phrase of two question words
("bereavement leave") is compared with the phrase the source's sentence holding that figure puts in its place
("parental leave"): when the embedder finds them unlike (cosine under `min_similarity`), the sentence is
removed. Synonyms stay: "training budget" / "learning budget" 0.71, "hotel budget" / "hotel limit" 0.72;
conflicts fall under 0.55: "bereavement leave" / "parental leave" 0.52, "joint speed" / "tool speed" 0.50.
On tests/qa/sample-qa.jsonl it removed the one invented answer left on each split (dev and test) and no right one.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from app.answering.citations import figures, strip_markers
from retrieval.tokenize import STOPWORDS

_TOKEN = re.compile(r"[a-z0-9][a-z0-9'’/-]*|[^\sa-z0-9]")
_WORD = re.compile(r"[a-z]{3,}(?:-[a-z]+)*")  # a whole token of letters: not "sk-220", "m/s" or "e-130"
# Words that say how or how much, not what: "must disagree", "minimum password" name no other thing.
_NOT_A_THING = frozenset("must might would could shall should will can may minimum maximum max min least most total "
                         "typical average first last next new old same other whole".split())
MIN_SIMILARITY = 0.55


def _same(a: str, b: str) -> bool:
    """One word in two forms ("day" / "days", "respond" / "response"): five letters in common, or equal."""
    return a == b or a.rstrip("s") == b.rstrip("s") or (len(a) >= 5 and len(b) >= 5 and a[:5] == b[:5])


def _sentences_with(figure: str, text: str) -> list[str]:
    pattern = re.compile(rf"(?<![\d.]){re.escape(figure)}(?!\d)")
    return [s for s in re.split(r"(?<=[.!?;])\s+|\n+", text) if pattern.search(s.replace(",", ""))]


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _is_word(token: str) -> bool:
    return _WORD.fullmatch(token) is not None


def swapped_subject(sentence: str, question: str, source_text: str,
                    similarity: Callable[[str, str], float], min_similarity: float = MIN_SIMILARITY) -> str | None:
    """"parental leave, not bereavement leave" when every source sentence holding the sentence's figures names
    another thing where the sentence names the question's; else None. The sentence's thing is two words next to
    each other in the question and in the sentence; the source's, the same last word after another word, ending
    its phrase ("Parental leave: 16 weeks", not "company password manager"). `source_text`: the cited source,
    lower-cased without thousands separators (see citations.grounding_texts)."""
    plain = strip_markers(sentence).lower()
    given = set(figures(question))  # "SK-220" of the question
    stated = [f for f in figures(plain) if f not in given]
    asked = _tokens(question.lower())
    asked_pairs = set(zip(asked, asked[1:]))
    words = _tokens(plain)
    pairs = [(a, b) for a, b in zip(words, words[1:]) if (a, b) in asked_pairs and _is_word(a) and _is_word(b)
             and a not in STOPWORDS and b not in STOPWORDS and a not in _NOT_A_THING]
    if not stated or not pairs:
        return None
    first = None
    for figure in stated:
        holders = _sentences_with(figure, source_text)
        if not holders:
            return None  # the citation rule judges figures no source holds
        for held in holders:
            conflict = _conflict(pairs, _tokens(held), set(asked), similarity, min_similarity)
            if conflict is None:
                return None  # one source sentence gives the figure for the question's thing
            first = first or conflict
    return first


def _conflict(pairs: list[tuple[str, str]], held: list[str], asked: set[str],
              similarity: Callable[[str, str], float], min_similarity: float) -> str | None:
    for modifier, head in pairs:
        if any(_same(modifier, t) for t in held):
            continue  # the source sentence names it too
        for i, token in enumerate(held):
            if i == 0 or not _same(token, head):
                continue
            other, after = held[i - 1], held[i + 1] if i + 1 < len(held) else ""
            if not _is_word(other) or other in STOPWORDS or other in asked or other in _NOT_A_THING:
                continue
            if _is_word(after) and after not in STOPWORDS:
                continue  # "password" in "company password manager" is not the thing named
            if similarity(f"{modifier} {head}", f"{other} {head}") < min_similarity:
                return f"{other} {head}, not {modifier} {head}"
    return None
