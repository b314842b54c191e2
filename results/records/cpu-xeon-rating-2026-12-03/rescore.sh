#!/bin/bash
# Adds the figures by stated rating to the rating arm's records written at 14e4fb2 (before they were kept).
cd /work/price
for S in 42 43; do
  CHECKPOINT=$(ls -d /tmp/pw/models/selfcal-network-s$S/checkpoints/checkpoint-* | sort -V | tail -1)
  echo "== seed $S rescore rating start $(date -u +%H:%M:%S) commit $(git rev-parse --short HEAD)" | tee -a /tmp/stp2/driver.txt
  PYTHONPATH=/work/price /work/main/.venv/bin/python -m helpers.lab.self_training_prototype --rescore /tmp/stp2/s$S \
    rating_steps270_lr2e-05 "$CHECKPOINT" /tmp/pw/data/selfcal-network-s$S > /tmp/stp2/s${S}_rescore.log 2>&1
  rc=$?; echo "== seed $S rescore rating end $(date -u +%H:%M:%S) rc $rc" | tee -a /tmp/stp2/driver.txt
done
