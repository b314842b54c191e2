"""JupyterLab, installed by the project's own `lab` extra, serves the notebooks and runs their cells."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from helpers.paths import PROJECT_ROOT

pytest.importorskip("jupyterlab", reason="JupyterLab is not installed: pip install -e '.[lab]'")

TOKEN = "nbtest"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on localhost over a copy of the notebooks folder plus a one-cell notebook."""
    root = tmp_path_factory.mktemp("lab_root")
    shutil.copytree(PROJECT_ROOT / "notebooks", root / "notebooks")
    (root / "notebooks" / "check.ipynb").write_text(json.dumps({
        "cells": [{"cell_type": "code", "execution_count": None, "id": "c1", "metadata": {}, "outputs": [],
                   "source": ["import helpers, helpers.data\n", "print('kernel says', 6 * 7, helpers.data.LABELS[1])"]}],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4, "nbformat_minor": 5}))
    port = free_port()
    # Its own workspace and settings: the default workspace in ~/.jupyter reopens whatever tabs an earlier session
    # left, and a cell of a hidden tab is never clickable.
    state = {"workspaces_dir": root / ".workspaces", "user_settings_dir": root / ".settings"}
    news = state["user_settings_dir"] / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text(json.dumps({"fetchNews": "false"}))  # no "get notified about Jupyter news?" toast on the page
    log = open(root / "lab.log", "w")  # a file, not a pipe nobody reads: a full pipe would block the server
    server = subprocess.Popen([sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
                               f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={TOKEN}",
                               "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                               *(f"--LabApp.{key}={path}" for key, path in state.items()),
                               *(["--allow-root"] if os.geteuid() == 0 else [])],  # CI containers run as root
                              stdout=log, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        if server.poll() is not None:
            break
        try:
            urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        server.kill()
        pytest.fail(f"JupyterLab did not start: {(root / 'lab.log').read_text()[-2000:]}")
    yield base
    server.terminate()
    server.wait(timeout=30)
    log.close()


def test_lab_serves_the_notebook_series(lab):
    listing = json.load(urllib.request.urlopen(f"{lab}/api/contents/notebooks?token={TOKEN}"))
    names = sorted(item["name"] for item in listing["content"])
    assert names[:4] == ["01_load.ipynb", "02_teacher_annotate.ipynb", "03_train_student.ipynb", "04_evaluate_plot.ipynb"]


def test_a_notebook_opens_in_the_browser_and_its_kernel_runs_a_cell(lab, browser, tmp_path):
    from selenium.common.exceptions import ElementNotInteractableException, StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    panel = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the open tab only
    try:
        browser.get(f"{lab}/lab/tree/notebooks/check.ipynb?token={TOKEN}")
        wait = WebDriverWait(browser, 240)
        wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, f"{panel} .jp-CodeCell .cm-content")))
        for button in browser.find_elements(By.CSS_SELECTOR, ".jp-Dialog .jp-mod-accept"):  # e.g. a kernel prompt
            button.click()
        wait.until(lambda driver: driver.find_elements(By.CSS_SELECTOR, f"{panel} .jp-Notebook-ExecutionIndicator[data-status='idle']")
                   or "Idle" in driver.find_element(By.CSS_SELECTOR, f"{panel} .jp-NotebookPanel-toolbar").get_attribute("innerHTML"))
        # JupyterLab may re-render the editor between finding and clicking it: find it again and retry.
        retry = WebDriverWait(browser, 60, ignored_exceptions=(ElementNotInteractableException, StaleElementReferenceException))
        retry.until(lambda driver: driver.find_element(By.CSS_SELECTOR, f"{panel} .jp-CodeCell .cm-content").click() or True)
        browser.switch_to.active_element.send_keys(Keys.SHIFT, Keys.ENTER)
        wait.until(lambda driver: "kernel says 42 positive" in
                   " ".join(out.text for out in driver.find_elements(By.CSS_SELECTOR, f"{panel} .jp-OutputArea-output")))
        browser.get(f"{lab}/lab/tree/notebooks/01_load.ipynb?token={TOKEN}")
        wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, f"{panel} .jp-MarkdownCell")))
        time.sleep(2)
        browser.save_screenshot(str(tmp_path / "jupyterlab_01_load.png"))
        assert (tmp_path / "jupyterlab_01_load.png").stat().st_size > 10_000
        screenshots = PROJECT_ROOT / "results" / "lab" / "screenshots"
        screenshots.mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp_path / "jupyterlab_01_load.png", screenshots / "jupyterlab_01_load.png")
    except Exception:
        browser.save_screenshot(str(tmp_path / "jupyterlab_failure.png"))  # what the page showed
        raise
    finally:  # leave JupyterLab (it objects with a console message) so the next test starts clean
        browser.get("about:blank")
        browser.get_log("browser")
