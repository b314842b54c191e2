#!/bin/bash
# Stage 3 of issue 32 with stated ratings, continued: further seeds ($2..., e.g. 43) of the offline profile of commit $1
# (d7533a6) from a fresh clone, nothing cached, each training its own student from scratch and going through the gate.
# Output: /tmp/stage3r/run_s<seed>.txt, driver.txt.
set -x
C=$1; shift
cd /work && rm -rf /work/fresh && git clone -q /work/main /work/fresh && cd /work/fresh && git checkout -q $C || exit 1
git log -1 --format='commit %H %cI'
grep -m1 'model name' /proc/cpuinfo; nproc
date -u +%FT%TZ; t0=$(date +%s)
python3 -m venv .venv && .venv/bin/pip install -q torch==2.13.0 -e ".[offline,test,lab]"
t1=$(date +%s); echo "install: $((t1 - t0)) s"; date -u +%FT%TZ
.venv/bin/python -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)"
for s in "$@"; do
  echo "=== seed $s start $(date -u +%FT%TZ)"; ts=$(date +%s)
  .venv/bin/python -m helpers.run --profile offline --final --set data_dir=../shared/data/imdb --set seed=$s --set run_name=offline-s$s > /tmp/stage3r/run_s$s.txt 2>&1
  echo "=== seed $s rc=$? end $(date -u +%FT%TZ) ($(( $(date +%s) - ts )) s)"
done
