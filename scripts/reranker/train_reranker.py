"""Train askdocs' cross-encoder reranker (one relevance logit) and evaluate it on SciFact.

Input : --payload (train.json.gz, scifact.json.gz from prep_data.py), --base (all-MiniLM-L6-v2 folder, fp16 ok)
Output: --out: model/ (fp16 BertForSequenceClassification state, best checkpoint by SciFact *train* nDCG@10),
        metrics.json, scores.npz (CE scores of the hybrid top-50 for SciFact test+train, per checkpoint).

Loss: listwise softmax cross-entropy over (1 positive + N hard negatives) per query; negatives are BM25-mined
(prep_data.py) plus, optionally, bi-encoder-mined (--dense-mine) = hybrid mining; twins/positives never used.
Seeded; bounded by --time-budget (steps fixed after a short speed probe, printed so a rerun can pin --max-steps).
"""
import argparse, gzip, json, math, os, random, sys, time
import numpy as np
import torch
import torch.nn.functional as F

T0 = time.time()


def log(*a):
    print(f"[{time.time()-T0:6.1f}s]", *a, flush=True)


# ---------------------------------------------------------------- metrics / fusion
def ndcg10(ranked, qrels):
    vals = []
    for q, rel in qrels.items():
        r = ranked.get(q, [])[:10]
        dcg = sum(1.0 / math.log2(i + 2) for i, d in enumerate(r) if rel.get(d, 0) > 0)
        idcg = sum(1.0 / math.log2(i + 2) for i in range(min(10, sum(1 for v in rel.values() if v > 0))))
        vals.append(dcg / idcg if idcg else 0.0)
    return float(np.mean(vals))


def rrf(lists, k=60, weights=None):
    s = {}
    for li, lst in enumerate(lists):
        w = 1.0 if weights is None else weights[li]
        for r, d in enumerate(lst):
            s[d] = s.get(d, 0.0) + w / (k + r + 1)
    return sorted(s, key=lambda d: -s[d])


def variants(hyb, cand, ce, qrels):
    """hyb: {q: hybrid ranking}; cand: {q: top-50 ids}; ce: {q: np.array scores for cand[q]}"""
    out = {"hybrid": ndcg10(hyb, qrels)}
    for K in (20, 50):
        rer, fus, fus2 = {}, {}, {}
        for q in qrels:
            top = cand[q][:K]; sc = ce[q][:K]
            order = [top[i] for i in np.argsort(-sc, kind="stable")]
            rer[q] = order + hyb[q][K:]
            fus[q] = rrf([order, top]) + hyb[q][K:]
            fus2[q] = rrf([order, top], weights=[2.0, 1.0]) + hyb[q][K:]
        out[f"rerank@{K}"] = ndcg10(rer, qrels)
        out[f"rrf(ce,hyb)@{K}"] = ndcg10(fus, qrels)
        out[f"rrf(2ce,hyb)@{K}"] = ndcg10(fus2, qrels)
    return out


# ---------------------------------------------------------------- model helpers
def load_ce(base, layers, device):
    from transformers import AutoTokenizer, AutoModelForSequenceClassification
    tok = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=1, dtype=torch.float32)
    model = model.float()
    if layers and layers < model.config.num_hidden_layers:
        keep = [round(i * (model.config.num_hidden_layers - 1) / (layers - 1)) for i in range(layers)] if layers > 1 else [0]
        model.bert.encoder.layer = torch.nn.ModuleList([model.bert.encoder.layer[i] for i in keep])
        model.config.num_hidden_layers = layers
        log("layer cut: kept layers", keep)
    return tok, model.to(device)


_ENC_CACHE = {}


@torch.no_grad()
def ce_scores(model, tok, pairs, max_len, device, bs=512, key=None):
    """score pairs; tokenised batches are cached under `key` (tokenising was the slow part of evaluation)."""
    model.eval()
    out = np.zeros(len(pairs), dtype=np.float32)
    ck = (key, max_len)
    if key is None or ck not in _ENC_CACHE:
        order = np.argsort([len(p[1]) for p in pairs])  # length-sorted for speed
        batches = []
        for i in range(0, len(pairs), bs):
            idx = order[i:i + bs]
            batches.append((idx, tok([pairs[j][0] for j in idx], [pairs[j][1] for j in idx], truncation=True,
                                     max_length=max_len, padding=True, return_tensors="pt")))
        if key is None:
            enc_batches = batches
        else:
            _ENC_CACHE[ck] = enc_batches = batches
    else:
        enc_batches = _ENC_CACHE[ck]
    for idx, enc in enc_batches:
        enc = enc.to(device)
        with torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16, enabled=device.startswith("cuda")):
            out[idx] = model(**enc).logits.float().view(-1).cpu().numpy()
    model.train()
    return out


def bi_encode(bi, texts, device, bs=256):
    return bi.encode(texts, batch_size=bs, convert_to_tensor=True, normalize_embeddings=True,
                     show_progress_bar=False, device=device).float()


# ---------------------------------------------------------------- SciFact
class SciFact:
    def __init__(self, path, bi, device, n_cand=50):
        sf = json.load(gzip.open(path, "rt"))
        self.corpus = sf["corpus"]; ids = list(self.corpus)
        t = time.time()
        demb = bi_encode(bi, [self.corpus[i] for i in ids], device)
        self.splits, self.emb = {}, {"corpus": demb.half().cpu().numpy()}
        for split in ("test", "train"):
            s = sf[split]; qids = list(s["queries"])
            qemb = bi_encode(bi, [s["queries"][q] for q in qids], device)
            self.emb[split] = qemb.half().cpu().numpy()
            top = (qemb @ demb.T).topk(min(100, len(ids)), dim=1).indices.cpu().numpy()
            dense = {q: [ids[j] for j in row] for q, row in zip(qids, top)}
            hyb = {q: rrf([s["bm25"][q], dense[q]]) for q in qids}
            cand = {q: hyb[q][:n_cand] for q in qids}
            self.splits[split] = dict(queries=s["queries"], qrels=s["qrels"], hyb=hyb, cand=cand,
                                      bm25=ndcg10(s["bm25"], s["qrels"]), dense=ndcg10(dense, s["qrels"]))
        log(f"scifact hybrid ready in {time.time()-t:.1f}s:",
            {k: {m: round(v[m], 4) for m in ("bm25", "dense")} | {"hybrid": round(ndcg10(v['hyb'], v['qrels']), 4)}
             for k, v in self.splits.items()})

    def evaluate(self, model, tok, max_len, device):
        res, raw = {}, {}
        for split, s in self.splits.items():
            qs = list(s["qrels"])
            pairs = [(s["queries"][q], self.corpus[d]) for q in qs for d in s["cand"][q]]
            sc = ce_scores(model, tok, pairs, max_len, device, key=split)
            ce, k = {}, 0
            for q in qs:
                n = len(s["cand"][q]); ce[q] = sc[k:k + n]; k += n
            res[split] = variants(s["hyb"], s["cand"], ce, s["qrels"])
            raw[split] = sc
        return res, raw


# ---------------------------------------------------------------- training data
def dense_mine(data, bi, device, k, margin=0.95):
    """add bi-encoder negatives (within each source's pool), skipping positives, excluded docs, near-twins."""
    docs, qs = data["docs"], data["queries"]
    t = time.time()
    demb = bi_encode(bi, docs, device)
    qemb = bi_encode(bi, [q["q"] for q in qs], device)
    added = skipped = 0
    for src, (lo, hi) in data["pools"].items():
        qi = [i for i, q in enumerate(qs) if q["src"] == src]
        for c in range(0, len(qi), 4096):
            sub = qi[c:c + 4096]
            qe = qemb[sub]
            sims = qe @ demb[lo:hi].T
            top = sims.topk(min(k + 20, hi - lo), dim=1)
            pos = torch.tensor([qs[i]["pos"] for i in sub], device=device)
            pos_sim = (qe * demb[pos]).sum(1)
            tv, ti = top.values.cpu().numpy(), (top.indices + lo).cpu().numpy()
            pos_sim = pos_sim.cpu().numpy()
            # doc-doc similarity of candidates to the positive (near-duplicate filter)
            dd = torch.einsum("bd,bkd->bk", demb[pos], demb[top.indices + lo]).cpu().numpy()
            for r, i in enumerate(sub):
                q = qs[i]; bad = set(q["ex"]) | {q["pos"]}
                have = set(q["neg"]); new = []
                for s_, d, ddv in zip(tv[r], ti[r], dd[r]):
                    d = int(d)
                    if d in bad or d in have: continue
                    if s_ > margin * pos_sim[r] or ddv > 0.97:
                        skipped += 1; continue
                    new.append(d)
                    if len(new) >= k: break
                # interleave BM25 and dense negatives so both kinds sit in the sampled pool
                bm = q["neg"]; mix = []
                for a_, b_ in zip(bm, new): mix += [a_, b_]
                mix += bm[len(new):] + new[len(bm):]
                q["neg"] = mix; added += len(new)
    log(f"dense mining: +{added} negatives, {skipped} skipped as too close, {time.time()-t:.1f}s")


class Groups(torch.utils.data.Dataset):
    def __init__(self, data, n_neg, n_pool, seed):
        self.docs, self.qs, self.n_neg, self.n_pool, self.seed = data["docs"], data["queries"], n_neg, n_pool, seed
        self.pools = data["pools"]
        self.epoch = 0

    def __len__(self):
        return len(self.qs)

    def __getitem__(self, i):
        q = self.qs[i]
        rng = random.Random(self.seed * 1_000_003 + self.epoch * 100_003 + i)
        pool = q["neg"][:self.n_pool]
        negs = rng.sample(pool, min(self.n_neg, len(pool)))
        lo, hi = self.pools[q["src"]]
        bad = set(q["ex"]) | {q["pos"]} | set(negs)
        while len(negs) < self.n_neg:  # pad with random docs of the same source
            d = rng.randrange(lo, hi)
            if d not in bad: negs.append(d); bad.add(d)
        return q["q"], [self.docs[q["pos"]]] + [self.docs[d] for d in negs]


def batches_by_source(qs, bsz, rng):
    """source-homogeneous batches (similar lengths -> less padding), shuffled."""
    by = {}
    for i, q in enumerate(qs): by.setdefault(q["src"], []).append(i)
    out = []
    for src in sorted(by):
        idx = by[src][:]; rng.shuffle(idx)
        out += [idx[j:j + bsz] for j in range(0, len(idx) - bsz + 1, bsz)]
    rng.shuffle(out)
    return out


FROZEN = set()  # state-dict keys left out of saved parts (frozen, so the base folder already has them)


def save_model(model, out, step, name="model"):
    md = os.path.join(out, name); os.makedirs(md, exist_ok=True)
    sd = {k: v.detach().half().cpu() for k, v in model.state_dict().items() if k not in FROZEN}
    model.config.save_pretrained(out if FROZEN else md)
    for f in os.listdir(md):
        if f.startswith("part_"): os.remove(os.path.join(md, f))
    raw = __import__("safetensors.torch", fromlist=["save"]).save(sd, metadata={"format": "pt", "step": str(step)})
    for i in range(0, len(raw), 15 * 2**20):
        open(os.path.join(md, f"part_{i // (15 * 2**20):02d}"), "wb").write(raw[i:i + 15 * 2**20])
    log(f"saved fp16 model at step {step} in {name} ({len(raw)} bytes, {len(sd)} tensors)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--payload", required=True); ap.add_argument("--base", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--max-len", type=int, default=256)
    ap.add_argument("--eval-max-lens", default="256,192,160", help="extra max lengths scored for the best model")
    ap.add_argument("--negs", type=int, default=15, help="negatives per query per step")
    ap.add_argument("--neg-pool", type=int, default=30, help="sample the negatives from the first N mined")
    ap.add_argument("--dense-mine", type=int, default=15, help="bi-encoder negatives to add per query (0=off)")
    ap.add_argument("--bsz", type=int, default=32, help="queries per step (x (1+negs) pairs)")
    ap.add_argument("--lr", type=float, default=7e-5)
    ap.add_argument("--warmup", type=float, default=0.05)
    ap.add_argument("--wd", type=float, default=0.01)
    ap.add_argument("--epochs", type=float, default=3.0)
    ap.add_argument("--max-steps", type=int, default=0, help="pin the number of steps (else from the speed probe)")
    ap.add_argument("--replay-probe", action="store_true",
                    help="with --max-steps: reproduce the LR schedule of a probed run (its total is fixed at step 60)")
    ap.add_argument("--train-end", type=float, default=400.0,
                    help="seconds after start by which training should end (a speed probe sets the step count)")
    ap.add_argument("--evals", type=int, default=4, help="evaluations spread over training")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--no-eval", action="store_true", help="skip SciFact in-run evaluation (evaluate later on CPU)")
    ap.add_argument("--workers", type=int, default=6 if torch.cuda.is_available() else 0, help="tokenising DataLoader workers")
    ap.add_argument("--limit", type=int, default=0, help="use only N training queries (smoke test)")
    ap.add_argument("--bi-max-len", type=int, default=0, help="bi-encoder max length override (smoke test)")
    ap.add_argument("--save-name", default="", help="save every checkpoint under this one name (fewer files)")
    ap.add_argument("--freeze-word-emb", action="store_true",
                    help="keep the base's word embeddings (half the weights): tokens rare in training keep the "
                         "bi-encoder's geometry, and saved parts leave them out")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    random.seed(a.seed); np.random.seed(a.seed); torch.manual_seed(a.seed)
    dev = a.device
    if dev.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = True
        log("device", torch.cuda.get_device_name(0), "torch", torch.__version__)
    from sentence_transformers import SentenceTransformer
    import transformers, sentence_transformers
    log("transformers", transformers.__version__, "sentence-transformers", sentence_transformers.__version__)
    args_d = vars(a)
    log("args", json.dumps(args_d))

    tp = os.path.join(a.payload, "train.json.xz")
    if os.path.exists(tp):
        import lzma; data = json.load(lzma.open(tp, "rt"))
    else:
        data = json.load(gzip.open(os.path.join(a.payload, "train.json.gz"), "rt"))
    if a.limit:
        rng = random.Random(a.seed); rng.shuffle(data["queries"]); data["queries"] = data["queries"][:a.limit]
    from collections import Counter
    log("training queries", len(data["queries"]), dict(Counter(q["src"] for q in data["queries"])), "docs", len(data["docs"]))

    bi = SentenceTransformer(a.base, device=dev)
    bi = bi.half() if dev.startswith("cuda") else bi.float()
    if a.bi_max_len: bi.max_seq_length = a.bi_max_len
    sf = None if a.no_eval else SciFact(os.path.join(a.payload, "scifact.json.gz"), bi, dev)
    if a.dense_mine:
        dense_mine(data, bi, dev, a.dense_mine)
    del bi
    if dev.startswith("cuda"): torch.cuda.empty_cache()

    tok, model = load_ce(a.base, a.layers, dev)
    if a.freeze_word_emb:
        model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
        FROZEN.add("bert.embeddings.word_embeddings.weight")
        log("word embeddings frozen; trainable params", sum(p.numel() for p in model.parameters() if p.requires_grad))
    ds = Groups(data, a.negs, a.neg_pool, a.seed)

    def collate(b):
        qs = [q for q, ds_ in b for _ in ds_]; ds_ = [d for _, dd in b for d in dd]
        return tok(qs, ds_, truncation=True, max_length=a.max_len, padding=True, return_tensors="pt")

    brng = random.Random(a.seed)
    steps_per_epoch = len(batches_by_source(data["queries"], a.bsz, random.Random(0)))
    total = a.max_steps or int(a.epochs * steps_per_epoch)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=a.lr, weight_decay=a.wd)
    sched_total = [int(a.epochs * steps_per_epoch) if a.replay_probe else total]

    def lr_at(step):
        w = max(1, int(a.warmup * sched_total[0]))
        return a.lr * (step + 1) / w if step < w else a.lr * max(0.0, (sched_total[0] - step) / max(1, sched_total[0] - w))

    metrics = {"args": args_d, "evals": [], "data": dict(Counter(q["src"] for q in data["queries"]))}
    raw_scores = {}
    best = (-1.0, None, None)
    step, ep, t_train, probe_done = 0, 0, time.time(), bool(a.max_steps)
    eval_at = set()
    losses = []
    model.train()
    done = False
    while not done:
        ds.epoch = ep
        bl = batches_by_source(data["queries"], a.bsz, brng)
        dl = torch.utils.data.DataLoader(ds, batch_sampler=bl, collate_fn=collate,
                                         num_workers=a.workers, persistent_workers=False,
                                         prefetch_factor=4 if a.workers else None)
        for enc in dl:
            enc = enc.to(dev, non_blocking=True)
            for g in opt.param_groups: g["lr"] = lr_at(step)
            with torch.autocast(device_type=dev.split(":")[0], dtype=torch.bfloat16, enabled=dev.startswith("cuda")):
                logits = model(**enc).logits.float().view(-1, 1 + a.negs)
            loss = F.cross_entropy(logits, torch.zeros(logits.size(0), dtype=torch.long, device=dev))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            losses.append(loss.item())
            step += 1
            if a.replay_probe and step == 60:
                sched_total[0] = total
            if not probe_done and step == 60:
                el = time.time() - t_train
                per = (el - probe0) / 40
                total = min(int(a.epochs * steps_per_epoch), int((a.train_end - (time.time() - T0)) / per) + step)
                sched_total[0] = total; probe_done = True
                log(f"speed probe: {per*1000:.0f} ms/step, {a.bsz*(1+a.negs)/per:.0f} pairs/s -> total steps {total} "
                    f"({total/steps_per_epoch:.2f} epochs of {steps_per_epoch} steps)")
            if not probe_done and step == 20:
                probe0 = time.time() - t_train
            if probe_done and not eval_at:
                eval_at = {int(total * (i + 1) / a.evals) for i in range(a.evals)}
            if step % 50 == 0 or step == 1:
                log(f"ep {ep} step {step}/{total} loss {np.mean(losses[-50:]):.4f} lr {lr_at(step):.2e}")
            if a.no_eval and (step in eval_at or step >= total):
                save_model(model, a.out, step, name=a.save_name or f"step{step}"); best = (0.0, step, None)
            elif step in eval_at or step >= total:
                res, raw = sf.evaluate(model, tok, a.max_len, dev)
                metrics["evals"].append({"step": step, "epoch": step / steps_per_epoch, "loss50": float(np.mean(losses[-50:])), **res})
                raw_scores[f"test_step{step}"] = raw["test"]; raw_scores[f"train_step{step}"] = raw["train"]
                log(f"EVAL step {step}: test " + json.dumps({k: round(v, 4) for k, v in res['test'].items()}))
                log(f"EVAL step {step}: train " + json.dumps({k: round(v, 4) for k, v in res['train'].items()}))
                sel = max(v for k, v in res["train"].items() if k != "hybrid")  # select on SciFact *train*
                if sel > best[0]:
                    best = (sel, step, {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()})
                json.dump(metrics, open(os.path.join(a.out, "metrics.json"), "w"), indent=1)
            if step >= total:
                done = True; break
            if not a.no_eval and time.time() - T0 > a.train_end + 45:  # hard stop (slow evals / slower steps than probed)
                log("hard stop at step", step)
                if best[2] is None or step not in eval_at:
                    res, raw = sf.evaluate(model, tok, a.max_len, dev)
                    metrics["evals"].append({"step": step, "epoch": step / steps_per_epoch, **res})
                    raw_scores[f"test_step{step}"] = raw["test"]; raw_scores[f"train_step{step}"] = raw["train"]
                    sel = max(v for k, v in res["train"].items() if k != "hybrid")
                    if sel > best[0]:
                        best = (sel, step, {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()})
                done = True; break
        ep += 1
    log(f"training done: {step} steps in {time.time()-t_train:.0f}s; best step {best[1]} (train sel {best[0]:.4f})")
    if a.no_eval:
        json.dump(metrics | {"steps": step, "loss": losses}, open(os.path.join(a.out, "metrics.json"), "w"))
        log("saved; total wall", f"{time.time()-T0:.0f}s"); return
    model.load_state_dict(best[2])
    extra = {}
    for L in [int(x) for x in a.eval_max_lens.split(",") if x]:
        res, raw = sf.evaluate(model, tok, L, dev)
        extra[str(L)] = res; raw_scores[f"test_best_len{L}"] = raw["test"]; raw_scores[f"train_best_len{L}"] = raw["train"]
        log(f"BEST@len{L}: test " + json.dumps({k: round(v, 4) for k, v in res['test'].items()}))
    metrics["best_step"] = best[1]; metrics["best_by_len"] = extra
    metrics["hybrid_parts"] = {s: {"bm25": v["bm25"], "dense": v["dense"]} for s, v in sf.splits.items()}
    json.dump(metrics, open(os.path.join(a.out, "metrics.json"), "w"), indent=1)
    # model: fp16 weights + config (tokenizer comes from the base folder when assembling)
    md = os.path.join(a.out, "model"); os.makedirs(md, exist_ok=True)
    model.half().save_pretrained(md, safe_serialization=True)
    np.savez_compressed(os.path.join(a.out, "scores.npz"), **raw_scores,
                        test_qids=np.array(list(sf.splits["test"]["qrels"])), train_qids=np.array(list(sf.splits["train"]["qrels"])),
                        test_cand=np.array([sf.splits["test"]["cand"][q] for q in sf.splits["test"]["qrels"]]),
                        train_cand=np.array([sf.splits["train"]["cand"][q] for q in sf.splits["train"]["qrels"]]),
                        emb_corpus=sf.emb["corpus"], emb_test=sf.emb["test"], emb_train=sf.emb["train"],
                        corpus_ids=np.array(list(sf.corpus)))
    log("saved; total wall", f"{time.time()-T0:.0f}s")


if __name__ == "__main__":
    main()
