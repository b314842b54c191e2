#!/bin/bash
# read256, seeds 42 and 43: the stage-3 runs' trained checkpoints (/work/fresh, commit 39548e5, the same targets) resumed
# with 0 steps, then self-calibration on 4,000 pool reviews and everything scored at the as-trained reading.
# (ran after the seed-44 lab check, in one chain)
cd /work/budget
W=/tmp/bw
py=/work/main/.venv/bin/python
export PYTHONPATH=/work/budget
sweep() { $py -m helpers.lab.sweep --profile offline --variants params/budget.yaml --name budget --set data_dir=/work/shared/data/imdb --set workdir=$W "$@"; }
for s in 42 43; do
  src=/work/fresh/models/offline; [ $s = 42 ] || src=/work/fresh/models/offline-s$s
  mkdir -p $W/models/budget-read256-s$s && cp -r $src/checkpoints $W/models/budget-read256-s$s/
  date -u +%FT%TZ; sweep --seeds $s --only read256
done
date -u +%FT%TZ; sweep --seeds 42 43 --no-run
