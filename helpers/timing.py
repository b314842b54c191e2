"""Timing ways of doing the same work side by side: warm-up, alternating order, repeats, median and range.

One protocol, shared by the benchmark (`helpers.lab.bench`) and the precision check (`helpers.precision`), so a
verdict in a run rests on the same kind of measurement as the figures the README quotes.
"""

from __future__ import annotations

import time

import numpy as np
import torch


def synchronize() -> None:
    """Wait for the GPU's queued work, if there is a GPU."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def timed(fn) -> tuple[float, object]:
    """Wall seconds of one call, synchronising the GPU around it, and its result."""
    synchronize()
    start = time.perf_counter()
    result = fn()
    synchronize()
    return time.perf_counter() - start, result


def compare(ways: dict, repeats: int, warm_up: bool = True) -> tuple[dict, dict]:
    """Each way warmed up once (unless the caller did), then run `repeats` times in alternating order, so no way
    always runs first and absorbs what the warm-up left; seconds per way (median, min, max, runs) and its result."""
    results = {name: way() for name, way in ways.items()} if warm_up else {}  # kernels, packed weights, clocks
    seconds = {name: [] for name in ways}
    names = list(ways)
    for repeat in range(repeats):
        for name in (names if repeat % 2 == 0 else names[::-1]):
            elapsed, results[name] = timed(ways[name])
            seconds[name].append(elapsed)
    return {name: {"median_s": float(np.median(s)), "min_s": float(min(s)), "max_s": float(max(s)), "runs_s": s}
            for name, s in seconds.items()}, results


def clearly_faster(candidate: dict, reference: dict, margin: float) -> bool:
    """True if `candidate`'s median beats `reference`'s by at least `margin` times and their ranges do not
    overlap (the candidate's slowest run is faster than the reference's fastest)."""
    return (reference["median_s"] >= margin * candidate["median_s"]
            and candidate["max_s"] < reference["min_s"])
