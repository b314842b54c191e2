#!/bin/bash
# Copy the lean_top sweep's records (small files only) into the repository's records, and re-tabulate there.
set -e
R=/work/main/results/records/cpu-epyc-lean-top-2026-12-03
cd /tmp/lw
for run in $(ls results | grep '^lean_top-'); do
  [ -f results/$run/metrics.json ] || continue
  mkdir -p $R/results/$run $R/models/$run/distilled_sentiment $R/data/$run
  cp results/$run/metrics.json results/$run/run.json $R/results/$run/
  cp results/$run/train_history*.json $R/results/$run/ 2>/dev/null || true
  cp models/$run/distilled_sentiment/training.json models/$run/distilled_sentiment/config.json $R/models/$run/distilled_sentiment/
  cp data/$run/teacher.json data/$run/samples.json $R/data/$run/
done
clean() {  # a log without most progress-bar updates, each bar's finished line kept (it gives the pace)
  tr '\r' '\n' < "$1" | { grep -v "^WARNING: Location\|Loading weights\|it/s\]" || true; } \
    | awk '/100%\|/ || !/review\/s\]|step\/s\]|s\/step\]/' | awk '!(/100%\|/ && $0 == prev) {print} {prev = $0}'
}
clean /tmp/lean/log_top.txt > $R/log.txt
cp /tmp/lean/drive_top.sh /tmp/lean/keep_top.sh $R/
cd /work/main
.venv/bin/python -m helpers.lab.sweep --profile offline --variants params/lean_top.yaml --name lean_top --seeds 42 --set data_dir=/work/shared/data/imdb --set workdir=$R --no-run
