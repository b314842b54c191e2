#!/bin/bash
# Copy the small files of the selfcal runs of seeds $@ from the workdir /tmp/pw here, and each log without its
# progress bars' intermediate states (each bar's last state kept) or /usr/bin/time's lines but wall clock and memory.
set -euo pipefail
W=/tmp/pw; HERE=$(cd "$(dirname "$0")" && pwd)
for S in "$@"; do for V in network top; do
  R=selfcal-$V-s$S
  mkdir -p "$HERE/results/$R" "$HERE/models/$R/distilled_sentiment"
  cp $W/results/$R/{run,metrics,train_history}.json "$HERE/results/$R/"
  cp $W/models/$R/distilled_sentiment/{training,config}.json "$HERE/models/$R/distilled_sentiment/"
  tr '\r' '\n' < /tmp/price_${V}_s$S.log | grep -v '^\s*$' \
    | awk '/%\|/ && !/100%\|/ {next} /^\t/ && !/Elapsed|Maximum resident/ {next} {print}' \
    | awk '!seen[$0]++' > "$HERE/log_${V}_s$S.txt"
done; done
