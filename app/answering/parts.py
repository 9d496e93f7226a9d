"""Questions of two parts: each part is asked on its own, then the answers are joined.

"What is the minimum password length, and how many desks does the Lyon office have?" was answered by its second
half alone (the table rule read the Lyon row); "… What is my nightly hotel limit there, and when does the office
close?" by the first half and a wrong second ("closed on weekends"). Asked alone, each part gets its own sources,
its own evidence and its own rules; the second part is asked as a follow-up of the first, so that "… once I order
it?" keeps the first part's subject. Sentences before the question ("I'm travelling to the Munich office.") go
with every part.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

from app.answering.citations import renumber_markers
from app.answering.results import NEAREST_ONLY, Answer, AnswerEvent

# ", and how …" / " and what …": a second question joined to the first.
SECOND_QUESTION = re.compile(r"(?:,\s*|\s+)and\s+(?=(?:how|what|which|when|where|who|whom|why|is|are|can|do|does|"
                             r"may|must|should)\b)", re.I)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=\S)")
MAX_PARTS = 3


def split_parts(question: str) -> list[str]:
    """The questions `question` asks, each with the sentences that lead up to them; [question] when it asks one.
    "I lost my key. How soon must I report it, and how quickly do I get a new one?" -> ["I lost my key. How soon
    must I report it?", "I lost my key. How quickly do I get a new one?"]."""
    sentences = [s.strip() for s in _SENTENCE.split(question.strip()) if s.strip()]
    lead = [s for s in sentences if not s.endswith("?")]
    asked = [s for s in sentences if s.endswith("?")]
    if not asked or sentences[: len(lead)] != lead:  # statements after a question: not a plain list of questions
        return [question]
    parts = []
    for sentence in asked:
        pieces = SECOND_QUESTION.split(sentence[:-1])
        parts += [p.strip() + "?" for p in pieces if p.strip()]
    if len(parts) < 2 or len(parts) > MAX_PARTS or any(len(p.split()) < 2 for p in parts):
        return [question]
    prefix = " ".join(lead)
    return [f"{prefix} {p[:1].upper()}{p[1:]}".strip() for p in parts]


def stream_parts(question: str, parts: list[str], history: list[tuple[str, str]],
                 ask: Callable[[str, list[tuple[str, str]]], Iterator[AnswerEvent]]) -> Iterator[AnswerEvent]:
    """The events of one answer to `question` from `ask(part, history)` for each part, the later parts asked after
    the earlier ones: the first part's answer streams as it comes, the later ones when done, their markers
    renumbered to the joined sources (a chunk found twice keeps its first number)."""
    started = time.perf_counter()
    joined = Answer(question=question, notes=[f"asked in {len(parts)} parts: " + " | ".join(parts)])
    by_chunk: dict[str, int] = {}
    texts, asked = [], list(history)
    for i, part in enumerate(parts):
        done = None
        for event in ask(part, asked):
            if event.kind == "done":
                done = event.answer
            elif event.kind == "status" or (event.kind == "token" and i == 0):
                yield event
            elif event.kind == "sources" and i == 0:
                _join_sources(joined, event.answer, by_chunk)
                joined.evidence = event.answer.evidence
                yield AnswerEvent("sources", answer=joined)
        numbers = _join_sources(joined, done, by_chunk)
        text = (f"I could not find this in the documents: “{part}”" if done.abstained
                else renumber_markers(done.answer, numbers))
        texts.append(text)
        if i > 0:
            yield AnswerEvent("sources", answer=replace(joined, evidence=None))  # the best sentence stays the first's
            yield AnswerEvent("token", " " + text)
        asked.append((part, done.answer))
        joined.citations += [replace(c, sentence=renumber_markers(c.sentence, numbers),
                                     sources=[numbers.get(n, n) for n in c.sources]) for c in done.citations]
        joined.removed += done.removed
        joined.notes += [n for n in done.notes if n not in joined.notes]
        joined.abstained = done.abstained and (joined.abstained or i == 0)  # only when no part was answered
        joined.rewritten_query = " | ".join(filter(None, [joined.rewritten_query, done.rewritten_query]))
        if i == 0:
            joined.mode, joined.gate, joined.timings = done.mode, done.gate, dict(done.timings)
    joined.answer = NEAREST_ONLY if joined.abstained else " ".join(texts)
    cited = {n for c in joined.citations for n in c.sources}
    for source in joined.sources:
        source.cited = source.number in cited
    joined.timings["total_ms"] = round(1000 * (time.perf_counter() - started), 1)
    yield AnswerEvent("done", joined.answer, joined)


def _join_sources(joined: Answer, part: Answer, by_chunk: dict[str, int]) -> dict[int, int]:
    """Adds the part's sources not yet in `joined`; {the part's source number: its number in `joined`}."""
    numbers = {}
    for source in part.sources:
        if source.chunk_id not in by_chunk:
            by_chunk[source.chunk_id] = len(joined.sources) + 1
            joined.sources.append(replace(source, number=by_chunk[source.chunk_id]))
        numbers[source.number] = by_chunk[source.chunk_id]
    return numbers
