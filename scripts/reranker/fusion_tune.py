"""Tune how to combine the reranker with the hybrid on SciFact *train*, report the chosen settings on *test*.

Uses cached CE scores from eval_scifact.py (train k=20, test k=50).  CPU-light.
Variants (K = candidates reranked):
  rrf2  : w/(60+r_ce) + 1/(60+r_hyb)
  rrf3  : w/(60+r_ce) + 1/(60+r_bm25) + 1/(60+r_dense)
  interp: a * z(ce) + (1-a) * z(hybrid rrf score), z = per-query standardisation over the K candidates
"""
import json, os, sys
import numpy as np
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from eval_scifact import load, hybrid, ndcg10, rrf

CACHE = os.path.join(HERE, "cache")


def prepare(split, scores_file, k):
    corpus, queries, qrels = load(split)
    bm, de, hy = hybrid(corpus, queries, qrels, CACHE)
    sc = np.load(scores_file)
    qids = list(qrels)
    ce = {q: sc[i * k:(i + 1) * k] for i, q in enumerate(qids)}
    return qrels, bm, de, hy, ce


def run(v, p, K, qrels, bm, de, hy, ce):
    out = {}
    for q in qrels:
        top = hy[q][:K]; s = ce[q][:K]
        order = [top[i] for i in np.argsort(-s, kind="stable")]
        if v == "rrf2":
            r = rrf([order, top], w=[p, 1.0])
        elif v == "rrf3":
            rb = {d: i for i, d in enumerate(bm[q])}; rd = {d: i for i, d in enumerate(de[q])}
            rc = {d: i for i, d in enumerate(order)}
            sc = {d: p / (61 + rc[d]) + 1 / (61 + rb.get(d, 1000)) + 1 / (61 + rd.get(d, 1000)) for d in top}
            r = sorted(top, key=lambda d: -sc[d])
        else:  # interp
            hs = np.array([1 / (61 + i) for i in range(K)])
            z = lambda x: (x - x.mean()) / (x.std() + 1e-6)
            comb = p * z(s) + (1 - p) * z(hs)
            r = [top[i] for i in np.argsort(-comb, kind="stable")]
        out[q] = r + hy[q][K:]
    return ndcg10(out, qrels)


if __name__ == "__main__":
    tr_file, te_file = sys.argv[1], sys.argv[2]
    tr = prepare("train", tr_file, 20); te = prepare("test", te_file, 50)
    grid = {"rrf2": [0.25, 0.5, 0.75, 1.0, 1.5], "rrf3": [0.5, 1.0, 1.5, 2.0, 3.0],
            "interp": [0.1, 0.2, 0.3, 0.4, 0.5, 0.7]}
    rows = []
    for v, ps in grid.items():
        for p in ps:
            for K in (10, 20):
                rows.append((v, p, K, run(v, p, K, *tr), run(v, p, K, *te)))
    rows.sort(key=lambda r: -r[3])
    res = {"hybrid": {"train": ndcg10(tr[3], tr[0]), "test": ndcg10(te[3], te[0])},
           "grid (sorted by train)": [dict(variant=v, param=p, K=K, train=round(a, 4), test=round(b, 4)) for v, p, K, a, b in rows]}
    best = rows[0]
    res["chosen_on_train"] = dict(variant=best[0], param=best[1], K=best[2], train=best[3], test=best[4])
    print(json.dumps(res, indent=1))
    json.dump(res, open(os.path.join(HERE, "evals", "fusion_tune.json"), "w"), indent=1)
