"""The papermill runner: parameter checks, a full smoke run, and failures that name the notebook and cell."""

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from helpers.errors import ConfigError, UserError
from helpers.paths import PROJECT_ROOT
from helpers.run import check_parameters, declared_parameters, notebooks, parse_overrides, run

DECLARED = {nb.stem: declared_parameters(nb) for nb in notebooks()}


def test_four_numbered_notebooks_each_with_one_parameters_cell():
    assert [nb.stem for nb in notebooks()] == ["01_load", "02_teacher_annotate", "03_train_student",
                                               "04_evaluate_plot"]
    for nb in notebooks():
        cells = nbformat.read(nb, as_version=4).cells
        tagged = [c for c in cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, nb.name
        assert all(not c.get("outputs") and not c.get("execution_count") for c in cells if c.cell_type == "code")


def test_unknown_parameter_is_named():
    with pytest.raises(ConfigError, match="unknown parameter.*'epoch'"):
        check_parameters({"epoch": 3}, DECLARED)


@pytest.mark.parametrize("name, value", [("epochs", "ten"), ("n_train", 2.5), ("n_train", True), ("teacher", 3)])
def test_wrongly_typed_parameter_is_refused(name, value):
    with pytest.raises(ConfigError, match=f"parameter '{name}' must be"):
        check_parameters({name: value}, DECLARED)


def test_numbers_from_the_command_line_are_typed():
    params = check_parameters(parse_overrides(["learning_rate=5e-5", "epochs=2", "n_train=10", "teacher=vader"]),
                              DECLARED)
    assert params == {"learning_rate": 5e-5, "epochs": 2.0, "n_train": 10, "teacher": "vader"}
    assert isinstance(params["epochs"], float)


def test_smoke_run_writes_every_artifact(smoke_run):
    workdir, results = smoke_run
    assert results == workdir / "results" / "smoke"
    for path in ["data/smoke/train_teacher_annotated.csv", "data/smoke/test_teacher_annotated.csv",
                 "models/smoke/distilled_sentiment/config.json", "results/smoke/metrics.json",
                 "results/smoke/figures/teacher_vs_student_accuracy.png",
                 "results/smoke/figures/teacher_vs_student_label_distribution.png",
                 "results/smoke/train_history.json", "models/smoke/distilled_sentiment/training.json",
                 "results/smoke/test_predictions.csv"] + [f"results/smoke/notebooks/{nb.name}" for nb in notebooks()]:
        assert (workdir / path).stat().st_size > 0, path


def test_smoke_run_metrics_and_record(smoke_run):
    workdir, results = smoke_run
    metrics = json.loads((results / "metrics.json").read_text())
    assert set(metrics["models"]) == {"majority", "teacher", "student", "gold_supervised"}
    assert "neutral" in metrics["mapping"]
    for scores in metrics["models"].values():
        assert scores["n"] == 40 and 0 <= scores["accuracy"] <= 1
        assert scores["accuracy_ci95"][0] <= scores["accuracy"] <= scores["accuracy_ci95"][1]
        assert sum(map(sum, scores["confusion_matrix"])) == 40
    assert metrics["models"]["majority"]["accuracy"] == 0.5  # the test sample is stratified
    record = json.loads((results / "run.json").read_text())
    assert [s["notebook"] for s in record["steps"]] == [nb.stem for nb in notebooks()] + ["report"]
    assert all(s["status"] == "ok" and s["seconds"] > 0 for s in record["steps"])
    assert record["parameters"]["n_train"] == 48 and record["packages"]["transformers"].startswith("5.")


def test_smoke_run_scores_validation_other_data_and_paired_comparisons(smoke_run):
    _, results = smoke_run
    metrics = json.loads((results / "metrics.json").read_text())
    assert metrics["validation"]["n"] == 16 and metrics["validation"]["models"]["student"]["n"] == 16
    other = metrics["other_data"]["other_reviews"]
    assert other["n"] == 40 and set(other["models"]) == {"majority", "teacher", "student", "gold_supervised"}
    assert other["models"]["majority"]["accuracy"] == 0.5 and "student - teacher" in other["comparisons"]
    for name in ("student - teacher", "student - gold_supervised"):
        paired = metrics["comparisons"][name]
        low, high = paired["difference_ci95"]
        assert paired["n"] == 40 and low <= paired["difference"] <= high and 0 < paired["mcnemar_p"] <= 1
        assert paired["only_first_correct"] - paired["only_second_correct"] == round(paired["difference"] * 40)


def test_smoke_run_self_trains_from_the_student_labels(smoke_run):
    from helpers.distill import training_targets
    from helpers.student import targets_key
    from helpers.train import load_pool

    workdir, results = smoke_run
    training = json.loads((workdir / "models/smoke/distilled_sentiment/training.json").read_text())
    assert training["self_train_round"] == 1
    # round 1 learnt from the round-0 student's labels, not the teacher's: its stamp holds the relabelled targets
    from helpers.paths import RunPaths

    paths = RunPaths.of(str(workdir), "smoke")
    pool = load_pool(paths)[0]
    stamp = {folder: json.loads((workdir / f"models/smoke/{folder}/train_settings.json").read_text())["targets"]
             for folder in ("checkpoints", "checkpoints_self_train_1")}
    teacher_targets = targets_key(training_targets(pool, class_prior="", seed=42))
    assert stamp["checkpoints"] == teacher_targets  # round 0 learnt from the teacher ...
    assert stamp["checkpoints_self_train_1"] != teacher_targets  # ... round 1 from other (the student's) targets
    histories = {name: json.loads((results / name).read_text()) for name in ("train_history.json",
                                                                           "train_history_self_train_1.json")}
    assert all(any("eval_accuracy" in e for e in h) for h in histories.values()), "no per-epoch validation score"


def test_relabelled_mixes_student_and_teacher_probabilities():
    import numpy as np
    import pandas as pd
    import pytest

    from helpers.errors import ConfigError
    from helpers.train import relabelled

    pool = pd.DataFrame({"text": ["a", "b"], "p_negative": [0.8, 0.1], "p_neutral": [0.1, 0.1], "p_positive": [0.1, 0.8]})
    student = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]], dtype=np.float32)  # disagrees with the teacher on both
    only_student = relabelled(pool, student, 0.0)
    np.testing.assert_allclose(only_student[["p_negative", "p_neutral", "p_positive"]].to_numpy(), student)
    quarter = relabelled(pool, student, 0.25)
    np.testing.assert_allclose(quarter.loc[0, ["p_negative", "p_neutral", "p_positive"]].to_numpy(float),
                               [0.2, 0.025, 0.775], atol=1e-6)
    assert quarter["text"].tolist() == ["a", "b"] and pool.loc[0, "p_negative"] == 0.8  # the pool itself unchanged
    with pytest.raises(ConfigError, match="between 0 and 1"):
        relabelled(pool, student, 1.5)


def test_validation_and_pool_never_contain_a_test_review(smoke_run):
    import pandas as pd

    workdir, _ = smoke_run
    reviews = {split: set(pd.read_csv(workdir / f"data/smoke/{split}_reviews.csv")["text"])
               for split in ("train", "validation", "test")}
    assert not reviews["test"] & (reviews["train"] | reviews["validation"])
    assert not reviews["train"] & reviews["validation"]


def test_executed_notebooks_carry_one_line_per_long_operation_and_no_bars(smoke_run):
    _, results = smoke_run
    lines = []
    for notebook in notebooks():
        executed = nbformat.read(results / "notebooks" / notebook.name, as_version=4)
        streams = [o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "stream"]
        assert not [o for o in streams if o.name == "stderr"], notebook.name  # no tqdm bars, no "Loading weights"
        lines += [line for o in streams for line in o.text.splitlines()]
    assert any(line.startswith("student: training: ") and line.endswith(" s") for line in lines)
    assert any(line.startswith("student on test: 40 reviews in ") for line in lines)
    assert not [line for line in lines if "\r" in line or "%|" in line]


def test_artifacts_get_the_usual_permissions(smoke_run):
    import stat

    from helpers.paths import current_umask

    workdir, results = smoke_run
    expected = 0o666 & ~current_umask()
    files = [results / "metrics.json", results / "run.json", results / "train_history.json",
             results / "test_predictions.csv", results / "figures/teacher_vs_student_accuracy.png",
             workdir / "data/smoke/test_teacher_annotated.csv", workdir / "models/smoke/distilled_sentiment/training.json",
             workdir / "models/smoke/distilled_sentiment/README.md", results / "report/html/index.html"]
    files += list((workdir / "models/smoke/distilled_sentiment").glob("*.safetensors"))
    files += list((workdir / "data/cache").rglob("*.parquet"))[:2]
    assert {str(f): oct(stat.S_IMODE(f.stat().st_mode)) for f in files} == {str(f): oct(expected) for f in files}


def test_atomic_writes_follow_the_umask(tmp_path):
    import os
    import stat

    from helpers.paths import write_json

    previous = os.umask(0o027)
    try:
        mode = stat.S_IMODE(write_json({"a": 1}, tmp_path / "x.json").stat().st_mode)
    finally:
        os.umask(previous)
    assert mode == 0o640


def test_student_loads_with_plain_pipeline(smoke_run):
    from transformers import pipeline

    workdir, _ = smoke_run
    classify = pipeline("text-classification", model=str(workdir / "models/smoke/distilled_sentiment"))
    out = classify(["great movie " * 200, "bad"], truncation=True)
    assert {o["label"] for o in out} <= {"negative", "neutral", "positive"}


def test_failure_names_notebook_and_cell_in_one_line(tmp_path):
    with pytest.raises(UserError, match=r"01_load\.ipynb failed in cell \d+ .*DataError: data_dir .* does not exist"):
        run("smoke", {"workdir": str(tmp_path), "data_dir": str(tmp_path / "missing")})
    executed = nbformat.read(tmp_path / "results/smoke/notebooks/01_load.ipynb", as_version=4)
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert len(errors) == 1 and len(errors[0].traceback) == 1  # one line, no traceback wall
    assert json.loads((tmp_path / "results/smoke/run.json").read_text())["steps"][0]["status"] == "failed"


@pytest.mark.parametrize("args, message", [(["--profile", "nope"], "unknown profile 'nope'"),
                                           (["--profile", "smoke", "--set", "epoch=1"], "unknown parameter")])
def test_cli_errors_are_one_line_and_exit_nonzero(args, message):
    done = subprocess.run([sys.executable, "-m", "helpers.run", *args], capture_output=True, text=True,
                          cwd=PROJECT_ROOT)
    assert done.returncode == 1
    assert message in done.stderr and "Traceback" not in done.stderr


def test_steps_take_numbers_with_or_without_the_zero_and_refuse_unknown_ones():
    from helpers.errors import ConfigError
    from helpers.run import chosen_notebooks

    assert [nb.stem for nb in chosen_notebooks(["3"])] == ["03_train_student"]
    assert chosen_notebooks(["03", "4"]) == chosen_notebooks(["3", "04_evaluate_plot"])
    assert len(chosen_notebooks(None)) == 4
    with pytest.raises(ConfigError, match="--steps 5: no such notebook"):
        chosen_notebooks(["5"])


def test_scoring_a_student_trained_with_other_parameters_is_refused(smoke_run):
    workdir, _ = smoke_run
    with pytest.raises(ConfigError, match=r"trained with epochs=1\.0 \(this run: 2\.0\).*--steps 03 04"):
        run("smoke", {"workdir": str(workdir), "epochs": 2.0}, steps=["04"])


@pytest.mark.parametrize("args, message", [
    (["--profile", "smoke", "--set", "run_name=../elsewhere"], "run_name '../elsewhere' must be a plain folder name"),
    (["--profile", "smoke", "--steps", "7"], "--steps 7: no such notebook"),
    (["--profile", "smoke", "--set", "class_prior=[0.5,"], "is not valid YAML"),
    (["--profile", "tests/data/broken_profile.yaml"], "is not valid YAML"),
])
def test_user_errors_in_the_runner_are_one_line(args, message, tmp_path):
    broken = PROJECT_ROOT / "tests/data/broken_profile.yaml"
    done = subprocess.run([sys.executable, "-m", "helpers.run", *args], capture_output=True, text=True, cwd=PROJECT_ROOT)
    assert broken.exists()
    assert done.returncode == 1 and message in done.stderr and "Traceback" not in done.stderr, done.stderr[-800:]


def test_run_json_records_the_precision_each_model_used(smoke_run):
    workdir, results = smoke_run
    record = json.loads((results / "run.json").read_text())
    assert record["precision_used"]["student_scoring"] == "fp32"  # 16 validation reviews: too few to check on
    import torch

    from helpers.precision import training_precision

    from helpers.run import notebook_defaults

    expected = training_precision({**notebook_defaults(), **record["parameters"]}["train_precision"], torch.device("cpu"))
    assert record["precision_used"]["student_training"] == expected == record["precision_used"]["gold_supervised_training"]
    assert record["precision_used"]["teacher_scoring"] == "n/a"  # VADER
    flags = set(open("/proc/cpuinfo").read().split()) if os.path.exists("/proc/cpuinfo") else set()
    assert record["native_precisions"]["cpu"] == [name for name, needs in (("bf16", {"avx512_bf16", "amx_bf16"}),
                                                                          ("int8", {"avx512_vnni", "avx_vnni", "amx_int8"}))
                                                  if flags & needs]
    assert record["cpu"] and record["cpu_cores"] >= 1


@pytest.mark.parametrize("name, value", [("precision", "int9"), ("train_precision", "bf15"), ("truncation", "tail"),
                                         ("teacher_truncation", "middle"), ("distill_loss", "kl"), ("balance", "up")])
def test_a_value_that_is_not_one_of_the_choices_is_refused_when_parameters_are_resolved(name, value):
    with pytest.raises(ConfigError, match=f"parameter '{name}' is '{value}': choose one of"):
        check_parameters({name: value}, DECLARED)


def test_an_invalid_precision_fails_before_any_notebook_runs(tmp_path):
    done = subprocess.run([sys.executable, "-m", "helpers.run", "--profile", "smoke", "--set", "precision=int9",
                           "--set", f"workdir={tmp_path}"], capture_output=True, text=True, cwd=PROJECT_ROOT)
    assert done.returncode == 1 and "choose one of auto, fp32, bf16, fp16, int8" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "data").exists()  # refused before 01 ran


PROFILES = sorted(p.stem for p in (PROJECT_ROOT / "params").glob("*.yaml")
                  if p.stem != "smoke" and "variants" not in (p.read_text()))  # a sweep's variants file is no profile


@pytest.mark.parametrize("profile", PROFILES)
def test_a_profiles_parameters_are_its_own_plus_defaults_never_the_smoke_fixtures(profile):
    from helpers.run import notebook_defaults, resolve_parameters

    params = {**notebook_defaults(), **resolve_parameters(profile)}
    fixtures = {name: value for name, value in params.items() if isinstance(value, str) and "tests/" in value}
    assert not fixtures, f"{profile} would read the test fixtures {fixtures}"


def test_run_json_holds_every_resolved_parameter_and_the_commit(tmp_path):
    from helpers.run import notebook_defaults, resolve_parameters

    overrides = {"workdir": str(tmp_path), "data_dir": str(tmp_path / "missing")}
    with pytest.raises(UserError):  # 01 fails at once; run.json is written all the same
        run("smoke", overrides)
    record = json.loads((tmp_path / "results/smoke/run.json").read_text())
    assert set(record["parameters"]) == set(notebook_defaults())  # the notebooks' defaults filled in
    assert record["parameters"] == resolve_parameters("smoke", overrides)
    assert record["parameters"]["self_calibration_learning_rate"] == notebook_defaults()["self_calibration_learning_rate"]
    commit = subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=40"], capture_output=True, text=True,
                            cwd=PROJECT_ROOT).stdout.strip()
    assert record["git_commit"] == commit and len(commit.removesuffix("-dirty")) == 40


def test_a_record_lacking_a_parameter_is_not_the_same_work():
    from helpers.run import resolve_parameters, same_work, work_differences

    full = resolve_parameters("offline")
    older = {name: value for name, value in full.items() if name != "self_calibration_learning_rate"}
    assert not same_work(older, full) and not same_work(full, older)  # never read with today's default
    assert work_differences(older, full) == ["self_calibration_learning_rate"]
    assert not same_work(full, {**full, "data_dir": "/elsewhere/imdb"})  # the data is part of the work
    assert same_work(full, {**full, "workdir": "/elsewhere", "score_test": False, "reuse_predictions": False})


def test_run_final_makes_a_gated_run_and_keeps_it(tmp_path, capsys):
    from helpers.gate import final_checked
    from helpers.run import main

    command = ["--profile", "smoke", "--final", *(f"--set={k}={v}" for k, v in {
        "workdir": tmp_path, "n_train": 16, "n_val": 12, "n_test": 20, "max_length": 32, "eval_each_epoch": False,
        "eval_sets": '""'}.items())]
    assert main(command) == 0
    results = tmp_path / "results/smoke"
    metrics, record = (json.loads((results / name).read_text()) for name in ("metrics.json", "run.json"))
    assert final_checked(results) and metrics["test_scored"] and metrics["n_test"] == 20
    validated = json.loads((results / "metrics_validation.json").read_text())
    assert validated["test_scored"] is False and validated["validation"] == metrics["validation"]
    passes = [(s["notebook"], s.get("pass")) for s in record["steps"]]
    assert passes == [("01_load", None), ("02_teacher_annotate", None), ("03_train_student", None),  # validation
                      ("04_evaluate_plot", None), ("02_teacher_annotate", "gate"), ("04_evaluate_plot", "gate"),
                      ("report", None)], passes  # both passes recorded: a gated run's minutes are all of them
    assert "ungated" not in Path(record["report"]).read_text()  # published again once final.json was written
    capsys.readouterr()
    assert main(command) == 0  # already gated with these parameters: nothing rerun
    assert "already scored on test through the gate" in capsys.readouterr().out and final_checked(results)
    from helpers import run as runner

    parameters = runner.resolve_parameters("smoke", record["parameters"])
    assert runner.gated_already(results, parameters)
    here = runner.environment
    runner.environment = lambda: {**here(), "git_commit": "another commit"}
    try:  # gated by other code: not kept
        assert not runner.gated_already(results, parameters)
    finally:
        runner.environment = here
    assert main([*command, "--steps", "04"]) == 1
    assert capsys.readouterr().err.startswith("error: --final runs every notebook")
