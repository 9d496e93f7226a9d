#!/bin/bash
# Session 4, second GPU run: 4-layer and 5-layer cuts trained side by side on the one GPU (frozen word embeddings,
# 6 tokenising workers each); each saves its latest checkpoint under $OUT/rL/model/part_*; logs $OUT/logL.
# usage (repo root, on the device): bash .gpu/run_gpu3.sh TRAIN_END
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
OUT=${OUT:-/tmp/out}; mkdir -p $OUT
for L in 4 5; do
  python3 .gpu/train_reranker.py --payload .gpu/payload --base .gpu/payload/base --out $OUT/r$L --layers $L \
    --no-eval --dense-mine 0 --workers 6 --train-end $1 --epochs 3 --evals 2 --save-name model --freeze-word-emb \
    2>&1 | grep --line-buffered -v -e "Loading weights" -e "Writing model shards" > $OUT/log$L &
done
wait
rm -f $OUT/r4/metrics.json $OUT/r5/metrics.json
tail -n 4 $OUT/log4 $OUT/log5; ls -laR $OUT
