"""The label-source protocol's first two stages, each a recorded sweep, ranked on validation only.

Stage 1 (proxy scale): `sources` (params/sources.yaml) on seed 42, its top 2 also on seed 43; then `recipe`
(params/recipe.yaml) on the sources that won, the same way. Stage 2 (the offline profile's scale: 2,000 train +
6,000 unlabeled reviews): the two best of stage 1 on seeds 42 and 43. Every choice is read from the sweep.json
before it, so the record says how each was made. Runs already finished are kept, so a stopped protocol resumes;
`--minutes` stops starting runs after that long (the sweeps are still tabulated).

`python -m helpers.protocol --minutes 170 --set data_dir=../shared/data/imdb`
"""

from __future__ import annotations

import argparse
import sys
import time

import yaml

from .errors import UserError
from .paths import RunPaths, read_json, write_json
from .run import parse_overrides
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
    """The `top` best recipes of stage 1 at the offline profile's scale (its 6,000 unlabeled reviews), seeds 42, 43;
    their variants file is written beside the sweep's record."""
    common, variants = load_variants("params/recipe.yaml")
    chosen = {name: {"teacher_sources": sources, **variants[name]} for name in leaders[:top]}
    stage = {"common": {**common, "n_unlabeled": 6000}, "variants": chosen}
    folder = RunPaths.of(overrides.get("workdir", "."), "stage2").results
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "variants.yaml").write_text(
        "# written by python -m helpers.protocol: stage 1's two best recipes (results/recipe/sweep.json) at the "
        "offline profile's scale\n" + yaml.safe_dump(stage, sort_keys=False))
    for seed in (FIRST, CONFIRM):
        for variant in chosen:
            if clock.left():
                sweep(PROFILE, str(folder / "variants.yaml"), "stage2", overrides, [FIRST, CONFIRM], only=[variant])
    sweep(PROFILE, str(folder / "variants.yaml"), "stage2", overrides, [FIRST, CONFIRM], run_nothing=True)


def protocol(overrides: dict, minutes: float, stages: list[int]) -> None:
    """Stage 1 (sources, then recipe on the best sources) and stage 2, as far as `minutes` allow."""
    clock, workdir = Clock(minutes), overrides.get("workdir", ".")
    if 1 in stages:
        staged_sweep("sources", "params/sources.yaml", overrides, clock)
    sources = read_json(RunPaths.of(workdir, "sources").results / "sweep.json")
    best = next(row for row in sources["summary"] if row.get("chosen") == "yes")["variant"]
    teacher_sources = {**sources["common"], **sources["variants"][best]}.get("teacher_sources", "")
    extra = {k: v for k, v in sources["variants"][best].items() if k != "teacher_sources"}
    recipe_overrides = {**overrides, "teacher_sources": teacher_sources, **extra}
    print(f"protocol: sources chosen on validation: {best} ({teacher_sources or 'the single VADER teacher'})", flush=True)
    if 1 in stages:
        staged_sweep("recipe", "params/recipe.yaml", recipe_overrides, clock)
    leaders = ranked(workdir, "recipe")
    if 2 in stages and leaders:
        stage_two(recipe_overrides, clock, teacher_sources, leaders)
    write_json({"sources_chosen": best, "teacher_sources": teacher_sources, "recipe_overrides": recipe_overrides,
                "recipe_ranking": leaders}, RunPaths.of(workdir, "protocol").results / "protocol.json")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m helpers.protocol", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=170.0, help="start no run after this many minutes")
    parser.add_argument("--stages", nargs="+", type=int, default=[1, 2], choices=[1, 2])
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    try:
        protocol(parse_overrides(args.overrides), args.minutes, args.stages)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
