#!/bin/bash
# Budget sweep, seeds 42 and 43: budget trains; budget_sc2000 resumes its finished checkpoint (same commit, 0 steps).
cd /work/budget
W=/tmp/bw
py=/work/main/.venv/bin/python
export PYTHONPATH=/work/budget
sweep() { $py -m helpers.lab.sweep --profile offline --variants params/budget.yaml --name budget --set data_dir=/work/shared/data/imdb --set workdir=$W "$@"; }
for s in ${SEEDS:-42 43}; do
  date -u +%FT%TZ; sweep --seeds $s --only budget
  mkdir -p $W/models/budget-budget_sc2000-s$s && cp -r $W/models/budget-budget-s$s/checkpoints $W/models/budget-budget_sc2000-s$s/
  date -u +%FT%TZ; sweep --seeds $s --only budget_sc2000
done
date -u +%FT%TZ; sweep --seeds 42 43 --no-run
