"""Length-bucketed inference gives the same answers as one review at a time."""

import numpy as np
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from helpers.inference import encode, predict_proba


def test_bucketed_equals_one_by_one(tiny_teacher, mini_imdb):
    import pandas as pd

    texts = pd.read_csv(mini_imdb / "test.csv")["text"].head(12).tolist() + ["short", "a bit longer review"]
    tokenizer = AutoTokenizer.from_pretrained(tiny_teacher)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_teacher)
    bucketed = predict_proba(model, tokenizer, texts, max_length=128, batch_size=5)
    single = np.concatenate([predict_proba(model, tokenizer, [t], max_length=128, batch_size=1) for t in texts])
    np.testing.assert_allclose(bucketed, single, atol=1e-5)


def test_head_tail_keeps_first_and_last_tokens(tiny_teacher):
    tokenizer = AutoTokenizer.from_pretrained(tiny_teacher)
    text = " ".join(f"w{i}" for i in range(300))
    content = tokenizer(text, add_special_tokens=False)["input_ids"]
    [ids] = encode(tokenizer, [text], max_length=20, truncation="head_tail", head_tokens=6)
    assert len(ids) == 20
    assert ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id
    assert ids[1:7] == content[:6] and ids[7:-1] == content[-12:]
    [short] = encode(tokenizer, ["a short review"], max_length=20, truncation="head_tail", head_tokens=6)
    assert short == encode(tokenizer, ["a short review"], max_length=20)[0]  # nothing cut, nothing changed
    [head] = encode(tokenizer, [text], max_length=20)
    assert head[1:-1] == content[:18]


def test_chunks_average_windows_covering_the_text_weighted_by_tokens(tiny_teacher, monkeypatch):
    import helpers.inference

    tokenizer = AutoTokenizer.from_pretrained(tiny_teacher)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_teacher)
    text = " ".join(f"w{i}" for i in range(60))  # 120 content tokens -> windows of 48, 48 and 24 content tokens
    assert len(tokenizer(text, add_special_tokens=False)["input_ids"]) == 120
    # window k says class k with certainty: the average then shows each window's weight
    monkeypatch.setattr(helpers.inference, "predict_ids", lambda model, tokenizer, ids, *args, **kwargs: np.eye(3)[:len(ids)])
    np.testing.assert_allclose(predict_proba(model, tokenizer, [text], 50, truncation="chunks")[0],
                               np.array([48, 48, 24]) / 120, atol=1e-6)  # the short window counts half, not a third


def test_chunks_agree_with_scoring_the_windows_as_texts(tiny_teacher):
    tokenizer = AutoTokenizer.from_pretrained(tiny_teacher)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_teacher)
    text = " ".join(f"w{i}" for i in range(60))
    pieces = tokenizer(text, add_special_tokens=False)["input_ids"]
    window_texts = [tokenizer.decode(pieces[i:i + 48]) for i in range(0, len(pieces), 48)]
    per_window = predict_proba(model, tokenizer, window_texts, max_length=50)
    expected = (per_window * np.array([[48], [48], [24]])).sum(axis=0) / 120
    np.testing.assert_allclose(predict_proba(model, tokenizer, [text], 50, truncation="chunks")[0], expected, atol=1e-5)


def test_token_batches_fit_the_budget_and_cover_every_review():
    from helpers.inference import token_batches

    lengths = np.array([500, 20, 256, 30, 512, 100, 40, 300])
    batches = token_batches(lengths, max_tokens=1024)
    assert sorted(np.concatenate(batches).tolist()) == list(range(len(lengths)))
    assert all(len(b) * lengths[b].max() <= 1024 or len(b) == 1 for b in batches)
    assert [len(b) for b in batches] == [2, 3, 3]  # 512+500 | 300+256+100 | 40+30+20: short reviews in larger batches
    assert max(len(b) for b in token_batches(lengths, 1_000_000, max_reviews=3)) == 3
