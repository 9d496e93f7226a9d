#!/bin/bash
# One GPU run: train + evaluate the reranker; results under $OUT (log, r/metrics.json, r/scores.npz,
# r/model/config.json + r/model/part_0* = fp16 model.safetensors split in 15 MiB parts).
# usage (repo root, on the device): bash .gpu/run_gpu.sh [extra train_reranker.py args]
set -o pipefail
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
OUT=${OUT:-/tmp/out}; mkdir -p $OUT
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | tee $OUT/log
python3 .gpu/train_reranker.py --payload .gpu/payload --base .gpu/payload/base --out $OUT/r "$@" 2>&1 \
  | grep --line-buffered -v -e "Loading weights" -e "Writing model shards" | tee -a $OUT/log
rc=$?
if [ -f $OUT/r/model/model.safetensors ]; then
  sha256sum $OUT/r/model/model.safetensors | tee -a $OUT/log
  split -b 15M -d $OUT/r/model/model.safetensors $OUT/r/model/part_ && rm $OUT/r/model/model.safetensors
fi
ls -laR $OUT | tee -a $OUT/log
exit $rc
