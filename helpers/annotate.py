"""Annotate a CSV of reviews with a teacher, outside the notebooks; shards over processes under torchrun.

`torchrun --nproc_per_node 4 -m helpers.annotate --teacher cardiffnlp/twitter-roberta-base-sentiment-latest
 --reviews data/big/train_reviews.csv --out data/big/train_teacher_annotated.csv`
"""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from .data import read_reviews
from .distributed import barrier, is_main
from .errors import UserError
from .paths import resolve, write_csv
from .precision import settle_teacher
from .teacher import annotate, annotation_frame, load_teacher


def settle(teacher, args, cache) -> None:
    """Settle an `auto` precision as notebook 02 does (the main process checks, the others read its verdict)."""
    if getattr(teacher, "requested_precision", None) != "auto":
        return
    check = resolve(args.check_reviews) if args.check_reviews else resolve(args.reviews).with_name("validation_reviews.csv")
    if args.check_reviews and not check.exists():
        raise UserError(f"--check-reviews {check} does not exist: give a labelled CSV (text, label), or leave it out")
    frame = read_reviews(check) if check.exists() else pd.DataFrame({"text": [], "label": []})  # nothing to check: fp32
    if not is_main():
        barrier()
    verdict = settle_teacher(teacher, frame["text"].tolist(), frame["label"].to_numpy(), cache)
    if is_main():
        print(f"teacher precision: {verdict['how']}", file=sys.stderr)
        barrier()


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m helpers.annotate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teacher", default="vader", help="'vader', hub id, local folder or pkg:<module>")
    parser.add_argument("--reviews", required=True, help="CSV with a text column (e.g. 01's *_reviews.csv)")
    parser.add_argument("--out", required=True, help="CSV to write: the reviews plus label and probabilities")
    parser.add_argument("--cache", default="data/cache", help="annotation cache folder (default data/cache)")
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=0,
                        help="most reviews per forward pass (default 0: as many as the token budget allows)")
    parser.add_argument("--truncation", default="head", choices=["head", "head_tail", "chunks"])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="auto", help="auto (as notebook 02: checked against fp32 on the "
                        "labelled --check-reviews), fp32, bf16, fp16 (GPU) or int8 (CPU)")
    parser.add_argument("--check-reviews", help="labelled CSV the auto precision is checked on (default: "
                        "validation_reviews.csv beside --reviews)")
    args = parser.parse_args(argv)
    try:
        reviews = read_reviews(resolve(args.reviews))
        teacher = load_teacher(args.teacher, args.max_length, args.batch_size, args.device, args.truncation,
                               precision=args.precision)
        settle(teacher, args, resolve(args.cache))
        probs = annotate(teacher, reviews["text"].tolist(), resolve(args.cache))
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if is_main():
        write_csv(annotation_frame(reviews, probs), resolve(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
