#!/bin/bash
# local CPU evaluation chain (nice, 1 thread)
cd /work/main/.gpu
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
PY="nice -n 19 /work/main/.venv/bin/python"
M=/work/main/models/reranker; O=onnx_out/model_qint8.onnx
$PY eval_scifact.py --split test --k 50 --model $M --onnx $O --out evals/test_k50_onnxq8_L256.json
$PY eval_scifact.py --split train --k 20 --model $M --onnx $O --out evals/train_k20_onnxq8_L256.json
$PY eval_scifact.py --split test --k 20 --model $M --limit 60 --out evals/test60_k20_torch_L256.json
$PY eval_scifact.py --split test --k 20 --model $M --onnx $O --max-len 192 --out evals/test_k20_onnxq8_L192.json
echo CHAIN DONE
