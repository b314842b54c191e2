#!/bin/bash
# Once the network run's training has written its last checkpoint, stop that run (its self-calibration can resume
# later from the same checkpoint) and run the top variant on the same trained student first.
S=${1:-42}; STEPS=${2:-1207}; W=/tmp/pw
CK=$W/models/selfcal-network-s$S/checkpoints/checkpoint-$STEPS
until [ -f $CK/trainer_state.json ]; do sleep 15; done
sleep 20  # the Trainer writes trainer_state.json last; let the rest of the save settle
date -u; echo "training done: stopping the network run"
pkill -f "drive/price.sh" ; pkill -f "helpers.lab.sweep"; pkill -f "ipykernel"; sleep 5
pgrep -fa "ipykernel|helpers.lab.sweep" || true
cd /work/price && export PYTHONPATH=/work/price
mkdir -p $W/models/selfcal-top-s$S && rm -rf $W/models/selfcal-top-s$S/checkpoints
cp -r $W/models/selfcal-network-s$S/checkpoints $W/models/selfcal-top-s$S/checkpoints
date -u
/usr/bin/time -v /work/main/.venv/bin/python -m helpers.lab.sweep --profile offline --variants params/selfcal.yaml --name selfcal --set data_dir=/work/shared/data/imdb --set workdir=$W --seeds $S --only top > /tmp/price_top_s$S.log 2>&1
date -u; echo TOP_DONE
