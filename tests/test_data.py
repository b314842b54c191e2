"""Loading, validation and stratified sampling of reviews."""

import pandas as pd
import pytest

from helpers.data import draw_samples, load_eval_sets, load_split, read_reviews, stratified_sample
from helpers.errors import DataError
from helpers.paths import write_csv


def test_loads_local_csv_split(mini_imdb):
    train = load_split("train", str(mini_imdb))
    assert list(train.columns) == ["review_id", "text", "label"]
    assert len(train) == 80 and set(train["label"]) == {0, 1}


def test_loads_parquet_and_prefers_it(tmp_path, mini_imdb):
    frame = pd.read_csv(mini_imdb / "test.csv").head(10)
    frame.to_parquet(tmp_path / "test.parquet")
    assert len(load_split("test", str(tmp_path))) == 10


def test_loads_aclimdb_folder(tmp_path):
    for polarity, rating in [("neg", 2), ("pos", 9)]:
        folder = tmp_path / "aclImdb" / "train" / polarity
        folder.mkdir(parents=True)
        for i in range(3):
            (folder / f"{i}_{rating}.txt").write_text(f"review {polarity} {i}", encoding="utf-8")
    train = load_split("train", str(tmp_path / "aclImdb"))
    assert len(train) == 6
    assert train.set_index("review_id").loc["train/pos/1_9", "label"] == 1


def test_unlabeled_split_keeps_minus_one(mini_imdb):
    assert set(load_split("unsupervised", str(mini_imdb))["label"]) == {-1}


@pytest.mark.parametrize("texts, file, problem", [
    (["fine review", "another", "   "], "train.parquet", "row 2: text is empty"),
    (["fine review", "another", None], "train.parquet", "row 2: text is missing"),
    (["fine review", "", "x"], "train.csv", "row 1: text is missing"),  # CSV empty field -> NaN
    ([1, 2, 3], "train.csv", "row 0: text is int"),
])
def test_bad_text_names_file_and_row(tmp_path, texts, file, problem):
    frame = pd.DataFrame({"text": texts, "label": [0, 1, 1]})
    frame.to_parquet(tmp_path / file) if file.endswith(".parquet") else frame.to_csv(tmp_path / file, index=False)
    with pytest.raises(DataError, match=rf"{file.replace('.', '[.]')} {problem}"):
        load_split("train", str(tmp_path))


@pytest.mark.parametrize("label", [2, "good"])
def test_bad_label_names_file_and_row(tmp_path, label):
    pd.DataFrame({"text": ["a", "b", "c"], "label": [0, label, 1]}).to_csv(tmp_path / "train.csv", index=False)
    with pytest.raises(DataError, match=r"train\.csv row 1: label .* is not 0"):
        load_split("train", str(tmp_path))


def test_missing_column_and_folder(tmp_path):
    pd.DataFrame({"review": ["a"], "label": [0]}).to_csv(tmp_path / "train.csv", index=False)
    with pytest.raises(DataError, match=r"missing column\(s\) \['text'\]"):
        load_split("train", str(tmp_path))
    with pytest.raises(DataError, match="does not exist"):
        load_split("train", str(tmp_path / "absent"))


def test_stratified_sample_is_balanced_and_seeded(mini_imdb):
    train = load_split("train", str(mini_imdb))
    first, again, other = (stratified_sample(train, 20, seed) for seed in (42, 42, 7))
    assert first["label"].value_counts().to_dict() == {0: 10, 1: 10}
    assert first["review_id"].tolist() == again["review_id"].tolist()
    assert first["review_id"].tolist() != other["review_id"].tolist()
    with pytest.raises(DataError, match="asked for 81 reviews but the split has 80"):
        stratified_sample(train, 81, 42)


def test_every_sample_size_up_to_the_split_works(mini_imdb):
    test = load_split("test", str(mini_imdb))  # 60 reviews, 30 per label
    for n in range(1, len(test) + 1):
        sample = stratified_sample(test, n, 42)
        counts = sample["label"].value_counts()
        assert len(sample) == n and sample["review_id"].is_unique
        assert abs(counts.get(0, 0) - counts.get(1, 0)) <= 1  # as balanced as n allows
    for n in (0, len(test) + 1):
        with pytest.raises(DataError, match="ask for 1 to that many"):
            stratified_sample(test, n, 42)


def test_nearly_all_of_a_split_through_the_pipeline_sizes(mini_imdb):
    samples, _ = draw_samples(n_train=0, n_val=10, n_test=59, n_unlabeled=0, seed=42, data_dir=str(mini_imdb))
    assert len(samples["test"]) == 59 and len(samples["validation"]) == 10 and len(samples["train"]) == 70


def cross_split_data(tmp_path, mini_imdb):
    """mini_imdb where 5 train and 4 unlabeled reviews repeat test reviews, and 3 unlabeled repeat train ones."""
    test, train, unlabeled = (pd.read_csv(mini_imdb / f"{s}.csv") for s in ("test", "train", "unsupervised"))
    train.loc[:4, "text"] = test["text"].iloc[:5].to_numpy()
    unlabeled.loc[:3, "text"] = test["text"].iloc[10:14].to_numpy()
    unlabeled.loc[4:6, "text"] = train["text"].iloc[20:23].to_numpy()
    for name, frame in [("test", test), ("train", train), ("unsupervised", unlabeled)]:
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    return tmp_path


def test_no_text_is_shared_between_test_validation_and_pool(tmp_path, mini_imdb):
    data = cross_split_data(tmp_path, mini_imdb)
    for n_test in (0, 20):  # the whole test split, or part of it: pool and validation avoid all of it
        samples, report = draw_samples(n_train=0, n_val=12, n_test=n_test, n_unlabeled=-1, seed=3, data_dir=str(data))
        test_split = set(load_split("test", str(data))["text"])
        texts = {name: set(frame["text"]) for name, frame in samples.items()}
        assert not (texts["validation"] | texts["train"] | texts["unsupervised"]) & test_split
        assert not texts["validation"] & texts["train"]
        assert not (texts["validation"] | texts["train"]) & texts["unsupervised"]
        assert report.loc["validation", "dropped (text in an earlier sample)"] == 5
        assert report.loc["unsupervised", "dropped (text in an earlier sample)"] == 4 + 3
        assert len(samples["train"]) == 80 - 5 - 12 and len(samples["unsupervised"]) == 40 - 7


def test_seed_changes_every_sample(mini_imdb):
    draw = lambda seed: draw_samples(20, 10, 20, 10, seed, str(mini_imdb))[0]
    first, again, other = draw(42), draw(42), draw(43)
    for split in ("train", "validation", "test", "unsupervised"):
        assert first[split]["review_id"].tolist() == again[split]["review_id"].tolist()
        assert first[split]["review_id"].tolist() != other[split]["review_id"].tolist()


def test_eval_sets_load_files_and_folders(tmp_path):
    from conftest import OTHER_REVIEWS

    folder = tmp_path / "more"
    folder.mkdir()
    pd.read_csv(OTHER_REVIEWS).head(10).to_parquet(folder / "a.parquet")
    pd.read_csv(OTHER_REVIEWS).tail(6).to_csv(folder / "b.csv", index=False)
    sets = load_eval_sets(f"{OTHER_REVIEWS}, {folder}")
    assert {name: len(frame) for name, frame in sets.items()} == {"other_reviews": 40, "more": 16}
    assert load_eval_sets("") == {}


@pytest.mark.parametrize("content, problem", [
    ("text,label\nfine,1\nbad,3\n", r"row 1: label 3 is not 0"),
    ("review,label\nfine,1\n", r"missing column\(s\) \['text'\]"),
    ("text,label\n,1\n", r"row 0: text is missing"),
])
def test_bad_eval_set_gets_the_same_clear_errors(tmp_path, content, problem):
    (tmp_path / "other.csv").write_text(content)
    with pytest.raises(DataError, match=problem):
        load_eval_sets(str(tmp_path / "other.csv"))
    with pytest.raises(DataError, match="does not exist"):
        load_eval_sets(str(tmp_path / "absent.csv"))


def test_reviews_round_trip_keeps_text_like_na(tmp_path):
    frame = pd.DataFrame({"review_id": ["1", "2"], "text": ["NA", "null"], "label": [0, 1]})
    write_csv(frame, tmp_path / "r.csv")
    assert read_reviews(tmp_path / "r.csv")["text"].tolist() == ["NA", "null"]


def test_validation_and_pool_drop_every_text_of_an_eval_set(tmp_path, mini_imdb):
    train = pd.read_csv(mini_imdb / "train.csv")
    eval_texts = train["text"].head(30).tolist()  # an extra set built from train reviews
    samples, report = draw_samples(n_train=0, n_val=12, n_test=20, n_unlabeled=-1, seed=3, data_dir=str(mini_imdb),
                                   exclude=eval_texts)
    for split in ("validation", "train", "unsupervised"):
        assert not set(samples[split]["text"]) & set(eval_texts), split
    assert report.loc["validation", "dropped (text in an eval set)"] == 30
    assert report.loc["train", "dropped (text in an eval set)"] == 30 - 0  # still in the train split, never drawn
    assert len(samples["train"]) == len(train) - 30 - 12


@pytest.mark.parametrize("name, content, problem", [
    ("train.csv", b"", r"train\.csv is empty \(0 bytes\)"),
    ("train.parquet", b"PAR1 not really parquet", r"train\.parquet cannot be read as Parquet"),
    ("train.csv", b'text,label\n"unclosed,1\n', r"train\.csv cannot be read as CSV"),
])
def test_unreadable_data_files_are_one_line_errors_naming_the_file(tmp_path, name, content, problem):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(DataError, match=problem):
        load_split("train", str(tmp_path))
    (tmp_path / "eval.csv").write_bytes(b"")
    with pytest.raises(DataError, match=r"eval\.csv is empty"):
        load_eval_sets(str(tmp_path / "eval.csv"))


def test_the_test_sample_is_described_as_drawn():
    from helpers.data import test_sample_phrase

    whole = {"drawn": [{"sample": "test", "unique reviews": 60, "drawn": 60}]}
    part = {"drawn": [{"sample": "test", "unique reviews": 60, "drawn": 40}]}
    assert test_sample_phrase(whole).startswith("the whole test split") and "stratified" not in test_sample_phrase(whole)
    assert "stratified by label" in test_sample_phrase(part)


def test_development_split_is_disjoint_from_every_sample_and_the_test_split(tmp_path, mini_imdb):
    data = cross_split_data(tmp_path, mini_imdb)
    for n_test in (0, 20):
        samples, report = draw_samples(n_train=30, n_val=12, n_test=n_test, n_unlabeled=-1, seed=3,
                                       data_dir=str(data), n_dev=16)
        development, test_split = set(samples["development"]["text"]), set(load_split("test", str(data))["text"])
        assert len(development) == 16 and not development & test_split  # the whole test split, not only the drawn
        earlier = test_split | {t for split in ("validation", "train", "unsupervised") for t in samples[split]["text"]}
        for split in ("test", "validation", "train", "unsupervised"):
            assert not development & set(samples[split]["text"]), split
        assert report.loc["development", "source split"] == "train"
        assert report.loc["development", "dropped (text in an earlier sample)"] == len(
            set(load_split("train", str(data))["text"]) & earlier) >= 5 + 12 + 30  # test, validation, pool


def synthetic_imdb(folder, n_train=6000, n_test=1000, n_unlabeled=1000):
    """A larger IMDB-shaped data set of invented reviews (train, test, unsupervised CSVs), balanced by label."""
    for split, n in (("train", n_train), ("test", n_test), ("unsupervised", n_unlabeled)):
        labels = [-1] * n if split == "unsupervised" else [i % 2 for i in range(n)]
        pd.DataFrame({"text": [f"{split} review number {i}" for i in range(n)], "label": labels}).to_csv(
            folder / f"{split}.csv", index=False)
    return folder


@pytest.mark.parametrize("seed", [42, 43])
def test_adding_a_development_split_leaves_every_other_draw_identical(tmp_path, seed):
    data = str(synthetic_imdb(tmp_path))
    draw = lambda n_dev: draw_samples(n_train=2000, n_val=1000, n_test=0, n_unlabeled=600, seed=seed, data_dir=data,
                                      n_dev=n_dev)
    (without, report_without), (with_dev, report_with) = draw(0), draw(2000)
    assert "development" not in without and len(with_dev["development"]) == 2000
    for split in ("test", "validation", "train", "unsupervised"):
        pd.testing.assert_frame_equal(without[split], with_dev[split], obj=split)
    pd.testing.assert_frame_equal(report_without, report_with.drop(index="development"))
    assert with_dev["development"]["label"].value_counts().to_dict() == {0: 1000, 1: 1000}
    again = draw(2000)[0]["development"]
    assert again["review_id"].tolist() == with_dev["development"]["review_id"].tolist()  # seeded


def test_a_development_split_larger_than_what_is_left_is_refused(mini_imdb):
    with pytest.raises(DataError, match="asked for 40 reviews but the split has 16"):
        draw_samples(n_train=48, n_val=16, n_test=40, n_unlabeled=0, seed=42, data_dir=str(mini_imdb), n_dev=40)
    with pytest.raises(DataError, match="but the split has 0"):  # the pool took every train review left
        draw_samples(n_train=0, n_val=16, n_test=40, n_unlabeled=0, seed=42, data_dir=str(mini_imdb), n_dev=8)
    with pytest.raises(DataError, match="n_dev is -1"):
        draw_samples(n_train=48, n_val=16, n_test=40, n_unlabeled=0, seed=42, data_dir=str(mini_imdb), n_dev=-1)
