#!/bin/bash
# Stage-2 relabel sweep, seed 42: base trains once; read512 and mix50 resume its finished checkpoint (same commit).
cd /tmp/wt3
export PYTHONPATH=/tmp/wt3
W=/tmp/s3
sweep() { /work/main/.venv/bin/python -m helpers.lab.sweep --profile offline --variants params/relabel.yaml --name relabel --seeds 42 --set data_dir=/work/shared/data/imdb --set workdir=$W "$@"; }
sweep --only base
for v in read512 mix50; do
  mkdir -p $W/models/relabel-$v-s42 && cp -r $W/models/relabel-base-s42/checkpoints $W/models/relabel-$v-s42/
  sweep --only $v
done
sweep --no-run
