"""The static HTML report of a smoke run, opened in headless Chromium like a reader would."""

import shutil

import pytest

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture(scope="module")
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


def open_page(browser, path):
    """Load `path`; return its images' natural widths and the console's errors."""
    browser.get_log("browser")  # drop what earlier pages logged
    browser.get(path.as_uri())
    widths = browser.execute_script("return Array.from(document.images).map(img => img.complete ? img.naturalWidth : 0)")
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    return widths, errors


def test_report_index_shows_headline_table_and_every_figure(browser, smoke_run):
    workdir, results = smoke_run
    index = results / "report" / "html" / "index.html"
    widths, errors = open_page(browser, index)
    assert len(widths) >= 6 and all(w > 0 for w in widths), widths
    assert errors == []
    rows = browser.execute_script("return Array.from(document.querySelectorAll('#headline tbody tr th')).map(th => th.textContent)")
    assert rows == ["majority", "teacher", "student"]
    assert len(browser.find_elements("css selector", "ol a")) == 4
    browser.save_screenshot(str(results / "report_index.png"))
    assert (results / "report_index.png").stat().st_size > 10_000


def test_every_chapter_opens_with_its_figures(browser, smoke_run):
    _, results = smoke_run
    for chapter in sorted((results / "report" / "html").glob("0*.html")):
        widths, errors = open_page(browser, chapter)
        assert all(w > 0 for w in widths) and errors == [], chapter.name
        if chapter.stem == "04_evaluate_plot":
            assert len(widths) >= 6
            browser.save_screenshot(str(results / "report_chapter_04.png"))


def test_report_includes_the_ablation_when_a_sweep_has_run(smoke_run):
    import pandas as pd

    from helpers.paths import read_json
    from helpers.report import results_markdown

    _, results = smoke_run
    ablation = pd.DataFrame({"variant": ["hard"], "changes": ["distill_loss=hard"], "student_acc": [0.7],
                             "ci95_low": [0.68], "ci95_high": [0.72], "student_f1": [0.7], "student_ece": [0.1],
                             "agreement": [0.8], "teacher_acc": [0.69], "gold_acc": [None], "n_test": [2000]})
    text = results_markdown(read_json(results / "metrics.json"), [], ablation)
    assert "What each technique buys" in text and "0.700 (0.680-0.720)" in text
    assert "What each technique buys" not in results_markdown(read_json(results / "metrics.json"), [], None)
