"""Loading, validation and stratified sampling of reviews."""

import pandas as pd
import pytest

from helpers.data import load_split, read_reviews, stratified_sample
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
    with pytest.raises(DataError, match="only 80"):
        stratified_sample(train, 81, 42)


def test_reviews_round_trip_keeps_text_like_na(tmp_path):
    frame = pd.DataFrame({"review_id": ["1", "2"], "text": ["NA", "null"], "label": [0, 1]})
    write_csv(frame, tmp_path / "r.csv")
    assert read_reviews(tmp_path / "r.csv")["text"].tolist() == ["NA", "null"]
