"""The student: fine-tuned with the Hugging Face Trainer on the teacher's labels, saved for `pipeline()`."""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from .models import model_source, pick_device
from .paths import read_json, write_json
from .teacher import CLASSES

ID2LABEL = dict(enumerate(CLASSES))
LABEL2ID = {name: i for i, name in ID2LABEL.items()}
GOLD_TO_CLASS = {0: LABEL2ID["negative"], 1: LABEL2ID["positive"]}


@dataclass
class TrainConfig:
    """How the student is fine-tuned; the defaults are the original experiment's."""

    epochs: float = field(default=10, metadata={"help": "passes over the teacher-labelled training reviews"})
    learning_rate: float = field(default=5e-5, metadata={"help": "peak AdamW learning rate, linear decay"})
    batch_size: int = field(default=8, metadata={"help": "reviews per training step (per device)"})
    max_length: int = field(default=256, metadata={"help": "tokens kept per review, from the start"})
    seed: int = field(default=42, metadata={"help": "seeds model init, shuffling and dropout"})
    device: str = field(default="auto", metadata={"help": "'auto' takes the GPU when there is one"})
    eval_batch_size: int = field(default=64, metadata={"help": "reviews per evaluation batch"})


def tokenized(tokenizer, frame: pd.DataFrame, labels: np.ndarray, max_length: int):
    """A `datasets.Dataset` of unpadded token ids and labels; padding happens per batch."""
    from datasets import Dataset

    data = Dataset.from_dict({"text": frame["text"].tolist(), "labels": labels.astype(int).tolist()})
    return data.map(lambda batch: tokenizer(batch["text"], truncation=True, max_length=max_length),
                    batched=True, remove_columns=["text"])


def binary_accuracy(eval_pred) -> dict:
    """Accuracy against gold negative/positive, counting a neutral prediction as positive."""
    logits, labels = eval_pred
    predicted_positive = np.asarray(logits).argmax(-1) != LABEL2ID["negative"]
    return {"accuracy": float(np.mean(predicted_positive == (labels == LABEL2ID["positive"])))}


def _precision(device: torch.device) -> dict:
    """bf16 where the GPU has it, else fp16 on GPU, full precision on CPU."""
    if device.type != "cuda":
        return {}
    return {"bf16": True} if torch.cuda.is_bf16_supported() else {"fp16": True}


def _fresh_checkpoints(folder: Path, settings: dict) -> None:
    """Keep checkpoints only if they were made with the same settings, so a resume is a true resume."""
    stamp = folder / "train_settings.json"
    if folder.exists() and (not stamp.exists() or read_json(stamp) != settings):
        shutil.rmtree(folder)
    write_json(settings, stamp)


def train_student(student: str, train: pd.DataFrame, evaluation: pd.DataFrame, checkpoints: Path,
                  config: TrainConfig):
    """Fine-tune `student` on `train.teacher_label`; evaluate each epoch on `evaluation`'s gold labels.

    Checkpoints each epoch into `checkpoints` and resumes from the last one when rerun with the same settings.
    """
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding,
                              Trainer, TrainingArguments, set_seed)
    from transformers.trainer_utils import get_last_checkpoint

    source = model_source(student)
    settings = {"student": student, "n_train": len(train), "train": asdict(config)}
    _fresh_checkpoints(checkpoints, settings)
    set_seed(config.seed)
    tokenizer = AutoTokenizer.from_pretrained(source)
    model = AutoModelForSequenceClassification.from_pretrained(
        source, num_labels=len(CLASSES), id2label=ID2LABEL, label2id=LABEL2ID)
    train_set = tokenized(tokenizer, train, train["teacher_label"].map(LABEL2ID).to_numpy(), config.max_length)
    eval_set = tokenized(tokenizer, evaluation, evaluation["label"].map(GOLD_TO_CLASS).to_numpy(), config.max_length)
    device = pick_device(config.device)
    steps_per_epoch = max(1, -(-len(train_set) // config.batch_size))
    args = TrainingArguments(
        output_dir=str(checkpoints),
        num_train_epochs=config.epochs,
        learning_rate=config.learning_rate,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.eval_batch_size,
        eval_strategy="epoch",
        save_strategy="epoch",
        save_total_limit=2,
        logging_strategy="steps",
        logging_steps=max(1, steps_per_epoch // 10),
        train_sampling_strategy="group_by_length",
        seed=config.seed,
        use_cpu=device.type == "cpu",
        report_to="none",
        **_precision(device),
    )
    trainer = Trainer(model=model, args=args, train_dataset=train_set, eval_dataset=eval_set,
                      processing_class=tokenizer, data_collator=DataCollatorWithPadding(tokenizer),
                      compute_metrics=binary_accuracy)
    trainer.train(resume_from_checkpoint=get_last_checkpoint(str(checkpoints)))
    return trainer


def predict_student(folder: Path, texts, batch_size: int = 64, device: str = "auto") -> np.ndarray:
    """The saved student's class probabilities per text, truncated at the length it was trained with."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from .inference import predict_proba

    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model = AutoModelForSequenceClassification.from_pretrained(str(folder)).to(pick_device(device))
    with tqdm(total=len(texts), desc="student", unit="review") as bar:
        return predict_proba(model, tokenizer, list(texts), tokenizer.model_max_length, batch_size, progress=bar)


def save_student(trainer, folder: Path, max_length: int) -> Path:
    """Save model, tokenizer and label names so `pipeline('text-classification', model=folder)` works."""
    trainer.processing_class.model_max_length = max_length  # pipeline(truncation=True) then cuts here
    trainer.save_model(str(folder))
    return folder
