"""Batched classifier inference over reviews of very unequal length: sort by length, pad per batch."""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from . import cache
from .errors import ConfigError


TRUNCATIONS = ("head", "head_tail")


ENCODED_KEPT = 8  # tokenised sets kept in memory: every split of a run, for each length rule
_encoded: dict[tuple, list[list[int]]] = {}
_tokenizer_keys: dict[int, tuple[object, str]] = {}


def tokenizer_key(tokenizer) -> str:
    """What the tokenizer does, by content: two loads of the same tokenizer (a student and its ceiling, saved apart)
    get one key."""
    known = _tokenizer_keys.get(id(tokenizer))
    if known is None or known[0] is not tokenizer:
        backend = getattr(tokenizer, "backend_tokenizer", None)
        spec = backend.to_str() if backend is not None else repr(sorted(tokenizer.get_vocab().items()))
        known = (tokenizer, cache.key(f"{type(tokenizer).__name__}\n{spec}"))
        _tokenizer_keys[id(tokenizer)] = known
    return known[1]


def encode(tokenizer, texts: Sequence[str], max_length: int, truncation: str = "head",
           head_tokens: int = 128) -> list[list[int]]:
    """Token ids per text, at most `max_length` with special tokens, unpadded.

    `head` keeps the first tokens; `head_tail` keeps the first `head_tokens` and the last ones that still fit
    (Sun et al. 2019: 128 head + 382 tail was best on IMDb at 512). A set is tokenised once per tokenizer and
    length rule in a process: the student's scoring, the ceiling's and a self-training relabelling share it.
    """
    texts = list(texts)
    key = (tokenizer_key(tokenizer), cache.texts_key(texts), len(texts), max_length, truncation,
           head_tokens if truncation == "head_tail" else None)
    if key not in _encoded:
        while len(_encoded) >= ENCODED_KEPT:
            _encoded.pop(next(iter(_encoded)))
        _encoded[key] = _encode(tokenizer, texts, max_length, truncation, head_tokens)
    return _encoded[key]


def _encode(tokenizer, texts: list[str], max_length: int, truncation: str, head_tokens: int) -> list[list[int]]:
    """`encode`'s work, uncached."""
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


PRECISIONS = ("auto", "fp32", "bf16", "fp16", "int8")
CPU_FLAGS = {"bf16": ("avx512_bf16", "amx_bf16"), "int8": ("avx512_vnni", "avx_vnni", "amx_int8")}


def cpuinfo_lines() -> list[str]:
    """The lines of /proc/cpuinfo; none where that file is missing (not Linux)."""
    try:
        return Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return []


def cpu_flags() -> set[str]:
    """The CPU's feature flags as the kernel reports them (/proc/cpuinfo); empty where that file is missing."""
    return {flag for line in cpuinfo_lines() if line.startswith(("flags", "Features")) for flag in line.split()[2:]}


def cpu_model() -> str:
    """The CPU's model name (Linux), or what platform knows."""
    import platform

    return next((line.split(":", 1)[1].strip() for line in cpuinfo_lines() if line.startswith("model name")),
                platform.processor() or platform.machine())


def native_precisions(device: torch.device) -> list[str]:
    """The reduced precisions `device` computes in hardware: bf16 on CPUs with AVX512-BF16/AMX and on GPUs from
    Ampere on, fp16 on GPUs with tensor cores (Volta on), int8 on CPUs with VNNI. Emulated ones are left out."""
    if device.type == "cuda":
        major, minor = torch.cuda.get_device_capability(device)
        return (["bf16"] if major >= 8 else []) + (["fp16"] if (major, minor) >= (7, 0) else [])
    if device.type != "cpu":
        return []
    flags = cpu_flags()
    return [name for name, needs in CPU_FLAGS.items() if flags & set(needs)]


def check_precision(precision: str, device: torch.device) -> None:
    """Refuse a precision name that is unknown or that `device` cannot run at all."""
    if precision not in PRECISIONS:
        raise ConfigError(f"precision {precision!r} is not one of {', '.join(PRECISIONS)}")
    if precision == "int8" and device.type != "cpu":
        raise ConfigError("precision 'int8' (dynamic quantisation) runs on the CPU only: use bf16 or fp16 on a GPU")
    if precision == "fp16" and device.type != "cuda":
        raise ConfigError("precision 'fp16' needs a CUDA GPU: on the CPU use bf16, int8 or fp32")


def at_precision(model, precision: str):
    """`model` ready to run at `precision`: int8 is a dynamically quantised copy (Linear layers, per-channel
    weights); fp32, bf16 and fp16 are the model itself, bf16 and fp16 running under autocast."""
    if precision != "int8":
        return model
    import copy

    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    with warnings.catch_warnings():  # torch points eager-mode quantisation users at torchao; this API still works
        warnings.simplefilter("ignore")
        return quantize_dynamic(copy.deepcopy(model).eval(), {torch.nn.Linear: per_channel_dynamic_qconfig})


def autocast(device: torch.device, precision: str):
    """Autocast to bf16 or fp16, or nothing for fp32 and int8."""
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    return torch.autocast(device.type, dtype=dtype) if dtype else contextlib.nullcontext()


def is_out_of_memory(err: BaseException) -> bool:
    """True for a GPU out-of-memory error, whichever way torch raised it."""
    return isinstance(err, torch.OutOfMemoryError) or "out of memory" in str(err).lower()


TOKEN_BUDGET = {"cpu": 16_384, "cuda": 262_144}  # padded tokens per forward pass: 64 x 256 on CPU, far more on a GPU


def available_cores() -> int:
    """CPU cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def device_name(device: torch.device) -> str:
    """What a timing depends on: the GPU's name and capability, or the CPU's model, usable cores, torch threads
    and reduced-precision flags."""
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (capability {'.'.join(map(str, torch.cuda.get_device_capability(device)))})"
    flags = sorted(cpu_flags() & set().union(*CPU_FLAGS.values()))
    return f"{cpu_model()}, {available_cores()} cores, {torch.get_num_threads()} threads, flags {flags}"


def token_budget(device: torch.device) -> int:
    """Padded tokens per forward pass that suit `device`."""
    return TOKEN_BUDGET.get(device.type, TOKEN_BUDGET["cpu"])


def token_batches(lengths: np.ndarray, max_tokens: int, max_reviews: int = 0) -> list[np.ndarray]:
    """Indices, longest first, cut into batches whose padded size (reviews x longest) fits `max_tokens`;
    long reviews get small batches, short ones large. `max_reviews` caps a batch (0: no cap)."""
    order = np.argsort(-np.asarray(lengths), kind="stable")
    batches, start = [], 0
    while start < len(order):
        size = max(1, max_tokens // max(int(lengths[order[start]]), 1))
        if max_reviews:
            size = min(size, max_reviews)
        batches.append(order[start:start + size])
        start += size
    return batches


def probabilities(model, enc: dict[str, torch.Tensor]) -> torch.Tensor:
    """A batch's class probabilities, as float32: what scoring reads out of a model."""
    return torch.softmax(model(**enc).logits.float(), dim=-1)


def probabilities_and_states(model, enc: dict[str, torch.Tensor]) -> torch.Tensor:
    """A batch's class probabilities and after them, in the same rows, its last hidden state at the first token
    ([CLS], <s>): all a classification head reads. One pass, as float32."""
    out = model(**enc, output_hidden_states=True)
    return torch.cat([torch.softmax(out.logits.float(), dim=-1), out.hidden_states[-1][:, 0].float()], dim=-1)


def predict_proba(model, tokenizer, texts: Sequence[str], max_length: int, batch_size: int = 0,
                  progress: tqdm | None = None, truncation: str = "head", head_tokens: int = 128,
                  max_tokens: int = 0, precision: str = "fp32", readout=probabilities) -> np.ndarray:
    """Softmax probabilities (or another `readout` of each batch, e.g. `probabilities_and_states`), one row per text in
    input order.

    `truncation` is `head`, `head_tail` (see `encode`) or `chunks`: the mean over windows covering the whole
    text, each weighted by its tokens. Texts are tokenized once, then batched by `max_tokens` padded tokens
    (0: the device's budget) and at most `batch_size` reviews (0: no cap). `model` must already be
    `at_precision(model, precision)`.
    """
    if truncation == "chunks":
        if readout is not probabilities:
            raise ValueError("chunks truncation averages probabilities over windows: it has no other readout")
        ids, owner = windows(tokenizer, texts, max_length)
        per_window = predict_ids(model, tokenizer, ids, batch_size, max_tokens=max_tokens, precision=precision)
        specials = sum(map(len, special_tokens(tokenizer)))
        size = np.array([max(len(x) - specials, 1) for x in ids], dtype=np.float64)  # a short last window counts less
        sums = np.zeros((len(texts), per_window.shape[1]), dtype=np.float64)
        np.add.at(sums, owner, per_window * size[:, None])
        if progress is not None:
            progress.update(len(texts))
        return (sums / np.bincount(owner, weights=size, minlength=len(texts))[:, None]).astype(np.float32)
    return predict_ids(model, tokenizer, encode(tokenizer, texts, max_length, truncation, head_tokens),
                       batch_size, progress, max_tokens, precision, readout)


def predict_ids(model, tokenizer, ids: list[list[int]], batch_size: int = 0, progress: tqdm | None = None,
                max_tokens: int = 0, precision: str = "fp32", readout=probabilities) -> np.ndarray:
    """Probabilities (or `readout`'s rows) for pre-tokenized inputs in token-budget batches, longest first, in input
    order.

    Batch indices stay on the CPU and results on the device; the device is synchronised once, at the end, when
    the results are gathered and put back in input order. On GPU out-of-memory the token budget halves and the
    batch is retried.
    """
    device = next(model.parameters()).device
    max_tokens = max_tokens or token_budget(device)
    lengths = np.array([len(x) for x in ids])
    outputs, done = [], []
    model.eval()
    pending = token_batches(lengths, max_tokens, batch_size)
    while pending:
        batch = pending[0]
        try:
            outputs.append(_forward(model, tokenizer, [ids[i] for i in batch], device, precision, readout))
        except (torch.OutOfMemoryError, RuntimeError) as err:
            if not is_out_of_memory(err) or len(batch) == 1:
                raise
            max_tokens = min(max_tokens, len(batch) * int(lengths[batch].max())) // 2  # smaller than what failed
            if device.type == "cuda":
                torch.cuda.empty_cache()
            tqdm.write(f"out of memory: retrying with {max_tokens} tokens per batch", file=sys.stderr)
            rest = np.concatenate(pending)
            pending = token_batches(lengths[rest], max_tokens, batch_size)
            pending = [rest[b] for b in pending]
            continue
        done.append(batch)
        pending.pop(0)
        if progress is not None:
            progress.update(len(batch))
    if not outputs:
        return np.zeros((0, model.config.num_labels), dtype=np.float32)
    rows = torch.cat(outputs).cpu().numpy()
    out = np.zeros((len(ids), rows.shape[1]), dtype=np.float32)
    out[np.concatenate(done)] = rows
    return out


def padded(batch_ids: list[list[int]], pad_id: int) -> dict[str, torch.Tensor]:
    """`input_ids` and `attention_mask` for a batch, right-padded to its longest member."""
    width = max(len(x) for x in batch_ids)
    input_ids = torch.full((len(batch_ids), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch_ids), width), dtype=torch.long)
    for row, tokens in enumerate(batch_ids):
        input_ids[row, :len(tokens)] = torch.tensor(tokens, dtype=torch.long)
        mask[row, :len(tokens)] = 1
    return {"input_ids": input_ids, "attention_mask": mask}


def _forward(model, tokenizer, batch_ids: list[list[int]], device: torch.device, precision: str = "fp32",
             readout=probabilities) -> torch.Tensor:
    """One padded batch through the model, as float32 probabilities (or `readout`'s rows) on `device`."""
    pin = device.type == "cuda"
    enc = {k: (v.pin_memory() if pin else v).to(device, non_blocking=pin)
           for k, v in padded(batch_ids, tokenizer.pad_token_id or 0).items()}
    with torch.inference_mode(), autocast(device, precision):
        return readout(model, enc)


def computed_on(device, precision: str, batch_size: int = 0) -> dict:
    """How a model's outputs were computed: the precision, the device, its batching (the token budget per pass and
    `batch_size`, the most reviews per pass, 0: no cap) and the library versions. Part of every key of model work,
    beside what the model is: a GPU's bf16 is not a CPU's, and padding and kernels change with the batches."""
    return {"precision": precision, "device": device_name(device), "token_budget": token_budget(device),
            "batch_size": batch_size, "libraries": cache.libraries()}
