#!/bin/bash
# Copies the rating arms' records of the seeds given (keep.sh 42 43) from /tmp/stp2 into this folder: each arm's
# JSON, its log without progress bars, the drivers' output, and the table (--table) over what is here.
set -e
HERE=$(cd "$(dirname "$0")" && pwd)
for S in "$@"; do
  mkdir -p "$HERE/s$S"
  cp /tmp/stp2/s$S/*.json "$HERE/s$S/"
  for LOG in /tmp/stp2/s${S}_*.log; do tr '\r' '\n' < "$LOG" | grep -v 'it/s\]\|s/it\]\|Loading weights\|^[[:space:]]*$' > "$HERE/s$S/$(basename "$LOG" | sed "s/^s${S}_/log_/")" || true; done
done
cp /tmp/stp2/driver.txt "$HERE/driver.txt"
cd /work/main && .venv/bin/python -m helpers.lab.self_training_prototype --table "$HERE" > "$HERE/table.md"
