"""Teacher label mapping, VADER's distribution, HF annotation and the annotation cache."""

import numpy as np
import pandas as pd
import pytest

from helpers.errors import ConfigError
from helpers.teacher import CLASSES, HFTeacher, VaderTeacher, annotate, class_index, load_teacher, vader_proba


def test_class_index_reads_label_names():
    assert class_index({0: "negative", 1: "neutral", 2: "positive"}) == [0, 1, 2]
    assert class_index({0: "POSITIVE", 1: "NEGATIVE"}) == [2, 0]  # a binary model: no neutral column


@pytest.mark.parametrize("id2label", [{0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}, {0: "joy", 1: "anger"},
                                      {0: "negative", 1: "negative"}])
def test_class_index_refuses_unmappable_labels(id2label):
    with pytest.raises(ConfigError, match="cannot be mapped"):
        class_index(id2label)


def test_vader_distribution_matches_vader_rule():
    compound = np.array([-0.9, -0.051, -0.049, 0.0, 0.049, 0.051, 0.9])
    probs = vader_proba(compound)
    np.testing.assert_allclose(probs.sum(axis=1), 1, atol=1e-6)
    assert [CLASSES[i] for i in probs.argmax(axis=1)] == ["negative", "negative", "neutral", "neutral",
                                                          "neutral", "positive", "positive"]
    np.testing.assert_allclose(probs[0], probs[-1][::-1], atol=1e-6)  # symmetric in c
    # hand-computed: softmax(3 * [-1, 0.05, 1]) at c = 1
    expected = np.exp([-3, 0.15, 3]) / np.exp([-3, 0.15, 3]).sum()
    np.testing.assert_allclose(vader_proba(np.array([1.0]))[0], expected, rtol=1e-6)


def test_vader_teacher_labels_obvious_reviews():
    probs = VaderTeacher().predict(["A wonderful, beautiful, great film. I loved it.",
                                    "Terrible, awful, boring. I hated it."])
    assert [CLASSES[i] for i in probs.argmax(axis=1)] == ["positive", "negative"]


def test_hf_teacher_gives_distributions(tiny_teacher):
    teacher = load_teacher(str(tiny_teacher), max_length=512, batch_size=2, device="cpu")
    assert isinstance(teacher, HFTeacher) and teacher.max_length == 128  # capped at the model's limit
    probs = teacher.predict(["good " * 300, "bad", "fine film", "meh"])
    assert probs.shape == (4, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1, atol=1e-5)


def test_missing_local_teacher_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_teacher(str(tmp_path / "no_model"))


class CountingTeacher:
    """Wraps a teacher and records how many reviews it was asked to predict."""

    def __init__(self, inner):
        self.inner, self.fingerprint, self.seen = inner, inner.fingerprint, 0

    def predict(self, texts, progress=None):
        self.seen += len(texts)
        return self.inner.predict(texts, progress)


def test_cache_reuses_and_extends(tmp_path):
    teacher = CountingTeacher(VaderTeacher())
    texts = [f"review {i}: {'great' if i % 2 else 'awful'} movie" for i in range(10)]
    first = annotate(teacher, texts[:6], tmp_path, chunk_size=4)
    assert teacher.seen == 6
    again = annotate(teacher, texts[:6], tmp_path, chunk_size=4)
    assert teacher.seen == 6  # nothing recomputed
    np.testing.assert_array_equal(first, again)
    more = annotate(teacher, texts, tmp_path, chunk_size=4)
    assert teacher.seen == 10  # only the 4 new reviews
    np.testing.assert_array_equal(more[:6], first)


def test_damaged_cache_shard_is_recomputed(tmp_path):
    teacher = CountingTeacher(VaderTeacher())
    texts = ["good film", "bad film"]
    first = annotate(teacher, texts, tmp_path)
    for shard in tmp_path.rglob("part-*.parquet"):
        shard.write_bytes(b"half a file")
    np.testing.assert_array_equal(annotate(teacher, texts, tmp_path), first)
    assert teacher.seen == 4


def test_cached_rerun_never_loads_the_model(tiny_teacher, tmp_path):
    texts = ["a good film", "a bad film", "fine"]
    first = annotate(load_teacher(str(tiny_teacher), device="cpu"), texts, tmp_path)
    again = load_teacher(str(tiny_teacher), device="cpu")
    np.testing.assert_array_equal(annotate(again, texts, tmp_path), first)
    assert again._model is None  # labels checked from the config, weights never needed


def test_a_fully_cached_split_prints_no_progress_line(tiny_teacher, tmp_path, monkeypatch, capsys):
    from helpers.progress import PROGRESS_FILE

    monkeypatch.setenv(PROGRESS_FILE, str(tmp_path / "progress.log"))  # batch mode: one line per annotation
    texts = ["a good film", "a bad film"]
    annotate(load_teacher(str(tiny_teacher), device="cpu"), texts, tmp_path / "cache", desc="train")
    assert "train: 0 cached, annotating: 2 reviews" in capsys.readouterr().out
    annotate(load_teacher(str(tiny_teacher), device="cpu"), texts, tmp_path / "cache", desc="train")
    assert capsys.readouterr().out == ""


def test_a_retrained_teacher_is_not_served_from_the_cache(tiny_teacher, tmp_path):
    import shutil

    from conftest import CLASS_NAMES, save_tiny_roberta

    folder = tmp_path / "teacher"
    shutil.copytree(tiny_teacher, folder)
    texts = ["a good film", "a bad film"]
    first = annotate(load_teacher(str(folder), device="cpu"), texts, tmp_path / "cache")
    save_tiny_roberta(folder, CLASS_NAMES)  # retrained in place: same name, same settings, new weights
    retrained = load_teacher(str(folder), device="cpu")
    assert not np.allclose(annotate(retrained, texts, tmp_path / "cache"), first)
    assert retrained._model is not None  # it had to compute


def test_vader_workers_give_the_numbers_of_one_process(mini_imdb):
    texts = pd.read_csv(mini_imdb / "test.csv")["text"].tolist()
    one, pool = VaderTeacher(workers=1), VaderTeacher(workers=2)
    np.testing.assert_array_equal(pool.predict(texts), one.predict(texts))
    pool.close()


def test_annotations_are_kept_per_precision_device_batching_and_libraries(tiny_teacher, tmp_path, monkeypatch):
    """A workdir seeded with another machine's cache could feed GPU-bf16 scores to a CPU teacher: a teacher's
    annotations are keyed, as a student's predictions are, by how they were computed."""
    import helpers.inference as inference
    from helpers import cache

    texts = ["a good film", "a bad film"]
    annotate(load_teacher(str(tiny_teacher), device="cpu"), texts, tmp_path)
    other_machines = {"precision": ({}, lambda: None), "batching": ({"batch_size": 1}, lambda: None),
                      "device": ({}, lambda: monkeypatch.setattr(inference, "device_name", lambda device: "NVIDIA H200")),
                      "token budget": ({}, lambda: monkeypatch.setattr(inference, "token_budget", lambda device: 64)),
                      "libraries": ({}, lambda: monkeypatch.setattr(cache, "libraries", lambda: {"torch": "0"}))}
    for change, (settings, elsewhere) in other_machines.items():
        elsewhere()
        teacher = load_teacher(str(tiny_teacher), device="cpu", precision="bf16" if change == "precision" else "fp32",
                               **settings)
        annotate(teacher, texts, tmp_path)
        assert teacher._model is not None, change  # computed, not served another computation's scores
        monkeypatch.undo()
    again = load_teacher(str(tiny_teacher), device="cpu")
    annotate(again, texts, tmp_path)
    assert again._model is None  # the same computation: served from the cache
    assert {"precision", "device", "token_budget", "batch_size", "libraries"} <= set(again.fingerprint)  # teacher.json
