"""The label-source protocol's first two stages, each a recorded sweep, ranked on validation only.

Stage 1 (proxy scale): `sources` (params/sources.yaml) on seed 42, its top 2 also on seed 43; then `recipe`
(params/recipe.yaml) on the sources that won, the same way. Stage 2 (full scale: 2,000 train +
6,000 unlabeled reviews): the two best of stage 1 on seeds 42 and 43. Every choice is read from the sweep.json
before it, so the record says how each was made. Runs already finished are kept, so a stopped protocol resumes;
`--minutes` stops starting runs after that long (the sweeps are still tabulated). The seeds and run names are the
protocol's own: `--set seed=...` or `--set run_name=...` is refused.

`python -m helpers.lab.protocol --minutes 170 --set data_dir=../shared/data/imdb`
`python -m helpers.lab.protocol --stages recipe full --sources-from results/records/h200-2026-11-30 --set ...`
"""

from __future__ import annotations

import argparse
import sys
import time

import yaml

from ..errors import ConfigError, UserError
from ..paths import RunPaths, read_json, write_json
from ..run import parse_overrides
from .sweep import load_variants, sweep

PROFILE = "offline"
FIRST, CONFIRM = 42, 43


def ranked(workdir: str, name: str) -> list[str]:
    """The variants of a recorded sweep, best first (its summary's order: validation, paired seeds); none yet: []."""
    record = RunPaths.of(workdir, name).results / "sweep.json"
    if not record.exists():
        return []
    return [row["variant"] for row in read_json(record)["summary"] if row.get("val_acc_shared") is not None]


class Clock:
    """Says whether there is time to start another run."""

    def __init__(self, minutes: float):
        self.deadline = time.monotonic() + minutes * 60

    def left(self) -> bool:
        return time.monotonic() < self.deadline


def staged_sweep(name: str, variants_file: str, overrides: dict, clock: Clock, top: int = 2) -> list[str]:
    """Every variant on the first seed, then the `top` best also on the confirming seed; returns the ranking."""
    _, variants = load_variants(variants_file)
    workdir = overrides.get("workdir", ".")
    for seeds, chosen in (([FIRST], list(variants)), ([FIRST, CONFIRM], None)):
        for variant in chosen or ranked(workdir, name)[:top]:
            if not clock.left():
                print(f"protocol: out of time before {name} {variant} s{seeds[-1]}", flush=True)
                break
            sweep(PROFILE, variants_file, name, overrides, seeds, only=[variant])
    try:
        sweep(PROFILE, variants_file, name, overrides, [FIRST, CONFIRM], run_nothing=True)  # tabulate every run
    except UserError as err:  # no run finished yet: nothing to rank
        print(f"protocol: {err}", flush=True)
        return []
    return ranked(workdir, name)


def stage_two(overrides: dict, clock: Clock, sources: str, leaders: list[str], top: int = 2) -> None:
    """The `top` best recipes of stage 1 at full scale (2,000 train + 6,000 unlabeled reviews), seeds 42, 43;
    their variants file is written beside the sweep's record."""
    common, variants = load_variants("params/recipe.yaml")
    chosen = {name: {"teacher_sources": sources, **variants[name]} for name in leaders[:top]}
    stage = {"common": {**common, "n_unlabeled": 6000}, "variants": chosen}
    folder = RunPaths.of(overrides.get("workdir", "."), "stage2").results
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "variants.yaml").write_text(
        "# written by python -m helpers.lab.protocol: stage 1's two best recipes (results/recipe/sweep.json) at full "
        "scale (2,000 train + 6,000 unlabeled reviews)\n" + yaml.safe_dump(stage, sort_keys=False))
    for seeds in ([FIRST], [FIRST, CONFIRM]):  # both recipes on the first seed before either on the second
        for variant in chosen:
            if clock.left():
                sweep(PROFILE, str(folder / "variants.yaml"), "stage2", overrides, seeds, only=[variant])
    sweep(PROFILE, str(folder / "variants.yaml"), "stage2", overrides, [FIRST, CONFIRM], run_nothing=True)


STAGES = ("sources", "recipe", "full")  # stage 1's two halves, stage 2
OWN = ("seed", "run_name")  # set by the protocol for each run: its seeds (42, then 43 to confirm) and names are the design


def check_overrides(overrides: dict) -> None:
    """Refuse a `--set` of what the protocol sets itself for every run, which would otherwise be silently ignored."""
    own = [key for key in OWN if key in overrides]
    if own:
        raise ConfigError(f"--set {', '.join(own)}: the protocol runs its own seeds ({FIRST}, then {CONFIRM} to "
                          "confirm) under its own run names; for other seeds use python -m helpers.lab.sweep --seeds")


def protocol(overrides: dict, minutes: float, stages: list[str], sources_from: str | None = None) -> None:
    """Stage 1 (sources, then recipe on the best sources) and stage 2, as far as `minutes` allow. The sources'
    choice is read from the `sources` sweep recorded in `sources_from` (a workdir; default this one)."""
    check_overrides(overrides)
    clock, workdir = Clock(minutes), overrides.get("workdir", ".")
    if "sources" in stages:
        staged_sweep("sources", "params/sources.yaml", overrides, clock)
    record = RunPaths.of(sources_from or workdir, "sources").results / "sweep.json"
    if not record.exists():
        raise UserError(f"no sources sweep recorded in {record}: run --stages sources first, or name its workdir "
                        "with --sources-from")
    sources = read_json(record)
    best = next((row["variant"] for row in sources["summary"] if row.get("chosen") == "yes"), None)
    if best is None:
        raise UserError(f"the sources sweep in {record} has chosen nothing yet: no variant finished on validation")
    teacher_sources = {**sources["common"], **sources["variants"][best]}.get("teacher_sources", "")
    extra = {k: v for k, v in sources["variants"][best].items() if k != "teacher_sources"}
    recipe_overrides = {**overrides, "teacher_sources": teacher_sources, **extra}
    print(f"protocol: sources chosen on validation: {best} ({teacher_sources or 'the single VADER teacher'})", flush=True)
    if "recipe" in stages:
        staged_sweep("recipe", "params/recipe.yaml", recipe_overrides, clock)
    leaders = ranked(workdir, "recipe")
    if "full" in stages and leaders:
        stage_two(recipe_overrides, clock, teacher_sources, leaders)
    write_json({"sources_chosen": best, "sources_record": str(record), "teacher_sources": teacher_sources,
                "recipe_overrides": recipe_overrides, "recipe_ranking": leaders},
               RunPaths.of(workdir, "protocol").results / "protocol.json")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m helpers.lab.protocol", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=170.0, help="start no run after this many minutes")
    parser.add_argument("--stages", nargs="+", default=list(STAGES), choices=STAGES,
                        help="stage 1's halves (sources, recipe) and stage 2 (full); default all three")
    parser.add_argument("--sources-from", help="the workdir whose recorded `sources` sweep chose the sources "
                                               "(e.g. results/records/h200-2026-11-30); default --set workdir")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    try:
        protocol(parse_overrides(args.overrides), args.minutes, args.stages, args.sources_from)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
