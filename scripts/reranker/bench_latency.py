"""CPU latency of reranking 20 real SciFact candidates (tokenisation included), p50/p90 over N queries.

usage: python bench_latency.py [--threads 2] [--n 10] [--model ../models/reranker] [--onnx PATH]
Variants: CrossEncoder fp32 (torch), CrossEncoder + torch dynamic int8 (nn.Linear), ONNX Runtime int8; max_length 256/192.
"""
import argparse, json, os, sys, time
HERE = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=2); ap.add_argument("--n", type=int, default=10)
ap.add_argument("--model", default=os.path.join(HERE, "..", "models", "reranker"))
ap.add_argument("--onnx", default=os.path.join(HERE, "onnx_out", "model_qint8.onnx"))
a = ap.parse_args()
os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(a.threads)
import numpy as np, torch
torch.set_num_threads(a.threads)
sys.path.insert(0, HERE)
from eval_scifact import load, OnnxCE
import bm25s

corpus, queries, qrels = load("test")
ids = list(corpus)
r = bm25s.BM25(); r.index(bm25s.tokenize([corpus[i] for i in ids], show_progress=False), show_progress=False)
qids = list(qrels)[:a.n]
res, _ = r.retrieve(bm25s.tokenize([queries[q] for q in qids], show_progress=False), k=20, show_progress=False)
jobs = [[(queries[q], corpus[ids[j]]) for j in row] for q, row in zip(qids, res.tolist())]


def timeit(fn):
    fn(jobs[0])  # warm-up
    ts = []
    for p in jobs:
        t = time.perf_counter(); fn(p); ts.append((time.perf_counter() - t) * 1000)
    return {"p50_ms": round(float(np.median(ts)), 1), "p90_ms": round(float(np.percentile(ts, 90)), 1)}


from sentence_transformers import CrossEncoder
out = {"threads": a.threads, "candidates": 20, "queries": len(jobs), "cpu": os.cpu_count()}
for L in (256, 192):
    ce = CrossEncoder(a.model, max_length=L, device="cpu")
    out[f"torch_fp32_L{L}"] = timeit(lambda p: ce.predict(p, batch_size=20, show_progress_bar=False))
    ceq = CrossEncoder(a.model, max_length=L, device="cpu")
    torch.ao.quantization.quantize_dynamic(ceq.model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)
    out[f"torch_dyn_int8_L{L}"] = timeit(lambda p: ceq.predict(p, batch_size=20, show_progress_bar=False))
    if os.path.exists(a.onnx):
        oc = OnnxCE(a.model, a.onnx, a.threads, L)
        out[f"onnx_int8_L{L}"] = timeit(lambda p: oc.predict(p, batch_size=20))
    print(json.dumps(out), flush=True)
print(json.dumps(out, indent=1))
