"""The sweep runner: every variant is its own run, and one table collects them."""

import pandas as pd
import yaml

from helpers.sweep import sweep


def test_sweep_runs_each_variant_and_tabulates(tmp_path):
    variants = tmp_path / "variants.yaml"
    variants.write_text(yaml.safe_dump({"common": {"n_train": 16, "n_test": 20, "max_length": 32,
                                                   "eval_each_epoch": False},
                                        "variants": {"hard": {"distill_loss": "hard"},
                                                     "soft": {"distill_loss": "soft", "temperature": 3.0}}}))
    out = sweep("smoke", str(variants), "mini", {"workdir": str(tmp_path)})
    table = pd.read_csv(out / "ablation.csv")
    assert table["variant"].tolist() == ["hard", "soft"]
    assert table["student_acc"].between(0, 1).all() and (table["n_test"] == 20).all()
    assert (table["ci95_low"] <= table["student_acc"]).all() and (table["student_acc"] <= table["ci95_high"]).all()
    assert (tmp_path / "results/mini-soft/metrics.json").exists()
    assert "distill_loss=soft, temperature=3.0" in (out / "ablation.md").read_text()
