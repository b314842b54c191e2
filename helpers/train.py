"""Train a run's student outside the notebooks, e.g. with the Trainer's DDP on several GPUs or nodes.

`torchrun --nproc_per_node 4 -m helpers.train --profile seed` does what notebooks/03_train_student does, with the
same parameters (profile, overrides, then the notebook's defaults), after 01 and 02 have run for that run.
"""

from __future__ import annotations

import argparse
import ast
import sys

import pandas as pd

from .data import read_reviews
from .distill import training_targets
from .distributed import rank_and_world
from .errors import UserError
from .paths import RunPaths, read_json, write_json
from .run import NOTEBOOK_DIR, parse_overrides, resolve_parameters
from .student import TrainConfig, gold_rows, save_student, train_student

NOTEBOOK = NOTEBOOK_DIR / "03_train_student.ipynb"


def notebook_defaults() -> dict:
    """The defaults of 03's parameters cell."""
    import papermill

    return {name: ast.literal_eval(spec["default"]) for name, spec in papermill.inspect_notebook(str(NOTEBOOK)).items()}


def train(profile: str, overrides: dict) -> RunPaths:
    """03's work for `profile` + `overrides`: targets from the teacher's annotations, the student, the ceiling."""
    p = {**notebook_defaults(), **resolve_parameters(profile, overrides)}
    paths = RunPaths.of(p["workdir"], p["run_name"])
    config = TrainConfig(epochs=p["epochs"], learning_rate=p["learning_rate"], batch_size=p["batch_size"],
                         max_length=p["max_length"], truncation=p["truncation"], head_tokens=p["head_tokens"],
                         distill_loss=p["distill_loss"], temperature=p["temperature"], alpha=p["alpha"],
                         seed=p["seed"], device=p["device"], eval_each_epoch=p["eval_each_epoch"])
    targets = {k: p[k] for k in ("class_prior", "min_confidence", "keep_top_fraction", "balance")}
    train_set, test = read_reviews(paths.annotated("train")), read_reviews(paths.annotated("test"))
    pool = pd.concat([train_set, read_reviews(paths.annotated("unsupervised"))], ignore_index=True)
    rows = training_targets(pool, seed=p["seed"], **targets)
    trainer = train_student(p["student"], rows, test, paths.checkpoints, config)
    provenance = {"student": p["student"], "teacher": read_json(paths.data / "teacher.json"), "n_pool": len(pool),
                  "n_training_rows": len(rows), "world_size": rank_and_world()[1], **targets}
    save_student(trainer, paths.student, config, provenance)
    write_json(trainer.state.log_history, paths.results / "train_history.json")
    if p["gold_ceiling"]:
        gold_config = TrainConfig(**{**vars(config), "distill_loss": "hard"})
        gold = train_student(p["student"], gold_rows(train_set), test, paths.gold_checkpoints, gold_config)
        save_student(gold, paths.gold_student, gold_config, {"student": p["student"], "teacher": "none (true labels)",
                                                            "n_pool": len(train_set)})
        write_json(gold.state.log_history, paths.results / "train_history_gold.json")
    return paths


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m helpers.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="offline")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    try:
        paths = train(args.profile, parse_overrides(args.overrides))
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if rank_and_world()[0] == 0:
        print(f"student: {paths.student}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
