#!/bin/bash
# Stage-2 relabel sweep, seed 43: base trains once; read512 resumes its finished checkpoint (same commit); mix50 if asked.
cd /tmp/wt3
export PYTHONPATH=/tmp/wt3
W=/tmp/s3
sweep() { /work/main/.venv/bin/python -m helpers.lab.sweep --profile offline --variants params/relabel.yaml --name relabel --seeds 43 --set data_dir=/work/shared/data/imdb --set workdir=$W "$@"; }
sweep --only base
for v in ${VARIANTS:-read512}; do
  mkdir -p $W/models/relabel-$v-s43 && cp -r $W/models/relabel-base-s43/checkpoints $W/models/relabel-$v-s43/
  sweep --only $v
done
/work/main/.venv/bin/python -m helpers.lab.sweep --profile offline --variants params/relabel.yaml --name relabel --seeds 42 43 --set data_dir=/work/shared/data/imdb --set workdir=$W --no-run
