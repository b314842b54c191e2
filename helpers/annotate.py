"""Annotate a CSV of reviews with a teacher, outside the notebooks; shards over processes under torchrun.

`torchrun --nproc_per_node 4 -m helpers.annotate --teacher cardiffnlp/twitter-roberta-base-sentiment-latest
 --reviews data/big/train_reviews.csv --out data/big/train_teacher_annotated.csv`
"""

from __future__ import annotations

import argparse
import sys

from .data import read_reviews
from .distributed import is_main
from .errors import UserError
from .paths import resolve, write_csv
from .teacher import annotate, annotation_frame, load_teacher


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m helpers.annotate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teacher", default="vader", help="'vader', hub id, local folder or pkg:<module>")
    parser.add_argument("--reviews", required=True, help="CSV with a text column (e.g. 01's *_reviews.csv)")
    parser.add_argument("--out", required=True, help="CSV to write: the reviews plus label and probabilities")
    parser.add_argument("--cache", default="data/cache", help="annotation cache folder (default data/cache)")
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--truncation", default="head", choices=["head", "head_tail", "chunks"])
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    try:
        reviews = read_reviews(resolve(args.reviews))
        teacher = load_teacher(args.teacher, args.max_length, args.batch_size, args.device, args.truncation)
        probs = annotate(teacher, reviews["text"].tolist(), resolve(args.cache))
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if is_main():
        write_csv(annotation_frame(reviews, probs), resolve(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
