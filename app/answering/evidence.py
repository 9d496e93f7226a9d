"""Evidence selection: the sentences of the retrieved chunks that bear on the question.

A small model reads a short, sharp prompt better than five whole chunks, and prompt tokens are most of the time
to first token on a CPU. Each chunk is cut into sentences (list items and table rows count as sentences); each
sentence is scored by the embedder's cosine to the question plus the share of the question's terms it holds; the
best sentences overall are kept, each with its neighbour before it when that is a heading or an unfinished
lead-in, and handed to the model in document order under their source's number.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from retrieval.tokenize import tokenize

# Inside a line, a sentence ends at . ! ? followed by space and an upper-case letter, digit or bracket.
_BOUNDARY = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")
# A line break ends a sentence only after a paragraph break, a line ending in punctuation or a heading, or
# before a list item or table row: PDF text breaks lines inside sentences.
_ITEM = re.compile(r"^\s*(?:[-*•–|]|\d+[.)]\s|[A-Z]{1,4}-?\d+\b)")
# A unit after a figure ("350 W.") ends a sentence; a lone capital elsewhere is an initial ("J. Smith").
_ABBREVIATION = re.compile(r"(?:\b(?:e\.g|i\.e|etc|approx|no|vs|incl|fig|p|pp|mr|mrs|ms|dr|st)|(?<!\d )\b[A-Z])\.$",
                           re.I)


@dataclass
class Sentence:
    source: int  # the [n] of its source
    start: int  # offsets in the chunk's text
    end: int
    text: str
    score: float = 0.0
    index: int = 0  # position among all sentences of the sources
    header: str = ""  # for a table row: the table's header row
    cosine: float = 0.0  # the embedder's cosine to the question (score adds the shared terms)


@dataclass
class Evidence:
    """What the model reads of each source: {source number: its kept sentences, in order}."""

    by_source: dict[int, list[Sentence]]
    best: Sentence | None  # the best-scoring sentence overall (shown before the answer arrives)
    best_cosine: float | None = None  # the highest cosine of any sentence to the question (for the gate)
    sentences: list[Sentence] = field(default_factory=list)  # every sentence of the sources, kept or not
    vectors: np.ndarray | None = None  # their embeddings (unit vectors), row by row

    def support(self, vector: np.ndarray) -> dict[int, float]:
        """{source number: the highest cosine of any of its sentences to `vector`}: which source says it."""
        if self.vectors is None or not self.sentences:
            return {}
        cosines = self.vectors @ np.asarray(vector)
        out: dict[int, float] = {}
        for s, cosine in zip(self.sentences, cosines):
            out[s.source] = max(out.get(s.source, -1.0), float(cosine))
        return out

    def narrowed(self, gives: Callable[[str], bool]) -> "Evidence":
        """When the best sentence does not give the kind of figure asked (`gives`: a price, a duration) but another
        kept one does, only the sentences that give it (with their headings and table rows): asked "How much can
        I spend on equipment for my home office?" beside the IT catalogue's "Home equipment … delivered within 10
        working days" and the handbook's "… up to EUR 800", the model answered with the delivery time."""
        if self.best is None or gives(self.best.text):
            return self
        kept = [s for ss in self.by_source.values() for s in ss]
        gives_it = {s.index: gives(s.text) for s in kept if not s.header}  # table data rows are kept as they are
        giving = [s for s in kept if gives_it.get(s.index)]
        if not giving:
            return self
        drop = {s.index for s in kept if not s.text.startswith("|") and not _lead_in(s.text) and not gives_it[s.index]}
        by_source = {n: [s for s in ss if s.index not in drop] for n, ss in self.by_source.items()}
        return replace(self, by_source={n: ss for n, ss in by_source.items() if any(not _lead_in(s.text) for s in ss)},
                       best=max(giving, key=lambda s: s.score))

    def text(self, number: int) -> str:
        """The kept sentences of one source: neighbours joined by a space, gaps marked with an ellipsis; table
        rows as "column: value" pairs."""
        out, previous, heading = "", None, False
        kept = self.by_source.get(number, [])
        headers = {s.header for s in kept if s.header}
        for s in kept:
            if not s.header and table_cells(s.text) is not None and (s.text in headers or is_separator_row(s.text)):
                continue  # a header or separator row: the rows kept carry its column names
            text = named_row(s.header, s.text) if s.header else " ".join(s.text.split())
            # A heading on a line of its own: run into its first sentence ("Equipment New employees receive…"),
            # the model quoted it as part of that sentence.
            if previous is None:
                out = text
            else:
                out += (("\n" if heading else " ") if s.index == previous + 1 else " … ") + text
            previous, heading = s.index, _lead_in(s.text) and not s.text.rstrip().endswith(":")
        return out


def table_cells(row: str) -> list[str] | None:
    row = row.strip()
    if not row.startswith("|"):
        return None
    return [c.strip() for c in row.strip("|").split("|")]


def is_separator_row(row: str) -> bool:
    """A markdown table's separator row (|---|:--:|)."""
    return set(row.replace("|", "").strip()) <= set("-: ")


def named_row(header: str, row: str) -> str:
    """A table row with its column names ("Office: Lyon; Desks: 20"): a small model misreads which cell of a
    bare "| Lyon | … | 20 |" row belongs to which column (it judged such rows not to answer "How many desks in
    Lyon?")."""
    names, values = table_cells(header), table_cells(row)
    if not names or not values or len(names) != len(values):
        return " ".join(row.split())
    return "; ".join(f"{n}: {v}" if n else v for n, v in zip(names, values) if v) + "."


def _blocks(text: str) -> list[tuple[int, int]]:
    """(start, end) of the runs of lines that belong together (a paragraph, a list item, a heading)."""
    blocks, start, pos = [], 0, 0
    lines = text.split("\n")
    in_item = False
    for i, line in enumerate(lines[:-1]):
        end = pos + len(line)
        following = lines[i + 1]
        stripped = line.strip()
        in_item = bool(_ITEM.match(line)) or (in_item and pos > start)
        ends_sentence = stripped.endswith((".", "!", "?", ":", ";")) and not in_item
        # A line that opens with a code but stops without punctuation before a capitalised line is a title
        # ("SK-220 Collaborative Robotic Arm - Datasheet" above "The SK-220 is…"), not a list item running on.
        title = (_ITEM.match(line) is not None and pos == start and not stripped.endswith((",", "-", "–"))
                 and not stripped.endswith((".", "!", "?", ":", ";")) and following.lstrip()[:1].isupper())
        if (not stripped or not following.strip() or ends_sentence or _ITEM.match(following) or title
                or (_lead_in(stripped) and not in_item)):
            blocks.append((start, end))
            start = end + 1
        pos = end + 1
    blocks.append((start, len(text)))
    return blocks


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`; never splits after an abbreviation or initial, nor at a line
    break inside a sentence."""
    spans = []
    for lo, hi in _blocks(text):
        start = lo
        if _ITEM.match(text[lo:hi]) and not text[lo:hi].lstrip().startswith("|"):  # a list item is one unit
            spans.append((lo, hi))
            continue
        for m in _BOUNDARY.finditer(text, lo, hi):
            if "\n" not in m.group() and _ABBREVIATION.search(text[start:m.start()]):
                continue
            spans.append((start, m.start()))
            start = m.end()
        spans.append((start, hi))
    out = []
    for a, b in spans:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if b > a:
            out.append((a, b))
    return out


def _lexical(query_terms: set[str], sentence: str) -> float:
    if not query_terms:
        return 0.0
    return len(query_terms & set(tokenize(sentence))) / len(query_terms)


def _lead_in(text: str) -> bool:
    """A heading or an unfinished sentence that the next sentence depends on ("Specifications", "Hotels:")."""
    stripped = text.rstrip()
    return stripped.endswith(":") or stripped.startswith("#") or (len(stripped.split()) <= 5 and "," not in stripped
                                      and not stripped.endswith((".", "!", "?")) and not stripped.startswith("|"))


def _title(heading: str) -> str:
    """The document part of a chunk's heading ("SK-220 Collaborative Robotic Arm - Datasheet · …"), 8 words at
    most: a sentence embedded with it says what it is about ("Repeatability: ± 0.03 mm" of the SK-220)."""
    return " ".join(heading.split(" · ")[0].split()[:8])


def select_evidence(question: str, sources: dict[int, str], embedder, max_sentences: int = 8,
                    lexical_weight: float = 0.5, min_share: float = 0.6,
                    headings: dict[int, str] | None = None, asked: str | None = None,
                    asked_weight: float = 0.0) -> Evidence:
    """The best `max_sentences` sentences of `sources` ({number: chunk text}) for `question`.

    `embedder` has embed_query and embed_documents (unit vectors); a sentence scores its cosine to the question
    + lexical_weight * the share of the question's terms it holds. Sentences scoring under `min_share` of the
    best one are left out even when there is room: noise costs a small model more than it helps. `headings`
    ({number: the chunk's heading}): each sentence is embedded after its document's title. Measured with the gold
    answers of tests/qa/sample-qa.jsonl (does the evidence hold them?): dev 0.959 → 0.986, test 0.845 → 0.901,
    where the bare "Repeatability: plus or minus 0.03 mm." lost to "The SK-220 carries a warranty…" for "How
    precisely does the SK-220 return to the same position?"; the title alone beat title + section heading.
    `asked`: a follow-up as the user asked it (`question` is then its search query); each sentence's score against
    it, times `asked_weight`, is added and the sum divided by 1 + asked_weight.
    """
    sentences = [Sentence(n, a, b, text[a:b]) for n, text in sources.items() for a, b in split_sentences(text)]
    first_row = 0  # a table row's header is the first row of its run of rows
    # Header and separator rows are never chosen for themselves: "| Office | … | Robotics lab |" matched "Which
    # offices have a robotics lab?" best and was quoted as the answer; they come along with the rows kept.
    not_rows: set[int] = set()
    for i, s in enumerate(sentences):
        s.index = i
        in_run = i > 0 and sentences[i - 1].source == s.source and sentences[i - 1].text.startswith("|")
        if not in_run:
            first_row = i
        if s.text.startswith("|") and in_run and is_separator_row(s.text):
            not_rows.add(i)
        elif s.text.startswith("|") and in_run:
            s.header = sentences[first_row].text
            not_rows.add(first_row)
    if not sentences:
        return Evidence({}, None)
    # Rows are scored as "column: value" pairs: "the Lyon office's address" matches "Office: Lyon; Address: …".
    texts = [named_row(s.header, s.text) if s.header else s.text for s in sentences]
    titles = {n: _title(h) for n, h in (headings or {}).items()}
    titled = [f"{titles[s.source]}: {t}" for s, t in zip(sentences, texts) if titles.get(s.source)]
    matrix = np.asarray(embedder.embed_documents(texts + titled))
    vectors = matrix @ np.asarray(embedder.embed_query(question))
    plain, with_title = vectors[:len(texts)], iter(vectors[len(texts):])
    terms = set(tokenize(question))
    use_asked = bool(asked) and asked_weight > 0 and asked != question
    if use_asked:
        by_asked = matrix[:len(texts)] @ np.asarray(embedder.embed_query(asked))
        asked_terms = set(tokenize(asked))
    for n, (s, cosine) in enumerate(zip(sentences, plain)):
        # The gate reads the bare sentence's cosine: with the title every sentence of a document looks alike to
        # the question, and answerable and not-answered questions separate less (benchmarks/gate_signals.py).
        s.cosine = float(cosine)
        ranked_by = float(next(with_title)) if titles.get(s.source) else s.cosine
        s.score = ranked_by + lexical_weight * _lexical(terms, s.text)
        if use_asked:  # divided back to one scale: the quote and figure thresholds read this score
            as_asked = float(by_asked[n]) + lexical_weight * _lexical(asked_terms, s.text)
            s.score = (s.score + asked_weight * as_asked) / (1 + asked_weight)
    # Never empty: a header joins not_rows only with a data row after it, and data rows are ranked.
    ranked = sorted((i for i in range(len(sentences)) if i not in not_rows), key=lambda i: -sentences[i].score)
    best = next((sentences[i] for i in ranked if not _lead_in(sentences[i].text)), sentences[ranked[0]])
    keep: set[int] = set()
    for i in ranked:
        if len(keep) >= max_sentences or sentences[i].score < min_share * best.score:
            break
        if not _lead_in(sentences[i].text):  # a heading alone says nothing; it comes with what it heads
            keep.add(i)
    for i in sorted(keep):
        before = sentences[i - 1] if i > 0 and sentences[i - 1].source == sentences[i].source else None
        # A heading, or the list item a continuation line belongs to ("- P2 High: …" before "Response within …").
        if before is not None and (_lead_in(before.text) or (_ITEM.match(before.text)
                                                              and not _ITEM.match(sentences[i].text))):
            keep.add(i - 1)
        if sentences[i].text.startswith("|"):  # a table row keeps its header row: column names give it meaning
            j = i
            while j > 0 and sentences[j - 1].source == sentences[i].source and sentences[j - 1].text.startswith("|"):
                j -= 1
            keep.add(j)
    by_source: dict[int, list[Sentence]] = {}
    for i in sorted(keep):
        by_source.setdefault(sentences[i].source, []).append(sentences[i])
    return Evidence(by_source, best, max(sentences[i].cosine for i in ranked), sentences, matrix[:len(texts)])
