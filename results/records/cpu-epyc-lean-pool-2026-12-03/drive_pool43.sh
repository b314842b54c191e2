#!/bin/bash
# lean_pool sweep, seed 43: top only (its second seed), same commit and workdir as seed 42.
cd /work/lean
W=/tmp/lw
py=/work/main/.venv/bin/python
export PYTHONPATH=/work/lean
date -u +%FT%TZ; $py -m helpers.lab.sweep --profile offline --variants params/lean_pool.yaml --name lean_pool --set data_dir=/work/shared/data/imdb --set workdir=$W --seeds 43 --only top
date -u +%FT%TZ
