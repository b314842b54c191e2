"""The README's results section: written only from runs that passed the gate, of one recipe at one commit."""

import json
import re
import shutil

import pandas as pd
import pytest

from helpers import cache
from helpers.errors import UserError
from helpers.lab import readme
from helpers.paths import PROJECT_ROOT, write_json

RECORDS = PROJECT_ROOT / "results/records/cpu-epyc-main-2026-12-01/results"  # three seeds of one recipe, one commit


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A workdir holding the records' three seeds (metrics.json and run.json), and a README and docs/ of its own."""
    for run in ("offline", "offline-s43", "offline-s44"):
        (tmp_path / "results" / run).mkdir(parents=True)
        for name in ("metrics.json", "run.json"):
            shutil.copy(RECORDS / run / name, tmp_path / "results" / run / name)
        student = tmp_path / "models" / run / "distilled_sentiment"  # its training.json keeps the teacher's record
        student.mkdir(parents=True)
        shutil.copy(RECORDS.parent / "models" / run / "distilled_sentiment/training.json", student)
    shutil.copy(PROJECT_ROOT / "README.md", tmp_path / "README.md")
    (tmp_path / "results/records").mkdir(parents=True)
    shutil.copy(PROJECT_ROOT / readme.RECORDS_README, tmp_path / readme.RECORDS_README)
    monkeypatch.setattr(readme, "PROJECT_ROOT", tmp_path)
    monkeypatch.setattr(readme, "resolve", lambda path: tmp_path / path)
    return tmp_path


def gate(results):
    """A final.json valid for the metrics.json `results` holds, as the gate writes it."""
    write_json({"metrics": cache.key(json.loads((results / "metrics.json").read_text()))}, results / "final.json")


def edit_record(results, **changes):
    """Change top-level fields of a run's run.json; `parameters` entries are merged."""
    record = json.loads((results / "run.json").read_text())
    record["parameters"].update(changes.pop("parameters", {}))
    write_json({**record, **changes}, results / "run.json")


def test_readme_refuses_a_run_without_a_valid_final_json_in_one_line_naming_it(workdir, capsys):
    gate(workdir / "results/offline")
    gate(workdir / "results/offline-s44")
    stale = json.loads((workdir / "results/offline-s44/metrics.json").read_text())
    write_json({**stale, "n_test": 1}, workdir / "results/offline-s44/metrics.json")  # not the figures gated
    before = (workdir / "README.md").read_text()
    assert readme.main(["--run", "offline", "offline-s43", "offline-s44", "--workdir", str(workdir)]) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: offline-s43, offline-s44: no final.json valid for the metrics.json")
    assert error.count("\n") == 1 and "--final" in error
    assert (workdir / "README.md").read_text() == before and not (workdir / "docs").exists()


def test_a_gated_section_says_so_and_names_the_number_format_not_precision(workdir):
    for run in ("offline", "offline-s43", "offline-s44"):
        gate(workdir / "results" / run)
    assert readme.main(["--run", "offline", "offline-s43", "offline-s44", "--workdir", str(workdir)]) == 0
    section = (workdir / "README.md").read_text().split(readme.START)[1].split(readme.END)[0]
    assert "3 seeds (42, 43, 44) of the main job, mean ± sd, through the gate" in section and "Ungated" not in section
    assert re.search(r"\| \*\*student\*\*: all-MiniLM-L6-v2 \(22M parameters\), on the teacher's labels alone +\| "
                     r"0\.843 ± 0\.004 +\|", section)
    detail = (workdir / readme.DETAIL).read_text()
    assert "Number format: scoring: teacher (zeroshot bf16), student bf16" in detail and "Precision:" not in detail
    assert "through the gate (`--final`" in detail


def test_ungated_writes_the_section_marked_in_one_line_naming_each_run(workdir):
    gate(workdir / "results/offline")
    assert readme.main(["--run", "offline", "offline-s43", "offline-s44", "--workdir", str(workdir),
                        "--ungated"]) == 0
    section = (workdir / "README.md").read_text().split(readme.START)[1].split(readme.END)[0]
    marked = [line for line in section.splitlines() if line.startswith("**Ungated:**")]
    assert marked == [readme.ungated_line(["offline-s43", "offline-s44"])]
    assert "through the gate" not in section
    assert "--ungated`." in (workdir / readme.RECORDS_README).read_text()  # how to regenerate it: in the records
    assert readme.ungated_line(["offline-s43", "offline-s44"]) in (workdir / readme.DETAIL).read_text()


@pytest.mark.parametrize("changes, message", [
    ({"parameters": {"data_dir": "/tmp/imdb_cut"}}, "differ in data_dir, not only the seed"),
    ({"parameters": {"n_dev": 2000}}, "differ in n_dev"),
    ({"git_commit": "0" * 40}, "at one commit"),
])
def test_same_recipe_refuses_runs_of_other_data_parameters_or_commits(workdir, changes, message):
    folders = [workdir / "results" / run for run in ("offline", "offline-s43")]
    readme.same_recipe(folders)  # the seed and the run's name differ, nothing else
    edit_record(folders[1], **changes)
    with pytest.raises(UserError, match=message):
        readme.same_recipe(folders)


def test_same_recipe_refuses_a_record_lacking_a_parameter(workdir):
    folders = [workdir / "results" / run for run in ("offline", "offline-s43")]
    record = json.loads((folders[1] / "run.json").read_text())
    del record["parameters"]["self_calibration_learning_rate"]  # its value is today's default: still not the same
    write_json(record, folders[1] / "run.json")
    with pytest.raises(UserError, match="differ in self_calibration_learning_rate"):
        readme.same_recipe(folders)


def test_an_ablation_table_showing_an_ungated_test_figure_is_refused(tmp_path):
    sweep = tmp_path / "results/mini"
    sweep.mkdir(parents=True)
    (sweep / "sweep.md").write_text("| variant | test acc. |\n|---|---|\n| v | 0.9 |\n")
    pd.DataFrame([{"variant": "v", "seed": 7, "status": "ok", "val_acc": 0.8, "test_acc": 0.9},
                  {"variant": "w", "seed": 7, "status": "ok", "val_acc": 0.7, "test_acc": None}]
                 ).to_csv(sweep / "sweep_runs.csv", index=False)
    write_json({"test_scored": True}, tmp_path / "results/mini-v-s7/metrics.json")
    with pytest.raises(UserError, match=r"--ablation mini: its table shows test figures of mini-v-s7, which"):
        readme.sweep_table(str(tmp_path), "mini")
    gate(tmp_path / "results/mini-v-s7")
    (tmp_path / "params.yaml").write_text("# Sweep: which v wins, on validation only.\ncommon: {}\n")
    write_json({"seeds": [7], "variants_file": str(tmp_path / "params.yaml")}, sweep / "sweep.json")
    pd.DataFrame([{"variant": "v", "changes": "x=1", "seeds": 1, "val_acc_shared": 0.8, "val_acc_mean": 0.8,
                   "val_acc_std": None, "val_ece_mean": None, "test_acc_mean": 0.9, "test_acc_std": None,
                   "minutes_mean": 3.0, "chosen": "yes"},
                  {"variant": "w", "changes": "x=2", "seeds": 0, "val_acc_shared": None, "val_acc_mean": None,
                   "val_acc_std": None, "val_ece_mean": None, "test_acc_mean": None, "test_acc_std": None,
                   "minutes_mean": None, "chosen": None}]).to_csv(sweep / "sweep.csv", index=False)
    table = readme.sweep_table(str(tmp_path), "mini")
    assert table.startswith("#### Sweep: which v wins, on validation only\n")  # a heading that names the question
    assert re.search(r"\| v +\| x=1 +\| 1 +\| 0\.800 ", table) and "| w " not in table  # a variant that never ran: out
    assert "0.900" in table and "validation ECE" not in table  # the gated test figure; no column of dashes
