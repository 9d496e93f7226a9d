"""Grounded answers: retrieve, gate, fit sources into the context, stream the LLM, map and check citations."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field

from app.citations import CitationCheck, check_citations, clean_markers
from app.llm import stream_text as llm_stream_text
from app.prompts import NOT_FOUND, answer_messages, format_source, rewrite_messages
from retrieval.hybrid import HybridRetriever, Retrieval

logger = logging.getLogger(__name__)

# Markdown images, inline or by reference, could exfiltrate the chat through a URL.
_IMAGE = re.compile(r"!\[[^\]]*\](?:\([^)]*\)|\[[^\]]*\])")


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

    def to_dict(self) -> dict:
        return {
            "question": self.question, "answer": self.answer, "abstained": self.abstained,
            "rewritten_query": self.rewritten_query, "mode": self.mode,
            "sources": [s.to_dict() for s in self.sources],
            "citations": [c.to_dict() for c in self.citations], "notes": self.notes, "timings": self.timings,
        }


@dataclass
class AnswerEvent:
    """What the UI renders as it happens: status, sources, token, done (with the final Answer)."""

    kind: str
    text: str = ""
    answer: Answer | None = None


def approximate_tokens(text: str) -> int:
    """About 4 characters per token for English text; used when the model's tokenizer is not available."""
    return len(text) // 4 + 1


class Answerer:
    def __init__(
        self,
        retriever: HybridRetriever,
        llm,
        *,
        top_k: int = 5,
        mode: str = "hybrid",
        min_cosine: float = 0.0,
        min_rerank: float | None = None,
        context_tokens: int = 4096,
        answer_tokens: int = 512,
        count_tokens: Callable[[str], int] = approximate_tokens,
        stream_text: Callable | None = None,
    ):
        if top_k <= 0:
            raise ValueError(f"top_k must be > 0, got {top_k}")
        self.retriever = retriever
        self.llm = llm
        self.top_k = top_k
        self.mode = mode
        self.min_cosine = min_cosine
        self.min_rerank = min_rerank
        self.context_tokens = context_tokens
        self.answer_tokens = answer_tokens
        self.count_tokens = count_tokens
        self._stream_text = stream_text or llm_stream_text  # backend failures arrive as one-line LLMError

    # -- steps --------------------------------------------------------------------------------------------

    def rewrite(self, question: str, history: list[tuple[str, str]]) -> tuple[str, str | None]:
        """A standalone search query for a follow-up question; (the raw question, why) on failure."""
        if not history or self.llm is None:
            return question, None
        try:
            text = "".join(self._stream_text(self.llm, rewrite_messages(question, history))).strip()
        except Exception as exc:
            logger.warning("query rewriting failed: %s", exc)
            return question, f"could not rewrite the follow-up question ({exc}); searched for it as asked"
        text = text.strip().strip('"').splitlines()[0].strip() if text.strip() else ""
        if not text or len(text) > 400:
            return question, "the rewritten query was unusable; searched for the question as asked"
        return text, None

    def relevant_enough(self, found: Retrieval) -> bool:
        if not found.results:
            return False
        if found.best_rerank is not None and self.min_rerank is not None:
            return found.best_rerank >= self.min_rerank
        if found.best_cosine is not None:
            return found.best_cosine >= self.min_cosine
        return True  # BM25 alone has no absolute scale: let the model judge

    def fit_sources(self, question: str, found: Retrieval) -> tuple[list[Source], list[str], int]:
        """Numbered sources that fit the context window (weakest dropped whole, never cut), their prompt
        blocks, and how many were dropped."""
        budget = self.context_tokens - self.answer_tokens - self.count_tokens(
            "".join(m.content for m in answer_messages(question, []))) - 32
        sources, blocks, dropped = [], [], 0
        for result in found.results:
            number = len(sources) + 1
            block = format_source(number, result.chunk.source, result.chunk.page, result.chunk.text)
            cost = self.count_tokens(block)
            if cost > budget:
                dropped += 1
                continue
            budget -= cost
            blocks.append(block)
            c = result.chunk
            sources.append(Source(number, c.source, c.doc_id, c.page, c.start, c.end, c.text, result.id,
                                  result.score, result.breakdown.to_dict()))
        return sources, blocks, dropped

    # -- the whole turn -----------------------------------------------------------------------------------

    def stream(self, question: str, history: list[tuple[str, str]] | None = None,
               doc_ids: list[str] | None = None, mode: str | None = None,
               top_k: int | None = None) -> Iterator[AnswerEvent]:
        started = time.perf_counter()
        answer = Answer(question=question)
        history = list(history or [])
        if history:
            yield AnswerEvent("status", "understanding the follow-up…")
        query, note = self.rewrite(question, history)
        answer.rewritten_query = query
        if note:
            answer.notes.append(note)

        yield AnswerEvent("status", "searching…")
        found = self.retriever.retrieve(query, top_k or self.top_k, mode or self.mode, doc_ids)
        answer.mode = found.mode
        answer.notes += found.notes
        answer.timings["retrieval_ms"] = round(sum(v for k, v in found.timings_ms.items() if k != "rerank"), 1)
        if "rerank" in found.timings_ms:
            answer.timings["rerank_ms"] = found.timings_ms["rerank"]

        sources, blocks, dropped = self.fit_sources(question, found)
        answer.sources = sources
        if dropped:
            answer.notes.append(f"{dropped} source(s) did not fit the model's context window and were left out")
        if not self.relevant_enough(found) or not sources:
            answer.abstained = True
            answer.answer = ("I could not find this in the documents. The nearest passages are listed below."
                             if sources else "I could not find this in the documents (nothing matched).")
            answer.timings["total_ms"] = round(1000 * (time.perf_counter() - started), 1)
            yield AnswerEvent("sources", answer=answer)
            yield AnswerEvent("done", answer.answer, answer)
            return

        yield AnswerEvent("sources", answer=answer)
        yield AnswerEvent("status", f"reading {len(sources)} sources…")
        if self.llm is None:
            answer.answer = "No language model is configured; the sources below matched the question."
            answer.notes.append("no LLM configured")
            answer.timings["total_ms"] = round(1000 * (time.perf_counter() - started), 1)
            yield AnswerEvent("done", answer.answer, answer)
            return

        pieces: list[str] = []
        llm_started = time.perf_counter()
        try:
            for piece in self._stream_text(self.llm, answer_messages(question, blocks)):
                if not pieces:
                    answer.timings["first_token_ms"] = round(1000 * (time.perf_counter() - started), 1)
                pieces.append(piece)
                yield AnswerEvent("token", piece)
        except Exception as exc:  # backend down or misconfigured: a message, not a stack trace
            logger.warning("LLM failed: %s", exc)
            answer.notes.append(f"the language model failed: {exc}")
            if not pieces:
                answer.answer = f"The language model is unavailable ({exc}). The sources below matched the question."
                answer.timings["total_ms"] = round(1000 * (time.perf_counter() - started), 1)
                yield AnswerEvent("done", answer.answer, answer)
                return
        answer.timings["generation_ms"] = round(1000 * (time.perf_counter() - llm_started), 1)
        self._finish(answer, "".join(pieces))
        answer.timings["total_ms"] = round(1000 * (time.perf_counter() - started), 1)
        yield AnswerEvent("done", answer.answer, answer)

    def ask(self, question: str, history: list[tuple[str, str]] | None = None, **kwargs) -> Answer:
        answer = None
        for event in self.stream(question, history, **kwargs):
            if event.kind == "done":
                answer = event.answer
        return answer

    def _finish(self, answer: Answer, raw: str) -> None:
        text = _IMAGE.sub("", raw).strip()
        text = clean_markers(text, len(answer.sources))
        answer.answer = text
        if NOT_FOUND.lower().rstrip(".") in text.lower():
            answer.abstained = True
        answer.citations = check_citations(text, {s.number: s.text for s in answer.sources})
        cited = {n for c in answer.citations for n in c.sources}
        for source in answer.sources:
            source.cited = source.number in cited
