"""Load IMDB from the hub, local Parquet/CSV files or an aclImdb folder; validate; sample."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError
from .paths import resolve

LABELS = {0: "negative", 1: "positive"}
COLUMNS = ["review_id", "text", "label"]


def load_split(split: str, data_dir: str = "", dataset_id: str = "stanfordnlp/imdb") -> pd.DataFrame:
    """One split as a frame of `review_id, text, label`: from `data_dir` if given, else the hub."""
    if data_dir:
        folder = resolve(data_dir)
        if not folder.is_dir():
            raise DataError(f"data_dir {folder} does not exist: point data_dir at a folder "
                            "with train/test .parquet or .csv files, or an extracted aclImdb/")
        if any((folder / split_dir / "pos").is_dir() for split_dir in ("train", "test")):
            return _read_aclimdb(folder, split)
        return _read_table(folder, split)
    return _read_hub(dataset_id, split)


def _read_table(folder: Path, split: str) -> pd.DataFrame:
    """`<split>.parquet` or `<split>.csv` from `folder`."""
    for path in (folder / f"{split}.parquet", folder / f"{split}.csv"):
        if path.exists():
            return _standardise(read_table(path), source=str(path), split=split)
    raise DataError(f"no {split}.parquet or {split}.csv in {folder}: "
                    "name the files after their split (train, test, unsupervised)")


def read_table(path: Path) -> pd.DataFrame:
    """A CSV or Parquet file as a frame; an empty, truncated or garbled file is a one-line DataError naming it."""
    if path.stat().st_size == 0:
        raise DataError(f"{path} is empty (0 bytes): copy the file again, or remove it")
    try:
        return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except (ValueError, OSError, pd.errors.ParserError, UnicodeDecodeError) as err:  # pyarrow's errors are ValueErrors/OSErrors
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        kind = "Parquet" if path.suffix == ".parquet" else "CSV"
        raise DataError(f"{path} cannot be read as {kind} ({type(err).__name__}: {reason}): "
                        f"check that it is a complete {kind} file with text and label columns") from None


def _read_aclimdb(folder: Path, split: str) -> pd.DataFrame:
    """The original Stanford release: `<split>/{neg,pos}/<id>_<rating>.txt`; unlabeled reviews in train/unsup."""
    polarities = {"unsupervised": [("train/unsup", -1)]}.get(split, [(f"{split}/neg", 0), (f"{split}/pos", 1)])
    rows = []
    for sub, label in polarities:
        for path in sorted((folder / sub).glob("*.txt")):
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError as err:
                raise DataError(f"{path} is not UTF-8 ({err.reason} at byte {err.start}): "
                                "re-encode it as UTF-8 or remove it") from None
            rows.append((f"{sub}/{path.stem}", text, label))
    if not rows:
        raise DataError(f"no reviews found under {folder} for split {split!r}: expected an extracted aclImdb/ folder")
    return _standardise(pd.DataFrame(rows, columns=COLUMNS), source=str(folder / split), split=split)


def _read_hub(dataset_id: str, split: str) -> pd.DataFrame:
    """A split of a hub dataset with `text` and `label` columns."""
    from datasets import load_dataset

    from .models import hub_error

    try:
        frame = load_dataset(dataset_id, split=split).to_pandas()
    except (OSError, ConnectionError) as err:
        raise DataError(str(hub_error("dataset", dataset_id, "data_dir", err))) from None
    return _standardise(frame, source=f"{dataset_id} [{split}]", split=split)


def _standardise(frame: pd.DataFrame, source: str, split: str) -> pd.DataFrame:
    """Keep `review_id, text, label`, inventing ids where the source has none, and validate."""
    missing = [col for col in ("text", "label") if col not in frame.columns]
    if missing:
        raise DataError(f"{source}: missing column(s) {missing}; found {list(frame.columns)}. "
                        "Rename the review column to 'text' and the 0/1 sentiment column to 'label'")
    if "review_id" not in frame.columns:
        frame = frame.assign(review_id=[f"{split}/{i}" for i in range(len(frame))])
    frame = frame[COLUMNS].reset_index(drop=True)
    if frame.empty:
        raise DataError(f"{source} has no reviews: fill it, or point data_dir at the full data")
    validate(frame, source, labelled=split != "unsupervised")
    return drop_duplicates(frame, source)


def drop_duplicates(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """The rule for repeated reviews: identical text within a split counts once, the first occurrence kept."""
    duplicated = frame["text"].duplicated(keep="first")
    if duplicated.any():
        print(f"{source}: dropped {int(duplicated.sum())} duplicate review(s) (identical text; first kept)")
    return frame[~duplicated].reset_index(drop=True)


def validate(frame: pd.DataFrame, source: str, labelled: bool = True) -> None:
    """Stop at the first review with empty/non-string text, or a label outside {0, 1} when `labelled`."""
    for row, text in enumerate(frame["text"]):
        if text is None or (isinstance(text, float) and pd.isna(text)):
            raise DataError(f"{source} row {row}: text is missing (NaN); fill it or drop that row")
        if not isinstance(text, str):
            raise DataError(f"{source} row {row}: text is {type(text).__name__} ({text!r}), not a string; "
                            "fix or drop that row")
        if not text.strip():
            raise DataError(f"{source} row {row}: text is empty; fix or drop that row")
    if labelled:
        labels = pd.to_numeric(frame["label"], errors="coerce")
        bad = ~labels.isin(list(LABELS))
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0])
            value = frame["label"].iloc[row]
            value = value.item() if hasattr(value, "item") else value  # 3, not np.int64(3)
            raise DataError(f"{source} row {row}: label {value!r} is not 0 (negative) "
                            "or 1 (positive); fix the label column")
        frame["label"] = labels.astype(int)


def stratified_sample(frame: pd.DataFrame, n: int, seed: int, stratify: bool = True) -> pd.DataFrame:
    """`n` rows drawn with `seed`, keeping the label proportions when `stratify`; any n from 1 to the size.

    Each label gets its share of `n` by largest remainder, so even n = len(frame) - 1 or n = 1 works.
    """
    if not 0 < n <= len(frame):
        raise DataError(f"asked for {n} reviews but the split has {len(frame)} (after removing duplicates and "
                        "reviews held out elsewhere); ask for 1 to that many, or 0 for all of them")
    if n == len(frame) or not stratify:
        return frame.sample(n=n, random_state=seed).reset_index(drop=True)
    counts = frame["label"].value_counts().sort_index()
    quota = counts * n / len(frame)
    shares = np.floor(quota).astype(int)
    leftover = (quota - shares).sort_values(ascending=False, kind="stable").index[:n - int(shares.sum())]
    shares[leftover] += 1
    parts = [frame[frame["label"] == label].sample(n=int(k), random_state=seed) for label, k in shares.items() if k]
    return pd.concat(parts).sample(frac=1, random_state=seed).reset_index(drop=True)


def without_texts(frame: pd.DataFrame, texts) -> tuple[pd.DataFrame, int]:
    """`frame` minus the reviews whose text is in `texts`, and how many that removed."""
    seen = frame["text"].isin(set(texts))
    return frame[~seen].reset_index(drop=True), int(seen.sum())


def draw_samples(n_train: int, n_val: int, n_test: int, n_unlabeled: int, seed: int, data_dir: str = "",
                 dataset_id: str = "stanfordnlp/imdb", exclude=(), n_dev: int = 0
                 ) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """The run's reviews, no text in two of them: `{test, validation, train, unsupervised[, development]}` and a
    drop report.

    Sizes: `n_test` / `n_train` 0 mean every review left; `n_val` 0 means no validation split; `n_unlabeled`
    0 means none and -1 all; `n_dev` 0 means no development split. Test reviews come from the test split;
    validation and the distillation pool from the train split minus every text of the test split and of `exclude`
    (the extra evaluation sets); the unlabeled pool minus every text of those. The development split (diagnostics
    only) is drawn last, from the train reviews left, so that adding it changes no other draw.
    """
    held_out, report, excluded = set(), [], set(exclude)

    def draw(split: str, n: int, stratify: bool = True) -> pd.DataFrame:
        available, dropped = without_texts(source[split], held_out)
        available, in_eval_sets = without_texts(available, excluded) if split != "test" else (available, 0)
        if n == 0 and split in ("validation", "unsupervised"):
            frame = available.iloc[0:0]
        else:
            frame = stratified_sample(available, len(available) if n in (0, -1) else n, seed, stratify)
        held_out.update(frame["text"])
        report.append({"sample": split, "source split": SOURCE_SPLIT[split], "unique reviews": len(source[split]),
                       "dropped (text in an earlier sample)": dropped, "dropped (text in an eval set)": in_eval_sets,
                       "drawn": len(frame)})
        return frame

    source = {"test": load_split("test", data_dir, dataset_id)}
    source["validation"] = source["train"] = source["development"] = load_split("train", data_dir, dataset_id)
    test = draw("test", n_test)
    held_out.update(source["test"]["text"])  # the whole test split, not only the drawn part
    samples = {"test": test, "validation": draw("validation", n_val), "train": draw("train", n_train)}
    if n_unlabeled:
        source["unsupervised"] = load_split("unsupervised", data_dir, dataset_id)
        samples["unsupervised"] = draw("unsupervised", n_unlabeled, stratify=False)
    else:
        samples["unsupervised"] = pd.DataFrame(columns=COLUMNS)
    if n_dev:  # last: every draw above is the same with or without it
        samples["development"] = draw("development", development_size(n_dev))
    return samples, pd.DataFrame(report).set_index("sample")


def development_size(n_dev: int) -> int:
    """`n_dev` checked: a positive number of reviews (0, none, is never drawn; 'all the rest' is not offered)."""
    if n_dev < 0:
        raise DataError(f"n_dev is {n_dev}: give the number of development reviews to draw, or 0 for none")
    return n_dev


def test_sample_phrase(samples: dict) -> str:
    """How the test reviews were drawn, from 01's samples.json: the whole split, or a stratified sample of it."""
    test = next((row for row in samples.get("drawn", []) if row["sample"] == "test"), None)
    if test is None:
        return "test reviews"
    return ("the whole test split (after the duplicate rule)" if test["drawn"] == test["unique reviews"]
            else "a sample of the test split stratified by label")


SOURCE_SPLIT = {"test": "test", "validation": "train", "train": "train", "unsupervised": "unsupervised",
                "development": "train"}


def load_eval_sets(spec: str) -> dict[str, pd.DataFrame]:
    """Extra labelled sets as `name -> frame`, from "path[,path...]": CSV/Parquet files or folders of them."""
    sets = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        path = resolve(item)
        if not path.exists():
            raise DataError(f"eval set {path} does not exist: give CSV/Parquet files or folders with text and label columns")
        files = sorted(f for f in path.iterdir() if f.suffix in (".csv", ".parquet")) if path.is_dir() else [path]
        if not files or any(f.suffix not in (".csv", ".parquet") for f in files):
            raise DataError(f"eval set {path} is not a .csv or .parquet file, or a folder holding some")
        name = re.sub(r"[^A-Za-z0-9_-]+", "_", path.stem).strip("_") or "set"
        if name in sets:
            raise DataError(f"two eval sets are named {name!r} (from their file names): rename one")
        frames = [_standardise(read_table(f), str(f), "eval") for f in files]
        sets[name] = drop_duplicates(pd.concat(frames, ignore_index=True), str(path))
    return sets


def read_reviews(path) -> pd.DataFrame:
    """A CSV written by a step, with text kept as text (no 'NA' -> NaN)."""
    if not Path(path).exists():
        raise DataError(f"{path} does not exist: run the earlier notebooks of this run first")
    return pd.read_csv(path, keep_default_na=False, dtype={"review_id": str, "text": str})


def samples_summary(samples: dict[str, pd.DataFrame], drawn: pd.DataFrame) -> str:
    """What 01 drew, in a sentence or two: each sample's size and balance, and whether any text sits in two samples
    (counted, not assumed)."""
    sizes = ", ".join(f"{len(frame):,} {name}" for name, frame in samples.items() if len(frame))
    labelled = {name: frame for name, frame in samples.items() if len(frame) and name != "unsupervised"}
    positive = ", ".join(f"{name} {frame['label'].mean():.0%}" for name, frame in labelled.items())
    texts = [text for frame in samples.values() for text in frame["text"]]
    shared = len(texts) - len(set(texts))
    return (f"Drew {sizes} reviews. Share positive: {positive}. "
            + ("No text sits in two samples." if not shared else f"{shared:,} texts sit in two samples."))


def label_counts(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Reviews per split and label, for showing what was sampled."""
    table = pd.DataFrame({name: frame["label"].map(LABELS).fillna("unlabeled").value_counts()
                          for name, frame in frames.items()}).fillna(0).astype(int)
    return table.T
