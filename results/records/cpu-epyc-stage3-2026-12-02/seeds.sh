#!/bin/bash
# Seeds 43 and 44 of stage 3, in the fresh clone that run.sh made for seed 42 (same commit 39548e5, nothing
# resumed: each seed trains its own student). Label-source annotations already in the clone's cache, all made at
# that commit, were read from it: seed 43's pool, validation and development from a start of seed 43 cut at 11:16
# before training saved a checkpoint (log_s43_cut.txt), the test split's from seed 42; seed 44 annotated what its
# draw added. Logs: log_s43.txt, log_s44.txt; this script's own output went to /tmp/stage3/driver.txt
# (seeds_driver.txt here).
cd /work/fresh || exit 1
for s in 43 44; do
  echo "=== seed $s start $(date -u +%FT%TZ)"
  .venv/bin/python -m helpers.run --profile offline --final --set data_dir=../shared/data/imdb --set seed=$s --set run_name=offline-s$s > /tmp/stage3/run_s$s.txt 2>&1
  echo "=== seed $s rc=$? end $(date -u +%FT%TZ)"
done
