"""Run variants of a profile over seeds, each as its own run, and collect one table ranked on validation.

`python -m helpers.sweep --profile ablation_base --variants params/ablation.yaml --seeds 42 --set data_dir=...`
`python -m helpers.sweep --profile offline --seeds 42 43 44` (no variants file: the profile itself, over seeds)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import yaml

from .errors import ConfigError, UserError
from .paths import RunPaths, atomic_path, read_json, resolve, write_json
from .run import completed, parse_overrides, resolve_parameters, run

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


def run_name(name: str, variant: str, seed: int) -> str:
    """`<sweep>-<variant>-s<seed>`."""
    return f"{name}-{variant}-s{seed}"


def run_row(metrics: dict) -> dict:
    """One run's figures: student on validation and test, the references, the paired student-teacher test."""
    models, validation = metrics["models"], metrics.get("validation") or {"models": {}}
    versus_teacher = metrics.get("comparisons", {}).get("student - teacher", {})
    return {"val_acc": validation["models"].get("student", {}).get("accuracy"),
            "val_teacher_acc": validation["models"].get("teacher", {}).get("accuracy"),
            "test_acc": models["student"]["accuracy"], "test_f1": models["student"]["f1"],
            "teacher_test_acc": models["teacher"]["accuracy"],
            "gold_test_acc": models.get("gold_supervised", {}).get("accuracy"),
            "student_minus_teacher": versus_teacher.get("difference"),
            "mcnemar_p": versus_teacher.get("mcnemar_p"), "n_val": validation.get("n"), "n_test": metrics["n_test"]}


def collect(runs: dict[tuple[str, int], Path]) -> pd.DataFrame:
    """One row per (variant, seed) run that has metrics."""
    rows = [{"variant": variant, "seed": seed, **run_row(read_json(results / "metrics.json"))}
            for (variant, seed), results in runs.items() if (results / "metrics.json").exists()]
    return pd.DataFrame(rows)


def shared_seeds(per_run: pd.DataFrame) -> list[int]:
    """The seeds on which every variant has a validation accuracy."""
    scored = per_run.dropna(subset=["val_acc"])
    sets = [set(group["seed"]) for _, group in scored.groupby("variant")]
    return sorted(set.intersection(*sets)) if sets else []


def summarise(per_run: pd.DataFrame, changes: dict[str, dict]) -> pd.DataFrame:
    """Per variant: mean, standard deviation and range over seeds; ranked by validation on the shared seeds (paired);
    the winner marked."""
    paired = shared_seeds(per_run)
    rows = []
    for variant, group in per_run.groupby("variant", sort=False):
        row = {"variant": variant, "changes": ", ".join(f"{k}={v}" for k, v in changes.get(variant, {}).items()) or "-",
               "seeds": len(group), "shared_seeds": " ".join(map(str, paired)) or "-"}
        for column in ("val_acc", "test_acc", "teacher_test_acc", "gold_test_acc", "student_minus_teacher"):
            values = group[column].dropna()
            row[f"{column}_mean"] = values.mean() if len(values) else None
            row[f"{column}_std"] = values.std(ddof=1) if len(values) > 1 else None
            row[f"{column}_min"], row[f"{column}_max"] = (values.min(), values.max()) if len(values) else (None, None)
        on_shared = group.loc[group["seed"].isin(paired), "val_acc"].dropna()
        row["val_acc_shared"] = on_shared.mean() if len(on_shared) else None
        row["n_val"], row["n_test"] = group["n_val"].iloc[0], group["n_test"].iloc[0]
        rows.append(row)
    table = pd.DataFrame(rows).sort_values(["val_acc_shared", "val_acc_mean"], ascending=False, na_position="last",
                                           kind="stable")
    table["chosen"] = ["yes" if i == 0 and pd.notna(v) else "" for i, v in enumerate(table["val_acc_shared"])]
    return table.reset_index(drop=True)


def spread(mean, std, low, high) -> str:
    """'0.781 ± 0.004 (0.776-0.785)', or the single value for one seed."""
    if mean is None or pd.isna(mean):
        return "-"
    if std is None or pd.isna(std):
        return f"{mean:.3f}"
    return f"{mean:.3f} ± {std:.3f} ({low:.3f}-{high:.3f})"


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    """The summary for reading: mean ± sd (min-max) per figure; the winner on validation marked."""
    if "val_acc_shared" not in table:  # a sweep.csv written before the paired choice
        table = table.assign(val_acc_shared=table["val_acc_mean"], shared_seeds="all")
    return pd.DataFrame({
        "variant": table["variant"], "changes": table["changes"], "seeds": table["seeds"],
        f"**validation** acc., seed(s) {table['shared_seeds'].iloc[0]} (chooses)": [
            "-" if pd.isna(v) else f"{v:.3f}" for v in table["val_acc_shared"]],
        "validation acc., all its seeds": [spread(*r) for r in table[[f"val_acc_{s}" for s in ("mean", "std", "min", "max")]].to_numpy()],
        "test acc.": [spread(*r) for r in table[[f"test_acc_{s}" for s in ("mean", "std", "min", "max")]].to_numpy()],
        "student − teacher (test)": [spread(*r) for r in table[[f"student_minus_teacher_{s}" for s in ("mean", "std", "min", "max")]].to_numpy()],
        "teacher test acc.": [spread(*r) for r in table[[f"teacher_test_acc_{s}" for s in ("mean", "std", "min", "max")]].to_numpy()],
        "n val / test": [f"{int(v):,} / {int(t):,}" for v, t in zip(table["n_val"].fillna(0), table["n_test"])],
        "chosen": table["chosen"]})


def markdown(table: pd.DataFrame) -> str:
    """The summary as Markdown."""
    return display_table(table).to_markdown(index=False)


def sweep(profile: str, variants_file: str | None, name: str, overrides: dict, seeds: list[int] | None = None,
          only: list[str] | None = None, run_nothing: bool = False) -> Path:
    """Run each variant (or `only` those) for each seed as run `<name>-<variant>-s<seed>`, then tabulate every
    variant's finished runs for those seeds in `results/<name>/sweep.{csv,md,json}`, ranked on validation."""
    common, variants = load_variants(variants_file)
    unknown = sorted(set(only or []) - set(variants))
    if unknown:
        raise ConfigError(f"--only {', '.join(unknown)}: not in {variants_file or 'the sweep'}; choose from {', '.join(variants)}")
    seeds = seeds or [resolve_parameters(profile, {**common, **overrides}).get("seed", 42)]
    workdir = overrides.get("workdir", common.get("workdir", "."))
    runs = {}
    for variant, changes in variants.items():
        for seed in seeds:
            params = {**common, **changes, **overrides, "seed": seed, "run_name": run_name(name, variant, seed)}
            runs[variant, seed] = RunPaths.of(workdir, params["run_name"]).results
            if run_nothing or (only and variant not in only):
                continue
            print(f"=== variant {variant}, seed {seed}: {changes}", flush=True)
            if completed(resolve_parameters(profile, params)):
                print(f"{params['run_name']} already done with these parameters: kept", flush=True)
                continue
            try:
                run(profile, params)
            except UserError as err:
                print(f"{params['run_name']} failed: {err}", file=sys.stderr)
    per_run = collect(runs)
    if per_run.empty:
        raise UserError("no run of this sweep finished: nothing to tabulate")
    table = summarise(per_run, variants)
    out = RunPaths.of(workdir, name).results
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "sweep_runs.csv") as tmp:
        per_run.to_csv(tmp, index=False)
    with atomic_path(out / "sweep.csv") as tmp:
        table.to_csv(tmp, index=False)
    text = markdown(table)
    with atomic_path(out / "sweep.md") as tmp:
        tmp.write_text(f"Ranked by {CHOSEN_BY}; test accuracy is shown, never used to choose.\n\n{text}\n")
    write_json({"profile": profile, "variants_file": variants_file, "seeds": seeds, "chosen_by": CHOSEN_BY,
                "summary": table.to_dict("records"), "runs": per_run.to_dict("records")}, out / "sweep.json")
    print(text)
    return out


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m helpers.sweep", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="offline", help="base profile (default: offline)")
    parser.add_argument("--variants", help="YAML with 'common' and 'variants'; without it, the profile alone")
    parser.add_argument("--name", help="sweep name: runs are <name>-<variant>-s<seed> (default: the profile's name)")
    parser.add_argument("--seeds", nargs="+", type=int, help="run each variant with each seed (default: the profile's)")
    parser.add_argument("--only", nargs="+", help="run only these variants (the table still shows the others' runs)")
    parser.add_argument("--no-run", action="store_true", help="only tabulate the runs that already finished")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a parameter in every run")
    args = parser.parse_args(argv)
    try:
        out = sweep(args.profile, args.variants, args.name or Path(args.profile).stem, parse_overrides(args.overrides),
                    args.seeds, args.only, args.no_run)
        print(f"done: {out}")
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
