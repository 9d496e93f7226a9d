"""Follow-up questions: carry the conversation's subject into the search query by rule.

The 1.5B model rewrote follow-ups unreliably (it returned its previous answer instead of a question) and each
rewrite cost a second model call before the search. A rule does not fail that way: a question that reads as a
follow-up (opens with "and", "what about"…, points back with "it", "those"…, or is very short) is searched
together with the key terms of the previous question and the codes of the previous answer; the model then
reads that query as the question; the evidence check reads the previous question beside the sources to resolve
what "it" means. (The previous answer in the prompt made the model repeat that answer; later the previous question
did too: "And its repeatability?" answered with the reach it had asked about.)

A follow-up that only swaps one thing ("And in Vienna?", "And payroll data?", "What about for P3?") becomes the
previous question with that thing swapped ("What is the nightly hotel budget in Vienna?"): carried terms kept
"Zurich" in the query and the model answered for Zurich.
"""

from __future__ import annotations

import re

from app.answering.citations import codes
from retrieval.tokenize import STOPWORDS

_OPENER = re.compile(r"^\W*(and|also|what about|how about|then|so|but|or|same|what if|in that case)\b", re.I)
_POINTER = re.compile(r"\b(it|its|they|them|their|those|these|that|this|there|then|he|she|him|her|one|ones|"
                      r"same|such|either|both|else|other|others)\b", re.I)
_WORD = re.compile(r"[\w][\w'’-]*")
# "the smaller of the two", "both", "the latter": the things the previous answer named (not its question's words)
# are what the follow-up is about, so those names are carried too.
_GROUP = re.compile(r"\b(?:the\s+(?:two|three|four|former|latter)|both|(?:smaller|larger|bigger|cheaper|shorter|"
                    r"longer|newer|older|higher|lower)\s+(?:of|one))\b", re.I)
# "How do I contact them?" after "Who owns the employee handbook?": "them" is who the answer named.
_WHO = re.compile(r"^\W*(?:and\s+)?who\b", re.I)
_PERSON = re.compile(r"\b(?:they|them|their|he|him|his|she|her)\b", re.I)
# "What is its street address?" after "Which office has the fewest desks?" (answered "Lyon: Desks 20"): "its" is
# what that answer picked, not what the question said, so the names the answer adds are carried first, for a
# follow-up pointing at one thing within two turns of the question that picked it.
_WHICH = re.compile(r"^\W*(?:and\s+)?which\b", re.I)
_ONE_THING = re.compile(r"\b(?:it|its|there|that|this)\b", re.I)
PICKED_WITHIN = 2
_ANSWER_NAME = re.compile(r"\b[A-Z][a-z][\w-]*")
_NOT_A_NAME = frozenset("yes no the a an i it its this that these those there".split())
MAX_CARRIED = 10  # terms carried into a follow-up's query; a long conversation does not grow it without end
# "mean" of "What does E-117 mean?" names no subject: carried into "How do I get rid of it? (E-117 mean)" it only
# diluted the query.
_QUESTION_WORDS = frozenset("how many much what which who whom when where why long often can may do does did is "
                            "are was were i we you get need needed mean means meant".split())


# "And in Vienna?" / "What about for P3?": an opener and a short phrase, no question word or verb of its own.
_SWAP = re.compile(r"^\W*(?:and|what about|how about)\s+(?P<phrase>[^?!.]+?)\W*$", re.I)
_NOT_A_PHRASE = re.compile(r"^(?:if|when|how|what|which|who|whom|where|why|is|are|do|does|did|can|could|may|"
                           r"should|will|would|its|it|their|they|that|this|those|these|then|so)\b", re.I)
_PREPOSITION = re.compile(r"^(?:in|at|for|on|from|to|during|with)\s+", re.I)
_DETERMINER = frozenset("a an the all every each".split())
_MONEY = re.compile(r"(?:(?:EUR|USD|GBP|CHF|[€$£])\s?\d[\d,.]*|\d[\d,.]*\s?(?:EUR|USD|GBP|CHF|euros?|dollars?))",
                    re.I)
_NAME = re.compile(r"(?<=\s)[A-Z][\w-]*(?:\s+[A-Z][\w-]*)*")


def _stem(word: str) -> str:
    word = word.lower()
    return word[:-1] if word.endswith("s") and len(word) > 3 else word


def swap_follow_up(question: str, previous: str) -> str | None:
    """`previous` with the one thing `question` swaps replaced ("And in Vienna?" after "What is the hotel budget
    in Zurich?" -> "What is the hotel budget in Vienna?"); None when the question is not such a swap or nothing
    in `previous` matches it: a code for a code, an amount for an amount, a place after the same preposition, or
    the same head noun with other words before it ("payroll data" for "customer data")."""
    match = _SWAP.match(question)
    if match is None or _NOT_A_PHRASE.match(match.group("phrase")):
        return None
    phrase = match.group("phrase").strip()
    if len(phrase.split()) > 4:
        return None
    new_codes, old_codes = codes(phrase), codes(previous)
    if new_codes and len(old_codes) == 1:
        return previous.replace(old_codes[0], new_codes[0])
    new_money, old_money = _MONEY.search(phrase), _MONEY.findall(previous)
    if new_money and len(old_money) == 1:
        return previous.replace(old_money[0], new_money.group(0))
    preposition = _PREPOSITION.match(phrase)
    if preposition:
        place = phrase[preposition.end():]
        old = re.search(rf"\b{re.escape(preposition.group(0).strip())}\s+(?:the\s+)?([A-Z][\w-]*(?:\s+[A-Z][\w-]*)*)",
                        previous)
        if old and place[:1].isupper():
            return previous[:old.start(1)] + place + previous[old.end(1):]
        return None
    words = phrase.split()
    if len(words) == 1 and words[0][:1].isupper():  # "And Munich?": one name for the one name before
        names = _NAME.findall(previous)
        return previous.replace(names[0], words[0]) if len(names) == 1 else None
    return _swap_head(words, previous)


def _swap_head(words: list[str], previous: str) -> str | None:
    """"payroll data" for "customer data": the phrase replaces the words before the same last word."""
    head = _stem(words[-1])
    tokens = list(re.finditer(r"[\w'’-]+", previous))
    for i, token in enumerate(tokens):
        if _stem(token.group(0)) != head or i == 0:
            continue
        start = i
        while start > 0 and i - start < 2 and tokens[start - 1].group(0).lower() not in STOPWORDS \
                and tokens[start - 1].group(0).lower() not in _QUESTION_WORDS:
            start -= 1
        if start > 0 and tokens[start - 1].group(0).lower() in _DETERMINER:
            start -= 1
        if start == i and (len(words) == 1 or words[0].lower() in _DETERMINER):
            return None  # the same noun and nothing new before it: nothing to swap
        new = " ".join(w for w in words if w.lower() not in ("a", "an", "the") or len(words) == 1)
        return previous[:tokens[start].start()] + new + previous[token.end():]
    return None


def content_words(text: str) -> list[str]:
    words = [w for w in _WORD.findall(text) if w.lower() not in STOPWORDS and w.lower() not in _QUESTION_WORDS]
    return list(dict.fromkeys(words))


def is_follow_up(question: str) -> bool:
    return bool(_OPENER.search(question) or _POINTER.search(question) or _GROUP.search(question)
                or len(content_words(question)) <= 1)


def answer_names(answer: str) -> list[str]:
    """The capitalised names of an answer ("Amsterdam", "Eindhoven"), for a follow-up that points at them."""
    return list(dict.fromkeys(w for w in _ANSWER_NAME.findall(answer) if w.lower() not in _NOT_A_NAME
                              and w.lower() not in STOPWORDS and w.lower() not in _QUESTION_WORDS))


def picked_names(history: list[tuple[str, str]]) -> list[str]:
    """The names the answer to the latest "Which …?" question (or "the smaller of the two") of `history` adds to
    its question ("Lyon" of "Lyon: Desks 20 [2]." after "Which office has the fewest desks?"); [] when none."""
    for question, answer in reversed(history):
        if _WHICH.match(question) or _GROUP.search(question):
            asked = {w.lower() for w in _WORD.findall(question)}
            return [n for n in answer_names(answer) if n.lower() not in asked and _stem(n) not in asked]
    return []


def follow_up_query(question: str, history: list[tuple[str, str]], force: bool = False) -> str:
    """The search query for `question` after `history` ((question, answer) pairs): the question as asked when it
    stands alone (unless `force`: it was searched as asked and found nothing); the previous question with one thing
    swapped when that is all it asks (see swap_follow_up); else the question with the key terms of the earlier
    questions (newest first) and the previous answer's codes added."""
    if not history or not (force or is_follow_up(question)):
        return question
    previous_question, previous_answer = history[-1]
    previous_query = follow_up_query(previous_question, history[:-1])
    swapped = swap_follow_up(question, previous_query)
    if swapped is not None:
        return swapped
    have = {w.lower() for w in content_words(question)}
    # From the previous turn as it was searched, so that the subject outlives one follow-up ("Is it paid?" after
    # "By when do I have to take it?" about parental leave keeps "parental leave"), then from the turns before:
    # a second question that stood alone ("Which items need a receipt?" after one about expense claims) left the
    # third ("And when is the money paid back?") without the conversation's subject.
    earlier = [content_words(previous_query), codes(previous_answer)]
    if _GROUP.search(question) or (_WHO.match(previous_question) and _PERSON.search(question)):
        earlier.insert(0, answer_names(previous_answer))
    elif _ONE_THING.search(question):
        earlier.insert(0, picked_names(history[-PICKED_WITHIN:]))
    earlier += [content_words(q) for q, _ in reversed(history[:-1])]
    carried = [w for words in earlier for w in words if w.lower() not in have]
    carried = list(dict.fromkeys(carried))[:MAX_CARRIED]
    return f"{question} ({' '.join(carried)})" if carried else question


def conversation_context(history: list[tuple[str, str]], turns: int = 2) -> str:
    """The last `turns` earlier questions, for the model to resolve what a follow-up points back to."""
    if not history:
        return ""
    asked = [f'"{q.strip()}"' for q, _ in history[-turns:]]
    return "the user asked " + ", then ".join(asked)
