"""Licence-clean training material read into `Source`s (never SciFact, FinanceBench or UDA: those are test sets).

- Debian package descriptions (`Translation-en`, plain or .lz4): one-line summary -> long description, with
  twins (lib/-dev/-doc packages, shared descriptions) collapsed to one entry so none can become a negative.
- PubMedQA-L (MIT): question -> abstract, plus inverse-cloze pairs.
- COVID-QA (Apache-2.0): question -> the ~180-word chunk holding the answer, title -> first chunk, inverse cloze.
- TAT-QA (CC BY 4.0): question -> its paragraphs and table rows.
- A team's own pairs (JSON lines of {"query": ..., "passage": ...}): e.g. FAQ entries or questions answered
  before, with the passage of their documents that answers them.
"""

from __future__ import annotations

import json
import logging
import random
import re
import shutil
import subprocess
from pathlib import Path

from retrieval.training.types import Group, Source

logger = logging.getLogger(__name__)

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\[\"'])")
_PKG_PREFIX = re.compile(r"^(lib|python3?-|golang-|r-cran-|r-bioc-|ruby-|node-|libjs-|php-|perl-|haskell-|"
                         r"ocaml-|elpa-|fonts-|gir1\.2-)")
_PKG_SUFFIX = re.compile(r"(-dev|-doc|-dbg|-data|-common|-utils|-bin|-tools|-examples|-perl|-java|-plugins?|"
                         r"-tests?)+$")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`: `text[start:end]` is the sentence, stripped."""
    spans, start = [], 0
    for cut in [m.start() for m in _SENTENCE_END.finditer(text)] + [len(text)]:
        piece = text[start:cut]
        lead = len(piece) - len(piece.lstrip())
        if piece.strip():
            spans.append((start + lead, start + len(piece.rstrip())))
        start = cut
    return spans


def cut_span(text: str, span: tuple[int, int]) -> str:
    """`text` without `text[start:end]`, the whitespace around the cut collapsed to one space."""
    start, end = span
    return (text[:start].rstrip() + " " + text[end:].lstrip()).strip()


def inverse_cloze(text: str, rng: random.Random, per_text: int, min_words: int = 8,
                  max_words: int = 45) -> list[tuple[str, str]]:
    """Up to `per_text` (sentence, `text` without that sentence) pairs; too short or too long sentences skipped."""
    spans = sentence_spans(text)
    if len(spans) < 2:
        return []
    usable = [s for s in spans if min_words <= len(text[s[0]:s[1]].split()) <= max_words]
    return [(text[s[0]:s[1]], cut_span(text, s)) for s in rng.sample(usable, min(per_text, len(usable)))]


# -- Debian -------------------------------------------------------------------------------------------------


def read_debian_descriptions(path: str | Path) -> list[dict]:
    """(package, summary, long description) entries of a Translation-en file (plain, or .lz4 via lz4cat)."""
    path = Path(path)
    if path.suffix == ".lz4":
        if shutil.which("lz4cat") is None:
            raise ImportError(f"{path} is lz4-compressed and lz4cat is not installed (apt-get install lz4)")
        text = subprocess.run(["lz4cat", str(path)], check=True, capture_output=True).stdout.decode("utf-8",
                                                                                                  "replace")
    else:
        text = path.read_text(encoding="utf-8", errors="replace")
    entries, current = [], None
    for line in text.splitlines():
        if line.startswith("Package:"):
            current = {"package": line.split(":", 1)[1].strip(), "summary": "", "lines": []}
            entries.append(current)
        elif line.startswith("Description-en:") and current is not None:
            current["summary"] = line.split(":", 1)[1].strip()
        elif line.startswith(" ") and current is not None:
            current["lines"].append(line[1:].rstrip())
    out = []
    for e in entries:
        paragraphs, words = [], []
        for line in e["lines"]:
            if line.strip() == ".":
                if words:
                    paragraphs.append(" ".join(words))
                words = []
            else:
                words.append(line.strip())
        if words:
            paragraphs.append(" ".join(words))
        long = "\n".join(paragraphs)
        if len(long.split()) >= 15 and len(e["summary"].split()) >= 2:
            out.append({"package": e["package"], "summary": e["summary"], "long": long,
                        "first": paragraphs[0] if paragraphs else ""})
    return out


def package_base(name: str) -> str:
    """libfoo2-dev, foo-doc, python3-foo -> foo: the key that makes lib/-dev/-doc packages twins."""
    name = _PKG_SUFFIX.sub("", _PKG_PREFIX.sub("", name))
    return re.sub(r"[\d.\-+]+$", "", name) or name


def twin_groups(entries: list[dict]) -> list[list[int]]:
    """Indices of twin entries (same long text, same first paragraph, same summary stem, same package base)."""
    parent = list(range(len(entries)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def summary_stem(s: str) -> str:
        return re.sub(r"\s*[(\[].*?[)\]]\s*", " ", s.lower()).strip(" .-")

    keys = (lambda e: e["long"], lambda e: e["first"] if len(e["first"].split()) >= 10 else None,
            lambda e: summary_stem(e["summary"]), lambda e: package_base(e["package"]))
    for key in keys:
        seen: dict[str, int] = {}
        for i, e in enumerate(entries):
            k = key(e)
            if not k:
                continue
            if k in seen:
                a, b = find(i), find(seen[k])
                if a != b:
                    parent[a] = b
            else:
                seen[k] = i
    groups: dict[int, list[int]] = {}
    for i in range(len(entries)):
        groups.setdefault(find(i), []).append(i)
    return sorted(groups.values())


def debian_source(paths: list[str | Path], rng: random.Random, max_groups: int | None = None) -> Source:
    """One (summary -> description) pair per twin group: a twin is never in the corpus, so never a negative."""
    entries = [e for p in paths for e in read_debian_descriptions(p)]
    groups = twin_groups(entries)
    chosen = sorted((entries[rng.choice(g)] for g in groups), key=lambda e: e["package"])
    rng.shuffle(chosen)
    queries = chosen[:max_groups] if max_groups else chosen  # every representative stays a candidate negative
    logger.info("debian: %d descriptions, %d twin groups, %d queries", len(entries), len(groups), len(queries))
    return Source("debian", [e["long"] for e in chosen], [Group(e["summary"], i) for i, e in enumerate(queries)])


# -- PubMedQA, COVID-QA, TAT-QA -----------------------------------------------------------------------------


def _jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def pubmedqa_source(folder: str | Path, rng: random.Random, cloze_per_doc: int = 2,
                    max_groups: int | None = None) -> Source:
    """BEIR-style folder (corpus.jsonl, queries.jsonl, qrels/test.tsv): question -> abstract, plus inverse cloze."""
    folder = Path(folder)
    corpus = {d["_id"]: f"{d.get('title') or ''} {d['text']}".strip() for d in _jsonl(folder / "corpus.jsonl")}
    queries = {q["_id"]: q["text"] for q in _jsonl(folder / "queries.jsonl")}
    qrels: dict[str, list[str]] = {}
    for line in (folder / "qrels" / "test.tsv").read_text().splitlines()[1:]:
        q, d, *_ = line.split("\t")
        qrels.setdefault(q, []).append(d)
    ids = sorted(corpus)
    index = {d: i for i, d in enumerate(ids)}
    docs = [corpus[d] for d in ids]
    groups = [Group(queries[q], index[ds[0]], frozenset(index[d] for d in ds)) for q, ds in sorted(qrels.items())]
    groups += _cloze_groups(docs, range(len(ids)), rng, cloze_per_doc, lambda i: frozenset({i}))
    source = Source("pubmedqa", docs, groups, pool=len(ids))
    return _limit(source, rng, max_groups)


def _cloze_groups(docs: list[str], indices, rng: random.Random, per_doc: int, exclude) -> list[Group]:
    """Append each (sentence, rest) pair's rest to `docs` (outside the pool) and return its groups."""
    groups = []
    for i in list(indices):
        for sentence, rest in inverse_cloze(docs[i], rng, per_doc):
            docs.append(rest)
            groups.append(Group(sentence, len(docs) - 1, exclude(i)))
    return groups


def _chunk_sentences(sentences: list[tuple[int, int, str]], words: int = 180) -> list[list[tuple[int, int, str]]]:
    chunks, current, n = [], [], 0
    for s in sentences:
        current.append(s)
        n += len(s[2].split())
        if n >= words:
            chunks.append(current)
            current, n = [], 0
    if current:
        if chunks and n < words // 3:
            chunks[-1] += current
        else:
            chunks.append(current)
    return chunks


def covidqa_source(path: str | Path, rng: random.Random, cloze_per_chunk: int = 1,
                   max_groups: int | None = None) -> Source:
    """COVID-QA (SQuAD format): question -> the chunk holding its answer (neighbours excluded), title -> 1st chunk."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    docs: list[str] = []
    groups: list[Group] = []
    paper_chunks: list[list[int]] = []
    for article in data["data"]:
        paragraph = article["paragraphs"][0]
        context = paragraph["context"]
        title = context.split("\n", 1)[0].strip()
        k = context.find("Abstract:")  # skip the header block (url, authors, date, doi, licence)
        body = k if 0 <= k < 2000 else len(title)
        text = context[body:].replace("\n", " ")  # same length: offsets stay those of `context`
        sentences = [(body + a, body + b, text[a:b]) for a, b in sentence_spans(text)]
        chunks = _chunk_sentences(sentences)
        first = len(docs)
        for chunk in chunks:
            docs.append(" ".join(s for _, _, s in chunk))
        ids = list(range(first, len(docs)))
        paper_chunks.append(ids)
        if ids and len(title.split()) >= 4:
            groups.append(Group(title, first, frozenset(ids[:2])))
        for qa in paragraph["qas"]:
            at = qa["answers"][0]["answer_start"]
            hit = [c for c, chunk in zip(ids, chunks) if chunk[0][0] <= at < chunk[-1][1]]
            if hit:
                groups.append(Group(qa["question"], hit[0], frozenset({hit[0] - 1, hit[0], hit[0] + 1}) & set(ids)))
    pool = len(docs)
    for ids in paper_chunks:
        groups += _cloze_groups(docs, ids, rng, cloze_per_chunk, lambda i, ids=ids: frozenset(ids))
    return _limit(Source("covidqa", docs, groups, pool=pool), rng, max_groups)


def tatqa_source(path: str | Path, rng: random.Random, max_groups: int | None = None) -> Source:
    """TAT-QA: question -> its context (paragraphs, then table rows joined with |)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    docs, groups = [], []
    for i, item in enumerate(data):
        rows = [" | ".join(c for c in row if c.strip()) for row in item["table"]["table"]]
        paragraphs = [p["text"] for p in sorted(item["paragraphs"], key=lambda p: p["order"])]
        docs.append("\n".join(paragraphs + [r for r in rows if r]))
        groups += [Group(q["question"], i) for q in item["questions"]]
    return _limit(Source("tatqa", docs, groups), rng, max_groups)


def pairs_source(path: str | Path, rng: random.Random, max_groups: int | None = None) -> Source:
    """JSON lines of {"query": ..., "passage": ...}; identical passages are one passage, so a query whose
    answer appears twice never meets its own answer as a negative."""
    path = Path(path)
    docs: list[str] = []
    index: dict[str, int] = {}
    groups = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                query, passage = str(row["query"]).strip(), str(row["passage"]).strip()
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}, line {number}: expected a JSON object with \"query\" and \"passage\" "
                                 f"({type(exc).__name__}: {exc})") from None
            if not query or not passage:
                raise ValueError(f"{path}, line {number}: empty query or passage")
            key = " ".join(passage.split()).casefold()
            if key not in index:
                index[key] = len(docs)
                docs.append(passage)
            groups.append(Group(query, index[key]))
    if not groups:
        raise ValueError(f"{path}: no pairs")
    return _limit(Source("pairs", docs, groups), rng, max_groups)


def _limit(source: Source, rng: random.Random, max_groups: int | None) -> Source:
    if max_groups and len(source.groups) > max_groups:
        source.groups = rng.sample(source.groups, max_groups)
    logger.info("%s: %d passages (%d candidate negatives), %d queries", source.name, len(source.docs), source.pool,
                len(source.groups))
    return source
