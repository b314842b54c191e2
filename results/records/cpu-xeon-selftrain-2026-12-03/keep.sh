#!/bin/bash
# Copies the prototype's records of the seeds given (keep.sh 42 43) from /tmp/stp into this folder: each arm's JSON,
# its log without progress bars, the driver's output, and the table (--table) over what is here.
set -e
HERE=$(cd "$(dirname "$0")" && pwd)
for S in "$@"; do
  mkdir -p "$HERE/s$S"
  cp /tmp/stp/s$S/*.json "$HERE/s$S/"
  for LOG in /tmp/stp/s${S}_*.log; do tr '\r' '\n' < "$LOG" | grep -v 'it/s\]\|s/it\]\|Loading weights\|^[[:space:]]*$' > "$HERE/s$S/$(basename "$LOG" | sed "s/^s${S}_/log_/")" || true; done
  cp /tmp/stp/drive$S.txt "$HERE/s$S/driver.txt"
done
cd /work/main && .venv/bin/python -m helpers.lab.self_training_prototype --table "$HERE" > "$HERE/table.md"
