"""Notebook 03's steps, and the same work outside the notebooks (e.g. with the Trainer's DDP on several GPUs).

`torchrun --nproc_per_node 4 -m helpers.train --profile seed` does what notebooks/03_train_student does, with the
same parameters (profile, overrides, then the notebook's defaults), after 01 and 02 have run for that run.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from itertools import permutations
from pathlib import Path

import numpy as np
import pandas as pd

from . import cache
from .calibrate import (MIN_REVIEWS, SELF_CALIBRATION_PARTS, calibration_line, choose, effect, fold, halves,
                        map_saw_all_validation, restore, truth_map)
from .data import read_reviews
from .distill import NEEDS_RATING_SOURCE, stated_rating_rows, training_targets
from .distributed import barrier, is_main, rank_and_world
from .errors import ConfigError, UserError
from .metrics import binary_positive_probability, expected_calibration_error, reliability_bins
from .paths import RunPaths, plain_modes, read_json, write_json
from .precision import MIN_CHECK_REVIEWS, verdict_line
from .progress import progress
from .student import (TRAINING_FILE, SavedStudent, TrainConfig, check_top_known, gold_rows, recover_student,
                      save_student, stage_model, stage_student, swap_in, targets_key, top_of, train_student)
from .tables import counted
from .teacher import CLASSES, PROB_COLUMNS

TARGET_PARAMETERS = ("class_prior", "min_confidence", "keep_top_fraction", "rest_fraction", "balance")


def config_from(p: dict) -> TrainConfig:
    """The TrainConfig that notebook 03's parameters `p` describe; a self-calibration of the top that the student
    cannot have is refused here, before training rather than after it."""
    if p.get("self_calibration_reviews") and self_calibration_part(p) == "top" and "student" in p:
        check_top_known(p["student"])
    return TrainConfig(**{name: p[name] for name in TrainConfig.__dataclass_fields__ if name in p})


def self_calibration_part(p: dict) -> str:
    """What relearns in self-calibration (`SELF_CALIBRATION_PARTS`); any other value is refused in one line."""
    part = p.get("self_calibration_part", "network")
    if part not in SELF_CALIBRATION_PARTS:
        raise ConfigError(f"self_calibration_part must be {' or '.join(map(repr, SELF_CALIBRATION_PARTS))}, not {part!r}")
    return part


def load_pool(paths: RunPaths) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The teacher-annotated distillation pool (train + unlabeled), the train sample alone, and validation."""
    train = read_reviews(paths.annotated("train"))
    pool = pd.concat([train, read_reviews(paths.annotated("unsupervised"))], ignore_index=True)
    return pool, train, read_reviews(paths.annotated("validation"))


def target_settings(p: dict) -> dict:
    """How notebook 03's parameters `p` turn probabilities into targets (`training_targets`' arguments but the seed)."""
    return {name: p[name] for name in TARGET_PARAMETERS}


def training_rows(pool: pd.DataFrame, p: dict) -> pd.DataFrame:
    """The training targets notebook 03's parameters `p` make of `pool`'s probability columns (`training_targets`);
    stated ratings asked of a pool no rating source read are refused here, before any training."""
    if p.get("stated_rating_epochs") and "source_rating" not in pool:
        raise ConfigError(NEEDS_RATING_SOURCE)
    return training_targets(pool, seed=p["seed"], **target_settings(p))


def distil(paths: RunPaths, p: dict, pool: pd.DataFrame, validation: pd.DataFrame, round_: int = 0):
    """Train the student on `pool`'s probability columns (the teacher's, or a previous student's in a
    self-training round), save it as the run's student, and write its log history. Returns (trainer, rows)."""
    config = config_from(p)
    targets = target_settings(p)
    rows = training_rows(pool, p)
    folder = paths.checkpoints if round_ == 0 else paths.models / f"checkpoints_self_train_{round_}"
    trainer = train_student(p["student"], rows, validation, folder, config)
    provenance = {"student": p["student"], "teacher": read_json(paths.data / "teacher.json"), "n_pool": len(pool),
                  "n_training_rows": len(rows), "self_train_round": round_, "world_size": rank_and_world()[1],
                  "train_precision_used": trainer.train_precision, "batch_size_used": trainer.batch_size_used,
                  **targets}
    save_student(trainer, paths.student, config, provenance)
    (paths.results / "train_history_stated_ratings.json").unlink(missing_ok=True)  # it went with the old student
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


def learn_stated_ratings(paths: RunPaths, p: dict, pool: pd.DataFrame, validation: pd.DataFrame) -> dict:
    """The trained student goes on for `stated_rating_epochs` over the pool reviews that state a decisive rating
    (`stated_rating_rows`: the rating source's labels, about 97% right, the easy and the hard alike, read without the
    rating) at `stated_rating_learning_rate`, decaying to 0. The student's training settings stay in training.json,
    this step's under `stated_ratings`, so it runs once per trained student. Returns that record."""
    recover_student(paths.student)
    settings = read_json(paths.student / TRAINING_FILE)
    if settings.get("stated_ratings"):  # it would learn the same reviews twice
        print("stated ratings: the saved student has learned them already; rerun its training to do it again")
        return settings["stated_ratings"]
    if settings.get("calibration") or settings.get("self_calibration"):  # those records would describe other weights
        raise UserError(f"{paths.student} is already (self-)calibrated: stated ratings come before both; rerun 03 "
                        "from its training")
    rows = stated_rating_rows(pool, p["balance"], p["seed"])
    if rows.empty:
        print("stated ratings: no pool review states a decisive rating; the student stays as trained")
        record = {"skipped": "no pool review states a decisive rating"}
        if is_main():  # kept, so that it runs once, as below
            write_json(settings | {"stated_ratings": record}, paths.student / TRAINING_FILE)
        barrier()
        return record
    config = TrainConfig(**{**vars(config_from(p)), "epochs": p["stated_rating_epochs"], "warmup": 0.0,
                            "learning_rate": p["stated_rating_learning_rate"]})
    trainer = train_student(str(paths.student), rows, validation, paths.models / "checkpoints_stated_ratings", config)
    record = {"reviews": int(rows["text"].nunique()), "rows": len(rows), "epochs": config.epochs,
              "learning_rate": config.learning_rate, "steps": trainer.state.global_step,
              "train_precision_used": trainer.train_precision, "batch_size_used": trainer.batch_size_used}
    write_json(trainer.state.log_history, paths.results / "train_history_stated_ratings.json")
    save_student(trainer, paths.student, config_from(settings),
                 {k: v for k, v in settings.items() if k not in TrainConfig.__dataclass_fields__}
                 | {"stated_ratings": record})
    print(f"stated ratings: the student learned {record['reviews']:,} pool reviews that state one "
          f"({record['steps']:,} steps at {record['learning_rate']:g})")
    return record


ACCURACY_TOLERANCE = 0.005  # a relearned student may lose at most this much held-out accuracy: set as one standard
# error of a paired difference on the 1,000 reviews that judged it until 2026-12-04, where some 25 decisions move
# (sqrt(25) / 1,000); on the 2,000 judged since, where stage 3's seeds moved 12-28, it is about 0.0017-0.0026


def self_calibrate(paths: RunPaths, p: dict, pool: pd.DataFrame, validation: pd.DataFrame,
                   min_reviews: int = MIN_REVIEWS) -> dict:
    """The trained student relearns its own probabilities on `self_calibration_reviews` pool reviews (drawn with the
    run's seed), each mapped to the truth by `calibrate.truth_map`: a map that keeps every decision and may take any
    shape, learned by the network itself, where a fold into the head is limited to shapes convex in the binary logit.
    One epoch of the soft loss at temperature 1, from the trained head (a calibrated student's fold is undone first);
    with `self_calibration_part: top`, only the layers above the encoder relearn, on its frozen states (`relearn_top`).

    The map is fitted on every validation review, and the relearning judged cross-fitted, as the fold judges its maps:
    the same relearning from the map of each seeded half (`calibrate.halves`), scored on the other half, both ways
    round, gives held-out figures on every validation review (`..._held_out`). The map alone is judged the same way
    (`truth_map_ece_held_out`). The student relearned from the whole map is kept only if that held-out ECE is lower
    than the trained student's and its held-out accuracy at most `ACCURACY_TOLERANCE` lower; else the trained student
    stays, and the record says why. (Until 2026-12-04 the map was fitted on one half and judged on the other alone:
    1,000 reviews judged it, and on stage 3's seed 44 they refused a relearning whose reproduction in the lab check
    `helpers/lab/self_calibration_map.py` halved the development split's ECE.) Its weights and record are swapped in together; the trained
    student's settings stay in training.json, this step's under `self_calibration`, so it runs once per trained
    student. Returns that record."""
    part = self_calibration_part(p)
    recover_student(paths.student)
    settings = read_json(paths.student / TRAINING_FILE)  # the trained student's: training below leaves it as it is
    if settings.get("self_calibration"):  # a second relearning would fit the map to what the first one learned
        print("self-calibration: the saved student has been through it already; rerun its training to do it again")
        return settings["self_calibration"]
    if len(validation) // 2 < min_reviews:  # each half's map is fitted on as few
        why = f"{len(validation)} validation reviews: halves of fewer than {min_reviews}"
        print(f"self-calibration skipped: {why}")
        return {"skipped": why}
    start = trained_student(paths, settings)
    student = SavedStudent(start, p["device"], p.get("eval_batch_size", 0), paths.cache)
    verdict = student.settle(p.get("precision", "fp32"), validation, p.get("precision_check_reviews", MIN_CHECK_REVIEWS))
    gold, split = validation["label"].to_numpy(), halves(len(validation), p["seed"])
    before = student.predict(validation["text"], "self-calibration: student on validation")
    sample = pool.sample(min(p["self_calibration_reviews"], len(pool)), random_state=p["seed"])
    relearned_toward = relearner(paths, p, part, start, student, sample, settings, validation)
    crossed = np.zeros_like(before)
    for number, (fitted_on, judged) in enumerate(permutations(split), 1):
        staging, _ = relearned_toward(truth_map(before[fitted_on], gold[fitted_on]))
        half = SavedStudent(staging, p["device"], p.get("eval_batch_size", 0), paths.cache)
        half.use(verdict)
        crossed[judged] = half.predict(validation["text"].iloc[judged],
                                       f"self-calibration: relearned from half {number}'s map, on the other half")
    staging, how = relearned_toward(truth_map(before, gold))
    record = {"pool_reviews": len(sample), "map": "isotonic regression of the binary reading's logit, held on its "
              "side of 0.5", "fitted_on": f"all {len(gold):,} validation reviews",
              "judged_on": f"the same {len(gold):,} reviews, cross-fitted: each half scored by the student relearned "
              "from the map of the other half", "halves_seed": p["seed"],
              "scored_at": verdict["precision"], "part": part, **how,
              **relearning_figures(before, crossed, gold, split)}
    record.update(keep_or_not(record))
    settle_relearning(paths.student, staging, settings, record)
    print(self_calibration_line(record))
    return record


def relearner(paths: RunPaths, p: dict, part: str, start: Path, student: SavedStudent, sample: pd.DataFrame,
              settings: dict, validation: pd.DataFrame):
    """A function from a truth map to the student relearned toward it (staged, not yet swapped in) and how it
    learned: `relearn_top` on the sample's states, read once for every map (three fits of seconds each), or `relearn`
    of the whole network (an epoch each: three in all)."""
    if part == "top":
        top_of(student.model)  # a student without a known top is refused before its states are read
        read = student.probabilities_and_states(
            sample["text"], f"self-calibration: student and its encoder states on {len(sample):,} pool reviews")
        return lambda to_truth: relearn_top(paths, start, student, to_truth, read, settings)

    def whole_network(to_truth):
        trainer = relearn(paths, p, start, student, to_truth, sample, validation)
        staging = stage_student(trainer, paths.student, config_from(settings), {  # a calibration of the old weights
            k: v for k, v in settings.items() if k not in TrainConfig.__dataclass_fields__ and k != "calibration"})
        return staging, {"learning_rate": trainer.args.learning_rate, "epochs": 1.0,
                         "train_precision_used": trainer.train_precision}
    return whole_network


def relearn(paths: RunPaths, p: dict, start: Path, student: SavedStudent, to_truth, sample: pd.DataFrame,
            validation: pd.DataFrame):
    """Train the student at `start` for one epoch (soft loss, temperature 1) on `sample`, each review's target its
    own probability mapped by `to_truth`; returns the trainer."""
    positive = to_truth(student.predict(sample["text"], f"self-calibration: student on {len(sample):,} pool reviews"))
    rows = pd.DataFrame({"text": sample["text"].to_numpy(), "weight": 1.0,
                         "labels": np.where(positive >= 0.5, CLASSES.index("positive"), CLASSES.index("negative")),
                         "teacher_probs": list(np.stack([1 - positive, np.zeros(len(positive)), positive], 1)
                                               .astype(np.float32))})
    config = TrainConfig(**{**vars(config_from(p)), "epochs": 1.0, "distill_loss": "soft", "temperature": 1.0,
                            "learning_rate": p["self_calibration_learning_rate"], "warmup": 0.0})
    return train_student(str(start), rows, validation, paths.models / "checkpoints_self_calibration", config)


TOP_STEPS, TOP_LEARNING_RATE = 300, 1e-3  # full-batch Adam on frozen states, the one setting of the lab check
# helpers/lab/self_calibration_top.py (records: results/records/cpu-epyc-budget-2026-12-02/headcal_s4{2,3,4}.json)


def relearn_top(paths: RunPaths, start: Path, student: SavedStudent, to_truth, read: tuple, settings: dict
                ) -> tuple[Path, dict]:
    """Refit only the layers above the encoder (`top_of`: BERT's pooler and classifier, DistilBERT's pre-classifier
    and classifier, RoBERTa's head) to each sample review's own probability mapped by `to_truth`, on the encoder's
    first-token states: `read`, the sample's (probabilities, states) from one pass at the settled precision, frozen
    (`fit_top`, at that precision as the saved student will be scored). The encoder's weights stay as trained.
    Returns the staged student and how it learned."""
    import copy

    import torch
    from scipy.stats import entropy

    model = copy.deepcopy(student.model).eval()  # fp32 weights; `student` keeps scoring the trained ones
    probs, states = read
    positive = to_truth(probs)  # the targets `relearn` gives the whole network
    device = next(model.parameters()).device
    losses = fit_top(model, torch.from_numpy(states).to(device), torch.from_numpy(positive).float().to(device),
                     student.precision)
    staging = stage_model(model, start, paths.student, {k: v for k, v in settings.items() if k != "calibration"})
    floor = float(entropy([positive, 1 - positive]).mean())  # the least the soft loss can reach on these targets
    return staging, {"learning_rate": TOP_LEARNING_RATE, "steps": TOP_STEPS, "loss_first": round(losses[0], 6),
                     "loss_last": round(losses[1], 6), "loss_floor": round(floor, 6),
                     "train_precision_used": fitted_at(student.precision)}


def fitted_at(precision: str) -> str:
    """The precision `fit_top` runs the top at for a student scored at `precision`: autocast to bf16 or fp16 over fp32
    weights, else fp32 (an int8 student's top is fitted unquantized)."""
    return precision if precision in ("bf16", "fp16") else "fp32"


def fit_top(model, states, positive, precision: str = "fp32") -> tuple[float, float]:
    """Fit `model`'s layers above the encoder, in place, so that on `states` (reviews x hidden size) their binary
    reading says `positive`: the soft loss at temperature 1, full-batch Adam for TOP_STEPS at TOP_LEARNING_RATE on
    fp32 weights, the top run at `fitted_at(precision)` as the saved student is scored, in eval mode (no dropout).
    Adam's fixed step suits a head whose weights are of the scale training leaves (it moves each weight by at most
    about TOP_STEPS x TOP_LEARNING_RATE). Returns the loss at the first and the last step."""
    import torch

    from .inference import autocast

    top, layers = top_of(model.eval())
    optimizer = torch.optim.Adam([w for layer in layers for w in layer.parameters()], lr=TOP_LEARNING_RATE)
    negative_class, positive_class = CLASSES.index("negative"), CLASSES.index("positive")
    losses = []
    with progress(TOP_STEPS, "self-calibration: refitting the layers above the encoder", unit="step") as bar:
        for _ in range(TOP_STEPS):
            with autocast(states.device, fitted_at(precision)):
                logits = top(states)
            log_probs = torch.log_softmax(logits.float(), -1)
            loss = -(positive * log_probs[:, positive_class] + (1 - positive) * log_probs[:, negative_class]).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            bar.update(1)
    return losses[0], losses[-1]


def trained_student(paths: RunPaths, settings: dict) -> Path:
    """The student, or for a calibrated one a copy with its trained head and no calibration: never a fold."""
    calibration = settings.get("calibration") or {}
    if not calibration.get("folded"):
        return paths.student
    if not calibration.get("head"):
        raise ConfigError(f"{paths.student} was calibrated before its trained head was kept: rerun its training "
                          "(03) to self-calibrate it")
    start = paths.models / "self_calibration_start"
    if is_main():
        shutil.rmtree(start, ignore_errors=True)
        with cache.complete_folder(start) as staging:
            shutil.copytree(paths.student, staging, dirs_exist_ok=True)
            trained_model(paths.student, settings).save_pretrained(str(staging))
            write_json({k: v for k, v in settings.items() if k != "calibration"}, staging / TRAINING_FILE)
            plain_modes(staging)
    barrier()
    return start


def trained_model(folder: Path, settings: dict):
    """The saved student's model with its trained head (a fold undone from the head its record keeps)."""
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(str(folder))
    head = (settings.get("calibration") or {}).get("head")
    if head:
        restore(model, head)
    return model


def relearning_figures(before: np.ndarray, crossed: np.ndarray, gold: np.ndarray, split: tuple) -> dict:
    """Before and after (`crossed`: each half as relearned from the other half's map) on every review, and the truth
    map alone cross-fitted the same way."""
    mapped = np.zeros(len(gold))
    for fit_half, judge_half in permutations(split):
        mapped[judge_half] = truth_map(before[fit_half], gold[fit_half])(before[judge_half])
    return {**effect(before, crossed, gold, "held_out"),
            "truth_map_ece_held_out": expected_calibration_error(gold, mapped),
            **{f"reliability_held_out_{when}": reliability_bins(gold, binary_positive_probability(probs))
               for when, probs in (("before", before), ("after", crossed))}}


def keep_or_not(record: dict) -> dict:
    """Kept (and why): only if the held-out ECE is lower and held-out accuracy at most ACCURACY_TOLERANCE lower."""
    ece = f"held-out ECE {record['ece_held_out_before']:.3f} -> {record['ece_held_out_after']:.3f}"
    gained = round(record["accuracy_held_out_after"] - record["accuracy_held_out_before"], 9)  # shares of n reviews:
    # 0.836 - 0.841 is -0.0050000000000000044 in floats, a loss of exactly the tolerance that it must not refuse
    if record["ece_held_out_after"] >= record["ece_held_out_before"]:
        return {"kept": False, "why": f"{ece}: no better, so the trained student stays"}
    if gained < -ACCURACY_TOLERANCE:
        return {"kept": False, "why": f"{ece}, but held-out accuracy {gained:+.4f} (a loss beyond the "
                                      f"{ACCURACY_TOLERANCE} allowed), so the trained student stays"}
    return {"kept": True, "why": f"{ece}, held-out accuracy {gained:+.4f}"}


def settle_relearning(folder: Path, staging: Path, settings: dict, record: dict) -> None:
    """Swap the relearned student in with its record, or discard it and add the record alone: one step either way."""
    if record["kept"]:
        if is_main():
            write_json({**read_json(staging / TRAINING_FILE), "self_calibration": record}, staging / TRAINING_FILE)
        swap_in(staging, folder)
        return
    if is_main():
        shutil.rmtree(staging, ignore_errors=True)
        write_json({**settings, "self_calibration": record}, Path(folder) / TRAINING_FILE)
    barrier()


def self_calibration_line(record: dict) -> str:
    """One line on what self-calibration did."""
    return (f"self-calibration on {record['pool_reviews']:,} pool reviews, judged on {record['judged_on']}: "
            f"validation ECE {record['ece_held_out_before']:.3f} -> {record['ece_held_out_after']:.3f}, accuracy "
            f"{record['accuracy_held_out_before']:.4f} -> {record['accuracy_held_out_after']:.4f} "
            f"({record['decisions_changed_held_out']} decisions changed); "
            + ("kept" if record["kept"] else "not kept") + f": {record['why']}")


def training_summary(paths: RunPaths) -> str:
    """What 03 made, in a few sentences, from the saved student's training.json."""
    settings = read_json(paths.student / TRAINING_FILE)
    text = (f"The student learned from {settings['n_training_rows']:,} training rows built from "
            f"{settings['n_pool']:,} pool reviews (the top {settings['keep_top_fraction']:.0%} of each teacher class, "
            f"balance `{settings['balance']}`): {counted(settings['epochs'], 'epoch')} under {settings['train_precision_used']}")
    rounds = settings.get("self_train_round", 0)
    text += f", after {counted(rounds, 'self-training round')}." if rounds else "."
    stated = settings.get("stated_ratings")
    if stated and "skipped" not in stated:
        text += (f" Then it learned the {stated['reviews']:,} pool reviews that state a rating, read without it "
                 f"({counted(stated['epochs'], 'epoch')} at {stated['learning_rate']:g}).")
    relearned = settings.get("self_calibration")
    if relearned:
        text += (f" Self-calibration was {'kept' if relearned['kept'] else 'not kept'}: {relearned['why']}."
                 if "kept" in relearned else f" Self-calibration was skipped: {relearned['skipped']}.")
    if settings.get("calibration"):
        text += " C" + calibration_line(settings["calibration"])[1:] + "."
    return text


def calibrate(paths: RunPaths, p: dict, validation: pd.DataFrame, min_reviews: int = MIN_REVIEWS) -> dict:
    """Calibrate the saved student's binary reading (its final round) on validation, and say what that did. After a
    kept self-calibration nothing is fitted: its map was fitted on every validation review, and the relearned student
    has learned their labels, so no review is left to judge a fold on (the record says so). A student self-calibrated
    before 2026-12-04 (its map fitted on one half) is calibrated as it was then, on the half its map never saw."""
    settings = read_json(paths.student / TRAINING_FILE)
    relearned = settings.get("self_calibration") or {}
    if relearned.get("kept") and map_saw_all_validation(relearned):
        record = {"folded": False, "why": "self-calibration's map was fitted on every validation review, so none is "
                                          "left to judge a fold on"}
        if settings.get("calibration") != record:
            swap_in(stage_calibrated(paths.student, settings, record), paths.student)
    else:
        reviews, which = validation, f"{len(validation):,} validation reviews"
        if relearned.get("kept"):
            reviews = validation.iloc[halves(len(validation), relearned["halves_seed"])[1]]
            which = f"{len(reviews):,} validation reviews (the half whose labels self-calibration's map never saw)"
        record = calibrate_student(paths.student, reviews, p["device"], min_reviews, which)
    print(calibration_line(record))
    return record


def calibrate_student(folder: Path, validation: pd.DataFrame, device: str = "auto", min_reviews: int = MIN_REVIEWS,
                      fitted_on: str | None = None) -> dict:
    """Choose a calibration of the trained student saved at `folder` on `validation`'s true labels (scored at fp32),
    fold it into its trained head when it lowers the held-out validation ECE, and record it in its training.json.
    A calibrated student is refitted from the trained head its record keeps, never folded again onto its fold, so a
    second call leaves it as the first did; weights and record replace the old ones together (a staged copy of the
    folder swapped in), so a kill leaves the student before or after. Returns the record."""
    folder = Path(folder)
    recover_student(folder)
    gold = validation["label"].to_numpy()
    settings = read_json(folder / TRAINING_FILE)
    if len(gold) < min_reviews:  # choose() says so without anything to score
        record = choose(np.zeros((len(gold), len(CLASSES))), gold, min_reviews)
    else:
        student = SavedStudent(folder, device)
        if student.trained_lost:  # an older fold without its trained head: refitting would fold onto the fold
            print("calibration: kept as it was (folded before the trained head was kept; rerun 03 to refit it)")
            return settings["calibration"]
        student.predict(validation["text"], "calibration: student on validation")
        record = choose(student.uncalibrated(validation["text"]), gold, min_reviews)
    if fitted_on and "fitted_on" in record:
        record["fitted_on"] = fitted_on
    swap_in(stage_calibrated(folder, settings, record), folder)
    return record


def stage_calibrated(folder: Path, settings: dict, record: dict) -> Path:
    """Stage a copy of the student: its trained head, folded by `record`'s map if any, and `record` on file."""
    model = trained_model(folder, settings)
    if record["folded"]:
        record["head"] = fold(model, record["branches"])  # the project scores before and after
    return stage_model(model, folder, folder, {**settings, "calibration": record})


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
    from .inference import device_name
    from .models import model_identity, pick_device
    from .precision import training_precision

    epoch_eval = validation.iloc[:config.epoch_eval_reviews] if config.epoch_eval_reviews else validation
    recipe = {k: v for k, v in asdict(config).items() if k not in ("device", "eval_batch_size")}
    return cache.key({"rows": targets_key(rows), "student": student, "identity": model_identity(student),
                      "epoch_eval": cache.texts_key(epoch_eval["text"].tolist()) if config.eval_each_epoch else None,
                      "recipe": recipe, "world_size": rank_and_world()[1], "libraries": cache.libraries(),
                      "device": device_name(pick_device(config.device)),
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
    if p["stated_rating_epochs"]:
        learn_stated_ratings(paths, p, pool, validation)
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
