"""The papermill runner: parameter checks, a full smoke run, and failures that name the notebook and cell."""

import json
import subprocess
import sys

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
    assert set(metrics["models"]) == {"majority", "teacher", "student"} and "neutral" in metrics["mapping"]
    for scores in metrics["models"].values():
        assert scores["n"] == 40 and 0 <= scores["accuracy"] <= 1
        assert scores["accuracy_ci95"][0] <= scores["accuracy"] <= scores["accuracy_ci95"][1]
        assert sum(map(sum, scores["confusion_matrix"])) == 40
    assert metrics["models"]["majority"]["accuracy"] == 0.5  # the test sample is stratified
    record = json.loads((results / "run.json").read_text())
    assert [s["notebook"] for s in record["steps"]] == [nb.stem for nb in notebooks()] + ["report"]
    assert all(s["status"] == "ok" and s["seconds"] > 0 for s in record["steps"])
    assert record["parameters"]["n_train"] == 48 and record["packages"]["transformers"].startswith("5.")


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
