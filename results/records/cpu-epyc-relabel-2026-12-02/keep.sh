#!/bin/bash
# Copy the relabel sweep's records (small files only) into the repository's records, and re-tabulate there.
set -e
R=/work/main/results/records/cpu-epyc-relabel-2026-12-02
mkdir -p $R
cd /tmp/s3
for run in $(ls results | grep '^relabel-'); do
  mkdir -p $R/results/$run $R/models/$run/distilled_sentiment $R/data/$run
  cp results/$run/metrics.json results/$run/run.json $R/results/$run/
  cp results/$run/train_history*.json $R/results/$run/ 2>/dev/null || true
  cp models/$run/distilled_sentiment/training.json models/$run/distilled_sentiment/config.json $R/models/$run/distilled_sentiment/
  cp data/$run/teacher.json data/$run/samples.json $R/data/$run/
done
cp log.txt $R/log.txt
python3 - <<'PY'
import json
from pathlib import Path
for f in Path("/work/main/results/records/cpu-epyc-relabel-2026-12-02/results").glob("*/run.json"):
    d = json.loads(f.read_text())
    if "evals_per_epoch" not in d["parameters"]:
        d["parameters"]["evals_per_epoch"] = 1
        d.setdefault("parameters_filled", {}).setdefault("before_they_existed", {})["evals_per_epoch"] = 1
        f.write_text(json.dumps(d, indent=2) + "\n")
PY
cd /work/main
.venv/bin/python -m helpers.lab.sweep --profile offline --variants params/relabel.yaml --name relabel --seeds ${SEEDS:-42} --set data_dir=/work/shared/data/imdb --set workdir=$R --no-run
