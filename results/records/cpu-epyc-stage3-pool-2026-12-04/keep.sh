#!/bin/bash
# Copy stage 3's runs with the 22,000-review pool put back (small files only) from the fresh clone into the repository's records.
# RUNS names the runs (default: seed 42's `offline` only): RUNS="offline offline-s43" bash keep.sh
set -e
R=/work/main/results/records/cpu-epyc-stage3-pool-2026-12-04
mkdir -p $R
cd /work/stage3p
for run in ${RUNS:-offline}; do
  mkdir -p $R/results/$run $R/models/$run/distilled_sentiment $R/data/$run
  cp results/$run/metrics.json results/$run/run.json $R/results/$run/
  cp results/$run/final.json $R/results/$run/ 2>/dev/null || echo "$run: no final.json"
  cp results/$run/train_history*.json $R/results/$run/ 2>/dev/null || true
  cp models/$run/distilled_sentiment/training.json models/$run/distilled_sentiment/config.json $R/models/$run/distilled_sentiment/
  cp data/$run/teacher.json data/$run/samples.json $R/data/$run/
done
clean() {  # a log without most progress-bar updates, each bar's finished line kept (it gives the pace)
  tr '\r' '\n' < "$1" | { grep -v "^WARNING: Location\|Loading weights\|it/s\]" || true; } \
    | awk '/100%\|/ || !/review\/s\]|step\/s\]|s\/step\]/' | awk '!(/100%\|/ && $0 == prev) {print} {prev = $0}'
}
clean /tmp/stage3p/log.txt > $R/log.txt
for s in 43 44; do [ -f /tmp/stage3p/run_s$s.txt ] && clean /tmp/stage3p/run_s$s.txt > $R/log_s$s.txt; done
grep -v "^WARNING: Location" /tmp/stage3p/driver.txt > $R/driver.txt
cp /tmp/stage3p/run.sh /tmp/stage3p/keep.sh $R/
du -sh $R
