"""Which validation reviews should self-calibration's truth map be fitted on? The recipe fits it on one seeded half
and keeps the relearned top only if the other half's ECE falls; this check also fits it on all of validation, and
judges every variant on the development split, which no map saw.

For one trained student (before self-calibration: its stated-ratings checkpoint), with the recipe's own steps
(`calibrate.truth_map`, `train.fit_top` on the encoder's first-token states at bf16):
- `trained`: no relearning;
- `half`: the recipe, the map fitted on the seed's first half (`calibrate.halves`), judged on the other;
- `whole`: the map fitted on all validation reviews; its validation figure is cross-fitted (the top relearned from
  each half's map and judged on the other half, both ways round), as the fold judges its maps.
The fold that follows in the recipe (a scale of the binary logit) is left out.

`python -m helpers.lab.self_calibration_map <checkpoint> <the run's data folder> <seed> > out.json`
"""
import copy
import json
import sys
import time

import numpy as np
import pandas as pd
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from helpers.calibrate import halves, truth_map
from helpers.data import read_reviews
from helpers.inference import encode
from helpers.metrics import binary_positive_probability, expected_calibration_error, to_binary
from helpers.student import top_of
from helpers.train import fit_top

POOL_REVIEWS = 4000  # the recipe's self_calibration_reviews


def states_of(model, tokenizer, texts) -> torch.Tensor:
    """First-token encoder states of `texts` (head + tail, 256 tokens, as the student trained), bf16 autocast."""
    ids = encode(tokenizer, list(texts), 256, "head_tail", 128)
    order, out = np.argsort([len(x) for x in ids]), [None] * len(ids)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        for i in range(0, len(ids), 32):
            batch = [ids[j] for j in order[i:i + 32]]
            hidden = model.bert(**tokenizer.pad({"input_ids": batch}, return_tensors="pt")).last_hidden_state
            for j, h in zip(order[i:i + 32], hidden[:, 0].float()):
                out[j] = h
    return torch.stack(out)


def probabilities(model, states: torch.Tensor) -> np.ndarray:
    """The 3-class probabilities the top of `model` gives on `states`, at bf16 as the student is scored."""
    top, _ = top_of(model.eval())
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        return torch.softmax(top(states).float(), -1).numpy()


def relearned(model, pool_states, pool_probs, to_truth):
    """A copy of `model` whose top has relearned `to_truth` of its own pool probabilities (`train.fit_top`)."""
    copied = copy.deepcopy(model)
    fit_top(copied, pool_states, torch.from_numpy(to_truth(pool_probs)).float(), "bf16")
    return copied


def figures(probs: np.ndarray, gold: np.ndarray) -> dict:
    """ECE and accuracy of the headline reading, and n."""
    return {"ece": round(expected_calibration_error(gold, binary_positive_probability(probs)), 4),
            "accuracy": round(float(np.mean(to_binary(probs) == gold)), 4), "n": int(len(gold))}


def main() -> None:
    """Run the check on the checkpoint, data folder and seed given on the command line; print JSON."""
    checkpoint, data, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    model = AutoModelForSequenceClassification.from_pretrained(checkpoint).eval()
    read = lambda split: read_reviews(f"{data}/{split}_teacher_annotated.csv")
    pool = pd.concat([read("train"), read("unsupervised")], ignore_index=True)
    sample, validation, development = pool.sample(min(POOL_REVIEWS, len(pool)), random_state=seed), read(
        "validation"), read("development")
    started = time.time()
    pool_states, val_states, dev_states = (states_of(model, tokenizer, frame["text"])
                                           for frame in (sample, validation, development))
    seconds = time.time() - started
    gold, dev_gold = validation["label"].to_numpy(), development["label"].to_numpy()
    pool_probs, val_probs = probabilities(model, pool_states), probabilities(model, val_states)
    first, second = halves(len(validation), seed)
    out = {"checkpoint": checkpoint, "seed": seed, "pool_reviews": len(sample), "state_seconds": round(seconds, 1),
           "cpu": next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if "model name" in line), "?")}
    out["trained"] = {"validation_held_out": figures(val_probs[second], gold[second]),
                      "validation": figures(val_probs, gold),
                      "development": figures(probabilities(model, dev_states), dev_gold)}
    half = relearned(model, pool_states, pool_probs, truth_map(val_probs[first], gold[first]))
    out["half"] = {"validation_held_out": figures(probabilities(half, val_states)[second], gold[second]),
                   "development": figures(probabilities(half, dev_states), dev_gold)}
    crossed = np.zeros_like(val_probs)
    for fitted_on, judged in ((first, second), (second, first)):
        crossed[judged] = probabilities(relearned(model, pool_states, pool_probs,
                                                  truth_map(val_probs[fitted_on], gold[fitted_on])), val_states)[judged]
    whole = relearned(model, pool_states, pool_probs, truth_map(val_probs, gold))
    out["whole"] = {"validation_cross_fitted": figures(crossed, gold),
                    "development": figures(probabilities(whole, dev_states), dev_gold)}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
