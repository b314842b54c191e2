#!/usr/bin/env bash
# Calibrated targets (params/targets.yaml) on the lent GPU, with the kit's cut IMDB (the same draws as the full data).
set -uo pipefail
out=${OUT:-/tmp/out}
python3 - <<'PY'
import io, lzma
import pandas as pd
frame = pd.read_json(io.BytesIO(lzma.decompress(open(".gpu/imdb_unsupervised.jsonl.xz", "rb").read())), lines=True)
frame.to_parquet("/tmp/imdb/unsupervised.parquet", index=False)
print("unsupervised", frame.shape)
PY
nvidia-smi --query-gpu=name --format=csv,noheader; grep -m1 'model name' /proc/cpuinfo; nproc
timeout ${LIMIT:-470} python3 -m helpers.sweep --profile offline --variants params/targets.yaml --name targets --seeds 42 \
  --set data_dir=/tmp/imdb
echo "sweep rc=$?"
find results models -maxdepth 3 \( -name '*.json' -o -name '*.md' -o -name '*.csv' -o -name '*.yaml' \) -not -path '*/report/*' \
  -not -path '*/checkpoint*' -not -name 'tokenizer*' -not -name 'test_predictions.csv' -print0 2>/dev/null | tar -czf "$out/stage.tgz" --null -T -
ls -la "$out"
