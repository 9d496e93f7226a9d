"""The citation rule applied while the answer streams: whole sentences only, each checked before it is shown."""

from __future__ import annotations

import re

from collections.abc import Callable

from app.answering.citations import (claims, cited_numbers, clean_markers, ground_sentence, grounding_texts, holds,
                                     is_refusal, normalize_markers, recite, split_sentences, strip_markers,
                                     unmentioned_names)
from app.answering.figures import unstated_figures
from app.answering.periods import other_period_only, wrong_period
from app.answering.subject import swapped_subject
from retrieval.tokenize import tokenize

# Markdown images, inline or by reference, could exfiltrate the chat through a URL.
_IMAGE = re.compile(r"!\[[^\]]*\](?:\([^)]*\)|\[[^\]]*\])")


class SentenceChecker:
    """Takes the model's text piece by piece and lets out only whole sentences that pass the citation rule,
    so nothing unsupported is shown even while streaming. A "not found" is held back until the end, where it
    may give way to the quoted best sentence."""

    def __init__(self, question: str, source_texts: dict[int, str],
                 similarity: Callable[[str, str], float] | None = None,
                 support: Callable[[str], dict[int, float]] | None = None, recite_margin: float = 0.1,
                 subject: frozenset[str] = frozenset()):
        self.question = question
        self.similarity = similarity  # of two short phrases, for the swapped-subject rule (None: not applied)
        # {source number: how closely it says a sentence}, to re-cite a sentence to the source that says it
        # (None: markers stay as the model wrote them).
        self.support = support
        self.recite_margin = recite_margin
        # A follow-up's subject: the terms its search query adds to it as asked ("password" for "And where should
        # I keep it?"). A cited sentence that names none of them, cited to sources that name none either, answers
        # something else: "The app keeps a block of desks for the team together [3]".
        self.subject = subject
        self._terms = {n: set(tokenize(t)) for n, t in source_texts.items()} if subject else {}
        self.source_texts = source_texts
        self._lowered = grounding_texts(source_texts)
        self._buffer = ""
        self._held: list[str] = []
        self._shown_any = False
        self.kept: list[str] = []
        self.removed: list[str] = []
        self._removed_sentences: list[str] = []  # as the model wrote them
        self.quoted = False

    @property
    def text(self) -> str:
        return " ".join(self.kept)

    @property
    def found_nothing(self) -> bool:
        return not self.kept or all(is_refusal(k) for k in self.kept)

    def feed(self, piece: str) -> str:
        self._buffer += piece
        sentences = split_sentences(self._prepare(self._buffer))
        if len(sentences) < 2:
            return ""
        # The last sentence may still grow; everything before it is complete.
        done, rest = sentences[:-1], sentences[-1:]
        if rest[0].startswith("[") and len(done) > 1:  # a marker still arriving belongs to the one before
            done, rest = done[:-1], [done[-1]] + rest
        elif rest[0].startswith("["):
            return ""
        self._buffer = " ".join(rest)
        return self._emit(done)

    def flush(self, quote: str | None = None, quote_if_removed: str | None = None) -> str:
        """The rest of the answer; with `quote`, a "not found" is replaced by it, and with `quote_if_removed`, an
        answer whose every sentence was removed (the model found something, but said it unsupported)."""
        sentences = split_sentences(self._prepare(self._buffer))
        self._buffer = ""
        shown = self._emit(sentences)
        # A quote that gives its figures for other years than the question's does not answer it either.
        quote, quote_if_removed = (None if q is None or other_period_only(q, self.question) else q
                                   for q in (quote, quote_if_removed))
        if quote is None and self.removed and quote_if_removed is not None and self._misquoted(quote_if_removed):
            quote = quote_if_removed
        if quote is not None and self.found_nothing:
            self.kept, self._held, self.quoted = [quote], [], True
            return self._join(shown, quote)
        held, self._held = " ".join(self._held), []
        return self._join(shown, held) if held else shown

    def _join(self, shown: str, more: str) -> str:
        if not more:
            return shown
        gap = " " if shown or self._shown_any else ""
        self._shown_any = True
        return f"{shown}{gap}{more}"

    def _prepare(self, text: str) -> str:
        text = _IMAGE.sub("", text)
        return clean_markers(normalize_markers(text), max(self.source_texts, default=0))

    def _swapped(self, sentence: str) -> str | None:
        """What the sentence's cited sources give its figure for instead, when every one of them does."""
        cited = [n for n in cited_numbers(sentence) if n in self._lowered]
        if self.similarity is None or not cited:
            return None
        found = [swapped_subject(sentence, self.question, self._lowered[n], self.similarity) for n in cited]
        return found[0] if all(found) else None

    def _misquoted(self, quote: str) -> bool:
        """Whether a removed sentence has a figure or code that `quote` holds: the model answered from that sentence
        but said it wrong ("You can still claim the mileage after 30 days" for "Expense claims are submitted within
        30 days of the end of the trip"). Otherwise the quote would answer what the model could not: on UDA and
        FinanceBench-dev answers it quoted an Oklahoma court sentence for "how many supreme court justices" (the
        model's "15" removed) and statement lines for ratios the model had computed wrongly; each of those quotes
        held none of the removed sentence's figures, and each right quote on the dev questions of
        tests/qa/sample-qa.jsonl held one."""
        held = grounding_texts({0: quote})[0]
        return any(any(ch.isdigit() for ch in claim) and holds(claim, held)
                   for sentence in self._removed_sentences for claim in claims(sentence, self.question))

    def _off_conversation(self, sentence: str) -> bool:
        cited = [n for n in cited_numbers(sentence) if n in self._terms]
        if not self.subject or not cited or self.subject & set(tokenize(strip_markers(sentence))):
            return False
        return not any(self.subject & self._terms[n] for n in cited)

    def _emit(self, sentences: list[str]) -> str:
        out = []
        for sentence in sentences:
            shown, why, _ = ground_sentence(sentence, self._lowered, self.question)
            if shown is not None and not is_refusal(shown):
                swapped = self._swapped(shown)
                if swapped:
                    shown, why = None, f"{sentence} (its source gives that figure for {swapped})"
                elif unstated := unstated_figures(self.question, shown, list(self._lowered.values())):
                    shown, why = None, f"{sentence} (no source states {', '.join(unstated)})"
                elif period := wrong_period(shown, self.question, list(self._lowered.values())):
                    shown, why = None, f"{sentence} ({period}, not the period asked)"
                elif unmentioned := unmentioned_names(self.question, shown, list(self._lowered.values())):
                    shown, why = None, f"{sentence} (no source mentions {', '.join(unmentioned)})"
                else:
                    as_cited = shown
                    if self.support is not None and cited_numbers(shown):
                        shown = recite(shown, self.support(shown), self._lowered, self.question, self.recite_margin)
                    # Off the conversation only when neither the source the model cited nor the one that says the
                    # sentence names its subject: "Yes, it is paid [4]" cites the travel policy, and re-cited to the
                    # handbook it stays; "The warranty lasts 36 months [1]", cited to the E-104 page, moves to the
                    # warranty page and stays too.
                    if self._off_conversation(as_cited) and self._off_conversation(shown):
                        shown, why = None, (f"{sentence} (neither it nor its sources mention "
                                            f"{', '.join(sorted(self.subject))})")
            if shown is None:
                self.removed.append(why)
                self._removed_sentences.append(sentence)
                continue
            self.kept.append(shown)
            (self._held if is_refusal(shown) else out).append(shown)
        if not out:
            return ""
        text = ("" if not self._shown_any else " ") + " ".join(out)
        self._shown_any = True
        return text
