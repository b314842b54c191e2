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


def label_distribution(metrics: dict, path: Path):
    """Predicted negative/neutral/positive counts on the test reviews, teacher and student side by side."""
    style()
    frame = pd.DataFrame([{"model": model, "label": label, "reviews": m["label_counts"][label]}
                          for model, m in metrics.items() for label in CLASSES])
    fig, ax = plt.subplots(figsize=(6, 4))
    sns.barplot(frame, x="label", y="reviews", hue="model", palette=MODEL_COLORS, order=CLASSES, ax=ax)
    for container in ax.containers:
        ax.bar_label(container, padding=2)
    ax.set(xlabel="predicted label", ylabel="test reviews", title="Teacher vs student label distribution")
    save(fig, path)
    return fig
