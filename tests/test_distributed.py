"""Sharded annotation under torchrun (2 CPU processes, gloo) equals a single-process run."""

import json
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from helpers.paths import PROJECT_ROOT


@pytest.mark.skipif(shutil.which("torchrun") is None and not (PROJECT_ROOT / ".venv/bin/torchrun").exists(),
                    reason="torchrun not installed")
def test_torchrun_sharded_annotation_equals_one_process(tmp_path, tiny_teacher, mini_imdb):
    reviews = pd.read_csv(mini_imdb / "train.csv").head(37)  # odd count: uneven shards
    reviews.to_csv(tmp_path / "reviews.csv", index=False)
    common = ["-m", "helpers.annotate", "--teacher", str(tiny_teacher), "--reviews", str(tmp_path / "reviews.csv"),
              "--batch-size", "4", "--device", "cpu", "--max-length", "64"]
    single = subprocess.run([sys.executable, *common, "--out", str(tmp_path / "one.csv"),
                             "--cache", str(tmp_path / "cache1")], capture_output=True, text=True)
    assert single.returncode == 0, single.stderr
    sharded = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                              "--master_port", "29517", *common, "--out", str(tmp_path / "two.csv"),
                              "--cache", str(tmp_path / "cache2")], capture_output=True, text=True, timeout=300)
    assert sharded.returncode == 0, sharded.stderr[-2000:]
    one, two = pd.read_csv(tmp_path / "one.csv"), pd.read_csv(tmp_path / "two.csv")
    pd.testing.assert_frame_equal(one, two, atol=1e-5)
    shards = list((tmp_path / "cache2").rglob("part-*.parquet"))
    assert {s.stem.rsplit("-", 1)[1] for s in shards} == {"0", "1"}  # both ranks did work


def test_torchrun_trains_the_student_with_ddp(tmp_path):
    from helpers.run import run

    run("smoke", {"workdir": str(tmp_path), "n_train": 32}, steps=["01", "02"])
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
                           "29519", "-m", "helpers.train", "--profile", "smoke", "--set", f"workdir={tmp_path}",
                           "--set", "n_train=32"], capture_output=True, text=True, timeout=600, cwd=PROJECT_ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    student = tmp_path / "models/smoke/distilled_sentiment"
    assert json.loads((student / "training.json").read_text())["world_size"] == 2
    # 32 reviews, batch 8 per process, 2 processes: 2 steps in the epoch (one process would take 4)
    assert [p.name for p in (tmp_path / "models/smoke/checkpoints").glob("checkpoint-*")] == ["checkpoint-2"]
    from transformers import pipeline

    assert pipeline("text-classification", model=str(student))("a fine film")[0]["label"] in {"negative", "neutral", "positive"}


def test_each_rank_binds_nccl_to_its_own_gpu(monkeypatch):
    import torch
    import torch.distributed as dist

    from helpers import distributed

    calls = {}
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "set_device", lambda device: calls.setdefault("set_device", device))
    monkeypatch.setattr(torch.cuda, "current_device", lambda: calls["set_device"].index)
    monkeypatch.setattr(dist, "is_initialized", lambda: "init" in calls)
    monkeypatch.setattr(dist, "init_process_group", lambda backend, **kw: calls.setdefault("init", (backend, kw)))
    monkeypatch.setattr(dist, "barrier", lambda **kw: calls.setdefault("barrier", kw))
    distributed.barrier()
    assert calls["set_device"] == torch.device("cuda", 1)  # before the process group and the first barrier
    assert calls["init"] == ("nccl", {"device_id": torch.device("cuda", 1)})
    assert calls["barrier"] == {"device_ids": [1]}
