"""The evidence check: before it answers, the model is asked whether the selected sentences hold the answer.

A small model asked to answer almost always answers: on questions the documents do not answer it takes the
nearest figure ("The SK-220 costs 33.5 kg"). Asked the narrower question "does this passage contain the
answer?", the same model separates the two kinds far better: measured on the sample QA set with
`benchmarks/evidence_check.py`, at P(yes) < 0.5 it stops 17 of 18 answered not-in-the-documents questions and 1 of
102 questions it answered right. Yes/no questions are checked at a lower threshold (see answer.py): the model
confuses the answer's "no" with "the passage does not say" (5 of 9 right yes/no answers fell under 0.5).

Each line of the passage is led by its file name ("[employee-handbook.md] Annual leave: …"): on the dev split the
check then stopped 7 of 7 not-in-the-documents questions past the gate (5 of 7 without) and passed 97.3% of the
answerable ones (95.9%); on the test split both stayed as they were (66.7% stopped, 94.4% passed at 0.5).

The local engine gives the probability of its first token; other backends answer in words, read as 1 or 0.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

CHECK_SYSTEM = "You check whether a passage answers a question. Reply with one word: yes or no."

# A question that asks for a yes or a no ("Can I…", "Is the…", "Do we…", and after an opener: "So can I…").
# The openers a question may start with before its verb ("And can I…", "So is it…").
OPENERS = r"^\W*(?:(?:and|so|but|then|also|ok|okay|well)\W+)*"
_YES_NO = re.compile(OPENERS + r"(?:can|could|may|might|must|shall|should|will|would|do|does|did|is|are|am|was|were|"
                     r"has|have|had)\b", re.I)


def is_yes_no(question: str) -> bool:
    return _YES_NO.match(question) is not None


def check_messages(question: str, passage: str, earlier: str = "") -> list[BaseMessage]:
    """`passage`: the evidence sentences; `earlier`: the previous question, for follow-ups."""
    context = f"Earlier question: {earlier}\n" if earlier else ""
    return [SystemMessage(CHECK_SYSTEM),
            HumanMessage(f"Passage:\n{passage}\n\n{context}Question: {question}\n\n"
                         f"Does the passage contain the answer to this question? Reply yes or no.")]


def yes_probability(llm: Any, messages: list[BaseMessage], stream_text: Callable) -> float | None:
    """P(yes) of the model's one-word reply: from the first token's probabilities when the model gives them
    (`first_token_probabilities`, the local engine), else 1.0 / 0.0 read from its words; None when the reply
    is neither."""
    first_token = getattr(llm, "first_token_probabilities", None)
    if callable(first_token):
        probabilities: dict[str, float] = {}
        for token, p in first_token(messages).items():
            word = token.strip(" _=.\"'").lower()
            probabilities[word] = probabilities.get(word, 0.0) + p
        yes, no = probabilities.get("yes", 0.0), probabilities.get("no", 0.0)
        return yes / (yes + no) if yes + no > 0 else None
    reply = "".join(stream_text(llm, messages)).strip().lower()
    word = re.match(r"\W*(\w+)", reply)
    if word is None:
        return None
    return {"yes": 1.0, "no": 0.0}.get(word.group(1))

