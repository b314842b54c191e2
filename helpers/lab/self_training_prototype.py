"""Self-training that continues the trained student (issue 32): does more training from the student's own labels
teach it what the teacher's top 40% did not? Validation and the development split only.

Every arm starts from the same trained checkpoint (before self-calibration) and trains the same number of steps at a
lower learning rate, so the arms differ only in their targets (which reviews, with which labels):
- `teacher`: the recipe's own targets again (the teacher's top 40% per class): what more steps alone give;
- `student`: the student's probabilities on the whole pool (read as it trains, 128 head + 128 tail tokens), its top
  `--top` per class (COSINE's confident samples, without its contrastive term);
- `new`: the student's probabilities on the pool reviews outside the teacher's top 40% (those it never learned a
  label for), its top `--top` per class among them;
- `rating`: every pool review that states a decisive rating, with the teacher's targets there (a stated rating
  overrides the other sources; about 97% right where it speaks, yet a 4/10 or 7/10 falls outside the top 40%), read
  with the rating cut out (`without_rating`), so that what it teaches is the review's words, not its number;
- `rating_kept`: the same rows as written, rating included (the trained student gets only some 0.88-0.90 of the
  validation reviews that state a rating right, where the rating itself gets 0.97-0.99).
Each arm's drawn rows are scored against the true labels of those among them that are the pool's train reviews
(some 400 of 4,800; a diagnostic: no label trains anything). The loss, batch, reading and balancing are the recipe's (`training_targets`, `train_student`).

`python -m helpers.lab.self_training_prototype <trained checkpoint> <the run's data folder> <seed> <out folder>
--arm teacher` (records: results/records/README.md#self-training-prototype); `... --table <records folder>` prints
the records' table (markdown) from their JSON files.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from helpers.cache import libraries
from helpers.calibrate import effect
from helpers.data import read_reviews
from helpers.distill import states_rating, training_targets
from helpers.inference import cpu_model, predict_proba
from helpers.models import model_identity
from helpers.run import environment
from helpers.sources.rating import rating_score, stated_rating, without_rating
from helpers.student import TrainConfig, train_student
from helpers.train import relabelled as with_teacher_weight

RECIPE = {"class_prior": "0.5,0,0.5", "balance": "resample"}  # the offline profile's target settings
TEACHER_TOP = 0.4  # the offline profile's keep_top_fraction


def score(model, tokenizer, texts, tokens: int = 512) -> np.ndarray:
    """Probabilities at bf16, reading 128 head tokens and the tail up to `tokens` (512: as the shipped student scores;
    256: as it trains, for the pool, at half the minutes)."""
    with torch.inference_mode():
        return predict_proba(model.eval(), tokenizer, list(texts), tokens, truncation="head_tail", head_tokens=128,
                             precision="bf16")


def arm_rows(arm: str, pool: pd.DataFrame, student_probs: np.ndarray, top: float, seed: int) -> pd.DataFrame:
    """The training rows of `arm` (see the module's docstring), each with a `review_id`."""
    teacher_rows = training_targets(pool, seed=seed, keep_top_fraction=TEACHER_TOP, **RECIPE)
    if arm == "teacher":
        return teacher_rows
    if arm in ("rating", "rating_kept"):
        return training_targets(pool[states_rating(pool)], seed=seed, keep_top_fraction=1.0, **RECIPE)
    relabelled = with_teacher_weight(pool, student_probs, 0.0)  # the student's probabilities alone
    if arm == "new":
        relabelled = relabelled[~relabelled["text"].isin(set(teacher_rows["text"]))]
    return training_targets(relabelled, seed=seed, keep_top_fraction=top, **RECIPE)


def as_read(arm: str, rows: pd.DataFrame) -> pd.DataFrame:
    """The rows as the student reads them: the `rating` arm's texts without their stated rating."""
    return rows.assign(text=rows["text"].map(without_rating)) if arm == "rating" else rows


def target_accuracy(rows: pd.DataFrame, pool: pd.DataFrame) -> dict:
    """How often the rows' labels are right, on the rows whose review has a true label (the pool's train reviews)."""
    gold = pool.loc[pool["label"] >= 0].drop_duplicates("text").set_index("text")["label"]
    known = rows[rows["text"].isin(gold.index)].drop_duplicates("text")
    right = (known["labels"].to_numpy() == 2) == gold.loc[known["text"]].to_numpy()
    return {"n_with_gold": len(known), "accuracy": round(float(right.mean()), 4) if len(known) else None}


def table(folder: Path) -> str:
    """One markdown row per arm record (`*.json`) under `folder`: start and after, validation and development."""
    lines = ["| seed | arm | rows (available) | label acc. on pool train reviews (n) | validation start -> after (ECE) "
             "| development start -> after (ECE) | decisions moved val / dev | training min |", "|" + "---|" * 8]
    for path in sorted(folder.rglob("*.json"), key=lambda p: (p.parent.name, p.name)):
        r = json.loads(path.read_text())
        if "arm" not in r:
            continue
        cell = lambda split: (f"{r[split]['start']['accuracy']:.4f} -> **{r[split]['after']['accuracy']:.4f}** "
                              f"({r[split]['start']['ece']:.3f} -> {r[split]['after']['ece']:.3f})")
        target = r["target_accuracy_on_pool_train_reviews"]
        lines.append(f"| {r['seed']} | {r['arm']} | {r['rows_trained']:,} ({r['rows_available']:,}) | "
                     f"{target['accuracy']} ({target['n_with_gold']}) | {cell('validation')} | {cell('development')} | "
                     f"{r['validation']['decisions_moved']} / {r['development']['decisions_moved']} | "
                     f"{r['training_minutes']} |")
    return "\n".join(lines)


def start_scores(out: Path, checkpoint: str, data: str, tokenizer, pool: pd.DataFrame, validation: pd.DataFrame,
                 development: pd.DataFrame) -> dict:
    """The trained student's probabilities on the pool (256 tokens), validation and development (512), shared by the
    arms of one checkpoint: kept in `out` with what they were computed from, and refused for any other checkpoint or
    data. Also the minutes they took (0 when read back)."""
    made_from = json.dumps({"checkpoint": str(Path(checkpoint).resolve()), "identity": model_identity(checkpoint),
                            "data": str(Path(data).resolve()), "pool_tokens": 256, "split_tokens": 512,
                            "precision": "bf16"}, sort_keys=True)
    path, began = out / "start_scores.npz", time.time()
    if not path.exists():
        model = AutoModelForSequenceClassification.from_pretrained(checkpoint)
        np.savez(path, pool=score(model, tokenizer, pool["text"], 256), validation=score(model, tokenizer, validation["text"]),
                 development=score(model, tokenizer, development["text"]), made_from=made_from)
    kept = np.load(path)
    if str(kept["made_from"]) != made_from:
        raise SystemExit(f"{path} was scored from another checkpoint or data: give another out folder")
    return {name: kept[name] for name in ("pool", "validation", "development")} | {
        "minutes": round((time.time() - began) / 60, 1)}


def by_rating(texts, gold: np.ndarray, start: np.ndarray, after: np.ndarray) -> dict:
    """Accuracy at the start and after, on the reviews that state a decisive rating and on those that state none."""
    rated = np.array([not np.isnan(rating_score(stated_rating(text))) for text in texts])
    right = lambda probs, where: round(float(np.mean((probs[where, 2] > probs[where, 0]) == (gold[where] == 1))), 4)
    return {group: {"n": int(where.sum()), "start": right(start, where), "after": right(after, where)}
            for group, where in (("stated_rating", rated), ("no_rating", ~rated))}


def split_figures(record: dict, scores: dict, after: dict, splits: dict) -> None:
    """Each split's accuracy, ECE and moved decisions, start and after, overall and by stated rating, into `record`."""
    for name, frame in splits.items():
        gold = frame["label"].to_numpy()
        e = effect(scores[name], after[name], gold, name)
        record[name] = {"n": len(frame), **{when: {"accuracy": round(e[f"accuracy_{name}_{which}"], 4),
                                                   "ece": round(e[f"ece_{name}_{which}"], 4)}
                                            for when, which in (("start", "before"), ("after", "after"))},
                        "decisions_moved": e[f"decisions_changed_{name}"],
                        "by_rating": by_rating(frame["text"], gold, scores[name], after[name])}


def rescore(out: Path, tag: str, checkpoint: str, data: str) -> dict:
    """Score an arm's trained weights (its last checkpoint in `out`) on validation and development again, keep the
    scores beside its record and add the figures by stated rating; refused unless the overall accuracy and ECE come
    out as recorded (for a record written before they were kept)."""
    path = out / f"{tag}.json"
    record = json.loads(path.read_text())
    last = sorted((out / f"checkpoints_{tag}").glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))[-1]
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    read = lambda split: read_reviews(f"{data}/{split}_teacher_annotated.csv")
    splits = {"validation": read("validation"), "development": read("development")}
    kept = np.load(out / "start_scores.npz")
    scores = {name: kept[name] for name in splits}
    model = AutoModelForSequenceClassification.from_pretrained(last)
    after = {name: score(model, tokenizer, frame["text"]) for name, frame in splits.items()}
    again = dict(record)
    split_figures(again, scores, after, splits)
    for name in splits:
        if {k: again[name][k] for k in ("start", "after")} != {k: record[name][k] for k in ("start", "after")}:
            raise SystemExit(f"{last} scores {name} otherwise than {path} records: not the weights recorded")
    np.savez(out / f"after_{tag}.npz", **after)
    path.write_text(json.dumps(again, indent=1))
    return again


def main(argv: list[str] | None = None) -> None:
    """Train one arm from the checkpoint and write its JSON record into the out folder (or, with `--table FOLDER`,
    print the table of the records under FOLDER; with `--rescore OUT TAG CHECKPOINT DATA`, add the figures by stated
    rating to a record written without them)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--table"]:
        print(table(Path(argv[1])))
        return
    if argv[:1] == ["--rescore"]:
        print(json.dumps(rescore(Path(argv[1]), argv[2], argv[3], argv[4]), indent=1))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint"), parser.add_argument("data"), parser.add_argument("seed", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--arm", choices=("teacher", "student", "new", "rating", "rating_kept"), required=True)
    parser.add_argument("--top", type=float, default=0.6, help="student arms: share of each class kept")
    parser.add_argument("--steps", type=int, default=600, help="training steps of batch 8 (rows drawn, seeded)")
    parser.add_argument("--learning-rate", type=float, default=2e-5)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    read = lambda split: read_reviews(f"{args.data}/{split}_teacher_annotated.csv")  # as load_pool reads them
    pool = pd.concat([read("train"), read("unsupervised")], ignore_index=True)
    validation, development = read("validation"), read("development")
    tokenizer = AutoTokenizer.from_pretrained(args.checkpoint)
    tag = f"{args.arm}" + (f"_top{args.top}" if args.arm in ("student", "new") else "") + f"_steps{args.steps}_lr{args.learning_rate}"
    if (args.out / f"{tag}.json").exists():  # its checkpoints would resume with 0 steps and record no training
        raise SystemExit(f"{args.out / tag}.json exists: delete it and checkpoints_{tag}/ to run this arm again")
    scores = start_scores(args.out, args.checkpoint, args.data, tokenizer, pool, validation, development)
    rows = arm_rows(args.arm, pool, scores["pool"], args.top, args.seed)
    n_rows = len(rows)
    if n_rows < args.steps * 8:
        raise SystemExit(f"arm {args.arm} has {n_rows} rows, fewer than {args.steps} steps of 8: lower --steps")
    rows = rows.sample(args.steps * 8, random_state=args.seed).reset_index(drop=True)
    target = target_accuracy(rows, pool)  # matched by text, before the rating arm's texts lose their rating
    config = TrainConfig(epochs=1.0, learning_rate=args.learning_rate, batch_size=8, max_length=256,
                         truncation="head_tail", head_tokens=128, distill_loss="mixed", temperature=2.0, alpha=0.5,
                         seed=args.seed, eval_each_epoch=False)
    began = time.time()
    trainer = train_student(args.checkpoint, as_read(args.arm, rows), validation.iloc[:0], args.out / f"checkpoints_{tag}", config)
    training_s = time.time() - began
    after = {name: score(trainer.model, tokenizer, frame["text"]) for name, frame in
             (("validation", validation), ("development", development))}
    record = {"arm": args.arm, "seed": args.seed, "checkpoint": args.checkpoint, "settings": vars(args) | {"out": str(args.out)},
              "cpu": cpu_model(), "torch_threads": torch.get_num_threads(), "git_commit": environment()["git_commit"],
              "libraries": libraries(), "start_scoring_minutes": scores["minutes"],
              "rows_available": n_rows, "rows_trained": len(rows), "steps": trainer.state.global_step,
              "target_accuracy_on_pool_train_reviews": target,
              "training_minutes": round(training_s / 60, 1)}
    split_figures(record, scores, after, {"validation": validation, "development": development})
    np.savez(args.out / f"after_{tag}.npz", **after)
    (args.out / f"{tag}.json").write_text(json.dumps(record, indent=1))
    print(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
