"""Run several variants of a profile, each as its own run, and collect one table.

`python -m helpers.sweep --profile offline --variants params/ablation.yaml --set data_dir=...`
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import yaml

from .errors import ConfigError, UserError
from .paths import RunPaths, atomic_path, read_json, resolve
from .report import markdown
from .run import completed, parse_overrides, resolve_parameters, run


def load_variants(path: str) -> tuple[dict, dict[str, dict]]:
    """The sweep file's `common` overrides and its `variants` (name -> overrides)."""
    spec = yaml.safe_load(resolve(path).read_text()) or {}
    if not spec.get("variants"):
        raise ConfigError(f"{path} has no 'variants': map each variant name to its parameter overrides")
    return spec.get("common") or {}, spec["variants"]


def collect(runs: dict[str, Path], overrides: dict[str, dict]) -> pd.DataFrame:
    """One row per variant from its metrics.json: student figures first, then the references."""
    rows = []
    for variant, results in runs.items():
        row = {"variant": variant, "changes": ", ".join(f"{k}={v}" for k, v in overrides[variant].items()) or "-"}
        metrics_file = results / "metrics.json"
        if metrics_file.exists():
            models = read_json(metrics_file)["models"]
            student = models["student"]
            row.update({"student_acc": student["accuracy"], "ci95_low": student["accuracy_ci95"][0],
                        "ci95_high": student["accuracy_ci95"][1], "student_f1": student["f1"],
                        "student_ece": student["ece"], "agreement": student["agreement_with_teacher"],
                        "teacher_acc": models["teacher"]["accuracy"],
                        "gold_acc": models.get("gold_supervised", {}).get("accuracy"), "n_test": student["n"]})
        rows.append(row)
    return pd.DataFrame(rows)


def sweep(profile: str, variants_file: str, name: str, overrides: dict) -> Path:
    """Run every variant of `profile` as run `<name>-<variant>`; write `results/<name>/ablation.{csv,md}`."""
    common, variants = load_variants(variants_file)
    runs = {}
    for variant, changes in variants.items():
        params = {**common, **(changes or {}), **overrides, "run_name": f"{name}-{variant}"}
        print(f"=== variant {variant}: {changes}", flush=True)
        if completed(resolve_parameters(profile, params)):
            print(f"variant {variant} already done with these parameters: kept", flush=True)
            runs[variant] = RunPaths.of(params.get("workdir", "."), params["run_name"]).results
            continue
        try:
            runs[variant] = run(profile, params)
        except UserError as err:
            print(f"variant {variant} failed: {err}", file=sys.stderr)
            runs[variant] = RunPaths.of(params.get("workdir", "."), params["run_name"]).results
    table = collect(runs, {v: c or {} for v, c in variants.items()})
    out = RunPaths.of(overrides.get("workdir", common.get("workdir", ".")), name).results
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "ablation.csv") as tmp:
        table.to_csv(tmp, index=False)
    with atomic_path(out / "ablation.md") as tmp:
        tmp.write_text(markdown(table) + "\n")
    print(markdown(table))
    return out


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m helpers.sweep", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="offline", help="base profile (default: offline)")
    parser.add_argument("--variants", default="params/ablation.yaml", help="YAML with 'common' and 'variants'")
    parser.add_argument("--name", default="ablation", help="sweep name: runs are <name>-<variant>")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a parameter in every variant")
    args = parser.parse_args(argv)
    try:
        print(f"done: {sweep(args.profile, args.variants, args.name, parse_overrides(args.overrides))}")
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
