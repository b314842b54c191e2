"""The sweep runner: every (variant, seed) is its own run; one table ranks the variants on validation."""

import json

import nbformat
import pandas as pd
import pytest
import yaml

from helpers.lab.sweep import summarise, sweep
from helpers.paths import PROJECT_ROOT
from helpers.tables import display_table


def scored(*args, **kwargs):
    """The runner where the gate must not reach it: no test review may be scored."""
    pytest.fail("test was scored")


def write_variants(path, variants):
    path.write_text(yaml.safe_dump({"common": {"n_train": 16, "n_val": 12, "n_test": 20, "max_length": 32,
                                               "eval_each_epoch": False, "eval_sets": ""}, "variants": variants}))
    return str(path)


def test_sweep_chooses_on_validation_without_scoring_test_then_final_scores_the_chosen(tmp_path, monkeypatch, capsys):
    import shutil

    from helpers.lab import readme
    from helpers.paths import PROJECT_ROOT
    from helpers.lab.sweep import main

    variants = write_variants(tmp_path / "variants.yaml", {"hard": {"distill_loss": "hard"},
                                                           "soft": {"distill_loss": "soft", "temperature": 3.0}})
    out = sweep("smoke", variants, "mini", {"workdir": str(tmp_path)}, seeds=[7])
    runs, table = pd.read_csv(out / "sweep_runs.csv"), pd.read_csv(out / "sweep.csv")
    best = runs.sort_values("val_acc", ascending=False, kind="stable")["variant"].iloc[0]  # from the runs themselves
    assert table.set_index("variant").loc[best, "chosen"] == "yes" and (table["chosen"] == "yes").sum() == 1
    assert sorted(table["variant"]) == ["hard", "soft"] and (table["seeds"] == 1).all()
    assert (table["minutes_mean"] > 0).all()  # each variant's time, from its run.json
    ece = {v: json.loads((tmp_path / f"results/mini-{v}-s7/metrics.json").read_text())["validation"]["models"]
           ["student"]["ece"] for v in ("hard", "soft")}
    assert table.set_index("variant")["val_ece_mean"].to_dict() == pytest.approx(ece)  # the saved student's ECE
    for variant in ("hard", "soft"):  # no model met a test label while choosing
        metrics = json.loads((tmp_path / f"results/mini-{variant}-s7/metrics.json").read_text())
        assert metrics["test_scored"] is False and metrics["models"] == {} and metrics["validation"]["n"] == 12
        assert set(metrics["weights"]) == {"student"} and len(metrics["weights"]["student"]) == 20
        executed = nbformat.read(tmp_path / f"results/mini-{variant}-s7/notebooks/02_teacher_annotate.ipynb", 4)
        crosstab = next(c for c in executed.cells if c.cell_type == "code" and "pd.crosstab" in c.source)
        shown = "".join(output.get("data", {}).get("text/plain", "") for output in crosstab.outputs)
        assert "validation" in shown and "test" not in shown  # 02 compares the teacher with validation's labels only
    assert table["test_acc_mean"].isna().all() and table["n_test"].isna().all()
    text = (out / "sweep.md").read_text()
    assert "12 / -" in text and "distill_loss=soft, temperature=3.0" in text and "Ranked by validation accuracy" in text
    assert "minutes per run" in text and "validation ECE, held out (the student as saved)" in text
    summary = json.loads((out / "sweep.json").read_text())
    assert summary["seeds"] == [7] and "validation" in summary["chosen_by"]
    sweep_record = (out / "sweep.json").read_text()

    chosen = tmp_path / f"results/mini-{best}-s7"
    validated = json.loads((chosen / "metrics.json").read_text())
    steps_before = json.loads((chosen / "run.json").read_text())["steps"]
    checkpoints = sorted(path for path in (tmp_path / f"models/mini-{best}-s7").rglob("*")
                         if path.is_file() and path.name != "README.md")  # 04 rewrites the model card, nothing else
    stamps = {path: path.stat().st_mtime_ns for path in checkpoints}
    capsys.readouterr()
    # the README's workflow, as written: the sweep over seeds, then --final (no --seeds: the recorded ones)
    assert main(["--profile", "smoke", "--variants", variants, "--name", "mini", "--final",
                 "--set", f"workdir={tmp_path}"]) == 0
    log = capsys.readouterr().out
    assert "seeds 7" in log and "[1/1] 04_evaluate_plot" in log and "03_train_student" not in log
    assert "[1/1] 02_teacher_annotate" in log  # a validated run never annotated test: 02 does it, checked, then 04
    assert {path: path.stat().st_mtime_ns for path in checkpoints} == stamps  # no weight, no checkpoint rewritten
    final = json.loads((chosen / "metrics.json").read_text())
    assert final["test_scored"] is True and final["n_test"] == 20
    assert final["weights"] == validated["weights"]  # the very weights validated ...
    assert final["validation"] == validated["validation"]  # ... reproduce validation to every digit ...
    assert final["precision"]["student"]["precision"] == validated["precision"]["student"]["precision"]
    record = json.loads((chosen / "run.json").read_text())
    assert record["parameters"]["score_test"] is True
    rerun = ("02_teacher_annotate", "04_evaluate_plot", "report")
    assert [s for s in record["steps"] if s["notebook"] not in rerun] == \
        [s for s in steps_before if s["notebook"] not in rerun]  # 01 and 03 not rerun
    assert json.loads((chosen / "final.json").read_text())["weights"] == validated["weights"]
    from helpers.gate import final_checked

    assert final_checked(chosen)
    assert (out / "sweep.json").read_text() == sweep_record  # the choice stands as recorded
    table = pd.read_csv(out / "sweep.csv").set_index("variant")
    other = ({"hard", "soft"} - {best}).pop()
    assert table.loc[best, "n_test"] == 20 and 0 <= table.loc[best, "test_acc_mean"] <= 1
    assert pd.isna(table.loc[other, "test_acc_mean"])  # only the chosen variant is looked at on test
    assert table.loc[best, "chosen"] == "yes"

    # a run the recorded sweep lists but that is stale (another seed's copy) is left out and named, never tabulated
    shutil.copytree(chosen, tmp_path / f"results/mini-{best}-s8")
    record = json.loads(sweep_record)
    record["runs"].append({**record["runs"][0], "variant": best, "seed": 8})
    (out / "sweep.json").write_text(json.dumps(record))
    monkeypatch.setattr(readme, "PROJECT_ROOT", tmp_path)
    monkeypatch.setattr(readme, "resolve", lambda path: tmp_path / path)
    shutil.copy(PROJECT_ROOT / "README.md", tmp_path / "README.md")
    assert readme.main(["--sweep", "mini", "--workdir", str(tmp_path)]) == 0
    written = (tmp_path / "README.md").read_text()
    assert "1 seed (7) of the main job" in written
    assert f"mini-{best}-s8: other parameters" in (tmp_path / readme.DETAIL).read_text()  # the long form says why
    assert f"mini-{best}-s8: other parameters" in capsys.readouterr().err


def test_final_refuses_weights_that_are_not_the_ones_validated(tmp_path, monkeypatch):
    from helpers.errors import UserError
    from helpers.gate import score_on_test
    from helpers.paths import write_json

    results = tmp_path / "results" / "r"
    write_json({"test_scored": False, "weights": {"student": "0" * 20}}, results / "metrics.json")
    monkeypatch.setattr("helpers.student.weights_hash", lambda folder: "1" * 20)
    with pytest.raises(UserError, match="not those validated"):
        score_on_test("smoke", results, {"workdir": str(tmp_path), "run_name": "r"}, scored)
    assert not (results / "metrics_validation.json").exists()


def test_final_without_a_recorded_sweep_says_so_in_one_line(tmp_path, capsys):
    from helpers.lab.sweep import main

    assert main(["--profile", "smoke", "--final", "--set", f"workdir={tmp_path}"]) == 1
    assert "run the sweep first" in capsys.readouterr().err


def test_a_failed_or_stale_run_is_listed_and_never_tabulated_or_chosen(tmp_path):
    variants = tmp_path / "variants.yaml"
    write_variants(variants, {"hard": {"distill_loss": "hard"}, "big": {"distill_loss": "soft"}})
    sweep("smoke", str(variants), "mini", {"workdir": str(tmp_path)}, seeds=[7])
    # "big" is redefined: its old metrics.json is still on disk, but its new definition fails in 01
    write_variants(variants, {"hard": {"distill_loss": "hard"}, "big": {"distill_loss": "soft", "n_test": 100000}})
    stale = pd.read_csv(sweep("smoke", str(variants), "mini", {"workdir": str(tmp_path)}, seeds=[7],
                              run_nothing=True) / "sweep.csv").set_index("variant")
    assert stale.loc["big", "runs"] == "s7: other parameters" and pd.isna(stale.loc["big", "val_acc_mean"])
    table = pd.read_csv(sweep("smoke", str(variants), "mini", {"workdir": str(tmp_path)}, seeds=[7]) / "sweep.csv")
    table = table.set_index("variant")
    assert table.loc["big", "runs"] == "s7: failed in 01_load" and table.loc["big", "seeds"] == 0
    assert pd.isna(table.loc["big", "val_acc_mean"]) and table.loc["big", "chosen"] != "yes"
    assert table.loc["hard", "chosen"] == "yes"


def test_seed_summary_gives_mean_sd_and_range_per_variant():
    runs = pd.DataFrame({"variant": ["a"] * 3 + ["b"], "seed": [1, 2, 3, 1], "status": "ok",
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
    runs = pd.DataFrame({"variant": ["a"] * 3 + ["b"], "seed": [1, 2, 3, 1], "status": "ok",
                         "val_acc": [0.78, 0.74, 0.75, 0.77], "test_acc": [0.7] * 4,
                         "teacher_test_acc": [0.6] * 4, "gold_test_acc": [None] * 4,
                         "student_minus_teacher": [0.1] * 4, "n_val": [100] * 4, "n_test": [200] * 4})
    table = summarise(runs, {"a": {}, "b": {}}).set_index("variant")
    assert table.loc["a", "chosen"] == "yes" and table.loc["b", "chosen"] == ""
    assert table.loc["a", "val_acc_shared"] == pytest.approx(0.78) and table.loc["a", "shared_seeds"] == "1"
    assert table.loc["a", "val_acc_mean"] == pytest.approx(0.7566667)
    shown = display_table(table.reset_index())
    assert shown.columns[3] == "**validation** acc., seed(s) 1 (chooses)" and shown.iloc[0, 3] == "0.780"


def test_final_recomputes_what_it_compares_and_refuses_predictions_that_differ(tmp_path):
    """Validation scored from a stale prediction cache (e.g. another device's) reproduces itself from that cache;
    --final scores validation afresh, so it finds the difference and scores nothing it could report."""
    import numpy as np

    from helpers.errors import UserError
    from helpers.run import run
    from helpers.lab.sweep import finalise

    variants = write_variants(tmp_path / "variants.yaml", {"hard": {"distill_loss": "hard"}})
    sweep("smoke", variants, "stale", {"workdir": str(tmp_path)}, seeds=[7])
    for cached in (tmp_path / "data/cache/predictions").glob("*.npy"):  # a stale entry: labels flipped
        np.save(cached, np.load(cached)[:, ::-1].copy())
    results = tmp_path / "results/stale-hard-s7"
    params = json.loads((results / "run.json").read_text())["parameters"]
    run("smoke", {**params, "score_test": False}, steps=["04"])  # validation now scored from the stale cache
    stale = json.loads((results / "metrics.json").read_text())
    with pytest.raises(UserError, match="did not reproduce validation"):
        finalise("smoke", "stale", {"workdir": str(tmp_path)})
    assert json.loads((results / "metrics.json").read_text()) == stale  # the validated metrics stay
    assert json.loads((results / "metrics_final_rejected.json").read_text())["validation"] != stale["validation"]
    assert not (results / "final.json").exists()


def test_final_settles_the_precision_before_it_scores_test(tmp_path, monkeypatch):
    from helpers.errors import UserError
    from helpers.gate import score_on_test
    from helpers.paths import write_json

    results = tmp_path / "results" / "r"
    write_json({"test_scored": False, "weights": {"student": "0" * 20},
                "precision": {"student": {"precision": "fp32"}}}, results / "metrics.json")
    monkeypatch.setattr("helpers.student.weights_hash", lambda folder: "0" * 20)
    monkeypatch.setattr("helpers.gate.settled_precision", lambda paths, params: "bf16")
    with pytest.raises(UserError, match="scores nothing on test"):
        score_on_test("smoke", results, {"workdir": str(tmp_path), "run_name": "r"}, scored)
    assert not (results / "metrics_validation.json").exists()


def test_a_final_stopped_before_its_checks_ended_is_checked_again_not_kept(tmp_path, monkeypatch):
    from helpers.errors import UserError
    from helpers.gate import score_on_test
    from helpers.paths import write_json

    results = tmp_path / "results" / "r"
    validated = {"test_scored": False, "weights": {"student": "0" * 20}}
    write_json({**validated, "test_scored": True}, results / "metrics.json")  # 04 wrote it, then the process died
    write_json(validated, results / "metrics_validation.json")
    monkeypatch.setattr("helpers.student.weights_hash", lambda folder: "1" * 20)
    with pytest.raises(UserError, match="not those validated"):  # checked again, not "already scored: kept"
        score_on_test("smoke", results, {"workdir": str(tmp_path), "run_name": "r"}, scored)
    assert json.loads((results / "metrics.json").read_text()) == validated


def test_a_tables_test_figures_come_only_from_runs_that_passed_the_gate(tmp_path, capsys):
    from helpers import cache
    from helpers.lab.sweep import collect
    from helpers.paths import write_json
    from helpers.run import notebooks

    results, expected = tmp_path / "results/mini-v-s7", {"seed": 7, "run_name": "mini-v-s7"}
    write_json({"parameters": expected, "steps": [{"notebook": nb.stem, "status": "ok", "seconds": 6.0}
                                                  for nb in notebooks()]}, results / "run.json")
    metrics = {"test_scored": True, "n_test": 20, "validation": {"n": 12, "models": {"student": {"accuracy": 0.75}}},
               "models": {"student": {"accuracy": 0.9, "f1": 0.9}, "teacher": {"accuracy": 0.6},
                          "gold_supervised": {"accuracy": 0.95}},
               "comparisons": {"student - teacher": {"difference": 0.3, "mcnemar_p": 0.01}}}
    write_json(metrics, results / "metrics.json")
    runs = {("v", 7): (results, expected)}
    row = collect(runs).iloc[0]  # scored on test, but no final.json: its test figures are not shown
    assert row["status"] == "ok" and row["val_acc"] == 0.75
    assert all(row[column] is None for column in ("test_acc", "teacher_test_acc", "gold_test_acc",
                                                  "student_minus_teacher", "n_test"))
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "mini-v-s7" in error and "final.json" in error
    write_json({"metrics": cache.key(metrics)}, results / "final.json")
    row = collect(runs).iloc[0]
    assert (row["test_acc"], row["gold_test_acc"], row["n_test"]) == (0.9, 0.95, 20)
    write_json({**metrics, "n_test": 21}, results / "metrics.json")  # final.json no longer valid for these figures
    assert collect(runs).iloc[0]["test_acc"] is None


RECORDS = PROJECT_ROOT / "results/records"
RETABULATE = {  # results/records/README.md's re-tabulate commands: (records folder, sweep, arguments)
    "sources": ("h200-2026-11-30", ["--variants", "params/sources.yaml", "--seeds", "42", "43",
                                    "--set", "data_dir=/tmp/imdb"]),
    "recipe": ("cpu-epyc-2026-11-30", ["--variants", "params/recipe.yaml", "--seeds", "42", "43",
                                       "--set", "data_dir=/work/shared/data/imdb",
                                       "--set", "teacher_sources=vader_sentences,zeroshot,rating"]),
    "stage2": ("cpu-epyc-2026-11-30", ["--variants", "{records}/results/stage2/variants.yaml", "--seeds", "42", "43",
                                       "--set", "data_dir=/work/shared/data/imdb"]),
    "pool": ("h200-pool-2026-11-30", ["--variants", "params/pool.yaml", "--seeds", "42", "43",
                                      "--set", "data_dir=/tmp/imdb"]),
    "targets": ("h200-targets-2026-11-30", ["--variants", "params/targets.yaml", "--seeds", "42",
                                            "--set", "data_dir=/tmp/imdb"]),
    "whole_pool": ("cpu-epyc-2026-12-01", ["--variants", "params/whole_pool.yaml", "--seeds", "42",
                                           "--set", "data_dir=/work/shared/data/imdb"]),
    "relabel": ("cpu-epyc-relabel-2026-12-02", ["--variants", "params/relabel.yaml", "--seeds", "42", "43",
                                                "--set", "data_dir=/work/shared/data/imdb"]),
    "budget": ("cpu-epyc-budget-2026-12-02", ["--variants", "params/budget.yaml", "--seeds", "42", "43",
                                              "--set", "data_dir=/work/shared/data/imdb"]),
    "selfcal": ("cpu-xeon-selfcal-2026-12-03", ["--variants", "params/selfcal.yaml", "--seeds", "42", "43", "44",
                                                "--set", "data_dir=/work/shared/data/imdb"]),
    "ratings": ("cpu-xeon-ratings-2026-12-03", ["--variants", "params/ratings.yaml", "--seeds", "42",
                                                "--set", "data_dir=/work/shared/data/imdb"]),
    "lean": ("cpu-epyc-lean-2026-12-03", ["--variants", "params/lean.yaml", "--seeds", "42",
                                          "--set", "data_dir=/work/shared/data/imdb"]),
    "lean_pool": ("cpu-epyc-lean-pool-2026-12-03", ["--variants", "params/lean_pool.yaml", "--seeds", "42", "43",
                                                    "--set", "data_dir=/work/shared/data/imdb"]),
    "lean_top": ("cpu-epyc-lean-top-2026-12-03", ["--variants", "params/lean_top.yaml", "--seeds", "42",
                                                  "--set", "data_dir=/work/shared/data/imdb"]),
}


@pytest.mark.parametrize("name", sorted(RETABULATE))
def test_the_migrated_records_still_re_tabulate_as_they_did_and_a_lacking_parameter_reads_as_other_work(name, tmp_path):
    """Each record's run.json holds every parameter (migrated once from its own commit's notebooks); re-tabulated
    (--no-run, into a copy) each run keeps the status its committed table gave it; a record lacking a parameter
    is not the same work, so it reads 'other parameters'."""
    import shutil

    from helpers.lab.sweep import main, run_status

    folder, args = RETABULATE[name]
    records = tmp_path / folder
    shutil.copytree(RECORDS / folder, records)
    command = ["--profile", "offline", "--name", name, "--no-run", "--set", f"workdir={records}",
               *(arg.format(records=records) for arg in args)]
    committed = pd.read_csv(RECORDS / folder / f"results/{name}/sweep_runs.csv").set_index(["variant", "seed"])
    assert main(command) == 0
    now = pd.read_csv(records / f"results/{name}/sweep_runs.csv").set_index(["variant", "seed"])
    assert now["status"].to_dict() == committed["status"].to_dict() and (now["status"] == "ok").any()
    # --final reads the committed sweep.json, not the variants file: its common must pin what the file pins
    recorded_common = json.loads((RECORDS / folder / f"results/{name}/sweep.json").read_text())["common"]
    assert recorded_common == json.loads((records / f"results/{name}/sweep.json").read_text())["common"]
    variant, seed = now[now["status"] == "ok"].index[0]
    record_file = records / f"results/{name}-{variant}-s{seed}/run.json"
    record = json.loads(record_file.read_text())
    expected = dict(record["parameters"])  # what the run made, as the re-tabulation just accepted it
    del record["parameters"]["rest_fraction"]
    record_file.write_text(json.dumps(record))
    assert run_status(record_file.parent, expected) == "other parameters"
