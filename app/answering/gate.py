"""The gate before the model: is there anything in the retrieved passages that could answer the question?

Signals (all absolute, unlike fused scores): the best vector cosine of the question to a sentence of the
retrieved chunks (or to a chunk, when no sentences were scored), the best cross-encoder score when the
reranker ran, and whether a code the question names (SK-330, E-150, P5) appears
in any retrieved passage — hybrid search finds codes by their exact BM25 term, so a code missing from every
passage is missing from the documents. Thresholds are chosen on labelled questions by
`benchmarks/gate_signals.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from app.answering.citations import codes


@dataclass
class GateDecision:
    passed: bool
    reason: str = ""
    signals: dict = field(default_factory=dict)


def question_codes(question: str) -> list[str]:
    """The codes the question names (see citations.codes)."""
    return codes(question)


def holds_code(code: str, text: str) -> bool:
    """Whether `text` names `code` as a whole code (E-10 is not in E-101)."""
    return re.search(rf"(?<![\w-]){re.escape(code.lower())}(?![\w]|-\w)", text.lower()) is not None


def missing_codes(question: str, texts: list[str]) -> list[str]:
    haystack = " ".join(texts)
    return [c for c in question_codes(question) if not holds_code(c, haystack)]


def decide(question: str, texts: list[str], best_cosine: float | None, best_rerank: float | None,
           min_cosine: float, min_rerank: float | None, best_sentence_cosine: float | None = None,
           min_sentence_cosine: float = 0.0, carried_code_held: bool = False) -> GateDecision:
    """Pass the question to the model, or say why not. `texts`: what the retrieved passages say, headings and
    file names included. With the best sentence's cosine, that decides instead of the best chunk's: a chunk of
    eight checklist lines scores 0.17 for the one line that answers (0.62). `carried_code_held`: a follow-up's
    best sentence holds the code its conversation is about ("Where do I acknowledge it afterwards? (E-101)" scored
    0.36 for "E-101 … then acknowledge the error on the teach pendant"): the short question, not the evidence,
    is what scores low, so the similarity floor is not applied (the evidence check still is)."""
    signals = {"best_cosine": best_cosine, "best_rerank": best_rerank, "best_sentence_cosine": best_sentence_cosine}
    if not texts:
        return GateDecision(False, "nothing matched", signals)
    missing = missing_codes(question, texts)
    signals["missing_codes"] = missing
    if missing:
        return GateDecision(False, f"no document mentions {', '.join(missing)}", signals)
    if best_rerank is not None and min_rerank is not None:
        if best_rerank < min_rerank:
            return GateDecision(False, f"best rerank score {best_rerank:.2f} is under {min_rerank:g}", signals)
        return GateDecision(True, "", signals)
    if best_sentence_cosine is not None:
        if best_sentence_cosine < min_sentence_cosine and not carried_code_held:
            return GateDecision(False, f"best sentence similarity {best_sentence_cosine:.2f} is under "
                                       f"{min_sentence_cosine:g}", signals)
        return GateDecision(True, "", signals)
    if best_cosine is not None and best_cosine < min_cosine:
        return GateDecision(False, f"best similarity {best_cosine:.2f} is under {min_cosine:g}", signals)
    return GateDecision(True, "", signals)
