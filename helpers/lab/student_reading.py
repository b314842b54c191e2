"""How a trained student reads long reviews at scoring time: as trained (head + tail), as the mean over windows
covering the whole review ("chunks"), or with a longer head + tail, on one labelled split (validation or the
development split; never test). Prints and writes accuracy overall and on the reviews longer than the training
window, with the minutes each reading took.

`python -m helpers.lab.student_reading --student models/<run>/distilled_sentiment --reviews data/<run>/validation_reviews.csv --out results/measured/<file>.json`
(`--only` some readings; the record of 2026-12-02 came from two calls, three readings each)
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..inference import at_precision, available_cores, cpu_model, encode, predict_proba
from ..metrics import to_binary
from ..paths import read_json, write_json

READINGS = {  # name -> (max_length, truncation, head_tokens): the record's six readings
    "as_trained_head_tail_256": (256, "head_tail", 128),
    "chunks_256": (256, "chunks", 128),
    "head_tail_384_h128": (384, "head_tail", 128),
    "head_tail_512_h128": (512, "head_tail", 128),
    "head_tail_512_h256": (512, "head_tail", 256),
    "head_tail_512_h384": (512, "head_tail", 384),
}


def main(argv: list[str] | None = None) -> None:
    """Score the student under each reading and write the record."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--student", required=True, help="a saved student folder")
    parser.add_argument("--reviews", required=True, help="a labelled CSV (text, label): validation or development")
    parser.add_argument("--out", required=True, help="where the JSON record goes")
    parser.add_argument("--precision", default="bf16", help="scoring precision: bf16 or fp32")
    parser.add_argument("--only", nargs="+", choices=list(READINGS), help="score only these readings")
    args = parser.parse_args(argv)
    if Path(args.reviews).name.startswith("test"):
        raise SystemExit(f"error: {args.reviews} looks like test reviews: read this on validation or development")
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    reviews = pd.read_csv(args.reviews)
    texts, gold = reviews["text"].tolist(), reviews["label"].to_numpy()
    tokenizer = AutoTokenizer.from_pretrained(args.student)
    model = at_precision(AutoModelForSequenceClassification.from_pretrained(args.student), args.precision)
    trained = read_json(Path(args.student) / "training.json")["max_length"]
    long = np.array([len(ids) > trained for ids in encode(tokenizer, texts, 100_000, "head")])
    record = {"cpu": cpu_model(), "cores": available_cores(), "student": args.student, "reviews": args.reviews,
              "n": len(texts), f"n_longer_than_{trained}_tokens": int(long.sum()), "precision": args.precision,
              "readings": {}}
    for name, (length, truncation, head) in READINGS.items():
        if args.only and name not in args.only:
            continue
        start = time.time()
        probs = predict_proba(model, tokenizer, texts, length, truncation=truncation, head_tokens=head,
                              precision=args.precision)
        calls = to_binary(probs)
        record["readings"][name] = {"accuracy": round(float(np.mean(calls == gold)), 4),
                                    "accuracy_long": round(float(np.mean(calls[long] == gold[long])), 4),
                                    "accuracy_short": round(float(np.mean(calls[~long] == gold[~long])), 4),
                                    "minutes": round((time.time() - start) / 60, 2)}
        print(name, record["readings"][name], flush=True)
    write_json(record, Path(args.out))


if __name__ == "__main__":
    main()
