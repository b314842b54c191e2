#!/bin/bash
cd /work/fresh
start=$(date +%s)
echo "start $(date -u)"; grep -m1 'model name' /proc/cpuinfo
python3 -m venv .venv && .venv/bin/pip install -q torch==2.13.0 -e ".[offline,test,lab]"
mid=$(date +%s); echo "install done $(date -u) $((mid-start)) s"
.venv/bin/python -m helpers.run --profile offline --final --set data_dir=../shared/data/imdb
rc=$?
end=$(date +%s); echo "rc=$rc end $(date -u) job $((end-mid)) s total $((end-start)) s"
