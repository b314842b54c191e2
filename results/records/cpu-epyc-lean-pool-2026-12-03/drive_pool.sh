#!/bin/bash
# lean_pool sweep, seed 42: top trains; network resumes its finished training checkpoint (same commit, 0 steps).
cd /work/lean
W=/tmp/lw
py=/work/main/.venv/bin/python
export PYTHONPATH=/work/lean
sweep() { $py -m helpers.lab.sweep --profile offline --variants params/lean_pool.yaml --name lean_pool --set data_dir=/work/shared/data/imdb --set workdir=$W "$@"; }
for s in ${SEEDS:-42}; do
  date -u +%FT%TZ; sweep --seeds $s --only top
  mkdir -p $W/models/lean_pool-network-s$s && cp -r $W/models/lean_pool-top-s$s/checkpoints $W/models/lean_pool-network-s$s/
  date -u +%FT%TZ; sweep --seeds $s --only network
done
date -u +%FT%TZ; sweep --seeds ${SEEDS:-42} --no-run
