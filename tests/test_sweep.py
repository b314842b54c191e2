"""The sweep runner: every (variant, seed) is its own run; one table ranks the variants on validation."""

import json

import pandas as pd
import pytest
import yaml

from helpers.sweep import display_table, summarise, sweep


def test_sweep_runs_each_variant_and_ranks_on_validation(tmp_path):
    variants = tmp_path / "variants.yaml"
    variants.write_text(yaml.safe_dump({"common": {"n_train": 16, "n_val": 12, "n_test": 20, "max_length": 32,
                                                   "eval_each_epoch": False, "eval_sets": ""},
                                        "variants": {"hard": {"distill_loss": "hard"},
                                                     "soft": {"distill_loss": "soft", "temperature": 3.0}}}))
    out = sweep("smoke", str(variants), "mini", {"workdir": str(tmp_path)}, seeds=[7])
    table = pd.read_csv(out / "sweep.csv")
    assert sorted(table["variant"]) == ["hard", "soft"] and (table["seeds"] == 1).all()
    assert table["val_acc_mean"].is_monotonic_decreasing  # ranked by validation, never by test
    assert table["chosen"].fillna("").tolist() == ["yes", ""]
    assert (table["n_val"] == 12).all() and (table["n_test"] == 20).all()
    assert (tmp_path / "results/mini-soft-s7/metrics.json").exists()
    text = (out / "sweep.md").read_text()
    assert "Ranked by validation accuracy" in text and "distill_loss=soft, temperature=3.0" in text
    summary = json.loads((out / "sweep.json").read_text())
    assert summary["seeds"] == [7] and "validation" in summary["chosen_by"]
    again = sweep("smoke", str(variants), "mini", {"workdir": str(tmp_path)}, seeds=[7, 8], run_nothing=True)
    assert not (tmp_path / "results/mini-hard-s8").exists()  # tabulated only what had finished
    assert (pd.read_csv(again / "sweep.csv")["seeds"] == 1).all()


def test_seed_summary_gives_mean_sd_and_range_per_variant():
    runs = pd.DataFrame({"variant": ["a"] * 3 + ["b"], "seed": [1, 2, 3, 1],
                         "val_acc": [0.70, 0.72, 0.74, 0.80], "test_acc": [0.69, 0.71, 0.73, 0.60],
                         "teacher_test_acc": [0.6] * 4, "gold_test_acc": [None] * 4,
                         "student_minus_teacher": [0.09, 0.11, 0.13, 0.0], "n_val": [100] * 4, "n_test": [200] * 4})
    table = summarise(runs, {"a": {"epochs": 1}, "b": {}}).set_index("variant")
    assert table.loc["a", "test_acc_mean"] == pytest.approx(0.71)
    assert table.loc["a", "test_acc_std"] == pytest.approx(0.02)  # sample sd of .69, .71, .73
    assert (table.loc["a", "test_acc_min"], table.loc["a", "test_acc_max"]) == (0.69, 0.73)
    assert table.loc["b", "chosen"] == "yes"  # the better validation mean wins, though its test accuracy is worse
    assert pd.isna(table.loc["b", "test_acc_std"]) and table.loc["a", "seeds"] == 3


def test_variants_are_chosen_on_the_seeds_they_share_not_on_extra_seeds():
    # a's seed 1 beats b's seed 1; a's extra seeds are worse, so a's all-seed mean (0.757) is below b's 0.77.
    runs = pd.DataFrame({"variant": ["a"] * 3 + ["b"], "seed": [1, 2, 3, 1],
                         "val_acc": [0.78, 0.74, 0.75, 0.77], "test_acc": [0.7] * 4,
                         "teacher_test_acc": [0.6] * 4, "gold_test_acc": [None] * 4,
                         "student_minus_teacher": [0.1] * 4, "n_val": [100] * 4, "n_test": [200] * 4})
    table = summarise(runs, {"a": {}, "b": {}}).set_index("variant")
    assert table.loc["a", "chosen"] == "yes" and table.loc["b", "chosen"] == ""
    assert table.loc["a", "val_acc_shared"] == pytest.approx(0.78) and table.loc["a", "shared_seeds"] == "1"
    assert table.loc["a", "val_acc_mean"] == pytest.approx(0.7566667)
    shown = display_table(table.reset_index())
    assert shown.columns[3] == "**validation** acc., seed(s) 1 (chooses)" and shown.iloc[0, 3] == "0.780"
