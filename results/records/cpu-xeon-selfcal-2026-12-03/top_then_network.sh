#!/bin/bash
# Seeds after 42: the top variant trains the student and relearns its top first (the deciding figure comes
# early); then, for each seed, the network variant resumes training from a copy of top's checkpoints (the same
# trained student) and self-calibrates the whole network. Clone of /work/main at commit $1, seeds $2...
set -uo pipefail
C=$1; shift; W=/tmp/pw
cd /work/price && git fetch -q /work/main main && git checkout -q "$C" && git status --short | head -3
export PYTHONPATH=/work/price
PY=/work/main/.venv/bin/python
echo "helpers from: $($PY -c 'import helpers; print(helpers.__file__)')"; grep -m1 'model name' /proc/cpuinfo
SWEEP="$PY -m helpers.lab.sweep --profile offline --variants params/selfcal.yaml --name selfcal --set data_dir=/work/shared/data/imdb --set workdir=$W"
for S in "$@"; do date -u; echo "== top s$S"; /usr/bin/time -v $SWEEP --seeds $S --only top > /tmp/price_top_s$S.log 2>&1; echo "rc $?"; done
for S in "$@"; do
  date -u; echo "== network s$S (resumed from top's checkpoints)"
  mkdir -p $W/models/selfcal-network-s$S && rm -rf $W/models/selfcal-network-s$S/checkpoints
  cp -r $W/models/selfcal-top-s$S/checkpoints $W/models/selfcal-network-s$S/checkpoints
  /usr/bin/time -v $SWEEP --seeds $S --only network > /tmp/price_network_s$S.log 2>&1; echo "rc $?"
done
date -u; echo ALL_DONE
