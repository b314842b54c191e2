"""Stated ratings: after training, the student goes on over the pool reviews whose rating the teacher's rating
source read, every one of them, each read without its rating; once per trained student, its record kept beside the
trained student's settings."""

import numpy as np
import pandas as pd
import pytest

from helpers import train
from helpers.distill import stated_rating_rows
from helpers.errors import ConfigError
from helpers.paths import read_json
from helpers.sources.rating import stated_rating
from helpers.student import weights_hash
from helpers.teacher import PROB_COLUMNS

from test_calibrate_student import run_of, spread_model  # noqa: F401 (a fixture)


def pool_with_ratings(positive: np.ndarray, ratings: list[str], texts: list[str]) -> pd.DataFrame:
    """A pool whose teacher says p(positive) = `positive`, its rating source `ratings` ('' where it said nothing)."""
    return pd.DataFrame({"text": texts, "source_rating": ratings,
                         **dict(zip(PROB_COLUMNS, (1 - positive, 0 * positive, positive)))})


def test_every_review_that_states_a_rating_becomes_a_row_read_without_it():
    pool = pool_with_ratings(np.array([0.95, 0.73, 0.27, 0.05, 0.9]), ["1.0", "0.33", "-0.33", "-1.0", ""],
                             ["Superb. 10/10", "Decent, 7 out of 10", "Weak: 4/10.", "1/10 awful", "Loved it"])
    rows = stated_rating_rows(pool, "resample", 42)
    assert sorted(rows["text"]) == [" awful", "Decent, ", "Superb. ", "Weak: ."]  # the 7 and the 4 too; not the unrated
    assert dict(zip(rows["text"], rows["labels"])) == {"Superb. ": 2, "Decent, ": 2, "Weak: .": 0, " awful": 0}
    assert stated_rating_rows(pool.assign(source_rating=""), "none", 42).empty
    with pytest.raises(ConfigError, match="rating` source"):
        stated_rating_rows(pool.drop(columns="source_rating"), "none", 42)
    with pytest.raises(ConfigError, match="rating` source"):  # refused before any training, when the targets are made
        train.training_rows(pool.drop(columns="source_rating"), {**train.notebook_defaults(), "stated_rating_epochs": 1.0})


def test_a_rated_review_keeps_its_ratings_label_however_lopsided_the_rated_reviews_are():
    positive = np.array([0.95] * 7 + [0.73, 0.27])  # seven 10/10s, a 7/10, a 4/10: a 50/50 prior turns the 7 negative
    pool = pool_with_ratings(positive, ["1.0"] * 7 + ["0.33", "-0.33"],
                             [f"Great {i}. 10/10" for i in range(7)] + ["Fine. 7/10", "Meh. 4/10"])
    rows = stated_rating_rows(pool, "resample", 42).drop_duplicates("text")
    assert dict(zip(rows["text"], rows["labels"])) == {**{f"Great {i}. ": 2 for i in range(7)}, "Fine. ": 2, "Meh. ": 0}


def test_the_trained_student_learns_them_once_and_keeps_its_training_on_record(tmp_path, spread_model, monkeypatch):
    paths, p, pool, validation = run_of(tmp_path, spread_model)
    ratings = [f"{(i % 10) + 1}/10" if i % 3 == 0 and (i % 10) + 1 not in (5, 6) else "" for i in range(len(pool))]
    pool = pool.assign(text=[f"{text} {r}".strip() for text, r in zip(pool["text"], ratings)],
                       source_rating=[str(((i % 10) + 1 - 5.5) / 4.5) if r else "" for i, r in enumerate(ratings)])
    before, settings = weights_hash(paths.student), read_json(paths.student / "training.json")
    seen, real_train = [], train.train_student
    monkeypatch.setattr(train, "train_student", lambda student, rows, *a, **k: seen.append(rows) or
                        real_train(student, rows, *a, **k))
    record = train.learn_stated_ratings(paths, {**p, "stated_rating_epochs": 1.0, "stated_rating_learning_rate": 1e-3},
                                        pool, validation)
    rated = sum(1 for r in ratings if r)
    assert record["reviews"] == rated and record["learning_rate"] == 1e-3 and record["steps"] > 0
    assert all(stated_rating(text) is None for text in seen[0]["text"])
    assert weights_hash(paths.student) != before
    after = read_json(paths.student / "training.json")
    assert after["stated_ratings"] == record and {k: after[k] for k in settings} == settings
    assert (paths.results / "train_history_stated_ratings.json").exists()
    assert train.learn_stated_ratings(paths, {**p, "stated_rating_epochs": 1.0, "stated_rating_learning_rate": 1e-3},
                                      pool, validation) == record and len(seen) == 1  # once per trained student
    train.distil(paths, {**p, "keep_top_fraction": 1.0, "class_prior": "", "balance": "none"}, pool, validation)
    assert "stated_ratings" not in read_json(paths.student / "training.json")  # a fresh student: not learned yet
    assert not (paths.results / "train_history_stated_ratings.json").exists()  # nor its curve, drawn from the old one


def test_a_calibrated_student_is_refused_before_it_learns_them(tmp_path, spread_model):
    from helpers.errors import UserError
    paths, p, pool, validation = run_of(tmp_path, spread_model)
    assert train.calibrate_student(paths.student, validation, "cpu", 40)["folded"]
    before = weights_hash(paths.student)
    with pytest.raises(UserError, match="already \\(self-\\)calibrated"):
        train.learn_stated_ratings(paths, {**p, "stated_rating_epochs": 1.0}, pool.assign(source_rating="1.0"), validation)
    assert weights_hash(paths.student) == before


def test_a_pool_with_no_rated_review_skips_the_step_on_record(tmp_path, spread_model):
    paths, p, pool, validation = run_of(tmp_path, spread_model)
    before = weights_hash(paths.student)
    record = train.learn_stated_ratings(paths, {**p, "stated_rating_epochs": 1.0}, pool.assign(source_rating=""),
                                        validation)
    assert "skipped" in record and read_json(paths.student / "training.json")["stated_ratings"] == record
    assert train.learn_stated_ratings(paths, {**p, "stated_rating_epochs": 1.0}, pool.assign(source_rating="1.0"),
                                      validation) == record
    assert weights_hash(paths.student) == before  # neither call trained it, though the second pool has ratings


def test_scoring_a_student_whose_stated_ratings_differ_from_the_run_is_refused(tmp_path):
    from helpers.paths import RunPaths, write_json
    from helpers.run import check_student

    paths = RunPaths.of(str(tmp_path), "r")
    declared = {"stated_rating_epochs": "float", "stated_rating_learning_rate": "float"}
    run = {"stated_rating_epochs": 1.0, "stated_rating_learning_rate": 2e-5}
    write_json({"epochs": 1.0}, paths.student / "training.json")  # trained before the step existed, or without it
    with pytest.raises(ConfigError, match=r"stated_rating_epochs=0\.0 \(this run: 1\.0\)"):
        check_student(paths, run, declared)
    check_student(paths, {**run, "stated_rating_epochs": 0.0}, declared)
    write_json({"epochs": 1.0, "stated_ratings": {"epochs": 1.0, "learning_rate": 2e-5}}, paths.student / "training.json")
    check_student(paths, run, declared)
    with pytest.raises(ConfigError, match=r"stated_rating_learning_rate=2e-05 \(this run: 0\.001\)"):
        check_student(paths, {**run, "stated_rating_learning_rate": 1e-3}, declared)
    with pytest.raises(ConfigError, match=r"stated_rating_epochs=1\.0 \(this run: 0\.0\)"):
        check_student(paths, {**run, "stated_rating_epochs": 0.0}, declared)
    write_json({"epochs": 1.0, "stated_ratings": {"skipped": "no pool review states a decisive rating"}},
               paths.student / "training.json")
    check_student(paths, run, declared)  # nothing to learn: as if it had
