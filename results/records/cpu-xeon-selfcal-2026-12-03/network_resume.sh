#!/bin/bash
# The network variant, resumed from its own last checkpoint (training was stopped after its final step so that top
# could run first on the same trained student): self-calibration of the whole network, calibration, 04.
S=${1:-42}; W=/tmp/pw
until grep -q TOP_DONE /tmp/top$S.log 2>/dev/null; do sleep 15; done
cd /work/price && export PYTHONPATH=/work/price
date -u
/usr/bin/time -v /work/main/.venv/bin/python -m helpers.lab.sweep --profile offline --variants params/selfcal.yaml --name selfcal --set data_dir=/work/shared/data/imdb --set workdir=$W --seeds $S --only network > /tmp/price_network_resume_s$S.log 2>&1
date -u; echo NETWORK_DONE
