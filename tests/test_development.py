"""The development split: 04 reads every diagnostic on it (validation when a run has none), never on test."""

import json

import numpy as np
import pandas as pd
import pytest

from helpers.evaluate import score_run
from helpers.teacher import PROB_COLUMNS

DIAGNOSTIC_KEYS = ("reliability", "accuracy_by_length", "agreement_with_teacher", "sources", "source_agreement")


class FakeStudent:
    """Stands in for a SavedStudent: p(positive) from the review's number, and every text it was asked to score."""

    settings, weights, verdict = {}, "fake", {"precision": "fp32", "how": "fp32"}

    def __init__(self):
        self.scored = []

    def predict(self, texts, desc=""):
        """Confident and mostly right: p(positive) 0.9 for even review numbers, 0.1 for odd ones."""
        texts = list(texts)
        self.scored.append(texts)
        p = np.array([0.9 if int(t.split()[-1]) % 2 == 0 else 0.1 for t in texts])
        return np.stack([1 - p, np.zeros_like(p), p], axis=1)

    def uncalibrated(self, texts):
        return None


def annotated(split: str, n: int, rating_speaks: float) -> pd.DataFrame:
    """`n` teacher-annotated reviews of `split`; its `rating` source speaks on the first `rating_speaks` share."""
    labels = np.arange(n) % 2 == 0
    teacher = np.where(labels, 0.8, 0.3)
    speaks = np.arange(n) < rating_speaks * n
    return pd.DataFrame({"review_id": [f"{split}/{i}" for i in range(n)], "text": [f"{split} review {i}" for i in range(n)],
                         "label": labels.astype(int), PROB_COLUMNS[0]: 1 - teacher, PROB_COLUMNS[1]: 0.0,
                         PROB_COLUMNS[2]: teacher, "source_vader": np.where(labels, 0.5, -0.5),
                         "source_rating": np.where(speaks, np.where(labels, 1.0, -1.0), np.nan)})


def scored(development=True, validation_n=20):
    """score_run on test (40 reviews), validation and, when asked, development (30), each with its own coverage;
    checked first for no diagnostic on test."""
    student = FakeStudent()
    frames = {"test": annotated("test", 40, 1.0), "validation": annotated("validation", validation_n, 0.5),
              "development": annotated("development", 30, 0.2) if development else None}
    given = {"development": frames["development"]} if development else {}
    metrics, *rest = score_run({"student": student}, frames["test"], frames["validation"], {}, np.array([0, 1]), "r",
                               "n/a", "test reviews", **given)
    for scores in metrics["models"].values():  # the headline on test carries no diagnostic
        assert "accuracy_by_length" not in scores and "agreement_with_teacher" not in scores
    assert not {"sources", "source_agreement"} & set(metrics)  # no per-source analysis outside `diagnostics`
    return metrics, rest[-1], student


def test_every_diagnostic_is_read_on_the_development_split_never_on_test():
    metrics, diagnostic, _ = scored()
    diagnostics = metrics["diagnostics"]
    assert diagnostics["split"] == diagnostic.split == "development" and diagnostics["n"] == 30
    assert all(key in diagnostics for key in DIAGNOSTIC_KEYS)
    assert diagnostics["sources"]["rating"]["coverage"] == pytest.approx(0.2)  # development's, not test's 1.0
    assert sum(b["reviews"] for b in diagnostics["reliability"]["student"]) == 30
    assert sum(b["n"] for b in diagnostics["accuracy_by_length"]["student"].values()) == 30
    assert set(diagnostic.frame["text"]) == {f"development review {i}" for i in range(30)}
    assert metrics["development"]["n"] == 30 and metrics["development"]["models"]["student"]["accuracy"] == 1.0
    json.dumps(metrics)  # metrics.json can hold it


def test_without_a_development_split_the_diagnostics_fall_back_to_validation_and_say_so():
    metrics, diagnostic, _ = scored(development=False)
    diagnostics = metrics["diagnostics"]
    assert diagnostics["split"] == "validation" and diagnostics["n"] == 20 and "n_dev 0" in diagnostics["note"]
    assert diagnostics["sources"]["rating"]["coverage"] == pytest.approx(0.5)  # validation's
    assert metrics["development"] is None and diagnostic.frame["text"].str.startswith("validation").all()


def test_with_neither_development_nor_validation_no_diagnostic_is_computed_at_all():
    metrics, diagnostic, student = scored(development=False, validation_n=0)
    diagnostics = metrics["diagnostics"]
    assert diagnostics["split"] is None and diagnostic.frame is None and "never read on test" in diagnostics["note"]
    assert not any(key in diagnostics for key in DIAGNOSTIC_KEYS)
    assert [texts[0].split()[0] for texts in student.scored] == ["test"]  # test scored once, for the headline


def test_the_figures_say_their_split_and_none_is_drawn_without_one(tmp_path, capsys):
    from helpers import plots

    metrics, diagnostic, _ = scored()
    diagnostics = metrics["diagnostics"]
    fig = plots.reliability_diagram(diagnostics["reliability"], tmp_path / "r.png", diagnostics["split"])
    assert "development" in fig.axes[0].get_title()
    fig = plots.accuracy_by_length(diagnostics["accuracy_by_length"], tmp_path / "l.png", diagnostics["split"])
    assert "development" in fig.axes[0].get_title()
    assert plots.reliability_diagram(None, tmp_path / "none.png", None) is None
    assert plots.agreement_heatmap(None, None, tmp_path / "none.png", None) is None
    assert "never read test" in capsys.readouterr().out and not (tmp_path / "none.png").exists()


def test_the_smoke_run_reads_its_diagnostics_on_its_development_split(smoke_run):
    _, results = smoke_run
    metrics = json.loads((results / "metrics.json").read_text())
    assert metrics["diagnostics"]["split"] == "development" and metrics["diagnostics"]["n"] == 16
    assert metrics["development"]["n"] == 16 and metrics["n_test"] == 40
    assert all("accuracy_by_length" not in scores for scores in metrics["models"].values())


def test_the_development_record_bins_the_student_by_its_logit_and_finds_the_saturated_band():
    from helpers.lab.development_diagnostics import logit_bins, saturated_band

    rng = np.random.default_rng(0)
    d = np.concatenate([rng.uniform(-3, -2.3, 600), rng.uniform(-1, 1, 300), rng.uniform(2.3, 3, 600)])
    gold = (rng.random(len(d)) < 1 / (1 + np.exp(-3 * d))).astype(int)  # truer than the student at the ends
    rows = logit_bins(gold, d)
    assert len(rows) == 12 and sum(r["n"] for r in rows) == len(d)
    assert all(a["d_to"] <= b["d_from"] for a, b in zip(rows, rows[1:]))  # ordered, equal-count bins of d
    band = saturated_band(gold, d)
    assert band["negative"]["n"] == band["positive"]["n"] == 600 and band["negative"]["share_of_reviews"] == 0.4
    assert band["positive"]["d_range"][0] >= 2.3 and band["negative"]["d_range"][1] <= -2.3
    assert band["negative"]["true_share"][0] < band["negative"]["predicted"][0]  # the S: the truth is surer
