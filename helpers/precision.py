"""Choosing the precision a model scores at: measured on labelled reviews against fp32, never assumed.

`auto` times fp32 and every reduced precision the device runs natively (`inference.native_precisions`) on a few
hundred labelled reviews, and takes the fastest one that passes the accuracy guard: label agreement with fp32 of
at least `MIN_AGREEMENT` and accuracy within `MAX_ACCURACY_LOSS` of fp32's. If none passes, or none is native,
it stays at fp32. The verdict and its evidence are returned, to be recorded beside the scores.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from .errors import ConfigError
from .inference import CPU_FLAGS, at_precision, check_precision, cpu_flags, encode, native_precisions, predict_ids
from .metrics import binary_positive_probability, to_binary

MIN_AGREEMENT = 0.995  # share of reviews whose headline label is the same as at fp32
MAX_ACCURACY_LOSS = 0.003  # accuracy may fall at most this much below fp32's (0.3 points)
CHECK_REVIEWS = 400  # labelled reviews the check scores at each precision
MIN_CHECK_REVIEWS = 200  # fewer than this cannot show 99.5% agreement with any confidence: fp32 then


def judge(reference: np.ndarray, candidate: np.ndarray, gold: np.ndarray) -> dict:
    """How `candidate`'s probabilities compare with fp32's `reference` on reviews with true labels `gold`."""
    ref_labels, cand_labels = to_binary(reference), to_binary(candidate)
    agreement = float(np.mean(ref_labels == cand_labels)) if len(gold) else 0.0
    accuracy, accuracy_fp32 = float(np.mean(cand_labels == gold)), float(np.mean(ref_labels == gold))
    return {"agreement": agreement, "accuracy": accuracy, "accuracy_fp32": accuracy_fp32,
            "max_p_positive_diff": float(np.abs(binary_positive_probability(reference)
                                                - binary_positive_probability(candidate)).max()) if len(gold) else 0.0,
            "passed": bool(len(gold) and agreement >= MIN_AGREEMENT and accuracy >= accuracy_fp32 - MAX_ACCURACY_LOSS)}


def choose_precision(model, tokenizer, texts: Sequence[str], gold: Sequence[int], requested: str, max_length: int,
                     truncation: str = "head", head_tokens: int = 128, batch_size: int = 0) -> dict:
    """The precision `model` should score at, with the evidence: `requested` itself unless it is `auto`.

    For `auto`, the first `CHECK_REVIEWS` of `texts` (with true labels `gold`) are scored at fp32 and at each
    native reduced precision, each timed; the fastest that passes `judge` and beats fp32 is chosen.
    """
    device = next(model.parameters()).device
    check_precision(requested, device)
    if requested != "auto":
        return {"precision": requested, "requested": requested, "how": f"{requested} (asked for)"}
    candidates = native_precisions(device)
    verdict = {"precision": "fp32", "requested": "auto", "native": candidates, "reviews": 0, "candidates": {},
               "rule": f"fastest native precision with label agreement >= {MIN_AGREEMENT} and accuracy within "
                       f"{MAX_ACCURACY_LOSS} of fp32, on labelled validation reviews"}
    texts, gold = list(texts)[:CHECK_REVIEWS], np.asarray(gold)[:CHECK_REVIEWS]
    if not candidates or len(texts) < MIN_CHECK_REVIEWS:
        verdict["how"] = "fp32: " + ("no reduced precision is native on this device" if not candidates
                                     else f"{len(texts)} labelled validation reviews are too few to check a reduced "
                                          f"precision on (at least {MIN_CHECK_REVIEWS})")
        return verdict
    ids = encode(tokenizer, texts, max_length, truncation, head_tokens)
    timed = {}
    for name in ["fp32", *candidates]:
        runnable = at_precision(model, name)
        predict_ids(runnable, tokenizer, ids[:8], batch_size, precision=name)  # warm-up: kernels, packed weights
        start = _sync_time(device)
        probs = predict_ids(runnable, tokenizer, ids, batch_size, precision=name)
        timed[name] = (_sync_time(device) - start, probs)
    verdict["reviews"] = len(texts)
    verdict["candidates"]["fp32"] = {"seconds": round(timed["fp32"][0], 3)}
    for name in candidates:
        seconds, probs = timed[name]
        verdict["candidates"][name] = {"seconds": round(seconds, 3), "speedup": round(timed["fp32"][0] / seconds, 3),
                                       **judge(timed["fp32"][1], probs, gold)}
    verdict["precision"] = fastest_passing(verdict["candidates"], len(texts))
    verdict["how"] = describe(verdict)
    return verdict


def fastest_passing(candidates: dict[str, dict], reviews: int) -> str:
    """The fastest reduced precision that passed `judge` and beats fp32, checked on enough reviews; else fp32."""
    passing = [name for name, c in candidates.items() if name != "fp32" and c["passed"] and c["speedup"] > 1]
    if reviews < MIN_CHECK_REVIEWS or not passing:
        return "fp32"
    return max(passing, key=lambda name: candidates[name]["speedup"])


def describe(verdict: dict) -> str:
    """One line: what was chosen and why."""
    if verdict.get("how") and not verdict.get("candidates"):
        return verdict["how"]
    parts = [f"{name} {c['speedup']:.2f}x, agreement {c['agreement']:.2%}, accuracy {c['accuracy']:.4f} vs "
             f"{c['accuracy_fp32']:.4f}: {'passed' if c['passed'] else 'refused'}"
             for name, c in verdict["candidates"].items() if name != "fp32"]
    return f"{verdict['precision']} (checked on {verdict['reviews']} validation reviews: {'; '.join(parts)})"


def _sync_time(device: torch.device) -> float:
    """perf_counter after the device has finished its queued work."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


def training_precision(requested: str, device: torch.device) -> str:
    """The Trainer's mixed precision: `auto` takes bf16 where the device computes it natively, else fp16 on a
    GPU with tensor cores, else fp32; `fp32` forces full precision."""
    if requested not in ("auto", "fp32", "bf16", "fp16"):
        raise ConfigError(f"train_precision {requested!r} is not one of auto, fp32, bf16, fp16")
    if requested != "auto":
        check_precision(requested, device)
        return requested
    native = native_precisions(device)
    return next((name for name in ("bf16", "fp16") if name in native), "fp32")



def settle_teacher(teacher, texts: Sequence[str], gold: Sequence[int], cache_root) -> dict:
    """A transformer teacher's precision, settled before its annotations are looked up (their cache key holds it).

    `auto` is checked on `texts` (labelled validation reviews) once; the verdict is kept in `cache_root/precision/`,
    keyed by the teacher's identity, the device and the reviews, so a fully cached rerun does no model work.
    """
    from .paths import read_json, write_json
    from .teacher import content_key

    if not hasattr(teacher, "requested_precision"):
        return {"precision": teacher.precision, "how": "n/a: VADER scores in pure Python"}
    if teacher.requested_precision != "auto":
        return {"precision": teacher.precision, "how": f"{teacher.precision} (asked for)"}
    device = teacher.device
    key = content_key({"teacher": teacher.identity_key(), "device": device_name(device),
                       "reviews": content_key("\n".join(list(texts)[:CHECK_REVIEWS]))})
    record = Path(cache_root) / "precision" / f"{key}.json"
    if record.exists():
        verdict = read_json(record)
    else:
        verdict = choose_precision(teacher.model, teacher.tokenizer, texts, gold, "auto", teacher.max_length,
                                   teacher.truncation if teacher.truncation != "chunks" else "head",
                                   teacher.head_tokens, teacher.batch_size)
        write_json(verdict, record)
    teacher.precision = verdict["precision"]
    return verdict


def device_name(device: torch.device) -> str:
    """The device's model name: the GPU's, or the CPU's with its reduced-precision flags."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu {sorted(cpu_flags() & set().union(*CPU_FLAGS.values()))}"
