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
from helpers.precision import choose_precision, judge, pass_probability, training_precision
from helpers.timing import clearly_faster

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def tiny(tiny_teacher):
    return (AutoModelForSequenceClassification.from_pretrained(tiny_teacher).eval(),
            AutoTokenizer.from_pretrained(tiny_teacher))


@pytest.fixture(scope="module")
def reviews(mini_imdb):
    frame = pd.concat([pd.read_csv(mini_imdb / f"{s}.csv") for s in ("train", "test")], ignore_index=True)
    return frame["text"].tolist(), frame["label"].to_numpy()


def scorer(model, tokenizer, max_length=64):
    """(precision, texts) -> probabilities, as a saved student scores."""
    return lambda name, texts, bar=None: predict_proba(at_precision(model, name), tokenizer, texts, max_length, 0, bar,
                                                       precision=name)


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
    for name, message in [("fp16", "needs a CUDA GPU"), ("half", "is not one of")]:
        with pytest.raises(ConfigError, match=message):
            choose_precision(scorer(*tiny), CPU, ["a"], [1], name)


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


def test_judge_sees_neutral_positive_flips_that_leave_the_headline_call_alone():
    gold = np.array([1] * 1000)
    reference = np.tile(np.float32([0.1, 0.5, 0.4]), (1000, 1))  # neutral argmax; headline: positive
    moved = reference.copy()
    moved[:20] = [0.1, 0.4, 0.5]  # 2% now positive argmax: the 3-class targets change, the headline does not
    verdict = judge(reference, moved, gold)
    assert verdict["agreement"] == 1.0 and verdict["agreement_classes"] == pytest.approx(0.98)
    assert not verdict["passed"]


def test_the_check_is_sized_so_one_percent_of_changed_labels_fails_with_95_percent_probability():
    assert pass_probability(400, 0.01) > 0.2  # the old check size let such a precision through a quarter of the time
    assert pass_probability(precision.MIN_CHECK_REVIEWS, 0.01) <= 0.05
    assert pass_probability(precision.MIN_CHECK_REVIEWS, 0.002) >= 0.95  # bf16's measured 99.8% still passes
    assert precision.CHECK_REVIEWS >= precision.MIN_CHECK_REVIEWS


@pytest.mark.parametrize("candidate, reference, faster", [
    ({"median_s": 1.0, "min_s": 0.95, "max_s": 1.05}, {"median_s": 2.0, "min_s": 1.9, "max_s": 2.1}, True),
    ({"median_s": 1.0, "min_s": 0.95, "max_s": 1.05}, {"median_s": 1.1, "min_s": 1.08, "max_s": 1.12}, False),  # 1.1x
    ({"median_s": 1.0, "min_s": 0.5, "max_s": 1.6}, {"median_s": 1.5, "min_s": 1.4, "max_s": 1.6}, False),  # overlap
])
def test_a_precision_is_faster_only_by_a_margin_with_ranges_apart(candidate, reference, faster):
    assert clearly_faster(candidate, reference, precision.MIN_SPEEDUP) is faster


def fake_timings(monkeypatch, seconds: dict, spread: float = 0.02):
    """int8 is the one native candidate; each precision's timed runs are `seconds[name]` +- `spread`."""
    monkeypatch.setattr(precision, "native_precisions", lambda device: ["int8"])

    def compare(ways, repeats, warm_up=True):
        return {name: {"median_s": seconds[name], "min_s": seconds[name] - spread, "max_s": seconds[name] + spread,
                       "runs_s": [seconds[name]] * repeats} for name in ways}, {}
    monkeypatch.setattr(precision, "compare", compare)


def flipping(model, tokenizer, flip: bool):
    """A scorer whose int8 turns every headline label round when `flip`."""
    real = scorer(model, tokenizer)

    def score(name, texts, bar=None):
        probs = real("fp32", texts)
        return np.eye(3, dtype=np.float32)[np.where(to_binary(probs) == 1, 0, 2)] if flip and name == "int8" else probs
    return score


def test_auto_refuses_a_faster_precision_that_fails_the_guard(tiny, reviews):
    with pytest.MonkeyPatch.context() as patch:
        fake_timings(patch, {"fp32": 2.0, "int8": 1.0})
        verdict, probs = choose_precision(flipping(*tiny, True), CPU, *reviews, "auto", min_reviews=100)
    assert verdict["precision"] == "fp32" and verdict["reviews"] == len(reviews[0])
    assert verdict["candidates"]["int8"]["speedup"] == pytest.approx(2.0) and not verdict["candidates"]["int8"]["passed"]
    assert "int8 2.00x" in verdict["how"] and "refused" in verdict["how"] and f"checked on {len(reviews[0])}" in verdict["how"]
    assert set(probs) == {"fp32", "int8"}


def test_auto_takes_a_clearly_faster_precision_that_passes_the_guard(tiny, reviews):
    with pytest.MonkeyPatch.context() as patch:
        fake_timings(patch, {"fp32": 2.0, "int8": 1.0})
        verdict, probs = choose_precision(flipping(*tiny, False), CPU, *reviews, "auto", min_reviews=100)
    assert verdict["precision"] == "int8" and verdict["candidates"]["int8"]["passed"]
    assert probs["int8"].shape == (len(reviews[0]), 3)  # the check's scores at the chosen precision, for reuse
    json.dumps(verdict)  # recorded as it is in metrics.json


@pytest.mark.parametrize("seconds, spread", [({"fp32": 1.0, "int8": 1.5}, 0.02),  # slower
                                             ({"fp32": 1.0, "int8": 0.93}, 0.02),  # 1.07x: timing noise
                                             ({"fp32": 1.0, "int8": 0.8}, 0.15)])  # 1.25x, but ranges overlap
def test_auto_keeps_fp32_unless_the_reduced_precision_is_clearly_faster(tiny, reviews, seconds, spread):
    with pytest.MonkeyPatch.context() as patch:
        fake_timings(patch, seconds, spread)
        verdict, probs = choose_precision(flipping(*tiny, False), CPU, *reviews, "auto", min_reviews=100)
    assert verdict["precision"] == "fp32" and "not clearly faster" in verdict["how"]
    assert set(probs) == {"fp32"}  # no agreement pass is spent on a precision that is not faster


def test_auto_keeps_fp32_without_native_precision_or_enough_reviews(tiny, reviews, monkeypatch):
    monkeypatch.setattr(precision, "native_precisions", lambda device: [])
    assert "no reduced precision is native" in choose_precision(scorer(*tiny), CPU, *reviews, "auto")[0]["how"]
    monkeypatch.setattr(precision, "native_precisions", lambda device: ["int8"])
    few = choose_precision(scorer(*tiny), CPU, reviews[0][:50], reviews[1][:50], "auto")[0]
    assert few["precision"] == "fp32" and "too few" in few["how"] and "at least 1500" in few["how"]


def test_auto_really_measures_and_three_calls_give_one_verdict(tiny, reviews, monkeypatch):
    """The real protocol (warm-up, alternating order, repeats, the check against fp32) on a clock that the scoring
    itself advances, so the load of the machine cannot change a verdict: bf16 costs half of fp32 per review, int8
    0.95 of it. Three calls must all measure, and all choose bf16, not the fp32 that wins by default."""
    import helpers.timing as timing

    clock = [0.0]
    monkeypatch.setattr(timing.time, "perf_counter", lambda: clock[0])
    cost = {"fp32": 1e-3, "bf16": 0.5e-3, "int8": 0.95e-3}
    real = scorer(*tiny)

    def timed_scorer(name, texts, bar=None):
        clock[0] += cost[name] * len(texts)
        return real("fp32" if name == "bf16" else name, texts, bar)  # bf16 agrees with fp32 here: it must pass

    monkeypatch.setattr(precision, "native_precisions", lambda device: ["bf16", "int8"])
    verdicts = [choose_precision(timed_scorer, CPU, *reviews, "auto", min_reviews=100)[0] for _ in range(3)]
    for verdict in verdicts:
        assert verdict["timed_reviews"] == min(precision.TIMING_REVIEWS, len(reviews[0])) == 140
        assert verdict["reviews"] == len(reviews[0])
        assert verdict["candidates"]["bf16"]["speedup"] == pytest.approx(2.0)
        assert verdict["candidates"]["bf16"]["passed"] and not verdict["candidates"]["int8"]["clearly_faster"]
    assert [v["precision"] for v in verdicts] == ["bf16"] * 3, [v["how"] for v in verdicts]


def test_native_precisions_read_the_cpu_flags_not_a_guess(monkeypatch):
    monkeypatch.setattr(inference, "cpu_flags", lambda: {"avx512f", "avx512_vnni"})
    assert native_precisions(CPU) == ["int8"]
    assert training_precision("auto", CPU) == "fp32"  # bf16 would be emulated: slower, not taken
    monkeypatch.setattr(inference, "cpu_flags", lambda: {"avx512_bf16", "avx512_vnni"})
    assert native_precisions(CPU) == ["bf16", "int8"] and training_precision("auto", CPU) == "bf16"
    assert training_precision("fp32", CPU) == "fp32"
    with pytest.raises(ConfigError, match="needs a CUDA GPU"):
        training_precision("fp16", CPU)


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


def test_the_cpu_device_name_tells_machines_apart_by_cores_and_threads(monkeypatch):
    name = precision.device_name(CPU)
    assert "cores" in name and "threads" in name
    monkeypatch.setattr(inference, "available_cores", lambda: 64)
    assert precision.device_name(CPU) != name  # a 64-core server does not share a 2-core VM's verdict


def test_a_transformer_teachers_verdict_is_reused_across_seeds_and_measured_again_when_its_key_changes(
        tiny_teacher, reviews, tmp_path, monkeypatch):
    from helpers.teacher import load_teacher

    monkeypatch.setattr(precision, "native_precisions", lambda device: ["int8"])
    teacher = load_teacher(str(tiny_teacher), 64, device="cpu", precision="auto")
    with pytest.raises(ConfigError, match="settle it"):
        teacher.fingerprint
    verdict = precision.settle_teacher(teacher, *reviews, tmp_path, min_reviews=100)
    assert teacher.fingerprint["precision"] == verdict["precision"] and not verdict["reused"]
    assert verdict["reviews"] == len(reviews[0]) and "int8" in verdict["candidates"]
    measured = []
    real = precision.choose_precision
    monkeypatch.setattr(precision, "choose_precision", lambda *a, **k: measured.append(1) or real(*a, **k))
    # another seed's validation sample: the same teacher on the same machine keeps its verdict, with no model work
    again = load_teacher(str(tiny_teacher), 64, device="cpu", precision="auto")
    other_seed = (reviews[0][::-1], reviews[1][::-1])
    assert precision.settle_teacher(again, *other_seed, tmp_path, min_reviews=100) == {**verdict, "reused": True}
    assert again._model is None and not measured
    for changed in (load_teacher(str(tiny_teacher), 64, batch_size=4, device="cpu", precision="auto"),  # batch size
                    load_teacher(str(tiny_teacher), 32, device="cpu", precision="auto")):  # what it reads
        assert not precision.settle_teacher(changed, *reviews, tmp_path, min_reviews=100)["reused"]
    monkeypatch.setattr(precision, "device_name", lambda device: "another machine")
    assert not precision.settle_teacher(load_teacher(str(tiny_teacher), 64, device="cpu", precision="auto"),
                                        *reviews, tmp_path, min_reviews=100)["reused"]
    assert len(measured) == 3


@pytest.mark.parametrize("labels", [{0: "NEGATIVE", 1: "POSITIVE"}, {0: "positive", 1: "negative", 2: "neutral"}])
def test_the_teachers_check_goes_through_its_own_classes(tmp_path, reviews, monkeypatch, labels):
    from conftest import save_tiny_roberta
    from helpers.teacher import load_teacher

    monkeypatch.setattr(precision, "native_precisions", lambda device: ["int8"])
    teacher = load_teacher(str(save_tiny_roberta(tmp_path / "model", labels)), 64, device="cpu", precision="auto")
    checked = []
    real = precision.judge
    monkeypatch.setattr(precision, "judge", lambda ref, cand, gold: checked.append(ref) or real(ref, cand, gold))
    monkeypatch.setattr(precision, "compare", lambda ways, repeats, warm_up=True: ({
        name: {"median_s": s, "min_s": s, "max_s": s, "runs_s": [s]} for name, s in (("fp32", 2.0), ("int8", 1.0))}, {}))
    verdict = precision.settle_teacher(teacher, *reviews, tmp_path / "cache", min_reviews=100)  # no IndexError
    assert verdict["precision"] in ("fp32", "int8")
    np.testing.assert_allclose(checked[0], teacher.predict_at("fp32", reviews[0]), atol=1e-6)  # the annotated columns
    assert (checked[0][:, [teacher.columns]] > 0).all()


def test_a_chunks_teachers_check_reads_the_windows_it_annotates(tiny_teacher, reviews, tmp_path, monkeypatch):
    import helpers.teacher as teacher_module
    from helpers.teacher import load_teacher

    monkeypatch.setattr(precision, "native_precisions", lambda device: ["int8"])
    truncations = []
    real = teacher_module.predict_proba
    monkeypatch.setattr(teacher_module, "predict_proba",
                        lambda *a, **k: truncations.append(a[6] if len(a) > 6 else k.get("truncation")) or real(*a, **k))
    teacher = load_teacher(str(tiny_teacher), 32, device="cpu", truncation="chunks", precision="auto")
    precision.settle_teacher(teacher, *reviews, tmp_path, min_reviews=100)
    assert truncations and set(truncations) == {"chunks"}
