"""The lent GPU's cut IMDB draws exactly what the full data draws."""

import pandas as pd

from helpers.lab.gpu_kit import check, reduced


def test_the_cut_unlabeled_split_draws_what_the_full_one_draws(tmp_path):
    reviews = lambda prefix, n, label: pd.DataFrame({"text": [f"{prefix} review {i}, quite long." for i in range(n)],
                                                     "label": label})
    train = pd.concat([reviews("good train", 30, 1), reviews("bad train", 30, 0)], ignore_index=True)
    test = pd.concat([reviews("good test", 20, 1), train.iloc[:3]], ignore_index=True)  # 3 texts in both splits
    unlabeled = pd.concat([reviews("unlabeled", 200, -1), train.iloc[5:7], test.iloc[:1]], ignore_index=True)
    for split, frame in (("train", train), ("test", test), ("unsupervised", unlabeled)):
        frame.to_parquet(tmp_path / f"{split}.parquet", index=False)
    cut = reduced(tmp_path, [42, 43], 10, 10, 20)
    placeholders = cut["unsupervised"]["text"].str.startswith("placeholder").sum()
    assert len(cut["unsupervised"]) == len(unlabeled) and 150 < placeholders < 200  # most texts cut, order kept
    cut_train = cut["train"]["text"].str.startswith("placeholder")
    assert len(cut["train"]) == len(train) and 0 < cut_train.sum() < len(train) - 3  # texts also in test stay
    assert not cut_train[:3].any()
    assert set(cut["test"]["text"]) == set(train["text"][:3]) | {test["text"][0]}  # what the cross-split rule needs
    check(tmp_path, cut, [42, 43], 10, 10, 20)  # raises if any draw differed
