"""Length-bucketed inference gives the same answers as one review at a time."""

import numpy as np
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from helpers.inference import length_sorted_batches, predict_proba


def test_bucketed_equals_one_by_one(tiny_teacher, mini_imdb):
    import pandas as pd

    texts = pd.read_csv(mini_imdb / "test.csv")["text"].head(12).tolist() + ["short", "a bit longer review"]
    tokenizer = AutoTokenizer.from_pretrained(tiny_teacher)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_teacher)
    bucketed = predict_proba(model, tokenizer, texts, max_length=128, batch_size=5)
    single = np.concatenate([predict_proba(model, tokenizer, [t], max_length=128, batch_size=1) for t in texts])
    np.testing.assert_allclose(bucketed, single, atol=1e-5)


def test_length_sorted_batches_cover_every_index_once():
    batches = length_sorted_batches([5, 1, 9, 3, 7], batch_size=2)
    assert [b.tolist() for b in batches] == [[2, 4], [0, 3], [1]]
