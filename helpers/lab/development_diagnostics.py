"""The S-shape record redone on the development split (issue 31): a finished run's student and label sources read on
2,000 development reviews, drawn with the run's own parameters after its validation and pool, whose labels never
train or choose anything. Test is never read.

`python -m helpers.lab.development_diagnostics --workdir /tmp/base --run base-s42 --cache /tmp/devdiag/cache`

It draws the development split through `data.draw_samples` (and refuses unless the run's validation and pool come out
review for review as the run drew them), scores the saved student on it at the precision the check settles, and
records: the student's reliability against its binary logit d = z_pos - z_neg (equal-count bins of d) and against
p(positive) (equal-width bins), its ECE and accuracy (and the same on validation, beside it, for comparison with the
earlier record read there); each label source's coverage and accuracy where it speaks, and
the combined teacher's, with the pool normalisation 02 fitted (the pool's scores come from a copy of the run's
source cache, so only the development reviews are scored); and accuracy by review length, and by whether the
student's window cut the review, what truncation reads. The run's own folders are only read.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from ..calibrate import binary_logit
from ..data import draw_samples, load_eval_sets, read_reviews
from ..errors import UserError
from ..evaluate import source_agreement, source_metrics
from ..inference import cpu_model
from ..metrics import (binary_positive_probability, expected_calibration_error, length_bucket, reliability_bins,
                       to_binary)
from ..paths import PROJECT_ROOT, RunPaths, read_json, write_json

D_BINS = 12  # equal-count bins of d, as the validation record (sources_student_reliability_2core_epyc.json)
SATURATED = 2.3  # |d| from which the student's logit piles up near its capped targets (that record's band)


def run_parameters(paths: RunPaths) -> dict:
    """The run's parameters (run.json) over the notebooks' defaults, as its notebooks saw them."""
    from ..run import notebook_defaults

    return {**notebook_defaults(), **read_json(paths.results / "run.json")["parameters"]}


def draw_development(params: dict, n_dev: int) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """The run's samples drawn again with `n_dev` development reviews: every sample, and the drop report."""
    other = load_eval_sets(params["eval_sets"])
    return draw_samples(params["n_train"], params["n_val"], params["n_test"], params["n_unlabeled"], params["seed"],
                        params["data_dir"], params["dataset_id"],
                        exclude=[text for frame in other.values() for text in frame["text"]], n_dev=n_dev)


def check_same_draws(paths: RunPaths, samples: dict[str, pd.DataFrame]) -> None:
    """Refuse unless validation and the pool are, review for review, the ones the run drew (its CSVs)."""
    for split in ("validation", "train", "unsupervised"):
        theirs = read_reviews(paths.reviews(split))["text"].tolist()
        if samples[split]["text"].tolist() != theirs:
            raise UserError(f"the {split} sample drawn here is not the run's ({paths.reviews(split)}): not recorded")


def copy_cache(paths: RunPaths, cache: Path) -> None:
    """Copy the run's source scores, precision verdicts and students' predictions into `cache`, so the run's own
    folders are only read."""
    for kind in ("sources", "precision", "predictions"):
        if (paths.cache / kind).is_dir() and not (cache / kind).exists():
            shutil.copytree(paths.cache / kind, cache / kind)


def score_student(paths: RunPaths, params: dict, cache: Path, validation: pd.DataFrame, texts: list[str]):
    """The saved student and its class probabilities on `texts`, at the precision the check settles on validation
    (the run's own verdict when the copied cache holds it)."""
    from ..precision import verdict_line
    from ..student import SavedStudent

    student = SavedStudent(paths.student, "cpu", params["eval_batch_size"], cache)
    verdict = student.settle(params["precision"], validation, params["precision_check_reviews"])
    print(f"student scores at {verdict_line(verdict)}", flush=True)
    return student, student.predict(texts, "student on development")


def logit_bins(gold: np.ndarray, d: np.ndarray, bins: int = D_BINS) -> list[dict]:
    """Equal-count bins of the binary logit `d`: its range, the reviews, mean predicted p(positive) = sigmoid(d),
    and the share truly positive."""
    order = np.argsort(d, kind="stable")
    rows = []
    for part in np.array_split(order, bins):
        rows.append({"d_from": round(float(d[part].min()), 3), "d_to": round(float(d[part].max()), 3),
                     "n": int(len(part)), "predicted": round(float(np.mean(sigmoid(d[part]))), 4),
                     "true_share": round(float(np.mean(gold[part])), 4)})
    return rows


def sigmoid(d: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-d)."""
    return 1 / (1 + np.exp(-np.asarray(d, dtype=np.float64)))


def saturated_band(gold: np.ndarray, d: np.ndarray, bins: int = D_BINS, edge: float = SATURATED) -> dict:
    """Each side of the band |d| >= `edge`: its share of the reviews, the predicted p(positive) it spans and the share
    truly positive over its equal-count bins (from the side's middle to its end): the S."""
    out = {}
    for side, inside in (("negative", d <= -edge), ("positive", d >= edge)):
        if inside.sum() < bins:
            out[side] = {"share_of_reviews": round(float(inside.mean()), 4)}
            continue
        rows = logit_bins(gold[inside], d[inside], bins=max(2, min(6, int(inside.sum()) // 100)))
        out[side] = {"share_of_reviews": round(float(inside.mean()), 4), "n": int(inside.sum()),
                     "d_range": [rows[0]["d_from"], rows[-1]["d_to"]],
                     "predicted": [rows[0]["predicted"], rows[-1]["predicted"]],
                     "true_share": [rows[0]["true_share"], rows[-1]["true_share"]], "bins": rows}
    return out


def student_record(gold: np.ndarray, probs: np.ndarray, verdict: dict) -> dict:
    """The student's S on these reviews: accuracy, ECE, reliability against d and against p(positive)."""
    d, p = binary_logit(probs), binary_positive_probability(probs)
    return {"precision": verdict["precision"], "precision_how": verdict.get("how"),
            "accuracy": round(float(np.mean(to_binary(probs) == gold)), 4),
            "ece": round(expected_calibration_error(gold, p), 4),
            "share_with_abs_d_at_least_2_3": round(float(np.mean(np.abs(d) >= SATURATED)), 4),
            "reliability_by_d": logit_bins(gold, d), "saturated_band": saturated_band(gold, d),
            "reliability_by_p": reliability_bins(gold, p)}


def teacher_record(paths: RunPaths, params: dict, cache: Path, splits: dict[str, pd.DataFrame]) -> tuple[dict, np.ndarray]:
    """The label sources as 02 combines them (normalised over the run's pool), on the development reviews: each
    source's coverage and accuracy where it speaks, their agreement, the combined teacher's accuracy and ECE; checked
    against the run's own validation annotations first. Also the teacher's probabilities on development."""
    from ..sources.teacher import source_settings, sources_teacher

    reviews = {split: splits[split] for split in ("validation", "train", "unsupervised", "development")}
    teacher = sources_teacher(params["teacher_sources"], source_settings(params), cache, reviews,
                              params["precision_check_reviews"])
    check_teacher(paths, teacher, splits["validation"])
    development = splits["development"]
    probs, gold = teacher.predict(development["text"]), development["label"].to_numpy()
    frame = pd.concat([development.reset_index(drop=True), teacher.columns(development["text"])], axis=1)
    return {"sources": source_metrics(frame), "source_agreement": source_agreement(frame),
            "combined": {"accuracy": round(float(np.mean(to_binary(probs) == gold)), 4),
                         "ece": round(expected_calibration_error(gold, binary_positive_probability(probs)), 4)},
            "precision": teacher.precision}, probs


def check_teacher(paths: RunPaths, teacher, validation: pd.DataFrame) -> None:
    """Refuse unless the teacher rebuilt here gives the run's own validation annotations (02's, to 1e-5)."""
    theirs = read_reviews(paths.annotated("validation"))[["p_negative", "p_neutral", "p_positive"]].to_numpy()
    if not np.allclose(teacher.predict(validation["text"]), theirs, atol=1e-5):
        raise UserError("the label sources rebuilt here do not give the run's validation annotations: not recorded")


def truncation_record(texts: pd.Series, gold: np.ndarray, probs: dict[str, np.ndarray], student) -> dict:
    """What truncation reads: accuracy per review-length bucket (words), and for reviews the student's window cuts
    (more tokens than its max_length) against those it reads whole, per model."""
    from ..student import read_length

    tokens = np.array([len(ids) for ids in student.tokenizer(list(texts), verbose=False)["input_ids"]])
    cut = tokens > read_length(student.settings)
    buckets = length_bucket(texts).to_numpy()
    by_length = {str(b): {"n": int((buckets == b).sum()),
                          **{name: round(float(np.mean(to_binary(p[buckets == b]) == gold[buckets == b])), 4)
                             for name, p in probs.items()}} for b in pd.unique(buckets)}
    by_window = {side: {"n": int(mask.sum()), **{name: round(float(np.mean(to_binary(p[mask]) == gold[mask])), 4)
                                                 for name, p in probs.items()}}
                 for side, mask in (("cut", cut), ("read whole", ~cut)) if mask.any()}
    return {"window": {"max_length": read_length(student.settings), "truncation": student.settings["truncation"],
                       "head_tokens": student.settings["head_tokens"], "share_cut": round(float(cut.mean()), 4)},
            "by_length_words": dict(sorted(by_length.items(), key=lambda kv: length_order(kv[0]))),
            "by_window": by_window}


def length_order(bucket: str) -> int:
    """Sort key of a length bucket label ('1-150', '>500')."""
    return int(bucket.lstrip(">").split("-")[0])


def git_commit() -> str:
    """This checkout's commit (with -dirty when it has changes)."""
    done = subprocess.run(["git", "-C", str(PROJECT_ROOT), "describe", "--always", "--dirty", "--abbrev=40"],
                          capture_output=True, text=True)
    return done.stdout.strip()


def summary(record: dict) -> str:
    """A short table of the key figures, for the terminal."""
    lines = [f"development reviews: {record['n']:,} (seed {record['seed']}); student at "
             f"{record['student']['precision']}",
             f"{'reviews':<11} {'accuracy':>8} {'ECE':>6} {'|d|>=2.3':>8}  {'side':<8} {'d range':>14} "
             f"{'predicted':>12} {'truly positive':>14}"]
    for where, key in (("development", "student"), ("validation", "student_on_validation")):
        lines += band_lines(where, record[key])
    if "teacher" in record:
        lines.append(f"{'source':<16} {'coverage':>8}  accuracy where it speaks (development)")
        for name, m in record["teacher"]["sources"].items():
            accuracy = m["accuracy_where_it_speaks"]
            lines.append(f"{name:<16} {m['coverage']:>8.1%}  {accuracy:.4f}" if accuracy is not None else f"{name:<16} -")
        lines.append(f"combined teacher: accuracy {record['teacher']['combined']['accuracy']:.4f}, "
                     f"ECE {record['teacher']['combined']['ece']:.4f}")
    lines.append("accuracy by review length (words), and by whether the student's window cuts the review:")
    for bucket, v in {**record["truncation"]["by_length_words"], **record["truncation"]["by_window"]}.items():
        lines.append(f"  {bucket:<11} n={v['n']:<5} " + "  ".join(f"{m} {v[m]:.3f}" for m in ("student", "teacher") if m in v))
    return "\n".join(lines)


def band_lines(where: str, student: dict) -> list[str]:
    """The student's accuracy, ECE and saturated band on `where`, one line per side of the band."""
    head = f"{where:<11} {student['accuracy']:>8.4f} {student['ece']:>6.4f} {student['share_with_abs_d_at_least_2_3']:>8.1%}"
    lines = []
    for side, band in student["saturated_band"].items():
        if "d_range" in band:
            lines.append(f"{head if not lines else ' ' * len(head)}  {side:<8} {band['d_range'][0]:>6.2f} to "
                         f"{band['d_range'][1]:>5.2f} {band['predicted'][0]:>5.3f}-{band['predicted'][1]:.3f} "
                         f"{band['true_share'][0]:>6.3f}-{band['true_share'][1]:.3f}")
    return lines or [head]


def measure(workdir: str, run_name: str, n_dev: int, cache: Path) -> dict:
    """The record: the development split drawn and checked, the student and the sources scored on it."""
    paths = RunPaths.of(workdir, run_name)
    params = run_parameters(paths)
    samples, drawn = draw_development(params, n_dev)
    check_same_draws(paths, samples)
    copy_cache(paths, cache)
    development = samples["development"]
    gold = development["label"].to_numpy()
    validation = read_reviews(paths.annotated("validation"))
    student, probs = score_student(paths, params, cache, validation, development["text"].tolist())
    on_validation = student.predict(validation["text"], "student on validation")  # the run's 04 cached them
    record = {"n": int(len(development)), "seed": params["seed"], "run": run_name,
              "run_commit": read_json(paths.results / "run.json").get("git_commit"),
              "drawn": drawn.reset_index().to_dict("records"), "student": student_record(gold, probs, student.verdict),
              "student_on_validation": student_record(validation["label"].to_numpy(), on_validation, student.verdict)}
    models = {"student": probs}
    if params["teacher_sources"]:
        record["teacher"], models["teacher"] = teacher_record(paths, params, cache, samples)
    record["truncation"] = truncation_record(development["text"], gold, models, student)
    return record


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m helpers.lab.development_diagnostics", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", default="/tmp/base")
    parser.add_argument("--run", default="base-s42")
    parser.add_argument("--n-dev", type=int, default=2000)
    parser.add_argument("--cache", default="/tmp/devdiag/cache", help="this script's cache (a copy of the run's)")
    parser.add_argument("--out", default="results/measured/development_diagnostics_2core_epyc.json")
    args = parser.parse_args(argv)
    started = datetime.now(timezone.utc)
    try:
        record = measure(args.workdir, args.run, args.n_dev, Path(args.cache))
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    record = {"what": "the S-shape record on the development split (issue 31): the run's student and label sources "
                      "on development reviews drawn after its validation and pool; test never read",
              "cpu": cpu_model(), "date": started.strftime("%Y-%m-%d"), "started": started.isoformat(timespec="seconds"),
              "minutes": round((datetime.now(timezone.utc) - started).total_seconds() / 60, 1),
              "commit": git_commit(), "command": "python -m helpers.lab.development_diagnostics " + " ".join(
                  argv if argv is not None else sys.argv[1:]), **record}
    write_json(record, PROJECT_ROOT / args.out if not Path(args.out).is_absolute() else Path(args.out))
    print(summary(record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
