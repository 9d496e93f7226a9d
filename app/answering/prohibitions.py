"""Yes/no questions about something the best evidence sentence forbids: the answer is No.

Asked "Can I take the lift?" after the fire-alarm question, with the best sentence "When the fire alarm sounds,
leave by the nearest stairs, never the lift, and go to the assembly point", the evidence check gave P(yes) 0.26:
the 1.5B model reads "never the lift" as the passage not saying. Where a question asks permission ("Can I…",
"May we…", "Am I allowed to…") and the sentence puts a negation right before a word the question asks about
("never the lift", "Do not reset it", "must not share passwords"), the verdict is No and the answer quotes that
sentence.

Not decided (None), so the model answers: a question with a negation of its own, a sentence with an exception
("unless", "except", "without approval", "only"), or a negation whose next word is not one the question asks
about ("Restricted data is never stored on laptops" forbids storing, not taking a laptop abroad; "Do not use unknown
USB sticks" says nothing about "Can I use my own mouse?").
"""

from __future__ import annotations

import re
from functools import lru_cache

from app.answering.verify import OPENERS
from retrieval.tokenize import tokenize

_PERMISSION = re.compile(OPENERS + r"(?:(?:can|could|may|should|must)\s+"
                         r"(?:i|we|you|they|employees|staff|visitors|guests)|(?:am i|are we|are you|is it) "
                         r"(?:allowed|permitted|ok|okay|fine) to)\b", re.I)
_ASKED_NEGATION = re.compile(r"\b(?:not|never|no|cannot|can't|don't|doesn't|mustn't|isn't|aren't|won't|without)\b",
                             re.I)
# A negation and what it negates: "never the lift", "do not reset it", "must not share". Not a bound ("no later than
# 30 days", "not more than"): that is a figure's rule (app/answering/figures.py).
_FORBIDS = re.compile(r"\b(?:never|(?:do|does|must|may|should|can)\s*(?:not|n't)|cannot|mustn't|no)\s+"
                      r"(?!(?:later|earlier|more|less|longer|fewer|sooner|only)\b)(?P<rest>[^.;:!?]*)", re.I)
_WORD = re.compile(r"[\w'-]+")
_DETERMINERS = frozenset("the a an your my our their his her its any ever".split())
_EXCEPTION = re.compile(r"\b(?:unless|except|excepting|without (?:prior |written )?(?:approval|permission)|only if|"
                        r"only with|only when|only)\b", re.I)


@lru_cache(maxsize=1)
def _everyday() -> frozenset[str]:
    """Verbs a permission question is asked with whatever it is about: a match on them alone decides nothing. (Not
    at import: tokenize loads the stemmer.)"""
    return frozenset(tokenize("take use get have go do make bring put let keep give"))


def forbidden_verdict(question: str, sentence: str) -> bool:
    """True when `sentence` forbids what the permission question `question` asks about (the answer is No)."""
    if _PERMISSION.match(question) is None or _ASKED_NEGATION.search(question) or _EXCEPTION.search(sentence):
        return False
    asked = {t for t in tokenize(_PERMISSION.sub("", question)) if t.isalpha()} - _everyday()
    if not asked:
        return False
    return any(_negates(m.group("rest"), asked) for m in _FORBIDS.finditer(sentence))


def _negates(rest: str, asked: set[str]) -> bool:
    """Whether the words after a negation begin with an asked word: the thing itself ("the lift") or the act
    ("share your password"); after an everyday verb, the word that follows it ("use the lifts"). "never stored on
    laptops" forbids storing, not laptops."""
    words = [w for w in _WORD.findall(rest) if w.lower() not in _DETERMINERS][:2]
    stems = [(tokenize(w) or [""])[0] for w in words]
    if not stems:
        return False
    if stems[0] in asked:
        return True
    return stems[0] in _everyday() and len(stems) > 1 and stems[1] in asked
