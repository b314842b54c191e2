"""Work done once: the gold ceiling trained once per key, each split tokenised once per tokenizer and length rule,
students' predictions kept for the weights that made them."""

import json

import pytest

import helpers.inference as inference
from helpers.run import run


def test_a_second_run_reuses_the_gold_ceiling_and_a_changed_key_trains_one(smoke_run):
    workdir, _ = smoke_run
    models = workdir / "models"
    again = run("smoke", {"workdir": str(workdir), "run_name": "smoke-again", "gold_ceiling": True},
                steps=["01", "02", "03"])
    log = (again / "notebooks" / "03_train_student.ipynb").read_text()
    assert "gold ceiling: reused from the cache" in log
    assert not (models / "smoke-again" / "checkpoints_gold").exists()  # no training step was taken
    same = json.loads((models / "smoke-again/gold_supervised/training.json").read_text())
    assert same == json.loads((models / "smoke/gold_supervised/training.json").read_text())
    assert (models / "smoke-again/gold_supervised/model.safetensors").read_bytes() == \
        (models / "smoke/gold_supervised/model.safetensors").read_bytes()
    changed = run("smoke", {"workdir": str(workdir), "run_name": "smoke-fewer-gold", "gold_ceiling": True,
                            "n_gold": 20}, steps=["01", "02", "03"])
    assert "gold ceiling: reused" not in (changed / "notebooks" / "03_train_student.ipynb").read_text()
    assert any((models / "smoke-fewer-gold" / "checkpoints_gold").glob("checkpoint-*"))  # trained: another key


def test_each_split_is_tokenised_once_per_tokenizer_and_length_rule(smoke_run, monkeypatch):
    from helpers.data import read_reviews
    from helpers.evaluate import load_students, model_probs
    from helpers.paths import RunPaths

    workdir, _ = smoke_run
    paths = RunPaths.of(str(workdir), "smoke")
    calls = []
    real = inference._encode
    monkeypatch.setattr(inference, "_encoded", {})
    monkeypatch.setattr(inference, "_encode", lambda tokenizer, texts, *rule: calls.append((len(texts), rule))
                        or real(tokenizer, texts, *rule))
    students = load_students(paths, True, "fp32", None, device="cpu")
    assert students["student"].tokenizer is not students["gold_supervised"].tokenizer  # loaded apart ...
    for split in ("validation", "test"):
        frame = read_reviews(paths.annotated(split))
        for name, student in students.items():
            student._cached = lambda texts: None  # score for real: no prediction cache
        probs = model_probs(students, frame, frame["label"].to_numpy(), split)
        assert probs["student"].shape == probs["gold_supervised"].shape == (len(frame), 3)
    assert calls == [(16, (64, "head", 128)), (40, (64, "head", 128))]  # ... tokenised once for both models


def test_a_students_predictions_are_kept_for_its_weights_and_reused(smoke_run, monkeypatch):
    import numpy as np

    from helpers.data import read_reviews
    from helpers.paths import RunPaths
    from helpers.student import SavedStudent

    workdir, _ = smoke_run
    paths = RunPaths.of(str(workdir), "smoke")
    texts = read_reviews(paths.annotated("test"))["text"].tolist()[:10]
    first = SavedStudent(paths.student, "cpu", cache_root=workdir / "fresh-cache")
    probs = first.predict(texts)
    second = SavedStudent(paths.student, "cpu", cache_root=workdir / "fresh-cache")
    monkeypatch.setattr(second, "score", lambda *a, **k: (_ for _ in ()).throw(AssertionError("scored again")))
    np.testing.assert_array_equal(second.predict(texts), probs)
    other = SavedStudent(paths.gold_student, "cpu", cache_root=workdir / "fresh-cache")  # other weights: scored
    from helpers import cache

    assert other._cached(cache.texts_key(texts)) != second._cached(cache.texts_key(texts))


def test_a_prediction_is_kept_per_device_batching_and_libraries(smoke_run, monkeypatch):
    """CPU-bf16 predictions were served to a GPU-bf16 run: the entry's key now names the device, its token budget and
    the library versions."""
    from helpers import cache, student
    from helpers.paths import RunPaths
    from helpers.student import SavedStudent

    workdir, _ = smoke_run
    saved = SavedStudent(RunPaths.of(str(workdir), "smoke").student, "cpu", cache_root=workdir / "fresh-cache")
    entry = saved._cached(cache.texts_key(["a review"]))
    monkeypatch.setattr(student, "device_name", lambda device: "NVIDIA H200 (capability 9.0)")
    assert saved._cached(cache.texts_key(["a review"])) != entry
    monkeypatch.undo()
    monkeypatch.setattr(student, "token_budget", lambda device: 1)
    assert saved._cached(cache.texts_key(["a review"])) != entry
    monkeypatch.undo()
    monkeypatch.setattr(cache, "libraries", lambda: {"torch": "0", "transformers": "0"})
    assert saved._cached(cache.texts_key(["a review"])) != entry


def test_the_weights_hash_is_of_the_weights_not_of_the_run_that_saved_them(smoke_run, tmp_path):
    import shutil

    from helpers.student import weights_hash

    workdir, _ = smoke_run
    saved = workdir / "models/smoke/distilled_sentiment"
    copy = shutil.copytree(saved, tmp_path / "elsewhere")
    (copy / "training_args.bin").write_bytes(b"another run's paths")  # the Trainer's arguments name the run
    (copy / "README.md").write_text("another card")
    assert weights_hash(copy) == weights_hash(saved)
    weights = next(copy.glob("*.safetensors"))
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1  # one bit of the weights
    weights.write_bytes(bytes(data))
    assert weights_hash(copy) != weights_hash(saved)
    (copy / "pytorch_model.bin").write_bytes(b"weights in the older format")
    first = weights_hash(copy)
    (copy / "pytorch_model.bin").write_bytes(b"other weights in the older format")  # they no longer collide
    assert weights_hash(copy) != first
    tokenizer = copy / "tokenizer_config.json"
    before = weights_hash(copy)
    tokenizer.write_text(tokenizer.read_text().replace("{", '{"do_lower_case": false, ', 1))
    assert weights_hash(copy) != before  # the tokenizer is part of what --final checks


def test_a_precision_verdict_that_measured_nothing_is_not_kept(tmp_path):
    import numpy as np
    import torch

    from helpers.precision import settled

    def score(precision, texts, bar=None):
        return np.tile([0.2, 0.0, 0.8], (len(texts), 1))

    verdict, _, reused = settled(score, torch.device("cpu"), ["one", "two"], [1, 0], "auto", tmp_path, {"m": 1})
    assert verdict["precision"] == "fp32" and not reused
    assert not list(tmp_path.rglob("*.json"))
    again, _, reused = settled(score, torch.device("cpu"), ["one", "two"], [1, 0], "auto", tmp_path, {"m": 1})
    assert not reused  # judged again, not pinned by a verdict that measured nothing


def test_a_cache_folder_is_complete_or_absent(tmp_path):
    from helpers.cache import complete_folder

    target = tmp_path / "ceiling" / "key"
    with pytest.raises(RuntimeError):
        with complete_folder(target) as staging:
            (staging / "model").mkdir()
            raise RuntimeError("killed between the model and its history")
    assert not target.exists() and list((tmp_path / "ceiling").iterdir()) == []  # no half entry, no staging left
    with complete_folder(target) as staging:
        (staging / "history.json").write_text("{}")
    with complete_folder(target) as staging:  # another process finished the same entry first: theirs stays
        (staging / "history.json").write_text("other")
    assert (target / "history.json").read_text() == "{}" and len(list((tmp_path / "ceiling").iterdir())) == 1
