#!/bin/bash
# Issue 32, params/ratings.yaml: the `rated` variant on seed $2, validation and development only, from a clone of
# /work/main at commit $1 (/work/price), in the selfcal sweep's workdir /tmp/pw (its source caches), resuming the
# trained checkpoint of that sweep's `network` run of the same seed (commit 5400351; copied: training resumes with 0
# steps, so both variants share one trained student). Start and end times go to /tmp/pw/ratings_driver.txt.
set -euo pipefail
C=$1; S=$2; W=/tmp/pw
cd /work/price && git fetch -q /work/main main && git checkout -q "$C"
export PYTHONPATH=/work/price
mkdir -p $W/models/ratings-rated-s$S
[ -d $W/models/ratings-rated-s$S/checkpoints ] || cp -r $W/models/selfcal-network-s$S/checkpoints $W/models/ratings-rated-s$S/checkpoints
echo "== ratings-rated-s$S start $(date -u +%H:%M:%S) commit $C $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)" | tee -a $W/ratings_driver.txt
/work/main/.venv/bin/python -m helpers.lab.sweep --profile offline --variants params/ratings.yaml --name ratings \
  --set data_dir=/work/shared/data/imdb --set workdir=$W --seeds $S > $W/ratings_s$S.log 2>&1
echo "== ratings-rated-s$S end $(date -u +%H:%M:%S)" | tee -a $W/ratings_driver.txt
