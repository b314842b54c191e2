#!/bin/bash
# Copy stage 3's runs (small files only) from the fresh clone into the repository's records.
# RUNS names the runs (default: seed 42's `offline` only): RUNS="offline offline-s43 offline-s44" bash keep.sh
set -e
R=/work/main/results/records/cpu-epyc-stage3-2026-12-02
mkdir -p $R
cd /work/fresh
for run in ${RUNS:-offline}; do
  mkdir -p $R/results/$run $R/models/$run/distilled_sentiment $R/data/$run
  cp results/$run/metrics.json results/$run/run.json $R/results/$run/
  cp results/$run/final.json $R/results/$run/ 2>/dev/null || echo "$run: no final.json"
  cp results/$run/train_history*.json $R/results/$run/ 2>/dev/null || true
  cp models/$run/distilled_sentiment/training.json models/$run/distilled_sentiment/config.json $R/models/$run/distilled_sentiment/
  cp data/$run/teacher.json data/$run/samples.json $R/data/$run/
done
tr '\r' '\n' < /tmp/stage3/log.txt | grep -v "^WARNING: Location\|review/s\]\|step/s\]\|s/step\]\|Loading weights\|it/s\]" > $R/log.txt
for s in 43 44; do  # seeds.sh's runs, one log each
  [ -f /tmp/stage3/run_s$s.txt ] && tr '\r' '\n' < /tmp/stage3/run_s$s.txt | { grep -v "^WARNING: Location\|review/s\]\|step/s\]\|s/step\]\|Loading weights\|it/s\]" || true; } > $R/log_s$s.txt
done
[ -f /tmp/stage3/driver.txt ] && cp /tmp/stage3/driver.txt $R/seeds_driver.txt
cp /tmp/stage3/run.sh $R/run.sh
du -sh $R
