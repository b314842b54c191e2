"""The lent GPU's IMDB, cut to fit the 64 MiB a run may carry: the train and unlabeled splits keep the real text of
the reviews the planned runs draw (and of every review the draws' duplicate and cross-split rules look at), a short
placeholder elsewhere; test keeps the reviews whose text is also in train or unlabeled (all the rules need). Draws from it are
the full data's draws, and this checks it before writing anything. Its test split is no test sample: runs on the
kit's data score validation only (`score_test: false`, as the protocol's sweeps do). It reads any data_dir the
project reads (Parquet or CSV splits, or an extracted aclImdb/), as the draws read it.

`python -m helpers.lab.gpu_kit --data-dir ../shared/data/imdb --seeds 42 43 --n-unlabeled 6000` after
`bash ../shared/gpu/pack.sh` (with SPLITS=train): writes `.gpu/imdb_{train,unsupervised,test}.jsonl.xz`. On the GPU
machine the kit's prep turns test into parquet; unlabeled needs one more line (see `.gpu/stage.sh` in the records).
"""

from __future__ import annotations

import argparse
import lzma
import sys
import tempfile
from pathlib import Path

import pandas as pd

from ..data import draw_samples, load_split
from ..errors import UserError


def reduced(full: Path, seeds: list[int], n_train: int, n_val: int, n_unlabeled: int,
            n_dev: int = 0) -> dict[str, pd.DataFrame]:
    """The three splits cut as the module says, for draws of `n_unlabeled` or fewer with `seeds`; `full` is any
    data_dir the project reads (Parquet, CSV or aclImdb/), read as the draws read it (the duplicate rule applied)."""
    read = lambda split: load_split(split, str(full))[["text", "label"]]
    train, test, unlabeled = read("train"), read("test"), read("unsupervised")
    drawn = {"train": set(), "unsupervised": set()}
    for seed in seeds:
        samples = draw_samples(n_train, n_val, 0, n_unlabeled, seed, str(full), n_dev=n_dev)[0]
        drawn["train"] |= set(samples["train"]["text"]) | set(samples["validation"]["text"]) | set(
            samples.get("development", pd.DataFrame(columns=["text"]))["text"])
        drawn["unsupervised"] |= set(samples["unsupervised"]["text"])
    return {"train": placeholders(train, "train", drawn["train"] | set(test["text"])),
            "unsupervised": placeholders(unlabeled, "unlabeled",
                                         drawn["unsupervised"] | set(train["text"]) | set(test["text"])),
            "test": test[test["text"].isin(set(train["text"]) | set(unlabeled["text"]))]}


def placeholders(split: pd.DataFrame, name: str, needed: set[str]) -> pd.DataFrame:
    """`split` with a short unique placeholder for every text that is neither `needed` nor duplicated (rows kept)."""
    real = split["text"].isin(needed) | split["text"].duplicated(keep=False)
    cut = split.copy()
    cut.loc[~real, "text"] = [f"placeholder {name} review {i}" for i in cut.index[~real]]
    return cut


def check(full: Path, cut: dict[str, pd.DataFrame], seeds: list[int], n_train: int, n_val: int, n_unlabeled: int,
          n_dev: int = 0) -> None:
    """Refuse unless every planned draw from the cut data is the full data's, review for review."""
    with tempfile.TemporaryDirectory() as folder:
        for split, frame in cut.items():
            frame.to_parquet(Path(folder) / f"{split}.parquet", index=False)
        for seed in seeds:
            ours = draw_samples(n_train, n_val, 0, n_unlabeled, seed, folder, n_dev=n_dev)[0]
            theirs = draw_samples(n_train, n_val, 0, n_unlabeled, seed, str(full), n_dev=n_dev)[0]
            for split in ("validation", "train", "unsupervised", *(["development"] if n_dev else [])):
                if ours[split]["text"].tolist() != theirs[split]["text"].tolist():
                    raise UserError(f"the cut data draws another {split} sample for seed {seed}: not written")


def write_kit(cut: dict[str, pd.DataFrame], out: Path) -> None:
    """Each split as `out/imdb_<split>.jsonl.xz`, the folder made if it is missing."""
    out.mkdir(parents=True, exist_ok=True)
    for split, frame in cut.items():
        raw = frame.to_json(orient="records", lines=True, force_ascii=False).encode()
        (out / f"imdb_{split}.jsonl.xz").write_bytes(lzma.compress(raw, preset=9 | lzma.PRESET_EXTREME))


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m helpers.lab.gpu_kit", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="../shared/data/imdb",
                        help="IMDB as the project reads it: Parquet or CSV splits, or an extracted aclImdb/")
    parser.add_argument("--seeds", nargs="+", type=int, default=[42, 43])
    parser.add_argument("--n-train", type=int, default=2000)
    parser.add_argument("--n-val", type=int, default=2000)
    parser.add_argument("--n-unlabeled", type=int, default=6000, help="the most unlabeled reviews a planned run draws")
    parser.add_argument("--n-dev", type=int, default=2000, help="the development reviews a planned run draws (0: none)")
    parser.add_argument("--out", default=".gpu", help="folder for the kit (made if missing)")
    args = parser.parse_args(argv)
    full = Path(args.data_dir)
    try:
        cut = reduced(full, args.seeds, args.n_train, args.n_val, args.n_unlabeled, args.n_dev)
        check(full, cut, args.seeds, args.n_train, args.n_val, args.n_unlabeled, args.n_dev)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    try:
        write_kit(cut, Path(args.out))
    except OSError as err:
        print(f"error: cannot write the kit to {args.out} ({err.strerror or err}): name a folder you can write to "
              "with --out", file=sys.stderr)
        return 1
    print(f"wrote {args.out}/imdb_{{train,unsupervised,test}}.jsonl.xz: the draws of seeds "
          f"{' '.join(map(str, args.seeds))} (up to {args.n_unlabeled:,} unlabeled) are the full data's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
