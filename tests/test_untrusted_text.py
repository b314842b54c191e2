"""Reviews are untrusted text: a review (or a run name) carrying HTML must show as text, never run, in the report."""

import pandas as pd
import pytest

PAYLOAD = """<img src=x onerror="document.title='XSS-'+document.title">"""
RUN_NAME = f"xss{PAYLOAD}"


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory, mini_imdb):
    """The smoke profile on mini_imdb whose every train and test review starts with the payload (the development
    split, where 04 shows its excerpts, is drawn from train), under a hostile run name."""
    from conftest import OTHER_REVIEWS

    from helpers.run import run

    data = tmp_path_factory.mktemp("hostile_data")
    for split in ("train", "test", "unsupervised"):
        frame = pd.read_csv(mini_imdb / f"{split}.csv")
        if split in ("train", "test"):
            frame["text"] = PAYLOAD + " " + frame["text"]
        frame.to_csv(data / f"{split}.csv", index=False)
    other = pd.read_csv(OTHER_REVIEWS)
    other["text"] = PAYLOAD + other["text"]
    other.to_csv(data / "other.csv", index=False)
    workdir = tmp_path_factory.mktemp("hostile_run")
    return workdir, run("smoke", {"workdir": str(workdir), "data_dir": str(data), "run_name": RUN_NAME,
                                  "eval_sets": str(data / "other.csv")})


def test_no_payload_runs_in_any_report_page(browser, hostile_run):
    _, results = hostile_run
    pages = sorted((results / "report" / "html").glob("*.html"))
    from helpers.paths import PROJECT_ROOT

    assert len(pages) == 5 + len(list((PROJECT_ROOT / "docs").glob("*.qmd")))  # index, 4 notebooks, the chapters
    for page in pages:
        browser.get(page.as_uri())
        browser.execute_script("return document.readyState")
        assert not browser.title.startswith("XSS-"), page.name
        assert browser.execute_script("return document.querySelectorAll('img[src=x]').length") == 0, page.name
    browser.get((results / "report" / "html" / "04_evaluate_plot.html").as_uri())
    text = browser.find_element("tag name", "body").text
    assert text.count("<img src=x onerror=") >= 1  # the disagreement excerpts (16 development reviews) show it as text
    assert "XSS-" not in browser.title


def test_markdown_for_quarto_and_the_model_card_escape_data(hostile_run):
    workdir, results = hostile_run
    for page in [results / "report" / "_results.md", workdir / "models" / RUN_NAME / "distilled_sentiment" / "README.md"]:
        text = page.read_text()
        assert "<img" not in text and "&lt;img" in text, page
