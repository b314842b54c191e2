"""Precision: every path runs on a tiny model, and `auto` takes a reduced precision only on measured evidence."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

import helpers.inference as inference
import helpers.precision as precision
from helpers.errors import ConfigError
from helpers.inference import at_precision, native_precisions, predict_proba
from helpers.metrics import to_binary
from helpers.precision import choose_precision, judge, training_precision


@pytest.fixture(scope="module")
def tiny(tiny_teacher):
    return (AutoModelForSequenceClassification.from_pretrained(tiny_teacher).eval(),
            AutoTokenizer.from_pretrained(tiny_teacher))


@pytest.fixture(scope="module")
def reviews(mini_imdb):
    frame = pd.concat([pd.read_csv(mini_imdb / f"{s}.csv") for s in ("train", "test")], ignore_index=True)
    return frame["text"].tolist(), frame["label"].to_numpy()


@pytest.mark.parametrize("name, tolerance", [("fp32", 0.0), ("bf16", 0.05), ("int8", 0.05)])
def test_each_cpu_precision_runs_and_stays_close_to_fp32(tiny, reviews, name, tolerance):
    model, tokenizer = tiny
    texts = reviews[0][:12]
    reference = predict_proba(model, tokenizer, texts, 64)
    probs = predict_proba(at_precision(model, name), tokenizer, texts, 64, precision=name)
    assert probs.shape == reference.shape and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(probs, reference, atol=tolerance + 1e-6)
    if name == "int8":  # a quantised copy: the fp32 model itself is left as it was
        assert any("quantized" in type(m).__module__ for m in at_precision(model, name).modules())
        assert not any("quantized" in type(m).__module__ for m in model.modules())


def test_precisions_a_device_cannot_run_are_refused_in_one_line(tiny):
    model, tokenizer = tiny
    for name, message in [("fp16", "needs a CUDA GPU"), ("half", "is not one of")]:
        with pytest.raises(ConfigError, match=message):
            choose_precision(model, tokenizer, ["a"], [1], name, 64)


def test_judge_refuses_a_precision_that_changes_labels_or_loses_accuracy():
    gold = np.array([1, 0] * 500)
    reference = np.where(gold[:, None] == 1, [0.1, 0.1, 0.8], [0.8, 0.1, 0.1]).astype(np.float32)
    same = judge(reference, reference.copy(), gold)
    assert same["passed"] and same["agreement"] == 1.0 and same["max_p_positive_diff"] == 0.0
    flipped = reference.copy()
    flipped[:6] = flipped[:6, ::-1]  # 6 of 1,000 labels change: agreement 99.4% < 99.5%
    verdict = judge(reference, flipped, gold)
    assert not verdict["passed"] and verdict["agreement"] == pytest.approx(0.994)
    assert verdict["max_p_positive_diff"] == pytest.approx(0.7, abs=1e-6)
    four = judge(reference, np.vstack([flipped[:4], reference[4:]]), gold)  # agreement 99.6% passes, but ...
    assert four["agreement"] == pytest.approx(0.996) and not four["passed"]  # ... 0.4 points of accuracy lost
    assert judge(reference, np.vstack([flipped[:2], reference[2:]]), gold)["passed"]  # 99.8%, 0.2 points: passes


def fake_scores(monkeypatch, flip_reduced: bool, seconds: dict):
    """native: int8 only; int8 flips every label when `flip_reduced`; each precision 'takes' `seconds[name]`;
    the shipped 140 reviews count as enough to check on."""
    monkeypatch.setattr(precision, "MIN_CHECK_REVIEWS", 100)
    monkeypatch.setattr(precision, "native_precisions", lambda device: ["int8"])
    monkeypatch.setattr(precision, "at_precision", lambda model, name: model)
    real = precision.predict_ids
    clock = iter(np.cumsum([0] + [x for name in ("fp32", "int8") for x in (0, seconds[name])]).tolist()[1:])

    def scored(model, tokenizer, ids, batch_size=0, precision="fp32", **kwargs):
        probs = real(model, tokenizer, ids, batch_size)
        if flip_reduced and precision == "int8":  # every headline label turned round
            return np.eye(3, dtype=np.float32)[np.where(to_binary(probs) == 1, 0, 2)]
        return probs
    monkeypatch.setattr(precision, "predict_ids", scored)
    monkeypatch.setattr(precision, "_sync_time", lambda device: next(clock))


def test_auto_refuses_a_faster_precision_that_fails_the_guard(tiny, reviews, monkeypatch):
    model, tokenizer = tiny
    fake_scores(monkeypatch, flip_reduced=True, seconds={"fp32": 2.0, "int8": 1.0})
    verdict = choose_precision(model, tokenizer, *reviews, "auto", 64)
    assert verdict["precision"] == "fp32" and verdict["reviews"] == len(reviews[0])
    assert verdict["candidates"]["int8"]["speedup"] == pytest.approx(2.0)
    assert not verdict["candidates"]["int8"]["passed"] and "int8 2.00x" in verdict["how"] and "refused" in verdict["how"]


def test_auto_takes_a_faster_precision_that_passes_the_guard(tiny, reviews, monkeypatch):
    model, tokenizer = tiny
    fake_scores(monkeypatch, flip_reduced=False, seconds={"fp32": 2.0, "int8": 1.0})
    verdict = choose_precision(model, tokenizer, *reviews, "auto", 64)
    assert verdict["precision"] == "int8" and verdict["candidates"]["int8"]["passed"]
    json.dumps(verdict)  # recorded as it is in metrics.json


def test_auto_keeps_fp32_when_the_reduced_precision_is_not_faster(tiny, reviews, monkeypatch):
    model, tokenizer = tiny
    fake_scores(monkeypatch, flip_reduced=False, seconds={"fp32": 1.0, "int8": 1.5})
    assert choose_precision(model, tokenizer, *reviews, "auto", 64)["precision"] == "fp32"


def test_auto_keeps_fp32_without_native_precision_or_enough_reviews(tiny, reviews, monkeypatch):
    model, tokenizer = tiny
    monkeypatch.setattr(precision, "native_precisions", lambda device: [])
    assert "no reduced precision is native" in choose_precision(model, tokenizer, *reviews, "auto", 64)["how"]
    monkeypatch.setattr(precision, "native_precisions", lambda device: ["int8"])
    few = choose_precision(model, tokenizer, reviews[0][:50], reviews[1][:50], "auto", 64)
    assert few["precision"] == "fp32" and "too few" in few["how"]


def test_native_precisions_read_the_cpu_flags_not_a_guess(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(inference, "cpu_flags", lambda: {"avx512f", "avx512_vnni"})
    assert native_precisions(cpu) == ["int8"]
    assert training_precision("auto", cpu) == "fp32"  # bf16 would be emulated: slower, not taken
    monkeypatch.setattr(inference, "cpu_flags", lambda: {"avx512_bf16", "avx512_vnni"})
    assert native_precisions(cpu) == ["bf16", "int8"] and training_precision("auto", cpu) == "bf16"
    assert training_precision("fp32", cpu) == "fp32"
    with pytest.raises(ConfigError, match="needs a CUDA GPU"):
        training_precision("fp16", cpu)


def test_gpu_precisions_follow_the_capability_of_the_device_passed_in(monkeypatch):
    asked = []

    def capability(device):
        asked.append(device)
        return {0: (7, 5), 1: (8, 0)}[device.index]
    monkeypatch.setattr(torch.cuda, "get_device_capability", capability)
    assert native_precisions(torch.device("cuda", 0)) == ["fp16"]  # a T4: bf16 only emulated, so fp16
    assert native_precisions(torch.device("cuda", 1)) == ["bf16", "fp16"]
    assert [d.index for d in asked] == [0, 1]
    assert training_precision("auto", torch.device("cuda", 0)) == "fp16"


def test_a_transformer_teachers_auto_verdict_is_cached_beside_its_annotations(tiny_teacher, reviews, tmp_path,
                                                                               monkeypatch):
    from helpers.teacher import load_teacher

    monkeypatch.setattr(precision, "native_precisions", lambda device: ["int8"])
    monkeypatch.setattr(precision, "MIN_CHECK_REVIEWS", 100)
    teacher = load_teacher(str(tiny_teacher), 64, device="cpu", precision="auto")
    with pytest.raises(ConfigError, match="settle it"):
        teacher.fingerprint
    verdict = precision.settle_teacher(teacher, *reviews, tmp_path)
    assert teacher.fingerprint["precision"] == verdict["precision"] in ("fp32", "int8")
    assert verdict["reviews"] == len(reviews[0]) and "int8" in verdict["candidates"]
    again = load_teacher(str(tiny_teacher), 64, device="cpu", precision="auto")
    monkeypatch.setattr(precision, "choose_precision", lambda *a, **k: pytest.fail("the cached verdict was not used"))
    assert precision.settle_teacher(again, *reviews, tmp_path) == verdict and again._model is None  # no model work
