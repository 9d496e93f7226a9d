"""Average the weights of cross-encoders fine-tuned from the same base ("model soup") into one model folder.

usage: python soup.py OUT MODEL[:WEIGHT] MODEL[:WEIGHT] ...   (weights default to equal, then normalised)
All models must have the same architecture (same tensor names and shapes); OUT gets the first model's config
and tokenizer and fp16 weights. Averaging two runs that started from all-MiniLM-L6-v2 (session 1's shipped run2
and session 4's run3) ranked better on SciFact *train* than either run alone; see models/reranker/README.md.
"""
import shutil
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file


def main(out: str, specs: list[str]) -> None:
    paths, weights = [], []
    for spec in specs:
        path, _, weight = spec.partition(":")
        paths.append(Path(path)); weights.append(float(weight) if weight else 1.0)
    total = sum(weights)
    states = [load_file(str(p / "model.safetensors")) for p in paths]
    names = set(states[0])
    for p, s in zip(paths, states):
        if set(s) != names or any(s[k].shape != states[0][k].shape for k in names):
            raise SystemExit(f"{p}: not the same architecture as {paths[0]}")
    soup = {k: sum(w / total * s[k].float() for w, s in zip(weights, states)).to(torch.float16) for k in names}
    staging = Path(out).with_name(Path(out).name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(paths[0], staging)
    save_file(soup, str(staging / "model.safetensors"), metadata={"format": "pt"})
    if Path(out).exists():
        shutil.rmtree(out)
    staging.rename(out)
    print(f"saved {out}: " + ", ".join(f"{w / total:.2f} x {p}" for p, w in zip(paths, weights)))


if __name__ == "__main__":
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2:])
