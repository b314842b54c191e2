"""Choosing the precision a model scores at: measured on labelled reviews against fp32, never assumed.

`auto` considers fp32 and every reduced precision the device runs natively (`inference.native_precisions`):

1. **Speed**, timed with the benchmark's protocol (`timing.compare`): a warm-up, then `TIMING_REPEATS` runs of
   each precision in alternating order; on a CPU over the first `TIMING_REVIEWS` check reviews, on a GPU over all
   of them (enough batches to leave launch noise behind). A precision counts as faster only if its median beats
   fp32's by `MIN_SPEEDUP` and the two ranges do not overlap (`timing.clearly_faster`).
2. **Accuracy**, for each clearly faster precision, fastest first: the labels on at least `MIN_CHECK_REVIEWS`
   labelled reviews must agree with fp32's on `MIN_AGREEMENT` of them, both the headline call and the 3-class
   argmax, and accuracy may fall at most `MAX_ACCURACY_LOSS`. The first that passes is taken; else fp32.

The verdict and its evidence are returned, to be recorded beside the scores, and (when measured) kept in the cache
under a key of the model's weights, the device (CPU model, cores and threads, or GPU), the library versions, this
rule and the reviews checked, so a rerun, a self-training round or a sweep's `--final` scores at the very precision
that was validated.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from .errors import ConfigError
from .inference import check_precision, device_name, native_precisions
from .metrics import binary_positive_probability, to_binary
from .timing import clearly_faster, compare

MIN_AGREEMENT = 0.995  # share of reviews whose label (headline and 3-class argmax) is the same as at fp32
MAX_ACCURACY_LOSS = 0.003  # accuracy may fall at most this much below fp32's (0.3 points)
MIN_SPEEDUP = 1.15  # a reduced precision must be at least this much faster than fp32, ranges apart
CHECK_REVIEWS = 2000  # labelled reviews scored at fp32 and at each clearly faster precision (at most)
MIN_CHECK_REVIEWS = 1500  # fewer: fp32. At 1,500, a precision that changes 1% of labels passes < 5% of the time
TIMING_REVIEWS = 160  # CPU: the timing runs over this many check reviews (GPU: over all of them)
TIMING_REPEATS = {"cpu": 3, "cuda": 5}  # timed runs per precision, after a warm-up, alternating
RULE = {"min_agreement": MIN_AGREEMENT, "max_accuracy_loss": MAX_ACCURACY_LOSS, "min_speedup": MIN_SPEEDUP,
        "check_reviews": CHECK_REVIEWS, "timing_reviews": TIMING_REVIEWS, "timing_repeats": TIMING_REPEATS}

TRAIN_PRECISIONS = ("auto", "fp32", "bf16", "fp16")

Scorer = Callable[..., np.ndarray]  # (precision, texts, progress bar=None) -> 3-class probabilities


def pass_probability(reviews: int, disagreement: float) -> float:
    """The chance that a precision whose labels truly differ from fp32's on `disagreement` of reviews passes the
    agreement guard on `reviews` reviews (binomial: at most the allowed number of flips)."""
    from scipy.stats import binom

    allowed = math.floor((1 - MIN_AGREEMENT) * reviews + 1e-9)
    return float(binom.cdf(allowed, reviews, disagreement))


def judge(reference: np.ndarray, candidate: np.ndarray, gold: np.ndarray) -> dict:
    """How `candidate`'s 3-class probabilities compare with fp32's `reference` on reviews with true labels `gold`:
    agreement of the headline call and of the 3-class argmax (a neutral/positive flip changes the targets a
    teacher gives), accuracy, and the largest change in p(positive)."""
    if not len(gold):
        return {"agreement": 0.0, "agreement_classes": 0.0, "accuracy": 0.0, "accuracy_fp32": 0.0,
                "max_p_positive_diff": 0.0, "passed": False}
    ref_labels, cand_labels = to_binary(reference), to_binary(candidate)
    agreement = float(np.mean(ref_labels == cand_labels))
    agreement_classes = float(np.mean(reference.argmax(1) == candidate.argmax(1)))
    accuracy, accuracy_fp32 = float(np.mean(cand_labels == gold)), float(np.mean(ref_labels == gold))
    return {"agreement": agreement, "agreement_classes": agreement_classes, "accuracy": accuracy,
            "accuracy_fp32": accuracy_fp32,
            "max_p_positive_diff": float(np.abs(binary_positive_probability(reference)
                                                - binary_positive_probability(candidate)).max()),
            "passed": bool(min(agreement, agreement_classes) >= MIN_AGREEMENT
                           and accuracy >= accuracy_fp32 - MAX_ACCURACY_LOSS)}


def decide(candidates: dict[str, dict]) -> str:
    """The fastest reduced precision that is clearly faster than fp32 and passed `judge`; else fp32."""
    passing = [name for name, c in candidates.items()
               if name != "fp32" and c.get("clearly_faster") and c.get("passed")]
    return max(passing, key=lambda name: candidates[name]["speedup"]) if passing else "fp32"


def choose_precision(score: Scorer, device: torch.device, texts: Sequence[str], gold: Sequence[int], requested: str,
                     min_reviews: int = MIN_CHECK_REVIEWS) -> tuple[dict, dict[str, np.ndarray]]:
    """The precision a model should score at, with the evidence, and the probabilities each precision gave on the
    check reviews (so the chosen one's need not be computed again). `requested` itself unless it is `auto`.

    `score(precision, texts)` runs the model as it will really run (its classes, its windows) at `precision`.
    """
    check_precision(requested, device)
    if requested != "auto":
        return {"precision": requested, "requested": requested, "how": f"{requested} (asked for)"}, {}
    candidates = native_precisions(device)
    verdict = {"precision": "fp32", "requested": "auto", "native": candidates, "reviews": 0, "candidates": {},
               "device": device_name(device), "rule": RULE}
    texts, gold = list(texts)[:CHECK_REVIEWS], np.asarray(gold)[:CHECK_REVIEWS]
    if not candidates or len(texts) < min_reviews:
        verdict["how"] = "fp32: " + ("no reduced precision is native on this device" if not candidates
                                     else f"{len(texts)} labelled validation reviews are too few to check a reduced "
                                          f"precision on (at least {min_reviews})")
        return verdict, {}
    timing_texts = texts if device.type == "cuda" else texts[:TIMING_REVIEWS]
    timings, _ = compare({name: (lambda name=name: score(name, timing_texts)) for name in ["fp32", *candidates]},
                         TIMING_REPEATS.get(device.type, 3))
    probs = {"fp32": _scored(score, "fp32", texts)}
    verdict.update(reviews=len(texts), timed_reviews=len(timing_texts))
    verdict["candidates"]["fp32"] = _timing_entry(timings["fp32"])
    for name in sorted(candidates, key=lambda n: timings[n]["median_s"]):
        entry = {**_timing_entry(timings[name]), "speedup": round(timings["fp32"]["median_s"] / timings[name]["median_s"], 3),
                 "clearly_faster": clearly_faster(timings[name], timings["fp32"], MIN_SPEEDUP)}
        if entry["clearly_faster"] and decide(verdict["candidates"]) == "fp32":
            probs[name] = _scored(score, name, texts)
            entry.update(judge(probs["fp32"], probs[name], gold))
        verdict["candidates"][name] = entry
    verdict["precision"] = decide(verdict["candidates"])
    verdict["how"] = describe(verdict)
    return verdict, probs


def _scored(score: Scorer, name: str, texts: list[str]) -> np.ndarray:
    """`score` at `name` over the check reviews, with a progress bar (a pass takes a minute on a CPU)."""
    from .progress import progress

    with progress(len(texts), f"precision check: {name}") as bar:
        return score(name, texts, bar)


def _timing_entry(timing: dict) -> dict:
    """Median and range of one precision's timed runs, in seconds."""
    return {"seconds": round(timing["median_s"], 4), "range_s": [round(timing["min_s"], 4), round(timing["max_s"], 4)]}


def describe(verdict: dict) -> str:
    """One line: what was chosen and why, with how many reviews the check used."""
    if verdict.get("how") and not verdict.get("candidates"):
        return verdict["how"]
    parts = []
    for name, c in verdict["candidates"].items():
        if name == "fp32":
            continue
        if not c["clearly_faster"]:
            parts.append(f"{name} {c['speedup']:.2f}x: not clearly faster (needs {MIN_SPEEDUP}x, ranges apart)")
        elif "passed" not in c:
            parts.append(f"{name} {c['speedup']:.2f}x: not needed (a faster one passed)")
        else:
            parts.append(f"{name} {c['speedup']:.2f}x, agreement {min(c['agreement'], c['agreement_classes']):.2%}, "
                         f"accuracy {c['accuracy']:.4f} vs {c['accuracy_fp32']:.4f}: "
                         f"{'passed' if c['passed'] else 'refused'}")
    return (f"{verdict['precision']} (timed on {verdict['timed_reviews']}, checked on {verdict['reviews']} "
            f"validation reviews: {'; '.join(parts)})")


def verdict_line(verdict: dict) -> str:
    """The verdict's one line, saying when it was recorded earlier rather than measured now."""
    return verdict["how"] + (" [verdict recorded earlier for this model on this device]" if verdict.get("reused") else "")


def settled(score: Scorer, device: torch.device, texts: Sequence[str], gold: Sequence[int], requested: str,
            cache_root: Path | None, identity: dict, min_reviews: int = MIN_CHECK_REVIEWS,
            ) -> tuple[dict, dict[str, np.ndarray], bool]:
    """`choose_precision`, remembered: an `auto` verdict that was measured is kept in `cache_root/precision/`, keyed by
    `identity` (what the model is: its weights and how it reads reviews), the device, the libraries, the rule and
    the number of reviews checked; a later call with the same key reuses it without scoring anything. A verdict
    that measured nothing (too few reviews to check) is never kept, so it cannot pin a model to fp32 for good.
    Returns (verdict, probabilities, reused)."""
    from . import cache
    from .paths import read_json, write_json

    if requested != "auto" or cache_root is None:
        verdict, probs = choose_precision(score, device, texts, gold, requested, min_reviews)
        return verdict, probs, False
    check_precision(requested, device)
    key = cache.key({"model": identity, "device": device_name(device), "libraries": cache.libraries(),
                     "rule": RULE, "min_reviews": min_reviews, "reviews": min(len(texts), CHECK_REVIEWS)})
    record = Path(cache_root) / "precision" / f"{key}.json"
    if record.exists():
        return read_json(record), {}, True
    verdict, probs = choose_precision(score, device, texts, gold, requested, min_reviews)
    if verdict.get("reviews"):  # measured: timed and checked on that many reviews
        write_json(verdict, record)
    return verdict, probs, False


def settle_teacher(teacher, texts: Sequence[str], gold: Sequence[int], cache_root,
                   min_reviews: int = MIN_CHECK_REVIEWS) -> dict:
    """A transformer teacher's precision, settled before its annotations are looked up (their cache key holds it).

    `auto` is checked once per teacher (identity, truncation, batch size) and device on labelled validation
    reviews, through the teacher's own classes and windows; the verdict is reused by every later run and seed,
    whatever its validation sample, so seeds of one recipe annotate at one precision, and a cached rerun does no
    model work.
    """
    if not hasattr(teacher, "requested_precision"):
        return {"precision": teacher.precision, "how": getattr(teacher, "how", "n/a: VADER scores in pure Python")}
    identity = {**teacher.identity_key(), "batch_size": teacher.batch_size}
    verdict, _, reused = settled(teacher.predict_at, teacher.device, texts, gold, teacher.requested_precision,
                                 cache_root, identity, min_reviews)
    teacher.precision = verdict["precision"]
    return {**verdict, "reused": reused}


def training_precision(requested: str, device: torch.device) -> str:
    """The Trainer's mixed precision: `auto` (the default) takes bf16 where the device computes it natively, else
    fp16 on a GPU with tensor cores, else fp32, so the recipe depends on the host (training.json records it; bf16
    and fp32 training gave the same validation accuracy on two seeds, results/measured/); `fp32`, `bf16` or `fp16`
    force one."""
    if requested not in TRAIN_PRECISIONS:
        raise ConfigError(f"train_precision {requested!r} is not one of {', '.join(TRAIN_PRECISIONS)}")
    if requested != "auto":
        check_precision(requested, device)
        return requested
    native = native_precisions(device)
    return next((name for name in ("bf16", "fp16") if name in native), "fp32")
