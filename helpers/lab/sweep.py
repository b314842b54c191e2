"""Run variants of a profile over seeds, each as its own run, and collect one table ranked on validation.

`python -m helpers.lab.sweep --profile ablation_base --variants params/ablation.yaml --seeds 42 --set data_dir=...`
`python -m helpers.lab.sweep --profile offline --seeds 42 43 44` (no variants file: the profile itself, over seeds)

Variants are scored on validation only (`score_test: false`): no model meets a test label while choosing.
`--final` then scores the variant the recorded sweep chose, for the seeds it ran, on test, through the gate
(`helpers.gate`): the teacher annotates test (02), then 04 scores it, on the weights validated (their hashes are
checked), at the precisions validated, training nothing; it refuses a run whose validation figures it does not
reproduce to every digit. The tables show a run's test figures only if its final.json is valid for them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import yaml

from ..calibrate import held_out_validation_ece
from ..errors import ConfigError, UserError
from ..gate import final_checked, score_on_test
from ..paths import RunPaths, atomic_path, read_json, resolve, run_name, write_json
from ..run import notebooks, parse_overrides, resolve_parameters, run, same_work
from ..student import TRAINING_FILE
from ..tables import display_table

CHOSEN_BY = ("validation accuracy of the student, mean over the seeds every variant ran (paired: a variant with "
             "more seeds is not compared on its extra ones)")


def load_variants(path: str | None) -> tuple[dict, dict[str, dict]]:
    """The sweep file's `common` overrides and its `variants` (name -> overrides); no file: one variant, `base`."""
    if not path:
        return {}, {"base": {}}
    spec = yaml.safe_load(resolve(path).read_text()) or {}
    if not spec.get("variants"):
        raise ConfigError(f"{path} has no 'variants': map each variant name to its parameter overrides")
    return spec.get("common") or {}, {name: changes or {} for name, changes in spec["variants"].items()}


def run_row(metrics: dict, gated: bool) -> dict:
    """One run's figures: the student on validation and, if the run is `gated` (a final.json valid for these
    metrics), on test, with the references and the paired test."""
    validation = metrics.get("validation") or {"models": {}}
    return {"val_acc": validation["models"].get("student", {}).get("accuracy"),
            "val_teacher_acc": validation["models"].get("teacher", {}).get("accuracy"),
            **(test_row(metrics) if gated else dict.fromkeys(TEST_COLUMNS)), "n_val": validation.get("n"),
            "precision": (metrics.get("precision") or {}).get("student", {}).get("precision")}


TEST_COLUMNS = ("test_acc", "test_f1", "teacher_test_acc", "gold_test_acc", "student_minus_teacher", "mcnemar_p",
                "n_test")


def test_row(metrics: dict) -> dict:
    """A run's test figures: the student, the references, the paired comparison with the teacher."""
    models = metrics["models"]
    versus_teacher = metrics.get("comparisons", {}).get("student - teacher", {})
    return {"test_acc": models["student"]["accuracy"], "test_f1": models["student"]["f1"],
            "teacher_test_acc": models["teacher"]["accuracy"],
            "gold_test_acc": models.get("gold_supervised", {}).get("accuracy"),
            "student_minus_teacher": versus_teacher.get("difference"), "mcnemar_p": versus_teacher.get("mcnemar_p"),
            "n_test": metrics["n_test"]}


def run_minutes(results: Path) -> float | None:
    """Minutes the run's notebooks took to make what choosing needs (01-04, from run.json; not the report)."""
    steps = read_json(results / "run.json").get("steps", [])
    seconds = [step["seconds"] for step in steps if step["notebook"] != "report" and step.get("seconds")]
    return round(sum(seconds) / 60, 2) if seconds else None


def run_status(results: Path, expected: dict) -> str:
    """'ok' if the run finished every notebook with parameters that make the `expected` run's artifacts
    (`run.same_work`), else why not: 'not run', 'failed in <notebook>', 'unfinished' or 'other parameters' (a stale
    run of an older definition). The one definition of a finished run."""
    record_file = results / "run.json"
    if not record_file.exists():
        return "not run"
    record = read_json(record_file)
    if not same_work(record.get("parameters", {}), expected):
        return "other parameters"
    steps = {step["notebook"]: step.get("status") for step in record.get("steps", [])}
    failed = [name for name, status in steps.items() if status == "failed"]
    if failed:
        return f"failed in {failed[0]}"
    if any(steps.get(nb.stem) != "ok" for nb in notebooks()) or not (results / "metrics.json").exists():
        return "unfinished"
    return "ok"


def collect(runs: dict[tuple[str, int], tuple[Path, dict]]) -> pd.DataFrame:
    """One row per (variant, seed): its status, and its figures if it finished with the variant's parameters (its
    test figures only if it passed the gate; the runs scored on test without it are named in one line)."""
    rows, refused = [], []
    for (variant, seed), (results, expected) in runs.items():
        status = run_status(results, expected)
        figures = {}
        if status == "ok":
            metrics, gated = read_json(results / "metrics.json"), final_checked(results)
            refused += [results.name] if metrics.get("test_scored", True) and not gated else []
            figures = {**run_row(metrics, gated), "val_ece": held_out_ece(results),
                       "minutes": run_minutes(results)}
        rows.append({"variant": variant, "seed": seed, "status": status, **figures})
    if refused:
        print(f"test figures left out of the table: {', '.join(refused)}: no final.json valid for the metrics.json "
              "(score them through the gate: --final)", file=sys.stderr)
    return pd.DataFrame(rows)


def held_out_ece(results: Path) -> float | None:
    """The student's validation ECE held out (`calibrate.held_out_validation_ece` of its training.json), or the
    run's validation ECE where no map was fitted on validation; None where only an in-sample figure exists."""
    training = RunPaths.of(str(results.parent.parent), results.name).student / TRAINING_FILE  # beside its results
    record = read_json(training) if training.exists() else {}
    relearned = record.get("self_calibration") or {}
    fitted = (record.get("calibration") or {}).get("folded") or (relearned and "skipped" not in relearned
                                                                 and relearned.get("kept", True))
    validation = (read_json(results / "metrics.json").get("validation") or {}).get("models", {})
    return held_out_validation_ece(record) if fitted else validation.get("student", {}).get("ece")


def shared_seeds(per_run: pd.DataFrame) -> list[int]:
    """The seeds on which every variant that ran has a validation accuracy."""
    scored = per_run.dropna(subset=["val_acc"]) if "val_acc" in per_run else per_run.iloc[:0]
    sets = [set(group["seed"]) for _, group in scored.groupby("variant")]
    return sorted(set.intersection(*sets)) if sets else []


SPREAD = ("val_acc", "val_ece", "test_acc", "teacher_test_acc", "gold_test_acc", "student_minus_teacher", "minutes")
FIGURES = SPREAD + ("n_val", "n_test")


def summarise(per_run: pd.DataFrame, changes: dict[str, dict]) -> pd.DataFrame:
    """Per variant: mean, standard deviation and range over the seeds that finished; ranked by validation on the
    shared seeds (paired); the winner marked. Every variant is listed, with what became of each of its runs."""
    per_run = per_run.assign(**{c: per_run[c] if c in per_run else None for c in FIGURES})
    paired = shared_seeds(per_run)
    rows = []
    for variant in changes:
        group = per_run[per_run["variant"] == variant]
        done = group[group["status"] == "ok"]
        row = {"variant": variant, "changes": ", ".join(f"{k}={v}" for k, v in changes[variant].items()) or "-",
               "seeds": len(done), "shared_seeds": " ".join(map(str, paired)) or "-",
               "runs": "; ".join(f"s{seed}: {status}" for seed, status in zip(group["seed"], group["status"])) or "not run"}
        for column in SPREAD:
            values = pd.to_numeric(done[column], errors="coerce").dropna()
            row[f"{column}_mean"] = values.mean() if len(values) else None
            row[f"{column}_std"] = values.std(ddof=1) if len(values) > 1 else None
            row[f"{column}_min"], row[f"{column}_max"] = (values.min(), values.max()) if len(values) else (None, None)
        on_shared = pd.to_numeric(done.loc[done["seed"].isin(paired), "val_acc"], errors="coerce").dropna()
        row["val_acc_shared"] = on_shared.mean() if len(on_shared) else None
        row["n_val"] = done["n_val"].iloc[0] if len(done) else None
        tested = done["n_test"].dropna()
        row["n_test"] = tested.iloc[0] if len(tested) else None
        rows.append(row)
    table = pd.DataFrame(rows).sort_values(["val_acc_shared", "val_acc_mean"], ascending=False, na_position="last",
                                           kind="stable")
    table["chosen"] = ["yes" if i == 0 and pd.notna(v) else "" for i, v in enumerate(table["val_acc_shared"])]
    return table.reset_index(drop=True)


def markdown(table: pd.DataFrame) -> str:
    """The summary as Markdown."""
    return display_table(table).to_markdown(index=False)


def sweep(profile: str, variants_file: str | None, name: str, overrides: dict, seeds: list[int] | None = None,
          only: list[str] | None = None, run_nothing: bool = False, final: bool = False) -> Path:
    """Run each variant (or `only` those) for each seed as run `<name>-<variant>-s<seed>`, scored on validation
    only, then tabulate every variant in `results/<name>/sweep.{csv,md,json}`, ranked on validation. With `final`,
    score the recorded choice on test instead (`finalise`)."""
    if final:
        return finalise(profile, name, overrides, seeds)
    common, variants = load_variants(variants_file)
    unknown = sorted(set(only or []) - set(variants))
    if unknown:
        raise ConfigError(f"--only {', '.join(unknown)}: not in {variants_file or 'the sweep'}; choose from {', '.join(variants)}")
    seeds = seeds or [resolve_parameters(profile, {**common, **overrides}).get("seed", 42)]
    workdir = overrides.get("workdir", common.get("workdir", "."))
    runs = planned_runs(profile, name, common, variants, overrides, seeds, workdir)
    for (variant, seed), (results, params) in runs.items():
        if run_nothing or (only and variant not in only):
            continue
        print(f"=== variant {variant}, seed {seed}: {variants[variant]}", flush=True)
        if run_status(results, params) == "ok":
            print(f"{params['run_name']} already done with these parameters: kept", flush=True)
            continue
        try:
            run(profile, {**params, "score_test": False})
        except UserError as err:
            print(f"{params['run_name']} failed: {err}", file=sys.stderr)
    per_run = collect(runs)
    table = tabulate(per_run, variants, name, workdir)
    write_json({"profile": profile, "variants_file": variants_file, "seeds": seeds, "chosen_by": CHOSEN_BY,
                "variants": variants, "common": common, "overrides": overrides,
                "summary": table.to_dict("records"), "runs": per_run.to_dict("records")},
               RunPaths.of(workdir, name).results / "sweep.json")
    return RunPaths.of(workdir, name).results


def planned_runs(profile: str, name: str, common: dict, variants: dict[str, dict], overrides: dict, seeds: list[int],
                 workdir: str) -> dict[tuple[str, int], tuple[Path, dict]]:
    """(variant, seed) -> the run's results folder and resolved parameters."""
    return {(variant, seed): _planned(profile, name, variant, seed, {**common, **changes, **overrides}, workdir)
            for variant, changes in variants.items() for seed in seeds}


def tabulate(per_run: pd.DataFrame, variants: dict[str, dict], name: str, workdir: str) -> pd.DataFrame:
    """Write sweep_runs.csv, sweep.csv and sweep.md (the table ranked on validation); return the summary."""
    table = summarise(per_run, variants)
    if not (per_run["status"] == "ok").any():
        raise UserError(f"no run of sweep {name!r} finished with its variant's parameters: nothing to tabulate "
                        f"({'; '.join(f'{v} s{s}: {st}' for v, s, st in per_run[['variant', 'seed', 'status']].to_numpy())})")
    out = RunPaths.of(workdir, name).results
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "sweep_runs.csv") as tmp:
        per_run.to_csv(tmp, index=False)
    with atomic_path(out / "sweep.csv") as tmp:
        table.to_csv(tmp, index=False)
    text = markdown(table)
    with atomic_path(out / "sweep.md") as tmp:
        tmp.write_text(f"Ranked by {CHOSEN_BY}; test accuracy is shown only for runs scored on test through the "
                       f"gate (`--final`, a valid final.json), never used to choose. Minutes per run: notebooks 01-04 "
                       f"as each run recorded them.\n\n{text}\n")
    print(text)
    return table


def recorded_sweep(workdir: str, name: str) -> tuple[dict, str]:
    """The sweep's record (sweep.json) and the variant it chose, or a one-line error."""
    record_file = RunPaths.of(workdir, name).results / "sweep.json"
    if not record_file.exists():
        raise UserError(f"no sweep {name!r} recorded ({record_file} does not exist): run the sweep first, "
                        "without --final")
    record = read_json(record_file)
    chosen = next((row["variant"] for row in record["summary"] if row.get("chosen") == "yes"), None)
    if chosen is None:
        raise UserError(f"sweep {name!r} chose no variant: no seed has a validation accuracy for every variant")
    return record, chosen


def chosen_runs(profile: str, name: str, record: dict, chosen: str, workdir: str, overrides: dict | None = None,
                seeds: list[int] | None = None) -> list[tuple[int, Path, dict, str]]:
    """The chosen variant's runs of a recorded sweep (its seeds, or `seeds`): (seed, results, parameters, status)."""
    seeds = seeds or [row["seed"] for row in record["runs"] if row["variant"] == chosen]
    runs = planned_runs(profile, name, record["common"], {chosen: record["variants"][chosen]},
                        {**record["overrides"], **(overrides or {})}, seeds, workdir)
    return [(seed, results, params, run_status(results, params)) for (_, seed), (results, params) in runs.items()]


def finalise(profile: str, name: str, overrides: dict, seeds: list[int] | None = None) -> Path:
    """Score the variant the recorded sweep chose on test through the gate (`gate.score_on_test`), for its seeds (or
    `seeds`): 02 annotates test, 04 scores it, on the very weights validated, at the precisions validated, training
    nothing; refused if a run is not finished, its weights changed, or the scoring does not reproduce its validation
    figures to every digit."""
    workdir = overrides.get("workdir", ".")
    record, chosen = recorded_sweep(workdir, name)
    runs = chosen_runs(profile, name, record, chosen, workdir, overrides, seeds)
    print(f"final: variant {chosen!r}, chosen on validation, scored on test for seeds "
          f"{', '.join(str(seed) for seed, *_ in runs)}", flush=True)
    for seed, results, params, status in runs:
        if status != "ok":
            raise UserError(f"{params['run_name']}: {status}: validate it first (python -m helpers.lab.sweep without --final)")
    for seed, results, params, _ in runs:
        score_on_test(profile, results, params, run)
    common, variants = record["common"], record["variants"]
    per_run = collect(planned_runs(profile, name, common, variants, {**record["overrides"], **overrides},
                                   record["seeds"], workdir))
    tabulate(per_run, variants, name, workdir)
    return RunPaths.of(workdir, name).results


def _planned(profile: str, name: str, variant: str, seed: int, params: dict, workdir: str) -> tuple[Path, dict]:
    """A run's results folder and its resolved parameters (as its run.json must record them)."""
    params = {**params, "seed": seed, "run_name": run_name(name, variant, seed)}
    return RunPaths.of(workdir, params["run_name"]).results, resolve_parameters(profile, params)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m helpers.lab.sweep", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="offline", help="base profile (default: offline)")
    parser.add_argument("--variants", help="YAML with 'common' and 'variants'; without it, the profile alone")
    parser.add_argument("--name", help="sweep name: runs are <name>-<variant>-s<seed> (default: the profile's name)")
    parser.add_argument("--seeds", nargs="+", type=int, help="run each variant with each seed (default: the profile's)")
    parser.add_argument("--only", nargs="+", help="run only these variants (the table still shows the others' runs)")
    parser.add_argument("--no-run", action="store_true", help="only tabulate the runs that already finished")
    parser.add_argument("--final", action="store_true",
                        help="score the recorded sweep's chosen variant on test, for its seeds (or --seeds): "
                             "02 annotates test, 04 scores it, on the validated weights")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a parameter in every run")
    args = parser.parse_args(argv)
    try:
        out = sweep(args.profile, args.variants, args.name or Path(args.profile).stem, parse_overrides(args.overrides),
                    args.seeds, args.only, args.no_run, args.final)
        print(f"done: {out}")
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
