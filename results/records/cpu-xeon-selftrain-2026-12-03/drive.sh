#!/bin/bash
# Issue 32: helpers/lab/self_training_prototype.py on the trained checkpoints of the selfcal records' network runs
# (/tmp/pw, commit 5400351), run from a clone (/work/price) at the commit given: drive.sh <commit> <seed> <arm>...
# Its start and end times go to /tmp/stp/drive<seed>.txt (keep.sh copies it as driver.txt), each arm's log beside it.
set -e
C=$1; S=$2; shift 2
mkdir -p /tmp/stp
cd /work/price && git fetch -q /work/main main && git checkout -q "$C"
CHECKPOINT=$(ls -d /tmp/pw/models/selfcal-network-s$S/checkpoints/checkpoint-* | sort -V | tail -1)
for ARM in "$@"; do
  echo "== seed $S arm $ARM start $(date -u +%H:%M:%S)" | tee -a /tmp/stp/drive$S.txt
  PYTHONPATH=/work/price /work/main/.venv/bin/python -m helpers.lab.self_training_prototype \
    "$CHECKPOINT" /tmp/pw/data/selfcal-network-s$S $S /tmp/stp/s$S --arm $ARM --steps 600 > /tmp/stp/s${S}_$ARM.log 2>&1
  echo "== seed $S arm $ARM end $(date -u +%H:%M:%S)" | tee -a /tmp/stp/drive$S.txt
done
