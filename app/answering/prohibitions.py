"""Permission questions the best evidence sentences decide: No where they forbid the thing asked about, or do without
the thing a "Does it need…?" question asks about; "Yes, but only…" where they allow it one way only.

Asked "Can I take the lift?" after the fire-alarm question, with the best sentence "When the fire alarm sounds,
leave by the nearest stairs, never the lift, and go to the assembly point", the evidence check gave P(yes) 0.26:
the 1.5B model reads "never the lift" as the passage not saying. Where a question asks permission ("Can I…",
"May we…", "Am I allowed to…") and the sentence puts a negation right before a word the question asks about
("never the lift", "Do not reset it", "must not share passwords"), the verdict is No and the answer quotes that
sentence.

The same holds for a thing a sentence says is not allowed, reimbursed or covered ("Shared accounts are not allowed."
for "Can our team share one login?"): a word of the sentence's subject must be one the question asks about.

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
                         r"(?:i|we|you|they|employees|staff|visitors|guests|our|my|the|a)|"
                         r"(?:am i|are we|are you|is it) "
                         r"(?:allowed|permitted|ok|okay|fine) to)\b", re.I)
# The verbs of a passive permission ("Is alcohol reimbursed?", "Shared accounts are not allowed.").
_PASSIVE = ("allowed", "permitted", "reimbursed", "refunded", "covered", "tolerated", "accepted")
# "Is alcohol reimbursed?", "Are shared accounts allowed?": a permission asked of the thing itself.
_PASSIVE_ASKED = re.compile(OPENERS + rf"(?:is|are)\b[^?]*\b(?:{'|'.join(_PASSIVE)})\b", re.I)
# "Shared accounts are not allowed.", "Alcohol is not reimbursed.": what the sentence forbids is its subject, the
# last words before the negation.
_PASSIVE_FORBIDS = re.compile(rf"(?P<subject>(?:[\w'-]+\s+){{1,3}}?)(?:is|are)\s+(?:not|never)\s+"
                              rf"(?:{'|'.join(_PASSIVE)})\b", re.I)
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


@lru_cache(maxsize=1)
def _passive_verbs() -> frozenset[str]:
    """The verbs of a passive permission: asked "Is alcohol reimbursed?", the thing asked about is alcohol."""
    return frozenset(tokenize(" ".join(_PASSIVE)))


def _asked_terms(question: str, start: int = 0) -> set[str]:
    """The words of `question` from `start` (after its opener: "Can I", "Does the SK-220 need") that say what it
    asks about: not everyday verbs or figures."""
    return {t for t in tokenize(question[start:]) if t.isalpha()} - _everyday()


# "Does the SK-220 need a safety fence in collaborative mode?" beside "It works next to people without a safety fence
# when it runs in collaborative mode.": the model answered "Yes" by restating the question.
_NEED = re.compile(OPENERS + r"(?:do|does|will|would)\s+(?:[\w'-]+\s+){1,3}?(?:need|require)s?\b", re.I)
_WITHOUT = re.compile(r"\bwithout\s+(?P<rest>[^.;:!?]*)", re.I)
_FIGURE = re.compile(r"\d")


def needless_verdict(question: str, sentence: str) -> bool:
    """True when `question` asks whether something is needed and `sentence` says it works without it (the answer
    is No). Not with a figure in the sentence ("up to 20 days without approval" holds only up to 20 days), nor
    with an exception or a negation in the question."""
    need = _NEED.match(question)
    if need is None or _ASKED_NEGATION.search(question) or _EXCEPTION.search(sentence) or _FIGURE.search(sentence):
        return False
    asked = _asked_terms(question, need.end())
    return bool(asked) and any(_negates(m.group("rest"), asked) for m in _WITHOUT.finditer(sentence))


# "Personal devices may access e-mail only through the managed mobile app.": allowed, one way. The model answered
# "Can I read my work e-mail on my personal phone?" with "No" (the "only" read as a ban).
_ONLY_WAY = re.compile(r"^(?P<subject>[^.;:!?]*?)\b(?:may|can|are allowed to|is allowed to)\s+(?P<act>[^.;:!?]*?)\s+"
                       r"only\s+(?:through|via|with|in|on|from|by|using|after|if|when|once)\b", re.I)
SHARED_FOR_ONE_WAY = 2  # asked words the sentence's subject and act must hold between them


def one_way_verdict(question: str, sentence: str) -> bool:
    """True when `sentence` allows what the permission question asks, one way only ("… may access e-mail only
    through the managed mobile app"): the answer is a yes with that condition."""
    permission = _PERMISSION.match(question)
    match = _ONLY_WAY.search(" ".join(sentence.split()))
    if permission is None or match is None or _ASKED_NEGATION.search(question):
        return False
    asked = _asked_terms(question, permission.end())
    said = set(tokenize(f"{match.group('subject')} {match.group('act')}"))
    return len(asked & said) >= SHARED_FOR_ONE_WAY


def forbidden_verdict(question: str, sentence: str) -> bool:
    """True when `sentence` forbids what the permission question `question` asks about (the answer is No)."""
    active = _PERMISSION.match(question)
    if (active is None and not _PASSIVE_ASKED.match(question)) or _ASKED_NEGATION.search(question) \
            or _EXCEPTION.search(sentence):
        return False
    # a passive question names its thing anywhere, beside the verb it asks with
    asked = _asked_terms(question, active.end() if active else 0) - _passive_verbs()
    if not asked:
        return False
    return any(_negates(m.group("rest"), asked) for m in _FORBIDS.finditer(sentence)) or any(
        set(tokenize(m.group("subject"))) & asked for m in _PASSIVE_FORBIDS.finditer(sentence))


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
