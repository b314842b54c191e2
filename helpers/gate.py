"""The gate every published test figure passes: a run validated without seeing test is scored on test on the very
weights, precision and teacher it was validated with, and must reproduce its validation figures to every digit;
`final.json`, written last, says it passed for exactly the `metrics.json` the run holds (`final_checked`).

`python -m helpers.run --profile offline --final` makes a gated run; `python -m helpers.lab.sweep ... --final` gates
the variant a sweep chose. The README's results and the sweep tables quote test figures only from gated runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from . import cache
from .errors import UserError
from .paths import RunPaths, read_json, write_json

VALIDATED = "metrics_validation.json"  # a run's metrics as validated, kept while the gate scores test
FINAL = "final.json"  # written last by a gate whose every check passed: without it, a test score is not trusted


def final_checked(results: Path) -> bool:
    """True if the gate passed every check on exactly the metrics.json the run holds now."""
    record, metrics = results / FINAL, results / "metrics.json"
    return record.exists() and metrics.exists() and read_json(record).get("metrics") == cache.key(read_json(metrics))


def ungated(folders: list[Path]) -> list[str]:
    """The names of the runs among `folders` without a final.json valid for their metrics.json."""
    return [folder.name for folder in folders if not final_checked(folder)]


def score_on_test(profile: str, results: Path, params: dict, execute: Callable) -> None:
    """Score a validated run on test through the gate: `execute` (the runner, `helpers.run.run`) runs 02 (the teacher
    annotates test) and 04 with `score_test`, after the weights and precision are checked to be those validated;
    then the validation figures must come out the same. A run already gated is kept."""
    metrics = validated_metrics(results, params)
    if metrics is None:
        return
    paths = RunPaths.of(params.get("workdir", "."), params["run_name"])
    check_weights(paths, params, metrics)
    check_precision(paths, params, metrics)
    teacher = read_json(paths.data / "teacher.json")
    execute(profile, {**params, "score_test": True}, steps=["02"], pass_="gate")  # a validated run never annotated test
    if read_json(paths.data / "teacher.json") != teacher:
        raise UserError(f"{params['run_name']}: 02 annotated test with another teacher than the one validated "
                        f"(data/{params['run_name']}/teacher.json changed): validate it again; no student scored test")
    write_json(metrics, results / VALIDATED)
    execute(profile, {**params, "score_test": True, "reuse_predictions": False}, pass_="gate",  # every figure compared is recomputed
            steps=["04"])
    accept(results, params, metrics)


def validated_metrics(results: Path, params: dict) -> dict | None:
    """The metrics the run was validated with, or None when the gate already passed on the metrics it holds; a
    gate stopped before its checks ended is undone, a test score made outside the gate refused."""
    metrics = read_json(results / "metrics.json")
    if not metrics.get("test_scored"):
        return metrics
    if final_checked(results):
        print(f"{params['run_name']} already scored on test through the gate, every check passed: kept", flush=True)
        return None
    if not (results / VALIDATED).exists():
        raise UserError(f"{params['run_name']} was scored on test outside the gate: validate it again "
                        "(score_test: false), then --final")
    print(f"{params['run_name']}: an earlier --final stopped before its checks ended: scoring it again", flush=True)
    metrics = read_json(results / VALIDATED)
    write_json(metrics, results / "metrics.json")
    return metrics


def check_weights(paths: RunPaths, params: dict, metrics: dict) -> None:
    """Refuse a run whose saved students are not the weights validated (or that recorded none)."""
    from .student import weights_hash

    if not metrics.get("weights"):
        raise UserError(f"{params['run_name']} recorded no weights hash (an older run): validate it again")
    folders = {"student": paths.student, "gold_supervised": paths.gold_student}
    changed = [name for name, digest in metrics["weights"].items() if weights_hash(folders[name]) != digest]
    if changed:
        raise UserError(f"{params['run_name']}: the weights of {', '.join(changed)} are not those validated: "
                        "validate it again, then --final")


def check_precision(paths: RunPaths, params: dict, metrics: dict) -> None:
    """Refuse a run whose student would score at another precision than the one validated."""
    precision = settled_precision(paths, params)
    validated = (metrics.get("precision") or {}).get("student", {}).get("precision")
    if precision != validated:
        raise UserError(f"{params['run_name']}: the student would score at {precision} here, not at the precision "
                        f"validated ({validated}): --final scores nothing on test")


def accept(results: Path, params: dict, validated: dict) -> None:
    """Write final.json if the test scoring reproduced `validated`; else put the validated metrics back and refuse."""
    differences = reproduced(validated, read_json(results / "metrics.json"))
    if differences:
        (results / "metrics.json").rename(results / "metrics_final_rejected.json")
        (results / VALIDATED).rename(results / "metrics.json")
        raise UserError(f"{params['run_name']}: scoring on test did not reproduce validation "
                        f"({'; '.join(differences)}); kept the validated metrics, the rejected ones are in "
                        "metrics_final_rejected.json")
    write_json({"checked": ["weights and tokenizer", "precision", "teacher", "validation recomputed"],
                "weights": validated["weights"], "metrics": cache.key(read_json(results / "metrics.json"))},
               results / FINAL)


def settled_precision(paths: RunPaths, params: dict) -> str:
    """The precision the run's student would score at now (its verdict, reused from the cache where measured), before
    any test review is scored."""
    from .data import read_reviews
    from .student import SavedStudent

    student = SavedStudent(paths.student, params.get("device", "auto"), params.get("eval_batch_size", 0), paths.cache)
    validation = read_reviews(paths.annotated("validation"))
    return student.settle(params.get("precision", "auto"), validation if len(validation) else None,
                          params.get("precision_check_reviews", 1500))["precision"]


def reproduced(validated: dict, final: dict) -> list[str]:
    """What differs between a run's validated metrics and its gated ones, where nothing may: the weights, each
    model's precision, and every validation figure."""
    differences = []
    if final.get("weights") != validated["weights"]:
        differences.append("weights")
    precisions = lambda m: {name: v.get("precision") for name, v in (m.get("precision") or {}).items()}
    if precisions(final) != precisions(validated):
        differences.append(f"precision {precisions(validated)} -> {precisions(final)}")
    if final.get("validation") != validated.get("validation"):
        differences.append("validation figures")
    return differences
