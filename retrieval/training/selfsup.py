"""Self-supervised pairs from a team's own collection (inverse cloze over the stored chunks).

A sentence of a chunk is the query; the positive is that chunk with the sentence cut out (its exact character
span, so nothing of it is left to match on). The chunk itself, its neighbours in the same document (chunks overlap)
and any chunk that contains the sentence are excluded from its negatives.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable

from ingest.store import StoredChunk
from retrieval.training.sources import cut_span, sentence_spans
from retrieval.training.types import Group, Source

logger = logging.getLogger(__name__)


def context_text(text: str, heading: str) -> str:
    """What the reranker sees at search time (retrieval.types.ScoredChunk.context_text)."""
    return f"{heading}\n{text}" if heading else text


def self_supervised_source(chunks: Iterable[StoredChunk], rng: random.Random, per_chunk: int = 1,
                           max_groups: int | None = None, min_words: int = 8, max_words: int = 45,
                           name: str = "collection") -> Source:
    """A Source whose pool is the collection's chunks and whose positives are chunks less one sentence."""
    stored = sorted(chunks, key=lambda c: (c.chunk.doc_id, c.chunk.index))
    docs = [context_text(c.chunk.text, c.heading) for c in stored]
    position = {(c.chunk.doc_id, c.chunk.index): i for i, c in enumerate(stored)}
    picks: list[tuple[int, tuple[int, int]]] = []
    for i, c in enumerate(stored):
        text = c.chunk.text
        spans = sentence_spans(text)
        if len(spans) < 2:
            continue
        usable = [s for s in spans if min_words <= len(text[s[0]:s[1]].split()) <= max_words]
        picks += [(i, s) for s in rng.sample(usable, min(per_chunk, len(usable)))]
    if max_groups and len(picks) > max_groups:
        picks = sorted(rng.sample(picks, max_groups))
    groups = []
    for i, span in picks:
        c = stored[i]
        sentence = c.chunk.text[span[0]:span[1]]
        neighbours = {position.get((c.chunk.doc_id, c.chunk.index + d)) for d in (-1, 0, 1)} - {None}
        holders = {j for j in neighbours if sentence in docs[j]}
        docs.append(context_text(cut_span(c.chunk.text, span), c.heading))
        groups.append(Group(sentence, len(docs) - 1, frozenset(neighbours | holders | {i})))
    # A sentence repeated in other chunks (boilerplate) would make them false negatives: exclude them too.
    pool = len(stored)
    by_sentence: dict[str, set[int]] = {g.query: set() for g in groups}
    for j, c in enumerate(stored):
        for a, b in sentence_spans(c.chunk.text):
            if c.chunk.text[a:b] in by_sentence:
                by_sentence[c.chunk.text[a:b]].add(j)
    groups = [Group(g.query, g.positive, g.exclude | by_sentence[g.query]) for g in groups]
    logger.info("%s: %d chunks, %d self-supervised queries", name, pool, len(groups))
    return Source(name, docs, groups, pool=pool)
