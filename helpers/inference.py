"""Batched classifier inference over reviews of very unequal length: sort by length, pad per batch."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import numpy as np
import torch
from tqdm import tqdm


def token_ids(tokenizer, texts: Sequence[str], max_length: int) -> list[list[int]]:
    """Each text's token ids, truncated to `max_length`, unpadded."""
    return tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> list[np.ndarray]:
    """Indices grouped into batches of similar length, longest first so memory errors come early."""
    order = np.argsort(-np.asarray(lengths), kind="stable")
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def _autocast(device: torch.device):
    """bf16 (or fp16) autocast on CUDA; nothing on CPU, where it would be slower."""
    if device.type != "cuda":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast("cuda", dtype=dtype)


def is_out_of_memory(err: BaseException) -> bool:
    """True for a GPU out-of-memory error, whichever way torch raised it."""
    return isinstance(err, torch.OutOfMemoryError) or "out of memory" in str(err).lower()


def predict_proba(model, tokenizer, texts: Sequence[str], max_length: int, batch_size: int = 16,
                  progress: tqdm | None = None) -> np.ndarray:
    """Softmax probabilities, one row per text in input order; halves the batch on GPU out-of-memory."""
    device = next(model.parameters()).device
    ids = token_ids(tokenizer, texts, max_length)
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
            tqdm.write(f"out of memory: retrying with batch size {batch_size}")
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
