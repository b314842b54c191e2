#!/bin/bash
# Stage 3 of issue 32 with the 22,000-review pool put back: the offline profile of commit $1 from a fresh
# clone, nothing cached, by the README's main-job command split to time the install and the job (seed 42), then
# further seeds ($2..., e.g. 43 44) in the same clone at the same commit, each training its own student from scratch
# and going through the gate. Output: /tmp/stage3p/log.txt (seed 42), /tmp/stage3p/run_s<seed>.txt, driver.txt.
set -x
C=$1; shift
cd /work && rm -rf /work/stage3p && git clone -q /work/main /work/stage3p && cd /work/stage3p && git checkout -q $C || exit 1
git log -1 --format='commit %H %cI'
grep -m1 'model name' /proc/cpuinfo; nproc; grep -m1 -o 'avx512_bf16\|amx_bf16' /proc/cpuinfo
date -u +%FT%TZ; t0=$(date +%s)
python3 -m venv .venv && .venv/bin/pip install -q torch==2.13.0 -e ".[offline,test,lab]"
t1=$(date +%s); echo "install: $((t1 - t0)) s"; date -u +%FT%TZ
.venv/bin/python -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)"
.venv/bin/python -m helpers.run --profile offline --final --set data_dir=../shared/data/imdb > /tmp/stage3p/log.txt 2>&1
echo "rc=$?"
t2=$(date +%s); echo "main job (seed 42): $((t2 - t1)) s"; date -u +%FT%TZ
# the rule (results/records/README.md#params-offline): further seeds only if seed 42's main job took <= 45 minutes
[ $((t2 - t1)) -le 2700 ] || { echo "over 45 minutes: the profile returns to 14,000; no further seeds"; exit 0; }
for s in "$@"; do
  echo "=== seed $s start $(date -u +%FT%TZ)"; ts=$(date +%s)
  .venv/bin/python -m helpers.run --profile offline --final --set data_dir=../shared/data/imdb --set seed=$s --set run_name=offline-s$s > /tmp/stage3p/run_s$s.txt 2>&1
  echo "=== seed $s rc=$? end $(date -u +%FT%TZ) ($(( $(date +%s) - ts )) s)"
done
