"""The benchmark's quick mode runs end to end and reports every ratio (no timing is asserted)."""

import json
import subprocess
import sys

import torch

from helpers.lab.bench import GOALS
from helpers.inference import native_precisions
from helpers.precision import decide, training_precision
from helpers.paths import PROJECT_ROOT


def test_bench_quick_runs_and_reports_every_ratio(tmp_path, smoke_run):
    student = smoke_run[0] / "models/smoke/distilled_sentiment"
    done = subprocess.run([sys.executable, "-m", "helpers.lab.bench", "--quick", "--data-dir", "tests/data/mini_imdb",
                           "--student", str(student), "--out", str(tmp_path)],
                          capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((tmp_path / "bench.json").read_text())
    assert set(report["results"]) == set(GOALS)
    assert all(report["results"][name]["ratio"] > 0 for name in GOALS)
    assert report["results"]["annotation"]["max_abs_prob_diff"] < 1e-4  # same answers as the original's way
    annotation = report["results"]["annotation"]
    assert set(annotation["timings"]) == {"ours", "pipeline_batch_16", "pipeline_batch_32", "pipeline_batch_64"}
    for timing in annotation["timings"].values():  # warmed up, then three timed runs, median within their range
        assert len(timing["runs_s"]) == 3 and timing["min_s"] <= timing["median_s"] <= timing["max_s"]
    assert annotation["best_pipeline"] in annotation["timings"] and annotation["ratio_vs_best_pipeline"] > 0
    training = report["results"]["training_step"]  # reviews of unequal length: grouping pads less than max length
    assert training["padding_allows"] > 1 and training["share_of_allowed"] == training["ratio"] / training["padding_allows"]
    scoring = report["results"]["cpu_scoring"]
    assert scoring["student"] == str(student) and scoring["reviews"] == 16  # the smoke run's validation reviews
    assert scoring["native"] == native_precisions(torch.device("cpu")) and set(scoring["precisions"]) == {"fp32", *scoring["native"]}
    assert scoring["default"] == decide(scoring["precisions"])  # the rule `auto` applies, on this evidence
    assert scoring["agreement"] == scoring["precisions"][scoring["default"]].get("agreement", 1.0)
    assert scoring["accuracy_fp32"] == scoring["precisions"]["fp32"]["accuracy"]
    assert report["results"]["cpu_training"]["default"] == training_precision("auto", torch.device("cpu"))
    assert report["cpu"]["model"] and isinstance(report["cpu"]["native_precisions"], list)
    assert report["results"]["vader_workers"]["workers"] >= 1 and report["versions"]["torch"]
    assert (tmp_path / "bench.png").stat().st_size > 0
    assert "annotation" in done.stdout and "ratio" in done.stdout


def test_the_training_goal_is_one_goal_shared_with_the_speed_chapter():
    from helpers.lab.bench import goal_of

    result = {"padding_allows": 1.3, "ratio": 1.2}
    assert goal_of("training_step", result) == 0.9 * 1.3  # within 10% of what padding allows
    assert "within 10% of what padding allows" in (PROJECT_ROOT / "docs/speed.qmd").read_text()


def test_the_bench_refuses_fewer_scoring_reviews_than_it_promises(smoke_run):
    import pytest

    from helpers.lab.bench import BenchConfig, validation_reviews
    from helpers.errors import UserError

    student = smoke_run[0] / "models/smoke/distilled_sentiment"
    with pytest.raises(UserError, match="compares precisions on 1,500 labelled reviews, but .* has 16"):
        validation_reviews(student, BenchConfig())
