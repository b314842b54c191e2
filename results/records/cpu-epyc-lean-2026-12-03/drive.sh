#!/bin/bash
# Lean sweep, seed 42: lean trains; lean_nosc resumes its finished checkpoint (same commit, 0 steps).
cd /work/lean
W=/tmp/lw
py=/work/main/.venv/bin/python
export PYTHONPATH=/work/lean
sweep() { $py -m helpers.lab.sweep --profile offline --variants params/lean.yaml --name lean --set data_dir=/work/shared/data/imdb --set workdir=$W "$@"; }
for s in ${SEEDS:-42}; do
  date -u +%FT%TZ; sweep --seeds $s --only lean
  mkdir -p $W/models/lean-lean_nosc-s$s && cp -r $W/models/lean-lean-s$s/checkpoints $W/models/lean-lean_nosc-s$s/
  date -u +%FT%TZ; sweep --seeds $s --only lean_nosc
done
date -u +%FT%TZ; sweep --seeds ${SEEDS:-42} --no-run
