#!/bin/bash
# Stage 3: the shipped offline profile from a fresh clone at one commit, the README's main-job command verbatim
# (seed 42, timed); MORE_SEEDS="43 44" would run further seeds in the same clone. It ran with MORE_SEEDS unset:
# seeds 43 and 44 were run by seeds.sh.
set -x
cd /work && rm -rf /work/fresh && git clone -q /work/main /work/fresh && cd /work/fresh || exit 1
git log -1 --format='commit %H %cI'
grep -m1 'model name' /proc/cpuinfo; nproc
date -u +%FT%TZ; t0=$(date +%s)
python3 -m venv .venv && .venv/bin/pip install -q torch==2.13.0 -e ".[offline,test,lab]"
t1=$(date +%s); echo "install: $((t1 - t0)) s"; date -u +%FT%TZ
.venv/bin/python -m helpers.run --profile offline --final --set data_dir=../shared/data/imdb
t2=$(date +%s); echo "main job (seed 42): $((t2 - t1)) s"; date -u +%FT%TZ
for seed in ${MORE_SEEDS:-}; do
  .venv/bin/python -m helpers.run --profile offline --final --set data_dir=../shared/data/imdb --set seed=$seed --set run_name=offline-s$seed
  echo "seed $seed done: $(date -u +%FT%TZ)"
done
