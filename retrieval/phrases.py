"""Phrase evidence: the query's adjacent word pairs that a chunk holds adjacent too.

BM25 scores a bag of words and the embedder a gist. Neither sees that "Payroll and incentive compensation" is a
row label that one report has word for word and another only as scattered words; on questions that name no
document (UDA: "What is the value of finished goods in 2019?") that is what tells the reports apart. The score is
the share of the query's pairs of consecutive terms (stemmed, stop words left out, as BM25 sees them) that follow
each other in the chunk as well: the ordered-bigram feature of Metzler and Croft's sequential dependence model.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Mapping

from retrieval.tokenize import STOPWORDS, _stemmer

_WORD = re.compile(r"[^\W_]+")


def phrase_terms(text: str) -> list[str]:
    """Stemmed words without stop words, in order: BM25's words, without its handling of codes (this runs on every
    candidate of every query; the thousands separator and "SK-220" are split into their parts alike)."""
    return _stemmer().stemWords([w for w in _WORD.findall(text.casefold()) if w not in STOPWORDS])


def term_pairs(text: str) -> frozenset[tuple[str, str]]:
    terms = phrase_terms(text)
    return frozenset(zip(terms, terms[1:]))


class PhraseScorer:
    """Phrase scores of chunks for a query; each chunk's pairs are kept (by chunk id, which names its content) for
    the next queries, since the same chunks come back for related questions. Safe to share between the server's
    request threads."""

    def __init__(self, cache_size: int = 20_000):
        self.cache_size = cache_size
        self._pairs: OrderedDict[str, frozenset[tuple[str, str]]] = OrderedDict()
        self._lock = threading.Lock()

    def _pairs_of(self, chunk_id: str, text: str) -> frozenset[tuple[str, str]]:
        with self._lock:
            pairs = self._pairs.get(chunk_id)
            if pairs is not None:
                self._pairs.move_to_end(chunk_id)
                return pairs
        pairs = term_pairs(text)  # outside the lock: tokenising is the slow part
        with self._lock:
            self._pairs[chunk_id] = pairs
            if len(self._pairs) > self.cache_size:
                self._pairs.popitem(last=False)
        return pairs

    def scores(self, query: str, texts: Mapping[str, str]) -> dict[str, float]:
        """{chunk id: share of the query's term pairs found in its text}; all 0 for a query of fewer than two terms."""
        terms = phrase_terms(query)
        wanted = list(dict.fromkeys(zip(terms, terms[1:])))
        if not wanted:
            return {cid: 0.0 for cid in texts}
        shares = {}
        for cid, text in texts.items():
            pairs = self._pairs_of(cid, text)
            shares[cid] = sum(p in pairs for p in wanted) / len(wanted)
        return shares
