#!/bin/bash
# Issue 32: helpers/lab/self_training_prototype.py --arm <arm> (270 steps: the ~2,170 rows of stated ratings) on the
# trained checkpoints of the selfcal records' network runs (/tmp/pw, commit 5400351), from a clone (/work/price) at the
# commit given: drive2.sh <commit> <arm> <seed>... It reads the start scores drive.sh left in /tmp/stp2/s<seed> (the
# prototype checks they were made from the same checkpoint and data). Times go to /tmp/stp2/driver.txt.
set -e
C=$1; ARM=$2; shift 2
mkdir -p /tmp/stp2
cd /work/price && git fetch -q /work/main main && git checkout -q "$C"
for S in "$@"; do
  mkdir -p /tmp/stp2/s$S
  CHECKPOINT=$(ls -d /tmp/pw/models/selfcal-network-s$S/checkpoints/checkpoint-* | sort -V | tail -1)
  echo "== seed $S arm $ARM start $(date -u +%H:%M:%S) commit $C" | tee -a /tmp/stp2/driver.txt
  PYTHONPATH=/work/price /work/main/.venv/bin/python -m helpers.lab.self_training_prototype \
    "$CHECKPOINT" /tmp/pw/data/selfcal-network-s$S $S /tmp/stp2/s$S --arm $ARM --steps 270 > /tmp/stp2/s${S}_$ARM.log 2>&1
  echo "== seed $S arm $ARM end $(date -u +%H:%M:%S)" | tee -a /tmp/stp2/driver.txt
done
