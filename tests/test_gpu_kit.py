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
    with_dev = reduced(tmp_path, [42, 43], 10, 10, 20, n_dev=6)  # the offline profile draws a development split
    check(tmp_path, with_dev, [42, 43], 10, 10, 20, n_dev=6)  # its reviews too are the full data's
    assert with_dev["train"]["text"].str.startswith("placeholder").sum() < cut_train.sum()


def imdb_folders(mini_imdb, folder):
    """The mini IMDB with two train reviews also in test (the kit's test split keeps those), as CSV files and as an
    extracted aclImdb/: two data_dirs the project reads."""
    from helpers.data import load_split

    splits = {split: load_split(split, str(mini_imdb)) for split in ("train", "test", "unsupervised")}
    splits["test"] = pd.concat([splits["test"], splits["train"].iloc[:2]], ignore_index=True)
    csv, acl = folder / "csv", folder / "aclImdb"
    csv.mkdir(parents=True)
    for split, frame in splits.items():
        frame[["text", "label"]].to_csv(csv / f"{split}.csv", index=False)
        for i, (text, label) in enumerate(zip(frame["text"], frame["label"])):
            sub = acl / ("train/unsup" if split == "unsupervised" else f"{split}/{'pos' if label == 1 else 'neg'}")
            sub.mkdir(parents=True, exist_ok=True)
            (sub / f"{i}_7.txt").write_text(text, encoding="utf-8")
    return csv, acl


KIT = ["--seeds", "42", "--n-train", "10", "--n-val", "10", "--n-unlabeled", "20", "--n-dev", "0"]


def test_the_kit_reads_csv_and_aclimdb_data_and_makes_its_out_folder(mini_imdb, tmp_path):
    """A CSV or aclImdb data_dir and a missing --out gave tracebacks; each is read as the project reads it."""
    import lzma

    from helpers.data import load_split
    from helpers.lab.gpu_kit import main

    for data_dir in imdb_folders(mini_imdb, tmp_path):
        out = tmp_path / data_dir.name / "not" / "there"
        assert main(["--data-dir", str(data_dir), *KIT, "--out", str(out)]) == 0
        kit = pd.read_json(lzma.open(out / "imdb_unsupervised.jsonl.xz"), lines=True)
        assert len(kit) == len(load_split("unsupervised", str(data_dir)))
        assert len(pd.read_json(lzma.open(out / "imdb_test.jsonl.xz"), lines=True)) == 2


def test_a_data_dir_or_out_the_kit_cannot_use_is_one_line(mini_imdb, tmp_path, capsys):
    from helpers.lab.gpu_kit import main

    assert main(["--data-dir", str(tmp_path / "missing")]) == 1
    assert capsys.readouterr().err.count("\n") == 1
    csv, _ = imdb_folders(mini_imdb, tmp_path)
    (tmp_path / "a_file").write_text("")
    assert main(["--data-dir", str(csv), *KIT, "--out", str(tmp_path / "a_file")]) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: cannot write the kit") and error.count("\n") == 1
