#!/bin/bash
# lean_top sweep, seed 42: top resumes lean's finished training and stated-rating checkpoints (0 steps).
cd /work/lean
W=/tmp/lw
py=/work/main/.venv/bin/python
export PYTHONPATH=/work/lean
sweep() { $py -m helpers.lab.sweep --profile offline --variants params/lean_top.yaml --name lean_top --set data_dir=/work/shared/data/imdb --set workdir=$W "$@"; }
date -u +%FT%TZ; sweep --seeds 42 --only top
date -u +%FT%TZ
