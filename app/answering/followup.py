"""Follow-up questions: carry the conversation's subject into the search query by rule.

The 1.5B model rewrote follow-ups unreliably (it returned its previous answer instead of a question) and each
rewrite cost a second model call before the search. A rule does not fail that way: a question that reads as a
follow-up (opens with "and", "what about"…, points back with "it", "those"…, or is very short) is searched
together with the key terms of the previous question and the codes of the previous answer; the model then
reads that query as the question; the evidence check reads the previous question beside the sources to resolve
what "it" means. (The previous answer in the prompt made the model repeat that answer; later the previous question
did too: "And its repeatability?" answered with the reach it had asked about.)
"""

from __future__ import annotations

import re

from app.answering.citations import codes
from retrieval.tokenize import STOPWORDS

_OPENER = re.compile(r"^\W*(and|also|what about|how about|then|so|but|or|same|what if|in that case)\b", re.I)
_POINTER = re.compile(r"\b(it|its|they|them|their|those|these|that|this|there|then|he|she|him|her|one|ones|"
                      r"same|such|either|both|else|other|others)\b", re.I)
_WORD = re.compile(r"[\w][\w'’-]*")
_QUESTION_WORDS = frozenset("how many much what which who whom when where why long often can may do does did is "
                            "are was were i we you get need needed".split())


def content_words(text: str) -> list[str]:
    words = [w for w in _WORD.findall(text) if w.lower() not in STOPWORDS and w.lower() not in _QUESTION_WORDS]
    return list(dict.fromkeys(words))


def is_follow_up(question: str) -> bool:
    return bool(_OPENER.search(question) or _POINTER.search(question) or len(content_words(question)) <= 1)


def follow_up_query(question: str, history: list[tuple[str, str]]) -> str:
    """The search query for `question` after `history` ((question, answer) pairs): the question as asked when it
    stands alone, else with the previous question's key terms and the previous answer's codes added."""
    if not history or not is_follow_up(question):
        return question
    previous_question, previous_answer = history[-1]
    have = {w.lower() for w in content_words(question)}
    carried = [w for w in content_words(previous_question) + codes(previous_answer) if w.lower() not in have]
    carried = list(dict.fromkeys(carried))
    return f"{question} ({' '.join(carried)})" if carried else question


def conversation_context(history: list[tuple[str, str]]) -> str:
    """The previous question, for the model to resolve what a follow-up points back to."""
    if not history:
        return ""
    question, _ = history[-1]
    return f'the user asked "{question.strip()}"'
