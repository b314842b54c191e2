#!/bin/bash
# Copy the budget sweep's records (small files only) into the repository's records, and re-tabulate there.
set -e
# /tmp/bw/data/cache was filled before drive.sh by: mkdir -p /tmp/bw/data && cp -r /work/fresh/data/cache /tmp/bw/data/
R=/work/main/results/records/cpu-epyc-budget-2026-12-02
cd /tmp/bw
for run in $(ls results | grep '^budget-'); do
  [ -f results/$run/metrics.json ] || continue
  mkdir -p $R/results/$run $R/models/$run/distilled_sentiment $R/data/$run
  cp results/$run/metrics.json results/$run/run.json $R/results/$run/
  cp results/$run/train_history*.json $R/results/$run/ 2>/dev/null || true
  cp models/$run/distilled_sentiment/training.json models/$run/distilled_sentiment/config.json $R/models/$run/distilled_sentiment/
  cp data/$run/teacher.json data/$run/samples.json $R/data/$run/
done
for log in log.txt log3.txt; do tr '\r' '\n' < $log | grep -v '^\s*$' > $R/$log; done  # progress bars kept: their rates are the timings
cd /work/main
.venv/bin/python -m helpers.lab.sweep --profile offline --variants params/budget.yaml --name budget --seeds 42 43 --set data_dir=/work/shared/data/imdb --set workdir=$R --no-run
