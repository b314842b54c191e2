"""The report's figures, in one seaborn style."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from .paths import atomic_path
from .teacher import CLASSES

MODEL_COLORS = {"majority": "#8C8C8C", "teacher": "#4C72B0", "student": "#DD8452", "gold_supervised": "#55A868"}


def style() -> None:
    """The one style every figure uses."""
    sns.set_theme(style="whitegrid", context="notebook", font_scale=1.05)


def save(fig, path: Path) -> Path:
    """Write `fig` as a PNG atomically."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=150, bbox_inches="tight")
    return path


def accuracy_bars(metrics: dict, path: Path):
    """Teacher vs student accuracy against ground truth (the original's first figure)."""
    style()
    frame = pd.DataFrame({"model": list(metrics), "accuracy": [m["accuracy"] for m in metrics.values()]})
    fig, ax = plt.subplots(figsize=(1.6 * len(frame) + 1.5, 4))
    sns.barplot(frame, x="model", y="accuracy", hue="model", palette=MODEL_COLORS, ax=ax, legend=False)
    for container in ax.containers:
        ax.bar_label(container, fmt="%.3f", padding=3)
    ax.set(ylim=(0, 1.08), xlabel="", ylabel="accuracy vs IMDB labels",
           title=f"Teacher vs student accuracy (n = {next(iter(metrics.values()))['n']:,})")
    save(fig, path)
    return fig


def label_distribution(metrics: dict, path: Path, split: str = "test"):
    """Predicted negative/neutral/positive counts on the `split` reviews, teacher and student side by side."""
    style()
    frame = pd.DataFrame([{"model": model, "label": label, "reviews": m["label_counts"][label]}
                          for model, m in metrics.items() for label in CLASSES])
    fig, ax = plt.subplots(figsize=(6, 4))
    sns.barplot(frame, x="label", y="reviews", hue="model", palette=MODEL_COLORS, order=CLASSES, ax=ax)
    for container in ax.containers:
        ax.bar_label(container, padding=2)
    ax.set(xlabel="predicted label", ylabel=f"{split} reviews", title="Teacher vs student label distribution")
    save(fig, path)
    return fig


def confusion_matrices(models: dict, path: Path):
    """Confusion matrices (true vs predicted, binary), one panel per model, side by side."""
    style()
    fig, axes = plt.subplots(1, len(models), figsize=(3.6 * len(models), 3.4), squeeze=False)
    for ax, (name, m) in zip(axes[0], models.items()):
        sns.heatmap(pd.DataFrame(m["confusion_matrix"], index=["negative", "positive"],
                                 columns=["negative", "positive"]),
                    annot=True, fmt="d", cmap="Blues", cbar=False, ax=ax, annot_kws={"size": 12})
        ax.set(title=f"{name} (acc {m['accuracy']:.3f})", xlabel="predicted", ylabel="true" if ax is axes[0][0] else "")
    fig.tight_layout()
    save(fig, path)
    return fig


def reliability_diagram(bins: dict[str, list[dict]], path: Path, split: str | None, palette: dict | None = None):
    """Observed share of positive reviews against predicted p(positive), per model, from `metrics.reliability_bins`
    on the `split` reviews; the diagonal is perfect. `palette`: a color per name (default: the models')."""
    if not bins:
        return no_diagnostics("reliability diagram")
    style()
    data = pd.concat([pd.DataFrame(rows).assign(model=name) for name, rows in bins.items()])
    fig, ax = plt.subplots(figsize=(5, 4.5))
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfect calibration")
    palette = palette or MODEL_COLORS
    sns.lineplot(data, x="predicted", y="observed", hue="model", palette=palette, marker="o", ax=ax)
    sns.scatterplot(data, x="predicted", y="observed", hue="model", size="reviews", palette=palette,
                    sizes=(20, 300), ax=ax, legend=False, alpha=0.5)
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="predicted p(positive)", ylabel="share truly positive",
           title=f"Reliability on {split} (marker size: reviews per bin)")
    ax.legend(loc="upper left", fontsize="small")
    save(fig, path)
    return fig


def no_diagnostics(what: str) -> None:
    """Say that `what` is not drawn: the run has neither development nor validation reviews, and no diagnostic
    reads test."""
    print(f"no {what}: this run has no development or validation reviews, and diagnostics never read test")


CONTINUES_PREVIOUS = {"stated ratings"}  # trainings that go on from the weights of the one listed before them


def training_curves(histories: dict, path: Path):
    """Training loss per logged step and validation accuracy during training (held-out train reviews, never test;
    once per epoch or `evals_per_epoch` times), from the Trainer's log history; one line per training (student, each
    self-training round, stated ratings drawn on from where the training before them ended, ceiling)."""
    style()
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 3.8))
    colors = {"student": MODEL_COLORS["student"], "gold_supervised": MODEL_COLORS["gold_supervised"]}
    previous = None
    for name, history in histories.items():
        frame = pd.DataFrame(history)
        if name in CONTINUES_PREVIOUS and previous is not None and {"step", "epoch"} <= set(frame) & set(previous):
            frame[["step", "epoch"]] += previous[["step", "epoch"]].max()  # drawn after the training it goes on from
        previous = frame
        if "loss" in frame:
            steps = frame.dropna(subset=["loss"])
            loss_ax.plot(steps["step"], steps["loss"], label=name, color=colors.get(name))
        if "eval_accuracy" in frame:
            evals = frame.dropna(subset=["eval_accuracy"])
            acc_ax.plot(evals["epoch"], evals["eval_accuracy"], marker="o", label=name, color=colors.get(name))
    loss_ax.set(xlabel="step", ylabel="training loss", title="Training loss")
    acc_ax.set(xlabel="epoch", ylabel="accuracy vs true labels", title="Validation accuracy during training")
    if not acc_ax.lines:  # say so on the figure rather than leave an empty panel
        acc_ax.text(0.5, 0.5, "not scored during training\n(eval_each_epoch: false)", ha="center", va="center",
                    transform=acc_ax.transAxes, color="grey")
    for ax in (loss_ax, acc_ax):
        if ax.lines:
            ax.legend()
    fig.tight_layout()
    save(fig, path)
    return fig


def accuracy_by_length(by_length: dict[str, dict], path: Path, split: str | None):
    """Accuracy per review-length bucket on the `split` reviews, per model (`{model: {bucket: {n, accuracy}}}`);
    bucket sizes on the x labels."""
    if not by_length:
        return no_diagnostics("accuracy by length")
    style()
    rows = [{"model": name, "length (words)": bucket, "accuracy": v["accuracy"], "n": v["n"]}
            for name, buckets in by_length.items() for bucket, v in buckets.items()]
    frame = pd.DataFrame(rows)
    counts = frame.drop_duplicates("length (words)").set_index("length (words)")["n"]
    frame["length (words)"] = [f"{b}\n(n={counts[b]})" for b in frame["length (words)"]]
    fig, ax = plt.subplots(figsize=(8, 4))
    sns.barplot(frame, x="length (words)", y="accuracy", hue="model", palette=MODEL_COLORS, ax=ax)
    ax.set(ylim=(0, 1), title=f"Accuracy by review length ({split})")
    ax.legend(loc="lower left", ncols=len(by_length))
    save(fig, path)
    return fig


def agreement_heatmap(teacher_labels, student_labels, path: Path, split: str | None):
    """Share of the `split` reviews per (teacher label, student label) pair; the diagonal is agreement."""
    if split is None:
        return no_diagnostics("teacher-student agreement")
    style()
    table = pd.crosstab(pd.Categorical(teacher_labels, CLASSES), pd.Categorical(student_labels, CLASSES),
                        normalize="all", dropna=False)
    fig, ax = plt.subplots(figsize=(4.8, 4))
    sns.heatmap(table, annot=True, fmt=".1%", cmap="Oranges", cbar=False, ax=ax)
    agree = float(sum(table.iloc[i, i] for i in range(len(CLASSES))))
    ax.set(xlabel="student label", ylabel="teacher label", title=f"Teacher-student agreement ({split}): {agree:.1%}")
    save(fig, path)
    return fig


def source_agreement(pairs: dict, coverage: dict, path: Path, split: str):
    """Each pair of label sources: the share of reviews both speak on that they call the same way; each source's
    coverage in its label."""
    style()
    table = pd.DataFrame(pairs).astype(float)
    names = [f"{name} ({coverage[name]['coverage']:.0%})" for name in table.index]
    table.index, table.columns = names, names
    fig, ax = plt.subplots(figsize=(1.2 * len(names) + 2.5, 1.0 * len(names) + 1.5))
    sns.heatmap(table, annot=True, fmt=".0%", cmap="Blues", vmin=0.5, vmax=1, cbar=False, ax=ax)
    ax.set(title=f"Label sources: agreement where both speak ({split}; coverage in brackets)")
    save(fig, path)
    return fig


def calibration_map(record: dict, path: Path):
    """The map calibration folded into the student's head, drawn as probabilities: the trained student's
    p(positive) against the calibrated one (the diagonal changes nothing). Every decision stays: the map crosses
    0.5 where the diagonal does. None (and a line saying why) when nothing was folded."""
    import numpy as np

    from .calibrate import calibrated, record_branches
    from .metrics import binary_positive_probability

    if not record or not record.get("folded"):
        print(f"no calibration map: {(record or {}).get('why', 'calibration is off (calibrate: false)')}")
        return None
    style()
    trained = 1 / (1 + np.exp(-np.linspace(-8, 8, 401)))  # the trained student's p(positive), its logit d in [-8, 8]
    probs = np.column_stack([1 - trained, np.zeros_like(trained), trained])  # negative, neutral, positive
    mapped = binary_positive_probability(calibrated(probs, record_branches(record)))  # the folded head's reading
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    ax.plot([0, 1], [0, 1], ls="--", color="#8C8C8C", label="no change")
    ax.plot(trained, mapped, color=MODEL_COLORS["student"], label=f"folded map ({record['map']})")
    ax.set(xlabel="trained student's p(positive)", ylabel="calibrated p(positive)", xlim=(0, 1), ylim=(0, 1),
           title="What calibration does to the student's probabilities")
    ax.legend(loc="upper left")
    save(fig, path)
    return fig


def self_calibration_reliability(record: dict | None, path: Path):
    """Reliability of the trained and the relearned student held out (the record's bins): on validation, each half as
    relearned from the other half's map (on the half the map never saw, in a record from before 2026-12-04); None
    (and a line saying why) when it did not run or predates the bins."""
    if not record or "reliability_held_out_before" not in record:
        why = ("it did not run (self_calibration_reviews: 0)" if not record else
               f"it was skipped ({record['skipped']})" if "skipped" in record else "its record predates the figure")
        print(f"no self-calibration figure: {why}")
        return None
    bins = {"trained student": record["reliability_held_out_before"],
            "self-calibrated" + ("" if record["kept"] else " (not kept)"): record["reliability_held_out_after"]}
    from .calibrate import map_saw_all_validation

    where = ("validation, each half relearned from the other's map" if map_saw_all_validation(record)
             else "the held-out half of validation")
    return reliability_diagram(bins, path, where,
                               dict(zip(bins, (MODEL_COLORS["teacher"], MODEL_COLORS["student"]))))


def accuracy_by_confidence(frames: dict[str, pd.DataFrame], prob_columns: list[str], path: Path):
    """The teacher's accuracy on its most confident fraction of each class, per labelled split (never test): what
    the confidence filter of 03 (`keep_top_fraction`) trades, cleaner labels against fewer and easier reviews."""
    from .metrics import top_fraction_accuracy

    frames = {name: frame for name, frame in frames.items() if len(frame)}
    if not frames:
        return no_diagnostics("accuracy by confidence")
    style()
    fractions = [f / 20 for f in range(1, 21)]
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for name, frame in frames.items():
        accuracy = top_fraction_accuracy(frame["label"].to_numpy(), frame[prob_columns].to_numpy(), fractions)
        ax.plot(fractions, list(accuracy.values()), marker="o", ms=3, label=f"{name} ({len(frame):,} reviews)")
    ax.set(xlabel="most confident fraction of each teacher class kept", ylabel="teacher's accuracy on them",
           title="The teacher is more often right where it is more sure", xlim=(0, 1.02))
    ax.legend()
    save(fig, path)
    return fig
