"""Build reranker training groups (query, positive, BM25 hard negatives) and the SciFact eval payload.

Runs on CPU with one thread.  Output (compact gz JSON) goes to --out (default .gpu/payload):
  train.json.xz   {"docs": [text], "doc_src": [src], "queries": [{"q","pos","neg","ex","src"}]}
  scifact.json.gz {"corpus": {id: text}, "test"/"train": {"queries": {qid: text}, "qrels": {qid: {did: 1}},
                   "bm25": {qid: [did...top100]}}}

Sources (all licence-clean, never SciFact/FinanceBench/UDA for training):
  debian  : one-line package summary -> long description (Translation-en, deduplicated, twins grouped)
  pubmedqa: PubMedQA-L question -> abstract; plus inverse-cloze (sentence -> rest of abstract)
  covidqa : COVID-QA question -> ~180-word chunk holding the answer; title -> first chunk; inverse-cloze
  tatqa   : TAT-QA question -> its paragraphs + table text
"""
import argparse, gzip, json, os, random, re, sys, time
os.environ.setdefault("OMP_NUM_THREADS", "1"); os.environ.setdefault("MKL_NUM_THREADS", "1")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "pylib"))  # PyStemmer
import numpy as np
import bm25s, Stemmer

SHARED = "/work/shared"
STEM = Stemmer.Stemmer("english")
SENT_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\[])")
WORD_RE = re.compile(r"\w+")


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


def toks(s):
    return set(w.lower() for w in WORD_RE.findall(s))


def jacc(a, b):
    return len(a & b) / max(1, len(a | b))


# ---------------------------------------------------------------- Debian
def debian(path, rng, max_pairs):
    ents, cur = [], None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("Package:"):
                cur = {"pkg": line.split(":", 1)[1].strip(), "sum": "", "lines": []}
                ents.append(cur)
            elif line.startswith("Description-en:"):
                cur["sum"] = line.split(":", 1)[1].strip()
            elif line.startswith(" ") and cur is not None:
                cur["lines"].append(line[1:].rstrip())
    out = []
    for e in ents:
        paras, p = [], []
        for l in e["lines"]:
            if l.strip() == ".":
                if p: paras.append(" ".join(p)); p = []
            else:
                p.append(l.strip())
        if p: paras.append(" ".join(p))
        long = "\n".join(paras)
        if len(long.split()) < 15 or len(e["sum"].split()) < 2:
            continue
        out.append({"pkg": e["pkg"], "sum": e["sum"], "long": long, "p0": paras[0] if paras else ""})
    log("debian entries", len(ents), "usable", len(out))
    # union-find twins: same long text, same first paragraph, same summary stem, same package base
    par = list(range(len(out)))
    def find(i):
        while par[i] != i:
            par[i] = par[par[i]]; i = par[i]
        return i
    def pkgbase(n):
        n = re.sub(r"^(lib|python3?-|golang-|r-cran-|r-bioc-|ruby-|node-|libjs-|php-|perl-|haskell-|ocaml-|elpa-|fonts-|gir1\.2-)", "", n)
        n = re.sub(r"(-dev|-doc|-dbg|-data|-common|-utils|-bin|-tools|-examples|-perl|-java|-plugins?|-tests?)+$", "", n)
        return re.sub(r"[\d.\-+]+$", "", n) or n
    def sumstem(s):
        return re.sub(r"\s*[\(\[].*?[\)\]]\s*", " ", s.lower()).strip(" .-")
    for keyf in (lambda e: e["long"], lambda e: e["p0"] if len(e["p0"].split()) >= 10 else None,
                 lambda e: sumstem(e["sum"]), lambda e: pkgbase(e["pkg"])):
        seen = {}
        for i, e in enumerate(out):
            k = keyf(e)
            if not k: continue
            if k in seen:
                a, b = find(i), find(seen[k])
                if a != b: par[a] = b
            else:
                seen[k] = i
    groups = {}
    for i in range(len(out)):
        groups.setdefault(find(i), []).append(i)
    reps = [out[rng.choice(sorted(g))] for g in groups.values()]
    reps.sort(key=lambda e: e["pkg"])
    rng.shuffle(reps)
    reps = reps[:max_pairs]
    log("debian twin groups", len(groups), "pairs kept", len(reps))
    docs = [e["long"] for e in reps]
    qs = [{"q": e["sum"], "pos": i, "ex": []} for i, e in enumerate(reps)]
    return docs, qs


# ---------------------------------------------------------------- PubMedQA
def sentences(text):
    return [s.strip() for s in SENT_RE.split(text) if s.strip()]


def ict_queries(doc_sents, rng, per_doc, keep_prob=0.1):
    """inverse cloze: pick sentences as pseudo-queries, positive = the passage without them (usually)."""
    res = []
    cand = [i for i, s in enumerate(doc_sents) if 8 <= len(s.split()) <= 45]
    for i in rng.sample(cand, min(per_doc, len(cand))):
        rest = doc_sents if rng.random() < keep_prob else doc_sents[:i] + doc_sents[i + 1:]
        res.append((doc_sents[i], " ".join(rest)))
    return res


def pubmedqa(rng, ict_per_doc):
    base = f"{SHARED}/train/pubmedqa-pqal"
    corpus = {}
    for l in open(f"{base}/corpus.jsonl"):
        d = json.loads(l); corpus[d["_id"]] = (d["title"] + " " + d["text"]).strip()
    queries = {json.loads(l)["_id"]: json.loads(l)["text"] for l in open(f"{base}/queries.jsonl")}
    qrels = {}
    for l in list(open(f"{base}/qrels/test.tsv"))[1:]:
        q, d, s = l.split("\t"); qrels.setdefault(q, []).append(d)
    ids = sorted(corpus)
    idx = {d: i for i, d in enumerate(ids)}
    docs = [corpus[d] for d in ids]
    qs = [{"q": queries[q], "pos": idx[ds[0]], "ex": [idx[d] for d in ds]} for q, ds in sorted(qrels.items())]
    # ICT docs are appended as extra docs (abstract minus the sentence); the full abstract is excluded as negative
    n_ict = 0
    for d in ids:
        for s, rest in ict_queries(sentences(corpus[d]), rng, ict_per_doc):
            docs.append(rest)
            qs.append({"q": s, "pos": len(docs) - 1, "ex": [idx[d]]}); n_ict += 1
    log("pubmedqa questions", len(qrels), "ict", n_ict)
    return docs, qs, len(ids)  # only the first len(ids) docs are used as negatives


# ---------------------------------------------------------------- COVID-QA
def chunk_words(sents, size=180):
    chunks, cur, n, starts = [], [], 0, []
    for s in sents:
        cur.append(s); n += len(s[2].split())
        if n >= size:
            chunks.append(cur); cur, n = [], 0
    if cur:
        if chunks and n < size // 3: chunks[-1] += cur
        else: chunks.append(cur)
    return chunks


def covidqa(rng, ict_per_chunk):
    d = json.load(open(f"{SHARED}/train/covid-qa/covidQA.json"))
    docs, doc_paper, qs = [], [], []
    n_q = n_ict = n_t = 0
    for pi, art in enumerate(d["data"]):
        p = art["paragraphs"][0]; ctx = p["context"]
        lines = ctx.split("\n")
        title = lines[0].strip()
        # drop the header block (url, authors, date, doi, licence) before "Abstract:" if present
        k = ctx.find("Abstract:")
        body_start = k if 0 <= k < 2000 else len(lines[0])
        # sentence spans with char offsets
        spans = []
        for para_m in re.finditer(r"[^\n]+", ctx[body_start:]):
            off = body_start + para_m.start()
            para = para_m.group(0)
            pos = 0
            for s in sentences(para):
                j = para.find(s, pos); pos = j + len(s)
                spans.append((off + j, off + j + len(s), s))
        chunks = chunk_words(spans)
        first = len(docs)
        bounds = []
        for ch in chunks:
            docs.append(" ".join(s for _, _, s in ch)); doc_paper.append(pi)
            bounds.append((ch[0][0], ch[-1][1]))
        cid = list(range(first, len(docs)))
        if title and len(title.split()) >= 4:
            qs.append({"q": title, "pos": first, "ex": cid[:2]}); n_t += 1
        for qa in p["qas"]:
            a = qa["answers"][0]["answer_start"]
            hit = [c for c, (b0, b1) in zip(cid, bounds) if b0 <= a < b1]
            if not hit: continue
            c = hit[0]
            qs.append({"q": qa["question"], "pos": c, "ex": [c - 1, c, c + 1]}); n_q += 1
        for c, ch in zip(cid, chunks):
            for s, rest in ict_queries([s for _, _, s in ch], rng, ict_per_chunk):
                docs.append(rest); doc_paper.append(-1)
                qs.append({"q": s, "pos": len(docs) - 1, "ex": cid}); n_ict += 1
    n_neg_docs = sum(1 for x in doc_paper if x >= 0)
    log("covidqa chunks", n_neg_docs, "questions", n_q, "titles", n_t, "ict", n_ict)
    # chunks come first per paper but ICT docs are interleaved: reorder so negatives pool = real chunks
    order = [i for i, x in enumerate(doc_paper) if x >= 0] + [i for i, x in enumerate(doc_paper) if x < 0]
    remap = {o: n for n, o in enumerate(order)}
    docs = [docs[o] for o in order]
    for q in qs:
        q["pos"] = remap[q["pos"]]; q["ex"] = [remap[e] for e in q["ex"] if e in remap]
    return docs, qs, n_neg_docs


# ---------------------------------------------------------------- TAT-QA
def tatqa():
    t = json.load(open(f"{SHARED}/train/tat-qa/tatqa_dataset_dev.json"))
    docs, qs = [], []
    for i, x in enumerate(t):
        rows = [" | ".join(c for c in r if c.strip()) for r in x["table"]["table"]]
        paras = [p["text"] for p in sorted(x["paragraphs"], key=lambda p: p["order"])]
        docs.append("\n".join(paras + [r for r in rows if r]))
        for q in x["questions"]:
            qs.append({"q": q["question"], "pos": i, "ex": [i]})
    log("tatqa contexts", len(docs), "questions", len(qs))
    return docs, qs


# ---------------------------------------------------------------- BM25 mining
def bm25_index(texts):
    r = bm25s.BM25()
    r.index(bm25s.tokenize(texts, stopwords="en", stemmer=STEM, show_progress=False), show_progress=False)
    return r


def mine(docs, qs, n_pool, k, twin_jacc=0.6, check_jacc=False):
    """BM25 top-k negatives over docs[:n_pool], skipping positives, excluded docs and near-twins."""
    r = bm25_index(docs[:n_pool])
    kk = min(n_pool, k + 30)
    res, _ = r.retrieve(bm25s.tokenize([q["q"] for q in qs], stopwords="en", stemmer=STEM, show_progress=False),
                        k=kk, show_progress=False, n_threads=1)
    ptoks = {}
    dropped = 0
    for q, row in zip(qs, res):
        bad = set(q["ex"]) | {q["pos"]}
        neg = []
        for d in row.tolist():
            if d in bad: continue
            if check_jacc:
                if q["pos"] not in ptoks: ptoks[q["pos"]] = toks(docs[q["pos"]])
                if d not in ptoks: ptoks[d] = toks(docs[d])
                if jacc(ptoks[q["pos"]], ptoks[d]) > twin_jacc:
                    dropped += 1; continue
            neg.append(d)
            if len(neg) >= k: break
        q["neg"] = neg
    return dropped


def scifact_payload():
    base = f"{SHARED}/eval/beir/scifact"
    corpus = {}
    for l in open(f"{base}/corpus.jsonl"):
        d = json.loads(l); corpus[d["_id"]] = (d["title"] + " " + d["text"]).strip()
    queries = {json.loads(l)["_id"]: json.loads(l)["text"] for l in open(f"{base}/queries.jsonl")}
    ids = list(corpus)
    r = bm25_index([corpus[i] for i in ids])
    out = {"corpus": corpus}
    for split in ("test", "train"):
        qrels = {}
        for l in list(open(f"{base}/qrels/{split}.tsv"))[1:]:
            q, d, s = l.strip().split("\t")
            if int(s) > 0: qrels.setdefault(q, {})[d] = int(s)
        qids = sorted(qrels, key=lambda x: int(x))
        res, _ = r.retrieve(bm25s.tokenize([queries[q] for q in qids], stopwords="en", stemmer=STEM, show_progress=False),
                            k=100, show_progress=False, n_threads=1)
        out[split] = {"queries": {q: queries[q] for q in qids}, "qrels": qrels,
                      "bm25": {q: [ids[j] for j in row.tolist()] for q, row in zip(qids, res)}}
        log("scifact", split, len(qids))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "payload"))
    ap.add_argument("--debian", default=os.path.join(HERE, "raw", "Translation-en"))
    ap.add_argument("--max-debian", type=int, default=40000)
    ap.add_argument("--negs", type=int, default=30, help="BM25 negatives kept per query (sampled in training)")
    ap.add_argument("--ict-pubmed", type=int, default=6)
    ap.add_argument("--ict-covid", type=int, default=3)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--tiny", action="store_true", help="small subset for a CPU smoke test")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    os.makedirs(a.out, exist_ok=True)
    all_docs, doc_src, all_q = [], [], []

    def add(name, docs, qs, n_pool, check_jacc=False):
        if a.tiny:
            qs = qs[:200]
        t = time.time()
        dropped = mine(docs, qs, n_pool, a.negs, check_jacc=check_jacc)
        off = len(all_docs)
        all_docs.extend(docs); doc_src.extend([name] * len(docs))
        for q in qs:
            all_q.append({"q": q["q"], "pos": q["pos"] + off, "neg": [n + off for n in q["neg"]],
                          "ex": [e + off for e in q["ex"]], "src": name, "pool": [off, off + n_pool]})
        log(f"{name}: {len(qs)} queries, {len(docs)} docs, pool {n_pool}, "
            f"mean negs {np.mean([len(q['neg']) for q in qs]):.1f}, twin-dropped {dropped}, {time.time()-t:.0f}s")

    d, q = debian(a.debian, rng, 2000 if a.tiny else a.max_debian)
    add("debian", d, q, len(d), check_jacc=True)
    d, q, n = pubmedqa(rng, a.ict_pubmed)
    add("pubmedqa", d, q, n)
    d, q, n = covidqa(rng, a.ict_covid)
    add("covidqa", d, q, n)
    d, q = tatqa()
    add("tatqa", d, q, len(d))
    # --tiny: drop docs nobody references (keeps the smoke-test payload small)
    if a.tiny:
        used = sorted({i for q in all_q for i in [q["pos"], *q["neg"]]})
    else:
        used = list(range(len(all_docs)))
    remap = {o: n for n, o in enumerate(used)}
    pool_ranges = {}
    for q in all_q:
        q["pos"] = remap[q["pos"]]; q["neg"] = [remap[i] for i in q["neg"]]
        q["ex"] = [remap[i] for i in q["ex"] if i in remap]
        lo, hi = q.pop("pool")
        if q["src"] not in pool_ranges:
            inside = [remap[i] for i in used if lo <= i < hi]
            pool_ranges[q["src"]] = [min(inside), max(inside) + 1]
    docs = [all_docs[i] for i in used]
    import lzma
    with lzma.open(os.path.join(a.out, "train.json.xz"), "wt", preset=9) as f:
        json.dump({"docs": docs, "pools": pool_ranges, "queries": all_q}, f, ensure_ascii=False)
    from collections import Counter
    log("total queries", len(all_q), Counter(q["src"] for q in all_q), "docs", len(docs))
    sf = scifact_payload()
    if a.tiny:
        for s in ("test", "train"):
            keep = list(sf[s]["queries"])[:20]
            sf[s] = {k: {q: v[q] for q in keep} for k, v in sf[s].items()}
    with gzip.open(os.path.join(a.out, "scifact.json.gz"), "wt", compresslevel=9) as f:
        json.dump(sf, f, ensure_ascii=False)
    for fn in os.listdir(a.out):
        log(fn, os.path.getsize(os.path.join(a.out, fn)) // 1024, "KiB")


if __name__ == "__main__":
    main()
