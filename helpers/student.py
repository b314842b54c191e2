"""The student: fine-tuned with the Hugging Face Trainer on the teacher's labels, saved for `pipeline()`."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from . import cache
from .calibrate import binary_reading, calibrated, record_branches, restore
from .distill import DistillationTrainer, loss_weights
from .distributed import barrier, is_main, rank_and_world
from .errors import ConfigError
from .inference import at_precision, encode, predict_proba, probabilities, probabilities_and_states, token_budget
from .metrics import headline, precision_line, to_binary
from .models import files_digest, from_pretrained, model_identity, pick_device
from .paths import atomic_path, plain_modes, read_json, write_json
from .precision import MIN_CHECK_REVIEWS, device_name, settled, training_precision
from .progress import TrainingProgress, batch_mode, progress
from .tables import md_text
from .teacher import CLASSES

TRAINING_FILE = "training.json"

ID2LABEL = dict(enumerate(CLASSES))
LABEL2ID = {name: i for i, name in ID2LABEL.items()}
GOLD_TO_CLASS = {0: LABEL2ID["negative"], 1: LABEL2ID["positive"]}


@dataclass
class TrainConfig:
    """How the student is fine-tuned; the defaults are the original experiment's."""

    epochs: float = field(default=10, metadata={"help": "passes over the teacher-labelled training reviews"})
    learning_rate: float = field(default=5e-5, metadata={"help": "peak AdamW learning rate, linear decay"})
    batch_size: int = field(default=8, metadata={"help": "reviews per training step (per device)"})
    warmup: float = field(default=0.0, metadata={"help": "share of the steps over which the learning rate warms up "
                                                          "linearly from 0 (0: none)"})
    max_length: int = field(default=256, metadata={"help": "tokens kept per review"})
    truncation: str = field(default="head", metadata={"help": "'head', or 'head_tail': first head_tokens + last tokens"})
    head_tokens: int = field(default=128, metadata={"help": "tokens kept from the start with head_tail"})
    read_max_length: int = field(default=0, metadata={
        "help": "tokens the trained student reads per review when it scores (cut as `truncation` says); 0: max_length. "
                "Scoring only: training reads max_length"})
    distill_loss: str = field(default="hard", metadata={"help": "'hard' (CE on argmax), 'soft' (KD at T), 'mixed'"})
    temperature: float = field(default=2.0, metadata={"help": "softmax temperature T of the soft loss"})
    alpha: float = field(default=0.5, metadata={"help": "weight of the soft loss when distill_loss is 'mixed'"})
    seed: int = field(default=42, metadata={"help": "seeds model init, shuffling and dropout"})
    device: str = field(default="auto", metadata={"help": "'auto' takes the GPU when there is one"})
    train_precision: str = field(default="auto", metadata={
        "help": "'auto': bf16 autocast where the device computes bf16 natively (fp16 on older GPUs), else fp32; "
                "'fp32' forces full precision"})
    eval_batch_size: int = field(default=64, metadata={"help": "reviews per evaluation batch (0: 64)"})
    eval_each_epoch: bool = field(default=True, metadata={"help": "score the validation reviews after each epoch"})
    epoch_eval_reviews: int = field(default=500, metadata={"help": "validation reviews scored per epoch (0: all)"})
    evals_per_epoch: int = field(default=1, metadata={"help": "with eval_each_epoch: evenly spaced scorings of "
                                                               "those reviews per epoch (the learning curve's points)"})


def tokenized(tokenizer, rows: pd.DataFrame, config: TrainConfig):
    """A `datasets.Dataset` of unpadded token ids plus `rows`' label columns; padding happens per batch."""
    from datasets import Dataset

    columns = {"input_ids": encode(tokenizer, rows["text"].tolist(), config.max_length, config.truncation,
                                   config.head_tokens)}
    for name in ("labels", "weight", "hard"):
        if name in rows:
            columns[name] = rows[name].tolist()
    if "teacher_probs" in rows:
        columns["teacher_probs"] = np.stack(rows["teacher_probs"]).astype(np.float32).tolist()
    return Dataset.from_dict(columns)


def gold_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Reviews with their true label as the class index (0 -> negative, 1 -> positive)."""
    return pd.DataFrame({"text": frame["text"].to_numpy(), "labels": frame["label"].map(GOLD_TO_CLASS).to_numpy()})


def binary_accuracy(eval_pred) -> dict:
    """Accuracy against gold negative/positive under the headline mapping (`metrics.to_binary`)."""
    logits, labels = eval_pred
    probs = torch.softmax(torch.as_tensor(logits, dtype=torch.float32), dim=-1).numpy()
    return {"accuracy": float(np.mean(to_binary(probs) == (labels == LABEL2ID["positive"])))}


def targets_key(rows: pd.DataFrame) -> str:
    """Hash of everything the training targets are made of: texts, labels, weights and teacher distributions."""
    digest = hashlib.sha256()
    digest.update(cache.texts_key(rows["text"].tolist()).encode())
    for column in ("labels", "weight", "hard", "teacher_probs"):
        if column in rows:
            values = np.stack(rows[column].to_numpy()) if column == "teacher_probs" else rows[column].to_numpy()
            digest.update(column.encode() + np.ascontiguousarray(values, dtype=np.float64).tobytes())
    return digest.hexdigest()[:20]


def _fresh_checkpoints(folder: Path, settings: dict) -> None:
    """Keep checkpoints only if they were made with the same settings, so a resume is a true resume (a stamp written
    before the evaluation-only settings left it is read without them)."""
    stamp = folder / "train_settings.json"
    if is_main():
        if folder.exists() and (not stamp.exists() or comparable(read_json(stamp)) != settings):
            shutil.rmtree(folder)
        write_json(settings, stamp)
    barrier()


def train_student(student: str, rows: pd.DataFrame, validation: pd.DataFrame, checkpoints: Path,
                  config: TrainConfig, callbacks: list | None = None):
    """Fine-tune `student` on `rows` (`text`, `labels`, optional `teacher_probs` and `weight`).

    The loss is `distillation_loss` as `config.distill_loss` says. With `eval_each_epoch`, the `validation`
    reviews (never test) are scored against their true labels after each epoch. Checkpoints each epoch into
    `checkpoints`, and resumes from the last one when rerun with the same settings and targets.
    """
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding,
                              TrainingArguments, set_seed)

    alpha = loss_weights(config.distill_loss, config.alpha)
    device = pick_device(config.device)
    mixed = training_precision(config.train_precision, device)
    _fresh_checkpoints(checkpoints, {"student": student, "identity": model_identity(student),
                                     "targets": targets_key(rows), "train": training_settings(config), "precision": mixed,
                                     "device": device_name(device), "libraries": cache.libraries()})
    set_seed(config.seed)
    tokenizer = from_pretrained(AutoTokenizer, student, "student")
    with quiet_transformers():  # a fresh classification head is expected, not worth a warning
        model = from_pretrained(AutoModelForSequenceClassification, student, "student", num_labels=len(CLASSES),
                                id2label=ID2LABEL, label2id=LABEL2ID)
    check_reading(config, model, tokenizer)
    soft_anywhere = alpha > 0 or ("hard" in rows and (rows["hard"] == 0).any())
    train_set = tokenized(tokenizer, rows if soft_anywhere else rows.drop(columns="teacher_probs", errors="ignore"),
                          config)
    evaluate = config.eval_each_epoch and len(validation) > 0
    subset = validation.iloc[:config.epoch_eval_reviews] if config.epoch_eval_reviews else validation  # already shuffled
    eval_set = tokenized(tokenizer, gold_rows(subset), config) if evaluate else None
    if device.type == "cuda":  # the tokenizer was used before the dataloader workers fork: keep it single-threaded
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    steps_per_epoch = max(1, -(-len(train_set) // config.batch_size))
    args = TrainingArguments(
        output_dir=str(checkpoints),
        num_train_epochs=config.epochs,
        learning_rate=config.learning_rate,
        warmup_steps=config.warmup,  # a float below 1 is a share of the training steps (transformers 5)
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.eval_batch_size or 64,
        eval_strategy=("no" if eval_set is None else "epoch" if config.evals_per_epoch <= 1 else "steps"),
        eval_steps=max(1, steps_per_epoch // max(1, config.evals_per_epoch)),
        save_strategy="epoch",
        save_total_limit=2,
        logging_strategy="steps",
        logging_steps=max(1, steps_per_epoch // 10),
        train_sampling_strategy="group_by_length",
        auto_find_batch_size=device.type == "cuda" and rank_and_world()[1] == 1,  # halves the batch on GPU OOM;
        # not under DDP, where ranks would halve apart and the recipe's batch would change unrecorded
        tf32=tf32_available(device) or None,  # TF32 matmuls on Ampere and later
        dataloader_num_workers=2 if device.type == "cuda" else 0,  # collation off the GPU's critical path
        dataloader_pin_memory=device.type == "cuda",
        remove_unused_columns=False,  # keep teacher_probs and weight for the loss
        seed=config.seed,
        use_cpu=device.type == "cpu",
        report_to="none",
        disable_tqdm=batch_mode(),  # a batch run shows TrainingProgress on the terminal instead
        **({} if mixed == "fp32" else {mixed: True}),  # autocast where the device computes it natively
    )
    trainer = DistillationTrainer(model=model, args=args, train_dataset=train_set, eval_dataset=eval_set,
                                  processing_class=tokenizer, data_collator=DataCollatorWithPadding(tokenizer),
                                  compute_metrics=binary_accuracy, temperature=config.temperature, alpha=alpha,
                                  callbacks=callbacks)
    if batch_mode():
        from transformers.trainer_callback import PrinterCallback

        trainer.remove_callback(PrinterCallback)  # it would print every log dict into the notebook
        trainer.add_callback(TrainingProgress(Path(checkpoints).name.replace("checkpoints", "student")))
    trainer.train(resume_from_checkpoint=last_complete_checkpoint(checkpoints))
    trainer.train_precision = mixed
    trainer.batch_size_used = trainer._train_batch_size  # auto_find_batch_size may have halved it
    return trainer


EVALUATION_ONLY = ("read_max_length", "eval_batch_size", "eval_each_epoch", "epoch_eval_reviews", "evals_per_epoch")
# how the student is scored, during training or after it: none changes a weight, so none makes a checkpoint stale


def comparable(stamp: dict) -> dict:
    """A checkpoint stamp with its `train` settings as `training_settings` keeps them."""
    return {**stamp, "train": training_settings(stamp["train"])} if "train" in stamp else stamp


def training_settings(config: TrainConfig | dict) -> dict:
    """What the training itself depends on: the config without what only changes how the student is scored."""
    settings = asdict(config) if isinstance(config, TrainConfig) else config
    return {name: value for name, value in settings.items() if name not in EVALUATION_ONLY}


def check_reading(config: TrainConfig, model, tokenizer) -> None:
    """Refuse, before any training, a reading longer than the model's positions allow."""
    limits = [n for n in (getattr(model.config, "max_position_embeddings", None), tokenizer.model_max_length)
              if n and n < 100_000]
    if getattr(model.config, "model_type", "") in ("roberta", "xlm-roberta", "camembert") and limits:
        limits[0] -= 2  # RoBERTa's positions start after its padding index
    for name in ("max_length", "read_max_length"):
        if limits and getattr(config, name) > min(limits):
            raise ConfigError(f"{name} {getattr(config, name)} is more than the {min(limits)} tokens the student "
                              f"model can read: lower it")


def read_length(settings: dict) -> int:
    """Tokens a saved student reads per review when it scores: `read_max_length`, else what it was trained on."""
    return settings.get("read_max_length") or settings["max_length"]


def tf32_available(device) -> bool:
    """True on CUDA GPUs with TF32 tensor cores (compute capability 8.0 and later)."""
    return device.type == "cuda" and torch.cuda.get_device_capability(device)[0] >= 8


def last_complete_checkpoint(folder: Path) -> str | None:
    """The newest checkpoint that was fully written (the Trainer writes trainer_state.json last); drops others."""
    complete = None
    for checkpoint in sorted(Path(folder).glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1])):
        if (checkpoint / "trainer_state.json").exists():
            complete = str(checkpoint)
        elif is_main():
            shutil.rmtree(checkpoint)
    barrier()
    return complete


@contextlib.contextmanager
def quiet_transformers():
    """Silence transformers' info and warnings for one block."""
    from transformers.utils import logging

    level = logging.get_verbosity()
    logging.set_verbosity_error()
    try:
        yield
    finally:
        logging.set_verbosity(level)


TOKENIZER_FILES = ("vocab.txt", "vocab.json", "merges.txt", "special_tokens_map.json", "added_tokens.json")


def weights_hash(folder: Path) -> str:
    """The hash of what a saved model computes with: its config, its weights (safetensors or PyTorch .bin) and its
    tokenizer, and the calibration folded into it (training.json keeps the head it replaced, which the project's
    scoring puts back); not the Trainer's arguments (training_args.bin holds the run's paths) or the model card, so
    the same model saved by two runs hashes the same."""
    digest = files_digest(folder, lambda file: file.name == "config.json" or file.suffix == ".safetensors"
                          or (file.suffix == ".bin" and file.name != "training_args.bin")
                          or file.name.startswith("tokenizer") or file.name in TOKENIZER_FILES)
    settings = Path(folder) / TRAINING_FILE
    calibration = read_json(settings).get("calibration") if settings.exists() else None
    return cache.key([digest, calibration]) if (calibration or {}).get("head") else digest


class SavedStudent:
    """A saved student, loaded once, that scores texts truncated the way it was trained, at one precision."""

    def __init__(self, folder: Path, device: str = "auto", batch_size: int = 0, cache_root: Path | None = None,
                 reuse_predictions: bool = True):
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.folder, self.batch_size, self.cache_root = Path(folder), batch_size, cache_root
        self.reuse_predictions = reuse_predictions  # False (--final): every set scored afresh, nothing reused
        self.settings = read_json(self.folder / TRAINING_FILE)
        self.weights = weights_hash(self.folder)  # what --final checks it scores
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder))
        self.model = AutoModelForSequenceClassification.from_pretrained(str(folder)).to(pick_device(device))
        record = self.settings.get("calibration") or {}
        self.calibration = record if record.get("head") else None
        # folded before the replaced head was kept (an older run): the trained student cannot be scored any more
        self.trained_lost = bool(record.get("folded")) and self.calibration is None
        if self.calibration:  # score the trained student and apply the map: both readings from one pass
            restore(self.model, self.calibration["head"])
        self.device = next(self.model.parameters()).device
        self.verdict = {"precision": "fp32", "how": "fp32 (not settled)"}
        self._runnable = {"fp32": self.model}
        self._scored: dict[str, np.ndarray] = {}  # check reviews' probabilities at the settled precision
        self._before: dict[str, np.ndarray] = {}  # the trained student's probabilities (before calibration) per set

    @property
    def precision(self) -> str:
        return self.verdict["precision"]

    def identity(self) -> dict:
        """What the precision verdict depends on, besides the device: the weights and how reviews are read."""
        return {"weights": self.weights, "batch_size": self.batch_size,
                "max_length": read_length(self.settings), "truncation": self.settings["truncation"],
                "head_tokens": self.settings["head_tokens"]}

    def settle(self, requested: str, check: pd.DataFrame | None = None, min_reviews: int = MIN_CHECK_REVIEWS) -> dict:
        """Fix the precision every later `predict` uses: `requested`, or for `auto` the verdict of
        `precision.choose_precision` on `check`'s labelled reviews, remembered in the cache for these weights on
        this device. The check judges the probabilities the student reports (calibrated, if it is). Returns the
        verdict (with `reused`: whether it came from the cache)."""
        texts, gold = (check["text"].tolist(), check["label"].to_numpy()) if check is not None else ([], [])
        trained = {}

        def reported(precision: str, texts, progress_bar=None) -> np.ndarray:
            trained[precision] = self.score(precision, texts, progress_bar)
            return self._reported(trained[precision])

        judged = {**self.identity(), "judged": "binary reading"} if self.calibration else self.identity()  # a verdict
        # judged on the three classes of a two-scale head (before 65bc4a0) is not this one
        verdict, probs, reused = settled(reported, self.device, texts, gold, requested, self.cache_root, judged,
                                         min_reviews)
        self.use(verdict)
        if self.precision in probs:  # the check already scored these reviews at this precision: keep them
            self._scored = {cache.texts_key(texts[:len(probs[self.precision])]): trained[self.precision]}
        return {**verdict, "reused": reused}

    def _reported(self, trained: np.ndarray) -> np.ndarray:
        """The probabilities the project scores for the trained student's `trained`: the calibration applied, as the
        binary reading of the saved head (what its positive and neutral outputs say together)."""
        if not self.calibration:
            return trained
        return binary_reading(calibrated(trained, record_branches(self.calibration)))

    def use(self, verdict: dict) -> None:
        """Score at the precision of `verdict` (e.g. another model's, for a comparison at one precision)."""
        self.verdict = verdict
        self._scored = {}

    def score(self, precision: str, texts, progress_bar=None, readout=probabilities) -> np.ndarray:
        """Class probabilities (or another `readout`) per text at `precision`."""
        if precision not in self._runnable:
            self._runnable[precision] = at_precision(self.model, precision)
        return predict_proba(self._runnable[precision], self.tokenizer, list(texts), read_length(self.settings),
                             self.batch_size, progress_bar, self.settings["truncation"], self.settings["head_tokens"],
                             precision=precision, readout=readout)

    def probabilities_and_states(self, texts, desc: str) -> tuple[np.ndarray, np.ndarray]:
        """Per text, the class probabilities `predict` gives an uncalibrated student and, from the same pass, the
        encoder's last hidden state at the first token (what `top_of` reads): read as the student reads reviews, at
        the settled precision; not cached."""
        texts = list(texts)
        with progress(len(texts), desc) as bar:
            rows = self.score(self.precision, texts, bar, readout=probabilities_and_states)
        return rows[:, :self.model.config.num_labels], rows[:, self.model.config.num_labels:]

    def predict(self, texts, desc: str = "student") -> np.ndarray:
        """Class probabilities per text, at the settled precision: the trained student's, or for a calibrated one its
        binary reading (what the saved head's positive and neutral outputs say together); `uncalibrated(texts)` then
        has the trained student's own."""
        texts = list(texts)
        texts_key = cache.texts_key(texts)
        before = self._predict(texts, texts_key, desc)
        self._before[texts_key] = before
        return self._reported(before)

    def uncalibrated(self, texts) -> np.ndarray | None:
        """The trained student's probabilities (neutral and all) for texts `predict` scored; None for an older
        calibrated student whose trained head was not kept."""
        return None if self.trained_lost else self._before[cache.texts_key(list(texts))]

    def _predict(self, texts: list[str], texts_key: str, desc: str) -> np.ndarray:
        """The trained student's probabilities per text, at the settled precision: reused where the precision check
        scored them, or where this model scored these texts at this precision before (the cache), else computed and
        kept."""
        cached = self._cached(texts_key)
        known = self._scored.get(texts_key) if self.reuse_predictions else None
        if known is not None:
            print(f"{desc}: {len(texts):,} reviews already scored at {self.precision} by the precision check")
            self._keep(cached, known)
            return known
        if self.reuse_predictions and cached is not None and cached.exists():
            print(f"{desc}: {len(texts):,} reviews scored earlier by these weights at {self.precision} (cache)")
            return np.load(cached)
        with progress(len(texts), desc) as bar:
            probs = self.score(self.precision, texts, bar)
        self._keep(cached, probs)
        return probs

    def _cached(self, texts_key: str) -> Path | None:
        """Where this model's probabilities for the texts of `texts_key` are kept (no cache: None): keyed by its
        weights and tokenizer and how it reads reviews, the precision, the device and its batching, and the libraries
        that compute them (a GPU's bf16 is not a CPU's)."""
        if self.cache_root is None:
            return None
        entry = cache.key({"model": self.identity(), "precision": self.precision, "device": device_name(self.device),
                           "token_budget": token_budget(self.device), "libraries": cache.libraries(),
                           "texts": texts_key})
        return Path(self.cache_root) / "predictions" / f"{entry}.npy"

    def _keep(self, target: Path | None, probs: np.ndarray) -> None:
        """Store `probs` in the prediction cache at `target`, atomically; scoring afresh (--final) replaces an entry
        it found stale."""
        if target is not None and (not target.exists() or not self.reuse_predictions) and is_main():
            with atomic_path(target) as tmp:
                with open(tmp, "wb") as handle:
                    np.save(handle, probs)


def save_student(trainer, folder: Path, config: TrainConfig, provenance: dict) -> Path:
    """Save model, tokenizer and label names so `pipeline('text-classification', model=folder)` works.

    `training.json` beside them records the settings and where the labels came from. Both are written into a
    staging folder that then replaces `folder` in one step (`swap_in`): never a half-saved student.
    """
    swap_in(stage_student(trainer, folder, config, provenance), folder)
    return Path(folder)


def stage_student(trainer, folder: Path, config: TrainConfig, provenance: dict) -> Path:
    """Save the trainer's model and tokenizer, with `training.json`, into the staging folder of `folder` (emptied
    first) and return it: a complete student that `swap_in` can put in `folder`'s place."""
    trainer.processing_class.model_max_length = read_length(asdict(config))  # pipeline(truncation=True) cuts here
    recover_student(folder)
    staging = staging_folder(folder)
    if is_main():
        shutil.rmtree(staging, ignore_errors=True)
    trainer.save_model(str(staging))  # every process calls it (so one staging name all ranks share); main writes
    if is_main():
        write_json({**asdict(config), **provenance}, staging / TRAINING_FILE)
    barrier()
    return staging


def stage_model(model, source: Path, folder: Path, settings: dict) -> Path:
    """Save `model`'s weights and config over a copy of the student saved in `source` (its tokenizer and all), with
    `settings` as training.json, into the staging folder of `folder` (emptied first) and return it: a complete student
    that `swap_in` can put in `folder`'s place."""
    recover_student(folder)
    staging = staging_folder(folder)
    if is_main():
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(source, staging)
        model.save_pretrained(str(staging))
        write_json(settings, staging / TRAINING_FILE)
    barrier()
    return staging


TOP_KINDS = ("bert", "distilbert", "roberta", "xlm-roberta")  # the model types whose top `top_of` knows


def top_of(model):
    """The layers above the encoder, as a function from its first-token states (reviews x hidden size) to the logits,
    and those layers: BERT's pooler and classifier, DistilBERT's pre-classifier and classifier, RoBERTa's
    classification head. Run in eval mode, it gives the logits the whole model gives (dropout as the model's mode
    says)."""
    kind = known_top_kind(model.config.model_type)
    if kind == "bert":
        return (lambda h: model.classifier(model.dropout(model.bert.pooler(h[:, None])))), [model.bert.pooler,
                                                                                             model.classifier]
    if kind == "distilbert":
        return (lambda h: model.classifier(model.dropout(torch.relu(model.pre_classifier(h))))), [
            model.pre_classifier, model.classifier]
    return (lambda h: model.classifier(h[:, None])), [model.classifier]  # roberta, xlm-roberta


def known_top_kind(kind: str) -> str:
    """`kind`, a model type whose top `top_of` knows; any other is refused in one line."""
    if kind not in TOP_KINDS:
        raise ConfigError(f"self_calibration_part: top knows BERT, DistilBERT and RoBERTa students, not '{kind}'; "
                          "use 'network'")
    return kind


def check_top_known(student: str) -> None:
    """Refuse `self_calibration_part: top` before training when the student's config names a model type whose top
    `top_of` does not know (reads the config only)."""
    from transformers import AutoConfig

    known_top_kind(from_pretrained(AutoConfig, student, "student").model_type)


def staging_folder(folder: Path) -> Path:
    """Where the next version of the student at `folder` is assembled before it replaces it."""
    return Path(folder).with_name(Path(folder).name + ".partial")


def aside_folder(folder: Path) -> Path:
    """Where the student at `folder` waits while a swap without an atomic exchange replaces it."""
    return Path(folder).with_name(Path(folder).name + ".previous")


def swap_in(staging: Path, folder: Path) -> None:
    """Put the complete student `staging` (weights and training.json together) in `folder`'s place in one step, so
    a kill leaves the old student or the new one, never a mix. Where the file system can, the two folders are
    exchanged atomically; elsewhere the old one is renamed aside first, and `recover_student` settles a kill between
    the two renames. Then the old student is removed."""
    staging, folder = Path(staging), Path(folder)
    if is_main():
        plain_modes(staging)
        old = staging  # after an exchange, the staging name holds the old student
        if not (folder.is_dir() and exchanged(staging, folder)):
            old = aside_folder(folder)
            shutil.rmtree(old, ignore_errors=True)
            if folder.exists():
                folder.rename(old)
            staging.rename(folder)
        shutil.rmtree(old, ignore_errors=True)
    barrier()


RENAME_EXCHANGE, AT_FDCWD = 2, -100  # Linux renameat2(2)


def exchanged(first: Path, second: Path) -> bool:
    """Exchange two folders in one atomic rename (Linux renameat2 with RENAME_EXCHANGE); False where the system or
    the file system cannot."""
    import ctypes

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError, TypeError):  # not glibc 2.28+ (macOS, Windows, musl)
        return False
    return renameat2(AT_FDCWD, os.fsencode(first), AT_FDCWD, os.fsencode(second), RENAME_EXCHANGE) == 0


def recover_student(folder: Path) -> None:
    """Settle a swap that a kill interrupted between its two renames (only where folders cannot be exchanged): the
    old student goes back if the new one never arrived, and is removed if it did."""
    folder, aside = Path(folder), aside_folder(folder)
    if is_main() and aside.is_dir():
        if folder.exists():
            shutil.rmtree(aside)
        else:
            aside.rename(folder)
    barrier()


def write_model_card(folder: Path, metrics: dict) -> Path:
    """`README.md` in Hugging Face model-card form: what the student is, how it was made, how it scored."""
    settings = read_json(Path(folder) / TRAINING_FILE)
    metrics = {**metrics, "run_name": md_text(metrics["run_name"])}
    teacher = settings.get("teacher") or {}
    teacher_name = md_text(teacher.get("teacher", "unknown") if isinstance(teacher, dict) else teacher)
    split, n_scored, scores, _ = headline(metrics)
    rows = "\n".join(f"| {name} | {m['accuracy']:.3f} ({m['accuracy_ci95'][0]:.3f}-{m['accuracy_ci95'][1]:.3f}) "
                     f"| {m['f1']:.3f} | {m['ece']:.3f} |" for name, m in scores.items())
    card = f"""---
language: en
pipeline_tag: text-classification
tags: [sentiment-analysis, knowledge-distillation, imdb]
datasets: [stanfordnlp/imdb]
metrics: [accuracy, f1]
---

# Distilled sentiment student (run `{metrics['run_name']}`)

A 3-class (negative / neutral / positive) sentiment classifier fine-tuned from `{md_text(settings['student'])}` on the
annotations of the teacher `{teacher_name}` over {settings['n_pool']:,} IMDB
reviews ({settings.get('n_training_rows', settings['n_pool']):,} training rows after filtering and balancing).
It never saw IMDB's labels of its training reviews.

```python
from transformers import pipeline
classify = pipeline("text-classification", model="path/to/this/folder")
classify("A wonderful, moving film.", truncation=True)
```

## Training

| setting | value |
|---|---|
""" + "\n".join(f"| {k} | {md_text(v)} |" for k, v in settings.items() if k not in ("teacher", "student")) + f"""
| teacher | {md_text(teacher)} |

## Evaluation

{n_scored:,} IMDB {split} reviews ({md_text(metrics.get('test_sample', '') if split == 'test' else 'held out of IMDB train; the test split was not scored')}).
Mapping to IMDB's binary labels: {metrics['mapping']}. Number format: {md_text(precision_line(metrics))}.
Accuracy with its 95% bootstrap interval; ECE is the expected calibration error of p(positive).

| model | accuracy (95% CI) | F1 | ECE |
|---|---|---|---|
{rows}

## Limitations

Trained on movie reviews labelled by a teacher that makes systematic errors; IMDB has no neutral class: read
p(neutral) + p(positive) as p(positive) (a calibrated student with two scales puts the reviews it is only mildly sure
are positive under "neutral"). With `truncation=True`, `pipeline` reads the first {read_length(settings)}
tokens; the project's own inference uses `{settings['truncation']}` truncation.
"""
    if is_main():
        with atomic_path(Path(folder) / "README.md") as tmp:
            tmp.write_text(card)
    return Path(folder) / "README.md"
