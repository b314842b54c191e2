"""The lab's self-training prototype: which pool rows each arm trains on, and how their labels are checked."""

import numpy as np
import pandas as pd

from helpers.lab.self_training_prototype import arm_rows, target_accuracy
from helpers.teacher import PROB_COLUMNS


def pool_of(teacher_positive: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    """A pool whose teacher says p(positive) = `teacher_positive` (no neutral); `labels` -1 where none is known."""
    return pd.DataFrame({"text": [f"review {i}" for i in range(len(labels))], "label": labels,
                         **dict(zip(PROB_COLUMNS, (1 - teacher_positive, 0 * teacher_positive, teacher_positive)))})


def test_the_new_arm_trains_only_on_reviews_outside_the_teachers_top_and_the_student_arm_on_the_students_labels():
    rng = np.random.default_rng(0)
    teacher = rng.uniform(0.02, 0.98, 200)
    pool = pool_of(teacher, np.full(200, -1))
    student = 1 - teacher  # a student that disagrees with the teacher everywhere
    student_probs = np.stack([1 - student, 0 * student, student], axis=1).astype(np.float32)
    taught = set(arm_rows("teacher", pool, student_probs, 0.6, 42)["text"])
    new = arm_rows("new", pool, student_probs, 0.6, 42)
    assert new["text"].isin(taught).sum() == 0 and len(new) > 0
    by_text = dict(zip(pool["text"], student))
    for arm in ("student", "new"):  # both learn the student's labels, never the teacher's
        own = arm_rows(arm, pool, student_probs, 0.6, 42).drop_duplicates("text")
        assert all((label == 2) == (by_text[text] >= 0.5) for text, label in zip(own["text"], own["labels"]))


def test_the_rating_arm_trains_on_every_review_that_states_a_rating_and_only_those():
    teacher = np.array([0.95, 0.73, 0.27, 0.05, 0.9, 0.1])  # a stated rating sets the teacher's p (10, 7, 4, 1 out of 10)
    pool = pool_of(teacher, np.full(6, -1)).assign(source_rating=["1.0", "0.33", "-0.33", "-1.0", "", ""])  # as read_reviews reads it
    assert arm_rows("rating_kept", pool, None, 0.6, 42).equals(arm_rows("rating", pool, None, 0.6, 42))
    rows = arm_rows("rating", pool, None, 0.6, 42)
    assert set(rows["text"]) == {"review 0", "review 1", "review 2", "review 3"}  # a 7/10 and a 4/10 too
    assert dict(zip(rows["text"], rows["labels"])) == {"review 0": 2, "review 1": 2, "review 2": 0, "review 3": 0}


def test_the_rating_arm_reads_its_reviews_without_the_rating_they_state_and_the_others_as_they_are():
    from helpers.lab.self_training_prototype import as_read
    from helpers.sources.rating import stated_rating
    rows = pd.DataFrame({"text": ["Dull plot. 4/10", "Loved it, 9 out of 10!", "Seen it on 5/3/10, fine."], "labels": [0, 2, 2]})
    read = as_read("rating", rows)
    assert read["text"].tolist() == ["Dull plot. ", "Loved it, !", "Seen it on 5/3/10, fine."]  # a date is no rating
    assert all(stated_rating(text) is None for text in read["text"])
    for arm in ("teacher", "rating_kept"):
        assert as_read(arm, rows)["text"].tolist() == rows["text"].tolist()


def test_target_accuracy_counts_only_reviews_with_a_true_label_once_each():
    pool = pool_of(np.array([0.9, 0.1, 0.8, 0.3]), np.array([1, 1, -1, 0]))
    rows = pd.DataFrame({"text": ["review 0", "review 0", "review 1", "review 2", "review 3"],
                         "labels": [2, 2, 0, 2, 0]})  # review 1 is wrong, review 2 has no true label
    assert target_accuracy(rows, pool) == {"n_with_gold": 3, "accuracy": round(2 / 3, 4)}


def test_the_table_has_one_row_per_arm_record_with_its_figures(tmp_path):
    from helpers.lab.self_training_prototype import table
    import json
    split = lambda start, after: {"n": 2000, "start": {"accuracy": start, "ece": 0.04}, "after": {"accuracy": after, "ece": 0.08},
                                  "decisions_moved": 7}
    record = {"arm": "teacher", "seed": 43, "rows_trained": 4800, "rows_available": 9600, "training_minutes": 15.0,
              "target_accuracy_on_pool_train_reviews": {"n_with_gold": 400, "accuracy": 0.94},
              "validation": split(0.85, 0.861), "development": split(0.84, 0.8425)}
    (tmp_path / "s43").mkdir()
    (tmp_path / "s43" / "teacher.json").write_text(json.dumps(record))
    (tmp_path / "s43" / "other.json").write_text(json.dumps({"not": "an arm"}))
    rows = table(tmp_path).splitlines()[2:]
    assert rows == ["| 43 | teacher | 4,800 (9,600) | 0.94 (400) | 0.8500 -> **0.8610** (0.040 -> 0.080) | "
                    "0.8400 -> **0.8425** (0.040 -> 0.080) | 7 / 7 | 15.0 |"]


def test_start_scores_are_kept_for_their_checkpoint_and_data_and_refused_for_others(tmp_path, tiny_teacher, monkeypatch):
    import shutil
    import pytest
    from helpers.lab import self_training_prototype as prototype
    calls = []
    monkeypatch.setattr(prototype, "score", lambda model, tokenizer, texts, tokens=512: calls.append(tokens) or
                        np.full((len(texts), 3), 1 / 3, dtype=np.float32))
    frame = pd.DataFrame({"text": ["good", "bad"]})
    first = prototype.start_scores(tmp_path, str(tiny_teacher), "data", None, frame, frame, frame)
    assert calls == [256, 512, 512] and first["pool"].shape == (2, 3)
    again = prototype.start_scores(tmp_path, str(tiny_teacher), "data", None, frame, frame, frame)
    assert len(calls) == 3 and np.array_equal(again["validation"], first["validation"])  # read back, not scored
    with pytest.raises(SystemExit, match="another checkpoint or data"):
        prototype.start_scores(tmp_path, str(tiny_teacher), "other data", None, frame, frame, frame)
    other = shutil.copytree(tiny_teacher, tmp_path / "other_checkpoint")
    (other / "config.json").write_text((other / "config.json").read_text().replace('"neutral"', '"unsure"'))
    with pytest.raises(SystemExit, match="another checkpoint or data"):
        prototype.start_scores(tmp_path, str(other), "data", None, frame, frame, frame)


def test_by_rating_scores_the_reviews_that_state_a_rating_apart_from_the_others():
    from helpers.lab.self_training_prototype import by_rating
    texts = ["Great fun. 8/10", "Dreadful, 2 out of 10.", "A bore.", "Lovely.", "Meh, 5/10"]  # 5/10 decides nothing
    gold = np.array([1, 0, 0, 1, 0])
    p = lambda positive: np.stack([1 - positive, 0 * positive, positive], axis=1)
    start, after = p(np.array([0.2, 0.1, 0.9, 0.8, 0.3])), p(np.array([0.7, 0.1, 0.2, 0.8, 0.3]))
    assert by_rating(texts, gold, start, after) == {"stated_rating": {"n": 2, "start": 0.5, "after": 1.0},
                                                    "no_rating": {"n": 3, "start": round(2 / 3, 4), "after": 1.0}}


def test_rescore_adds_the_figures_by_rating_only_for_the_weights_recorded(tmp_path, monkeypatch):
    import json
    import pytest
    from helpers.lab import self_training_prototype as prototype
    frame = pd.DataFrame({"review_id": ["a", "b"], "text": ["Fine. 9/10", "Bad."], "label": [1, 0]})
    data = tmp_path / "data"
    data.mkdir()
    for split in ("validation", "development"):
        frame.to_csv(data / f"{split}_teacher_annotated.csv", index=False)
    p = lambda positive: np.stack([1 - positive, 0 * positive, positive], axis=1).astype(np.float32)
    np.savez(tmp_path / "start_scores.npz", validation=p(np.array([0.4, 0.3])), development=p(np.array([0.4, 0.3])))
    (tmp_path / "checkpoints_arm" / "checkpoint-9").mkdir(parents=True)
    (tmp_path / "checkpoints_arm" / "checkpoint-10").mkdir()
    loaded = []
    monkeypatch.setattr(prototype.AutoTokenizer, "from_pretrained", lambda path: None)
    monkeypatch.setattr(prototype.AutoModelForSequenceClassification, "from_pretrained", lambda path: loaded.append(path))
    after = p(np.array([0.9, 0.2]))
    monkeypatch.setattr(prototype, "score", lambda model, tokenizer, texts, tokens=512: after)
    record = {"arm": "x"}
    prototype.split_figures(record, {"validation": p(np.array([0.4, 0.3]))} | {"development": p(np.array([0.4, 0.3]))},
                            {"validation": after, "development": after}, {"validation": frame, "development": frame})
    for split in ("validation", "development"):
        del record[split]["by_rating"]  # as written before the figures by rating were kept
    (tmp_path / "arm.json").write_text(json.dumps(record))
    again = prototype.rescore(tmp_path, "arm", "checkpoint", str(data))
    assert loaded == [tmp_path / "checkpoints_arm" / "checkpoint-10"]  # the last checkpoint, by step
    assert again["validation"]["by_rating"]["stated_rating"] == {"n": 1, "start": 0.0, "after": 1.0}
    assert (tmp_path / "after_arm.npz").exists()
    after = p(np.array([0.2, 0.2]))  # other weights: the overall figures no longer match the record
    with pytest.raises(SystemExit, match="not the weights recorded"):
        prototype.rescore(tmp_path, "arm", "checkpoint", str(data))
