"""What an answer is: its sources, text, citations, gate signals and timings, and the events a turn streams."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from app.answering.citations import CitationCheck

NEAREST_ONLY = "I could not find this in the documents. The nearest passages are listed below."


@dataclass
class Source:
    number: int  # the [n] the answer uses
    file: str
    doc_id: str
    page: int
    start: int
    end: int
    text: str
    chunk_id: str
    score: float
    breakdown: dict
    cited: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Answer:
    question: str
    answer: str = ""
    sources: list[Source] = field(default_factory=list)
    rewritten_query: str = ""
    abstained: bool = False
    citations: list[CitationCheck] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    mode: str = ""
    # The best-matching sentence of the sources ({source, text, start, end}: offsets in the source's page),
    # shown before the model's answer arrives.
    evidence: dict | None = None
    removed: list[str] = field(default_factory=list)  # sentences of the model taken out: not in their sources
    gate: dict = field(default_factory=dict)  # the gate's signals and, when it stopped the question, why

    def to_dict(self) -> dict:
        return {
            "question": self.question, "answer": self.answer, "abstained": self.abstained,
            "rewritten_query": self.rewritten_query, "mode": self.mode,
            "sources": [s.to_dict() for s in self.sources], "evidence": self.evidence,
            "citations": [c.to_dict() for c in self.citations], "removed": self.removed, "gate": self.gate,
            "notes": self.notes, "timings": self.timings,
        }


@dataclass
class AnswerEvent:
    """What the UI renders as it happens: status, sources, token, done (with the final Answer)."""

    kind: str
    text: str = ""
    answer: Answer | None = None
