"""The static HTML report of a smoke run, opened in headless Chromium like a reader would."""

import json

import pytest


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
    assert rows == ["majority", "teacher", "student", "gold_supervised"]
    assert len(browser.find_elements("css selector", "main ol a")) == len(PAGES) - 1  # the chapter list
    browser.save_screenshot(str(results / "report_index.png"))
    assert (results / "report_index.png").stat().st_size > 10_000


def test_a_plain_runs_report_says_its_test_figures_passed_no_gate(smoke_run):
    _, results = smoke_run
    assert "ungated: these test figures passed no gate" in (results / "report" / "html" / "index.html").read_text()


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
    ablation = pd.DataFrame({"variant": ["hard"], "changes": ["distill_loss=hard"], "seeds": [3],
                             "**validation** acc. (chooses)": ["0.700 ± 0.010 (0.690-0.710)"], "chosen": ["yes"]})
    text = results_markdown(read_json(results / "metrics.json"), [], ablation)
    assert "What each technique buys" in text and "0.700 ± 0.010 (0.690-0.710)" in text and "validation" in text
    assert "What each technique buys" not in results_markdown(read_json(results / "metrics.json"), [], None)


PAGES = ["index.html", "01_load.html", "02_teacher_annotate.html", "03_train_student.html", "04_evaluate_plot.html",
         "method.html", "speed.html", "troubleshooting.html", "scaling.html"]


def test_the_static_report_has_every_docs_chapter_reachable_from_its_index(smoke_run):
    import re

    from helpers.report import docs_chapters, drawn_figures_only

    _, results = smoke_run
    report = results / "report"
    chapters = [f"{chapter.stem}.html" for chapter in docs_chapters()]
    assert chapters == PAGES[5:]
    for chapter in docs_chapters():  # staged for Quarto too, with only the figures this run drew
        assert (report / "docs" / chapter.name).read_text() == drawn_figures_only(chapter.read_text(), report / "figures")
    staged_method = (report / "docs" / "method.qmd").read_text()
    assert "](../figures/teacher_confidence.png)" in staged_method  # the smoke run draws it ...
    for skipped in ("source_agreement.png", "self_calibration.png"):  # ... but has one teacher and no self-calibration
        assert f"This run drew no `{skipped}`" in staged_method
    index = (report / "html" / "index.html").read_text()
    listed = re.findall(r'<li><a href="([^"]+)"', index[index.index("<main>"):])
    assert listed == PAGES[1:]  # the index's chapter list
    for page in PAGES:
        body = (report / "html" / page).read_text()
        sidebar = re.search(r'<ol class="report-chapters">(.*?)</ol>', body, re.S).group(1)
        assert re.findall(r'href="([^"]+)"', sidebar) == PAGES, page
    lab_css = {name: (report / "html" / "static" / name).read_text() for name in ("index.css", "theme-light.css")}
    assert len(lab_css["index.css"]) > 100_000
    for page in PAGES[1:]:  # the lab stylesheets are linked, one copy each, not inlined in every page
        body = (report / "html" / page).read_text()
        for name, css in lab_css.items():
            assert f'<link rel="stylesheet" href="static/{name}">' in body and css[-2000:] not in body, (page, name)
    method = (report / "html" / "method.html").read_text()
    assert "Platt scaling" in method and 'href="speed.html#Precision,-chosen-by-measurement"' in method


def test_every_page_has_a_sidebar_contents_and_previous_next_links(browser, smoke_run):
    _, results = smoke_run
    html_dir = results / "report" / "html"
    for at, page in enumerate(PAGES):
        browser.get((html_dir / page).as_uri())
        sidebar = browser.execute_script(
            "return Array.from(document.querySelectorAll('.report-chapters a')).map(a => a.getAttribute('href'))")
        assert sidebar == PAGES, page
        if page != "index.html":  # the linked lab theme's variables are in force
            assert browser.execute_script("return getComputedStyle(document.documentElement)"
                                          ".getPropertyValue('--jp-layout-color0').trim()"), page
        current = browser.find_element("css selector", ".report-chapters li.current a").get_attribute("href")
        assert current.endswith(page)
        contents = browser.execute_script(
            "return Array.from(document.querySelectorAll('#report-toc a')).map(a => a.getAttribute('href'))")
        assert contents, f"{page} has no contents list"
        for anchor in contents:  # every entry points at a heading of this page
            assert browser.execute_script("return !!document.getElementById(decodeURIComponent(arguments[0]))",
                                          anchor[1:]), (page, anchor)
        prev = [a.get_attribute("href") for a in browser.find_elements("css selector", ".report-pager a.report-prev")]
        nxt = [a.get_attribute("href") for a in browser.find_elements("css selector", ".report-pager a.report-next")]
        assert all(h.endswith(PAGES[at - 1]) for h in prev) and bool(prev) == (at > 0)
        assert all(h.endswith(PAGES[at + 1]) for h in nxt) and bool(nxt) == (at + 1 < len(PAGES))
        assert browser.find_element("css selector", ".report-home").get_attribute("href").endswith("index.html")
    browser.get((html_dir / "02_teacher_annotate.html").as_uri())
    screenshots = results / "screenshots"
    screenshots.mkdir(exist_ok=True)
    browser.save_screenshot(str(screenshots / "report_chapter_navigation.png"))
    browser.find_element("css selector", ".report-pager a.report-next").click()
    assert browser.current_url.endswith("03_train_student.html")
    browser.find_element("css selector", ".report-home").click()
    assert browser.current_url.endswith("index.html")


def test_readme_results_section_is_written_from_the_runs(smoke_run):
    from helpers.errors import UserError
    from helpers.lab.readme import END, START, figure, long_form, section, update_readme

    _, results = smoke_run
    text = section([results], "python -m helpers.lab.readme --run smoke")
    assert text.startswith(START) and text.endswith(END)
    for row in ("majority class (floor)", "teacher: `vader`", "**student**: all-MiniLM-L6-v2 (22M parameters)",
                "the same student on the train sample's gold labels (ceiling)"):
        assert f"| {row}" in text, row
    metrics = json.loads((results / "metrics.json").read_text())
    assert f"{metrics['models']['student']['ece']:.3f}" in text and "40 test reviews" in text  # short: 3 decimals
    assert "never fed a choice" not in text  # no claim the records do not back
    detail = long_form([results])
    for row in ("majority class (floor)", "teacher", "student", "gold-label student (ceiling)", "student - teacher"):
        assert f"| {row} " in detail, row
    assert "40 test reviews" in detail and "16 validation reviews" in detail and "self-training rounds 1" in detail
    assert "test ECE" in detail and f"{metrics['models']['student']['ece']:.4f}" in detail
    assert "Number format: scoring: teacher n/a, student fp32, gold_supervised fp32; training: student " in detail
    readme = f"intro\n{START}\nold\n{END}\nrest\n"
    assert update_readme(readme, text) == f"intro\n{text}\nrest\n"
    with pytest.raises(UserError, match="no markers for the generated part"):
        update_readme("no markers here", text)
    assert figure([results], results / "seed_figure.png").stat().st_size > 10_000


def test_readme_from_a_sweep_that_chose_nothing_says_so(tmp_path, capsys):
    from helpers.paths import write_json
    from helpers.lab.readme import main

    write_json({"summary": [{"variant": "a", "chosen": ""}, {"variant": "b", "chosen": ""}], "runs": []},
               tmp_path / "results" / "disjoint" / "sweep.json")
    assert main(["--sweep", "disjoint", "--workdir", str(tmp_path)]) == 1
    assert "chose no variant" in capsys.readouterr().err


def test_training_curves_are_labelled_validation_and_show_every_self_training_round(smoke_run):
    from helpers.evaluate import training_histories
    from helpers.paths import RunPaths
    from helpers.plots import training_curves
    from helpers.report import FIGURES

    workdir, results = smoke_run
    histories = training_histories(RunPaths.of(str(workdir), "smoke"))
    assert list(histories) == ["student", "self-training round 1", "gold_supervised"]
    fig = training_curves(histories, results / "curves_check.png")
    titles = [ax.get_title() for ax in fig.axes]
    assert "Validation accuracy during training" in titles and not any("Test" in t for t in titles)
    assert "validation accuracy" in FIGURES["training_curves.png"] and "test" not in FIGURES["training_curves.png"]
    assert len(fig.axes[1].lines) == 3  # one curve per training


def test_a_docs_figure_this_run_did_not_draw_becomes_a_line_saying_so(tmp_path):
    from helpers.report import chapter_markdown, drawn_figures_only

    (tmp_path / "drawn.png").write_bytes(b"png")
    chapter = ("Text.\n\n![The map, drawn.](../figures/drawn.png){#fig-a}\n\n"
               "![The curve.](../figures/missing.png){#fig-b}\n\nSee ![inline](../figures/missing.png) too.\n")
    staged = drawn_figures_only(chapter, tmp_path)
    assert "![The map, drawn.](../figures/drawn.png){#fig-a}" in staged
    assert "*(This run drew no `missing.png`: The curve.)*" in staged and "](../figures/missing.png){#fig-b}" not in staged
    assert "See ![inline](../figures/missing.png) too." in staged  # only a figure on its own line is a figure
    (tmp_path / "method.qmd").write_text(staged)
    static = chapter_markdown(tmp_path / "method.qmd", tmp_path, {}, {})
    assert "![The map, drawn.](../figures/drawn.png)\n\n*The map, drawn.*\n" in static  # no {#fig-a}; a caption
    assert "See ![inline](../figures/missing.png) too." in static  # an inline image gets none


def test_report_and_model_card_say_how_the_test_reviews_were_drawn_and_at_what_precision(smoke_run):
    workdir, results = smoke_run
    card = (workdir / "models/smoke/distilled_sentiment/README.md").read_text()
    index = (results / "report/_results.md").read_text()
    for text in (card, index):
        assert "sample of the test split stratified by label" in text and "student fp32" in text
        assert "training: student " in text  # the training precision is named, not only the scoring one


def test_readme_averages_runs_of_one_recipe_only(tmp_path):
    from helpers.errors import UserError
    from helpers.paths import write_json
    from helpers.lab.readme import runs_of

    recipe = {"teacher_sources": "vader_sentences,zeroshot,rating", "learning_rate": 5e-5, "score_test": True}
    for name, changes in (("s42", {"seed": 42}), ("s43", {"seed": 43}), ("lr", {"seed": 44, "learning_rate": 1e-4}),
                          ("cut", {"seed": 45, "data_dir": "/the/gpu/kit's/cut"})):
        write_json({"parameters": {**recipe, "run_name": name, **changes}}, tmp_path / "results" / name / "run.json")
    folders, chosen, left_out = runs_of(str(tmp_path), None, ["s42", "s43"])
    assert [f.name for f in folders] == ["s42", "s43"] and chosen is None and left_out == []
    with pytest.raises(UserError, match="differ in learning_rate, not only the seed"):
        runs_of(str(tmp_path), None, ["s42", "s43", "lr"])
    with pytest.raises(UserError, match="differ in data_dir"):  # the kit's cut data is another recipe's data
        runs_of(str(tmp_path), None, ["s42", "cut"])


def test_chapter_04_says_which_split_each_figure_reads(smoke_run):
    import re

    _, results = smoke_run
    chapter = (results / "report" / "html" / "04_evaluate_plot.html").read_text()
    captions = dict(re.findall(r'#\| label: (fig-[a-z]+)</span>\s*<span class="c1">#\| fig-cap: "([^"]*)"', chapter))
    for figure in ("fig-sources", "fig-reliability", "fig-length", "fig-agreement"):  # the diagnostics
        assert "development reviews" in captions[figure] and "never test" in captions[figure], figure
    for figure in ("fig-accuracy", "fig-labels", "fig-confusion"):  # the headline
        assert "test" in captions[figure] and "development" not in captions[figure], figure


def test_a_published_run_names_no_machine_path_and_its_report_shows_every_image(browser, smoke_run, tmp_path):
    from helpers.paths import PROJECT_ROOT
    from helpers.report import TEXT_SUFFIXES, publish_run

    workdir, results = smoke_run
    assert str(workdir) in (results / "notebooks" / "01_load.ipynb").read_text()  # the executed copy names it
    target = publish_run(str(workdir), "smoke", tmp_path / "published")
    texts = {file: file.read_text() for file in target.rglob("*") if file.suffix in TEXT_SUFFIXES}
    assert {"metrics.json", "run.json"} <= {file.name for file in texts}
    for file, text in texts.items():
        assert str(workdir) not in text and str(PROJECT_ROOT) not in text, file
    executed = json.loads((target / "notebooks" / "04_evaluate_plot.ipynb").read_text())
    assert sum("image/png" in out.get("data", {}) for cell in executed["cells"] for out in cell.get("outputs", [])) >= 5
    images = 0
    for page in ["index.html", *sorted(p.name for p in (target / "html").glob("0*.html")), "method.html"]:
        widths, errors = open_page(browser, target / "html" / page)
        assert all(w > 0 for w in widths) and errors == [], page
        assert page != "method.html" or len(widths) >= 2  # the pipeline and the teacher's confidence
        images += len(widths)
    assert images >= 14
    size = sum(file.stat().st_size for file in target.rglob("*") if file.is_file())
    assert size < 8_000_000, size  # a few MB in the repository, not tens


def test_stated_ratings_curve_is_drawn_on_from_where_the_student_stopped(tmp_path):
    from helpers.plots import training_curves

    student = [{"step": s, "epoch": s / 10, "loss": 0.5} for s in (5, 10)] + [{"step": 10, "epoch": 1.0,
                                                                               "eval_accuracy": 0.8}]
    phase = [{"step": 3, "epoch": 1.0, "loss": 0.2}, {"step": 3, "epoch": 1.0, "eval_accuracy": 0.85}]
    fig = training_curves({"student": student, "stated ratings": phase}, tmp_path / "curves.png")
    loss_lines, acc_lines = fig.axes[0].lines, fig.axes[1].lines
    assert list(loss_lines[1].get_xdata()) == [13]  # 10 steps of the student, then 3 of the phase
    assert list(acc_lines[1].get_xdata()) == [2.0]
    assert list(loss_lines[0].get_xdata()) == [5, 10]  # the student's own curve stays where it was
    assert len(training_curves({"student": [], "stated ratings": phase}, tmp_path / "c.png").axes[0].lines) == 1
