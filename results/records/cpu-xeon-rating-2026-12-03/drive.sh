#!/bin/bash
# Issue 32: helpers/lab/self_training_prototype.py --arm rating (270 steps: the ~2,170 rows of stated ratings) on the
# trained checkpoints of the selfcal records' network runs (/tmp/pw, commit 5400351), from a clone (/work/price) at the
# commit given: drive.sh <commit> <seed>... The start scores are scored again (those in /tmp/stp predate made_from, so
# the prototype refuses them). Times go to /tmp/stp2/driver.txt.
set -e
C=$1; shift
mkdir -p /tmp/stp2
cd /work/price && git fetch -q /work/main main && git checkout -q "$C"
for S in "$@"; do
  mkdir -p /tmp/stp2/s$S
  CHECKPOINT=$(ls -d /tmp/pw/models/selfcal-network-s$S/checkpoints/checkpoint-* | sort -V | tail -1)
  echo "== seed $S arm rating start $(date -u +%H:%M:%S) commit $C" | tee -a /tmp/stp2/driver.txt
  PYTHONPATH=/work/price /work/main/.venv/bin/python -m helpers.lab.self_training_prototype \
    "$CHECKPOINT" /tmp/pw/data/selfcal-network-s$S $S /tmp/stp2/s$S --arm rating --steps 270 > /tmp/stp2/s${S}_rating.log 2>&1
  echo "== seed $S arm rating end $(date -u +%H:%M:%S)" | tee -a /tmp/stp2/driver.txt
done
