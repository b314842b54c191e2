#!/bin/bash
# Price self_calibration_part top against network (params/selfcal.yaml) on the same trained student, seed $2,
# validation only, from a clone of /work/main at commit $1. network trains and self-calibrates; top resumes from
# network's final checkpoint (no training step) and relearns only the layers above the encoder.
set -euo pipefail
C=$1; S=$2; W=/tmp/pw
if [ ! -d /work/price ]; then git clone -q /work/main /work/price; fi
cd /work/price && git fetch -q /work/main main && git checkout -q "$C" && git status --short | head -3
export PYTHONPATH=/work/price
PY=/work/main/.venv/bin/python
python_of() { $PY -c "import helpers, sys; print(helpers.__file__)"; }
echo "helpers from: $(python_of)"; grep -m1 'model name' /proc/cpuinfo; date -u
SWEEP="$PY -m helpers.lab.sweep --profile offline --variants params/selfcal.yaml --name selfcal --set data_dir=/work/shared/data/imdb --set workdir=$W --seeds $S"
/usr/bin/time -v $SWEEP --only network 2>&1 | tee /tmp/price_network_s$S.log | grep -v '^\s*$' | tail -40
mkdir -p $W/models/selfcal-top-s$S
rm -rf $W/models/selfcal-top-s$S/checkpoints
cp -r $W/models/selfcal-network-s$S/checkpoints $W/models/selfcal-top-s$S/checkpoints
date -u
/usr/bin/time -v $SWEEP --only top 2>&1 | tee /tmp/price_top_s$S.log | grep -v '^\s*$' | tail -40
date -u; echo PRICE_DONE
