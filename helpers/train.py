"""Notebook 03's steps, and the same work outside the notebooks (e.g. with the Trainer's DDP on several GPUs).

`torchrun --nproc_per_node 4 -m helpers.train --profile seed` does what notebooks/03_train_student does, with the
same parameters (profile, overrides, then the notebook's defaults), after 01 and 02 have run for that run.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from . import cache
from .calibrate import MIN_REVIEWS, calibration_line, choose, effect, fold, truth_map
from .data import read_reviews
from .distill import training_targets
from .distributed import barrier, is_main, rank_and_world
from .errors import ConfigError, UserError
from .paths import RunPaths, plain_modes, read_json, write_json
from .precision import MIN_CHECK_REVIEWS, verdict_line
from .student import TRAINING_FILE, SavedStudent, TrainConfig, gold_rows, save_student, targets_key, train_student
from .teacher import CLASSES, PROB_COLUMNS

TARGET_PARAMETERS = ("class_prior", "min_confidence", "keep_top_fraction", "rest_fraction", "balance")


def config_from(p: dict) -> TrainConfig:
    """The TrainConfig that notebook 03's parameters `p` describe."""
    return TrainConfig(**{name: p[name] for name in TrainConfig.__dataclass_fields__ if name in p})


def load_pool(paths: RunPaths) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The teacher-annotated distillation pool (train + unlabeled), the train sample alone, and validation."""
    train = read_reviews(paths.annotated("train"))
    pool = pd.concat([train, read_reviews(paths.annotated("unsupervised"))], ignore_index=True)
    return pool, train, read_reviews(paths.annotated("validation"))


def distil(paths: RunPaths, p: dict, pool: pd.DataFrame, validation: pd.DataFrame, round_: int = 0):
    """Train the student on `pool`'s probability columns (the teacher's, or a previous student's in a
    self-training round), save it as the run's student, and write its log history. Returns (trainer, rows)."""
    config = config_from(p)
    targets = {name: p[name] for name in TARGET_PARAMETERS}
    rows = training_targets(pool, seed=p["seed"], **targets)
    folder = paths.checkpoints if round_ == 0 else paths.models / f"checkpoints_self_train_{round_}"
    trainer = train_student(p["student"], rows, validation, folder, config)
    provenance = {"student": p["student"], "teacher": read_json(paths.data / "teacher.json"), "n_pool": len(pool),
                  "n_training_rows": len(rows), "self_train_round": round_, "world_size": rank_and_world()[1],
                  "train_precision_used": trainer.train_precision, "batch_size_used": trainer.batch_size_used,
                  **targets}
    save_student(trainer, paths.student, config, provenance)
    write_json(trainer.state.log_history, paths.results / ("train_history.json" if round_ == 0
                                                           else f"train_history_self_train_{round_}.json"))
    return trainer, rows


def relabelled(pool: pd.DataFrame, student_probs: np.ndarray, teacher_weight: float) -> pd.DataFrame:
    """The pool with its probability columns replaced by the student's, mixed with `teacher_weight` of the
    teacher's: the targets of a self-training round."""
    if not 0 <= teacher_weight <= 1:
        raise ConfigError(f"self_train_teacher_weight {teacher_weight} must be between 0 and 1")
    mixed = (1 - teacher_weight) * student_probs + teacher_weight * pool[PROB_COLUMNS].to_numpy(np.float32)
    return pool.assign(**{column: mixed[:, i] for i, column in enumerate(PROB_COLUMNS)})


def self_train(paths: RunPaths, p: dict, pool: pd.DataFrame, validation: pd.DataFrame, round_: int):
    """One self-training round: the current student relabels the pool; a fresh student learns from that."""
    student = SavedStudent(paths.student, p["device"], p.get("eval_batch_size", 0), paths.cache)
    verdict = student.settle(p.get("precision", "fp32"), validation if len(validation) else None,
                             p.get("precision_check_reviews", MIN_CHECK_REVIEWS))
    print(f"self-training {round_}: the student relabels the pool at {verdict_line(verdict)}")
    student_probs = student.predict(pool["text"], f"self-training {round_}: relabel pool")
    return distil(paths, p, relabelled(pool, student_probs, p["self_train_teacher_weight"]), validation, round_)


def self_calibrate(paths: RunPaths, p: dict, pool: pd.DataFrame, validation: pd.DataFrame,
                   min_reviews: int = MIN_REVIEWS) -> dict:
    """The trained student relearns its own probabilities on `self_calibration_reviews` pool reviews (drawn with the
    run's seed), each mapped to the truth by `calibrate.truth_map` fitted on validation: a map that keeps every
    decision and may take any shape, learned by the network itself, where a fold into the head is limited to shapes
    convex in the binary logit. One epoch of the soft loss at temperature 1; the trained student's settings stay in
    training.json, this step's under `self_calibration`. Returns that record."""
    n = min(p["self_calibration_reviews"], len(pool))
    settings = read_json(paths.student / TRAINING_FILE)  # the trained student's: training below leaves it as it is
    done = settings.get("self_calibration")
    if done:  # relearning a relearned student would fit the map to what the last one learned
        print("self-calibration: the saved student has relearned already; rerun its training to do it again")
        return done
    if len(validation) < min_reviews:
        print(f"self-calibration skipped: {len(validation)} validation reviews, fewer than {min_reviews}")
        return {"skipped": f"{len(validation)} validation reviews, fewer than {min_reviews}"}
    student = SavedStudent(paths.student, p["device"], p.get("eval_batch_size", 0), paths.cache)
    verdict = student.settle(p.get("precision", "fp32"), validation, p.get("precision_check_reviews", MIN_CHECK_REVIEWS))
    gold = validation["label"].to_numpy()
    before = student.predict(validation["text"], "self-calibration: student on validation")
    to_truth = truth_map(before, gold)
    sample = pool.sample(n, random_state=p["seed"])
    positive = to_truth(student.predict(sample["text"], f"self-calibration: student on {n:,} pool reviews"))
    rows = pd.DataFrame({"text": sample["text"].to_numpy(), "weight": 1.0,
                         "labels": np.where(positive >= 0.5, CLASSES.index("positive"), CLASSES.index("negative")),
                         "teacher_probs": list(np.stack([1 - positive, np.zeros(n), positive], 1).astype(np.float32))})
    config = TrainConfig(**{**vars(config_from(p)), "epochs": 1.0, "distill_loss": "soft", "temperature": 1.0,
                            "learning_rate": p["self_calibration_learning_rate"], "warmup": 0.0})
    trainer = train_student(str(paths.student), rows, validation, paths.models / "checkpoints_self_calibration", config)
    save_student(trainer, paths.student, config_from(settings), {  # a calibration of the old weights is void
        k: v for k, v in settings.items() if k not in TrainConfig.__dataclass_fields__ and k != "calibration"})
    after = SavedStudent(paths.student, p["device"], p.get("eval_batch_size", 0), paths.cache)
    after.use(verdict)
    after_probs = after.predict(validation["text"], "self-calibration: relearned student on validation")
    record = {"pool_reviews": n, "map": "isotonic regression of the binary reading's logit, held on its side of 0.5",
              "fitted_on": f"{len(gold):,} validation reviews", "scored_at": verdict["precision"],
              "learning_rate": config.learning_rate, "epochs": config.epochs,
              "train_precision_used": trainer.train_precision, **effect(before, after_probs, gold, "validation")}
    if is_main():
        write_json({**read_json(paths.student / TRAINING_FILE), "self_calibration": record},
                   paths.student / TRAINING_FILE)
    barrier()
    print(f"self-calibration on {n:,} pool reviews: validation ECE {record['ece_validation_before']:.3f} -> "
          f"{record['ece_validation_after']:.3f}, accuracy {record['accuracy_validation_before']:.4f} -> "
          f"{record['accuracy_validation_after']:.4f} ({record['decisions_changed_validation']} decisions changed; "
          "the map was fitted on these reviews)")
    return record


def calibrate(paths: RunPaths, p: dict, validation: pd.DataFrame) -> dict:
    """Calibrate the saved student's binary reading (its final round) on validation, and say what that did."""
    record = calibrate_student(paths.student, validation, p["device"])
    print(calibration_line(record))
    return record


def calibrate_student(folder: Path, validation: pd.DataFrame, device: str = "auto",
                      min_reviews: int = MIN_REVIEWS) -> dict:
    """Choose a calibration on `validation`'s true labels (the student scored at fp32), fold it into the saved
    student at `folder` when it lowers the validation ECE, and record it in its training.json. Returns the record."""
    from transformers import AutoModelForSequenceClassification

    gold = validation["label"].to_numpy()
    enough = len(gold) >= min_reviews  # below it, choose() says so without anything to score
    probs = (SavedStudent(folder, device).predict(validation["text"], "calibration: student on validation") if enough
             else np.zeros((len(gold), len(CLASSES))))
    record = choose(probs, gold, min_reviews)
    if is_main():
        if record["folded"]:
            model = AutoModelForSequenceClassification.from_pretrained(str(folder))
            record["head"] = fold(model, record["branches"])  # the project scores before and after
            model.save_pretrained(str(folder))
            plain_modes(folder)
        write_json({**read_json(Path(folder) / TRAINING_FILE), "calibration": record}, Path(folder) / TRAINING_FILE)
    barrier()
    return record


def gold_ceiling(paths: RunPaths, p: dict, train: pd.DataFrame, validation: pd.DataFrame):
    """The same student and settings trained on true labels of (the first `n_gold` of) the train sample.

    It depends only on its reviews and labels, the validation reviews it is scored on per epoch, the student and
    the recipe, never on the teacher: trained once, it is kept in the cache under a key of exactly these, and any
    run or sweep variant with the same key copies it instead of training it again (and says so).
    Returns the trainer, or None when the ceiling came from the cache."""
    gold_config = TrainConfig(**{**vars(config_from(p)), "distill_loss": "hard"})
    reviews = train.iloc[:p["n_gold"]] if p["n_gold"] else train
    rows = gold_rows(reviews)
    cached = paths.cache / "ceiling" / ceiling_key(p["student"], rows, validation, gold_config)
    provenance = {"student": p["student"], "teacher": "none (true labels)", "n_pool": len(reviews)}
    if cached.is_dir():  # written whole (cache.complete_folder): model and history, or nothing
        if is_main():
            copy_model(cached / "model", paths.gold_student)
            paths.results.mkdir(parents=True, exist_ok=True)
            shutil.copy(cached / "train_history_gold.json", paths.results / "train_history_gold.json")
        barrier()
        print(f"gold ceiling: reused from the cache ({cached.name}: the same {len(rows):,} true-labelled reviews, "
              "validation reviews, student and recipe), not trained again")
        return None
    trainer = train_student(p["student"], rows, validation, paths.gold_checkpoints, gold_config)
    save_student(trainer, paths.gold_student, gold_config, {**provenance,
                                                           "train_precision_used": trainer.train_precision,
                                                           "batch_size_used": trainer.batch_size_used})
    write_json(trainer.state.log_history, paths.results / "train_history_gold.json")
    if is_main():
        with cache.complete_folder(cached) as entry:
            shutil.copytree(paths.gold_student, entry / "model")
            shutil.copy(paths.results / "train_history_gold.json", entry / "train_history_gold.json")
    return trainer


def ceiling_key(student: str, rows: pd.DataFrame, validation: pd.DataFrame, config: TrainConfig) -> str:
    """The gold ceiling's cache key: its training reviews and labels, the validation reviews scored per epoch, the
    student's identity, the recipe, the training precision this device resolves it to, the world size and the
    library versions."""
    from dataclasses import asdict

    from . import cache
    from .models import model_identity, pick_device
    from .precision import training_precision

    epoch_eval = validation.iloc[:config.epoch_eval_reviews] if config.epoch_eval_reviews else validation
    recipe = {k: v for k, v in asdict(config).items() if k not in ("device", "eval_batch_size")}
    return cache.key({"rows": targets_key(rows), "student": student, "identity": model_identity(student),
                      "epoch_eval": cache.texts_key(epoch_eval["text"].tolist()) if config.eval_each_epoch else None,
                      "recipe": recipe, "world_size": rank_and_world()[1], "libraries": cache.libraries(),
                      "train_precision": training_precision(config.train_precision, pick_device(config.device))})


def copy_model(source: Path, target: Path) -> None:
    """Copy a saved model folder whole, through a staging folder of this process, so no half-copied model is ever
    seen."""
    shutil.rmtree(target, ignore_errors=True)
    with cache.complete_folder(target) as staging:
        shutil.copytree(source, staging, dirs_exist_ok=True)


def notebook_defaults() -> dict:
    """The defaults of 03's parameters cell."""
    from .run import NOTEBOOK_DIR, notebook_defaults as defaults_of

    return defaults_of([NOTEBOOK_DIR / "03_train_student.ipynb"])


def train(profile: str, overrides: dict) -> RunPaths:
    """03's work for `profile` + `overrides`: the student, its self-training rounds, the ceiling."""
    from .run import resolve_parameters

    p = {**notebook_defaults(), **resolve_parameters(profile, overrides)}
    paths = RunPaths.of(p["workdir"], p["run_name"])
    pool, train_set, validation = load_pool(paths)
    distil(paths, p, pool, validation)
    for round_ in range(1, p["self_train_rounds"] + 1):
        self_train(paths, p, pool, validation, round_)
    if p["self_calibration_reviews"]:
        self_calibrate(paths, p, pool, validation)
    if p["calibrate"]:
        calibrate(paths, p, validation)
    if p["gold_ceiling"]:
        gold_ceiling(paths, p, train_set, validation)
    return paths


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    from .run import parse_overrides

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
