"""Export a CrossEncoder folder to ONNX (fp32) and a dynamic int8 quantised copy, optionally time them.

usage: python export_onnx.py MODEL_DIR [--bench] [--threads 1] [--max-len 256]
writes MODEL_DIR/onnx/model.onnx and MODEL_DIR/onnx/model_qint8.onnx (only the int8 one is meant to ship).
"""
import argparse, os, sys, time
import numpy as np


def export(model_dir, out_dir, opset=17):
    import torch
    from transformers import AutoModelForSequenceClassification
    m = AutoModelForSequenceClassification.from_pretrained(model_dir, dtype=torch.float32).eval()
    os.makedirs(out_dir, exist_ok=True)
    f32 = os.path.join(out_dir, "model.onnx")
    ids = torch.ones(2, 16, dtype=torch.long)
    torch.onnx.export(m, (ids, torch.ones_like(ids), torch.zeros_like(ids)), f32,
                      input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["logits"],
                      dynamic_axes={k: {0: "batch", 1: "seq"} for k in ["input_ids", "attention_mask", "token_type_ids"]}
                      | {"logits": {0: "batch"}}, opset_version=opset, dynamo=False)
    from onnxruntime.quantization import quantize_dynamic, QuantType
    q8 = os.path.join(out_dir, "model_qint8.onnx")
    quantize_dynamic(f32, q8, weight_type=QuantType.QInt8, per_channel=True)
    return f32, q8


def session(path, threads):
    import onnxruntime as ort
    so = ort.SessionOptions(); so.intra_op_num_threads = threads; so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def bench(path, threads, max_len, n=20, reps=10):
    s = session(path, threads)
    ids = np.random.RandomState(0).randint(1000, 20000, (n, max_len)).astype(np.int64)
    feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
    s.run(None, feed)
    ts = []
    for _ in range(reps):
        t = time.perf_counter(); s.run(None, feed); ts.append(time.perf_counter() - t)
    return float(np.median(ts))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir"); ap.add_argument("--bench", action="store_true")
    ap.add_argument("--threads", type=int, default=1); ap.add_argument("--max-len", type=int, default=256)
    a = ap.parse_args()
    f32, q8 = export(a.model_dir, os.path.join(a.model_dir, "onnx"))
    if a.bench:
        for p in (f32, q8):
            print(os.path.basename(p), os.path.getsize(p) // 2**20, "MiB", f"p50 {bench(p, a.threads, a.max_len)*1000:.0f} ms",
                  f"(20 x {a.max_len} tokens, {a.threads} threads)")
