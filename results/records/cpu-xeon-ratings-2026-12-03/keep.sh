#!/bin/bash
# Copy the small files of the ratings sweep's runs of seeds $@ from the workdir /tmp/pw here (as a workdir: the sweep
# tool re-tabulates them with --no-run), each log without its progress bars' intermediate states, and the driver's times.
set -euo pipefail
W=/tmp/pw; HERE=$(cd "$(dirname "$0")" && pwd)
for S in "$@"; do
  R=ratings-rated-s$S
  mkdir -p "$HERE/results/$R" "$HERE/models/$R/distilled_sentiment"
  cp $W/results/$R/{run,metrics,train_history,train_history_stated_ratings}.json "$HERE/results/$R/"
  cp $W/models/$R/distilled_sentiment/{training,config}.json "$HERE/models/$R/distilled_sentiment/"
  tr '\r' '\n' < $W/ratings_s$S.log | grep -v '^\s*$' | awk '/%\|/ && !/100%\|/ {next} {print}' \
    | awk '!seen[$0]++' > "$HERE/log_s$S.txt"
done
mkdir -p "$HERE/results/ratings" && cp $W/results/ratings/sweep.{json,md,csv} "$HERE/results/ratings/"
cp $W/ratings_driver.txt "$HERE/driver.txt"
