"""Batched classifier inference over reviews of very unequal length: sort by length, pad per batch."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Sequence

import numpy as np
import torch
from tqdm import tqdm

from .errors import ConfigError


TRUNCATIONS = ("head", "head_tail")


def encode(tokenizer, texts: Sequence[str], max_length: int, truncation: str = "head",
           head_tokens: int = 128) -> list[list[int]]:
    """Token ids per text, at most `max_length` with special tokens, unpadded.

    `head` keeps the first tokens; `head_tail` keeps the first `head_tokens` and the last ones that still fit
    (Sun et al. 2019: 128 head + 382 tail was best on IMDb at 512).
    """
    if truncation == "head":
        return tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]
    if truncation != "head_tail":
        raise ConfigError(f"truncation {truncation!r} is not one of {TRUNCATIONS}")
    prefix, suffix = special_tokens(tokenizer)
    budget = max_length - len(prefix) - len(suffix)
    head = min(head_tokens, budget)
    content = tokenizer(list(texts), add_special_tokens=False, verbose=False)["input_ids"]
    return [prefix + (ids if len(ids) <= budget else ids[:head] + ids[len(ids) - (budget - head):]) + suffix
            for ids in content]


def special_tokens(tokenizer) -> tuple[list[int], list[int]]:
    """The ids the tokenizer puts before and after a single text (e.g. [CLS] and [SEP])."""
    content = tokenizer("x", add_special_tokens=False)["input_ids"]
    full = tokenizer("x")["input_ids"]
    start = next(i for i in range(len(full)) if full[i:i + len(content)] == content)
    return full[:start], full[start + len(content):]


def windows(tokenizer, texts: Sequence[str], max_length: int) -> tuple[list[list[int]], np.ndarray]:
    """Every text cut into consecutive windows of `max_length` tokens; returns the windows and each one's text."""
    prefix, suffix = special_tokens(tokenizer)
    budget = max_length - len(prefix) - len(suffix)
    content = tokenizer(list(texts), add_special_tokens=False, verbose=False)["input_ids"]
    ids, owner = [], []
    for i, tokens in enumerate(content):
        for start in range(0, max(len(tokens), 1), budget):
            ids.append(prefix + tokens[start:start + budget] + suffix)
            owner.append(i)
    return ids, np.array(owner)


def precision(device: torch.device) -> str:
    """The precision inference runs at: bf16 (or fp16) autocast on CUDA, fp32 on CPU, where autocast is slower."""
    if device.type != "cuda":
        return "fp32"
    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


def _autocast(device: torch.device):
    """Autocast to `precision(device)`, or nothing for fp32."""
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision(device))
    return torch.autocast("cuda", dtype=dtype) if dtype else contextlib.nullcontext()


def is_out_of_memory(err: BaseException) -> bool:
    """True for a GPU out-of-memory error, whichever way torch raised it."""
    return isinstance(err, torch.OutOfMemoryError) or "out of memory" in str(err).lower()


def predict_proba(model, tokenizer, texts: Sequence[str], max_length: int, batch_size: int = 16,
                  progress: tqdm | None = None, truncation: str = "head", head_tokens: int = 128) -> np.ndarray:
    """Softmax probabilities, one row per text in input order.

    `truncation` is `head`, `head_tail` (see `encode`) or `chunks`: the mean over windows covering the whole
    text, each weighted by its tokens.
    """
    if truncation == "chunks":
        ids, owner = windows(tokenizer, texts, max_length)
        per_window = predict_ids(model, tokenizer, ids, batch_size)
        specials = sum(map(len, special_tokens(tokenizer)))
        size = np.array([max(len(x) - specials, 1) for x in ids], dtype=np.float64)  # a short last window counts less
        sums = np.zeros((len(texts), per_window.shape[1]), dtype=np.float64)
        np.add.at(sums, owner, per_window * size[:, None])
        if progress is not None:
            progress.update(len(texts))
        return (sums / np.bincount(owner, weights=size, minlength=len(texts))[:, None]).astype(np.float32)
    return predict_ids(model, tokenizer, encode(tokenizer, texts, max_length, truncation, head_tokens),
                       batch_size, progress)


def predict_ids(model, tokenizer, ids: list[list[int]], batch_size: int = 16,
                progress: tqdm | None = None) -> np.ndarray:
    """Probabilities for pre-tokenized inputs, in length-sorted batches; halves the batch on GPU out-of-memory."""
    device = next(model.parameters()).device
    out = np.zeros((len(ids), model.config.num_labels), dtype=np.float32)
    order = np.argsort(-np.array([len(x) for x in ids]), kind="stable")
    model.eval()
    start = 0
    while start < len(order):
        batch = order[start:start + batch_size]
        try:
            out[batch] = _forward(model, tokenizer, [ids[i] for i in batch], device)
        except (torch.OutOfMemoryError, RuntimeError) as err:
            if not is_out_of_memory(err) or batch_size == 1:
                raise
            batch_size //= 2
            if device.type == "cuda":
                torch.cuda.empty_cache()
            tqdm.write(f"out of memory: retrying with batch size {batch_size}", file=sys.stderr)
            continue
        start += len(batch)
        if progress is not None:
            progress.update(len(batch))
    return out


def _forward(model, tokenizer, batch_ids: list[list[int]], device: torch.device) -> np.ndarray:
    """One padded batch through the model, as float32 probabilities."""
    enc = tokenizer.pad({"input_ids": batch_ids}, return_tensors="pt").to(device)
    with torch.inference_mode(), _autocast(device):
        logits = model(**enc).logits
    return torch.softmax(logits.float(), dim=-1).cpu().numpy()
