"""The README and the book's docs chapters: short README, the commands CI runs, links that resolve, every chapter
in the book and in the static report's navigation, one place for each figure."""

import re
import shutil

import yaml

from helpers.paths import PROJECT_ROOT
from helpers.lab.readme import END, START
from helpers.report import RUN_FIGURE, docs_chapters, pandoc_id

README = PROJECT_ROOT / "README.md"
DOCS = sorted((PROJECT_ROOT / "docs").glob("*.qmd"))
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def headings(text: str) -> list[str]:
    """The Markdown headings of `text` (outside code blocks), without the #s or attributes."""
    return [re.sub(r"\s*\{[^}]*\}\s*$", "", line.lstrip("#").strip())
            for line in FENCE.sub("", text).splitlines() if re.match(r"#{1,6}\s", line)]


def github_id(heading: str) -> str:
    """The anchor GitHub gives a README heading."""
    return re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", heading.replace("`", "").lower()).strip())


def relative_links(text: str) -> list[str]:
    """The link and image targets of `text` that are not URLs."""
    return [t for t in LINK.findall(FENCE.sub("", text)) if not re.match(r"[a-z]+:", t)]


def test_readme_is_short_and_in_the_promised_order():
    text = README.read_text()
    assert len(text.splitlines()) <= 100
    order = [h for h in headings(text) if not h.startswith("Teacher-student")]
    assert order == ["Results", "Two commands", "Getting IMDB", "Four ways to use it", "Where to read more"]
    intro = text.split("## Results")[0]
    assert "teacher" in intro and "student" in intro and "![" in intro  # what it is, and one figure
    assert text.index(START) < text.index(END) < text.index("## Two commands")  # the generated block, kept whole
    records = (PROJECT_ROOT / "results/records/README.md").read_text()
    assert "Regenerate the README's Results: `python -m helpers.lab.readme" in records


def test_the_readme_names_no_commit_issue_or_date_outside_its_results():
    text = README.read_text()
    prose = text[:text.index(START)] + text[text.index(END):]
    assert not re.findall(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,40}\b", prose)  # a commit hash
    assert not re.findall(r"\bissues? \d+|#\d+\b", prose, re.I)
    assert not re.findall(r"\b20\d\d-\d\d-\d\d\b", prose)


def test_readme_commands_are_the_ones_ci_runs():
    ci = [line for line in (PROJECT_ROOT / ".ci/run").read_text().splitlines() if line.startswith("python3 -m venv")]
    assert len(ci) == 1
    block = re.search(r"## Two commands\s+```bash\n(.*?)```", README.read_text(), re.S).group(1)
    commands = [line for line in block.splitlines() if line and not line.startswith("#")]
    assert len(commands) == 2
    main_job, tests = commands
    assert tests == ci[0]  # exactly what CI runs
    install = ci[0].split(" && .venv/bin/python")[0]
    assert main_job.startswith(install + " && ") and "helpers.run --profile offline" in main_job


def test_every_relative_link_in_the_readme_resolves():
    text = README.read_text()
    links = relative_links(text)
    assert any(link.startswith("docs/") for link in links)
    for link in links:
        path, _, anchor = link.partition("#")
        if not path:  # a section of the README itself
            assert anchor in {github_id(h) for h in headings(text)}, link
            continue
        target = PROJECT_ROOT / path
        assert target.is_file(), link
        if anchor and target.suffix in (".qmd", ".md"):
            assert anchor in {pandoc_id(h) for h in headings(target.read_text())}, link


DOCS_FIGURE = re.compile(r"!\[[^\]]*\]\((\.\./docs/figures/[^)\s]+)\)")


def test_every_relative_link_in_the_docs_resolves():
    written = set(re.findall(r'figures / \\"([\w.]+\.png)\\"',
                             "".join(nb.read_text() for nb in (PROJECT_ROOT / "notebooks").glob("*.ipynb"))))
    assert {"self_calibration.png", "source_agreement.png"} <= written
    for chapter in DOCS:
        text = chapter.read_text()
        for _, name, _ in RUN_FIGURE.findall(text):  # the run's own figure, staged beside the chapter in each report
            assert name in written, f"{chapter.name}: no notebook writes {name}"
        for figure in DOCS_FIGURE.findall(text):  # a drawing of the docs themselves
            assert (chapter.parent / figure).resolve().is_file(), (chapter.name, figure)
        for link in relative_links(RUN_FIGURE.sub("", DOCS_FIGURE.sub("", text))):
            path, _, anchor = link.partition("#")
            target = (chapter.parent / path).resolve() if path else chapter
            assert target.is_file() and PROJECT_ROOT in target.parents, (chapter.name, link)
            assert target.suffix in (".qmd", ".ipynb"), f"{chapter.name}: {link} has no page in the report"
            if anchor and target.suffix == ".qmd":
                assert anchor in {pandoc_id(h) for h in headings(target.read_text())}, (chapter.name, link)


def test_every_docs_chapter_is_in_the_book_after_the_notebooks():
    chapters = yaml.safe_load((PROJECT_ROOT / "_quarto.yml").read_text())["book"]["chapters"]
    docs = [c for c in chapters if c.startswith("docs/")]
    assert sorted(docs) == sorted(f"docs/{chapter.name}" for chapter in DOCS)
    assert docs == ["docs/method.qmd", "docs/speed.qmd", "docs/troubleshooting.qmd", "docs/scaling.qmd"]
    assert chapters.index("notebooks/04_evaluate_plot.ipynb") < chapters.index(docs[0])
    assert chapters.index(docs[-1]) < chapters.index("references.qmd")
    assert docs_chapters() == [PROJECT_ROOT / d for d in docs]


def test_every_docs_chapter_is_a_page_of_the_static_report(tmp_path):
    from nbconvert import HTMLExporter

    from helpers.report import chapter_title, docs_html

    report = tmp_path / "report"
    (report / "html").mkdir(parents=True)
    for name in ("_quarto.yml", "references.bib"):
        shutil.copy(PROJECT_ROOT / name, report / name)
    shutil.copytree(PROJECT_ROOT / "docs", report / "docs")
    exporter = HTMLExporter(template_name="lab",
                            template_file=str(PROJECT_ROOT / "helpers/templates/offline.html.j2"))
    pages = [("index.html", "Results")] + [(f"{c.stem}.html", chapter_title(c)) for c in docs_chapters(report)]
    written = docs_html(report, report / "html", exporter, pages)
    assert [page.name for page in written] == [f"{chapter.stem}.html" for chapter in docs_chapters()]
    for page in written:
        body = page.read_text()
        sidebar = re.search(r'<ol class="report-chapters">(.*?)</ol>', body, re.S).group(1)
        assert re.findall(r'href="([^"]+)"', sidebar) == [href for href, _ in pages], page.name
        main = re.sub(r"<pre.*?</pre>", "", body[body.index("<main"):], flags=re.S)
        for leftover in ("{{<", ":::", "](", "[@", "@hinton"):  # shortcodes, fences, raw links, citations
            assert leftover not in main, (page.name, leftover)
        assert not re.search(r'href="[^"]*\.(qmd|ipynb)[#"]', main), page.name  # links point at report pages
        ids = set(re.findall(r'id="([^"]+)"', body))
        for href in re.findall(r'href="([^"#:]*)(?:#([^"]*))?"', main):
            target, anchor = href
            if target and not target.startswith("http"):
                assert (report / "html" / target).exists() or target == "index.html", (page.name, target)
            if anchor and not target and not anchor.startswith("section-"):
                assert anchor in ids, (page.name, anchor)
    assert "(Hinton et al. 2015)" in (report / "html" / "method.html").read_text()


def test_every_measured_record_is_in_the_one_records_table():
    records = (PROJECT_ROOT / "results/records/README.md").read_text()
    table = records.split("## Measured records")[1]
    for record in sorted((PROJECT_ROOT / "results/measured").iterdir()):
        assert f"`{record.name}`" in table, record.name
    assert sum("results/measured/" in chapter.read_text() for chapter in DOCS) >= 1


NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"  # 2,000 or 14.5
UNITS = {"ms": "ms", "s": "s", "sec": "s", "secs": "s", "second": "s", "seconds": "s", "min": "min", "mins": "min",
         "minute": "min", "minutes": "min", "h": "h", "hour": "h", "hours": "h", "KiB": "KiB", "MiB": "MiB",
         "GiB": "GiB", "KB": "KB", "MB": "MB", "GB": "GB", "point": "points", "points": "points"}
MEASURED = re.compile(rf"(?<![\w.,-])({NUMBER})(?:\s*(?:-|–|to)\s*({NUMBER}))?"  # a figure or a range of two
                      rf"(?:[\s-]?({'|'.join(sorted(UNITS, key=len, reverse=True))})(?!\w)|(%|[x×])(?!\w))")
STATED = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}:\d{2}|(?<![\d.])\d+%\s+(?:[\w-]+\s+)?(?:CI|confidence|interval)\b")


def typed_figures(text: str) -> set[str]:
    """Measured-looking figures typed in prose, normalised ('38–40 minutes' is '38-40 min'): every decimal (0.7717,
    37.6), and a whole number or range with a unit of measure (time, %, a speed-up's x, memory, points), so
    '38-40 min' and '14.5 min' count. Not figures: code (fenced or inline: commands, line numbers), versions
    (2.13.0), dates and clock times, a confidence level ('95% CI'), and whole numbers counting what a run is set to
    use ('2,000 reviews', '462 steps', seeds 42-44), which may be stated wherever they help."""
    text = STATED.sub(" ", re.sub(r"`[^`]*`", "", FENCE.sub("", text)))
    figures = set(re.findall(r"(?<![\d.])\d+\.\d+(?![\d.])", text))
    for low, high, unit, sign in MEASURED.findall(text):
        span = "-".join(value.replace(",", "") for value in (low, high) if value)
        figures.add(f"{span} {UNITS.get(unit) or sign.replace('×', 'x')}")
    return figures


def test_typed_figures_are_decimals_and_numbers_with_a_unit_not_versions_dates_code_or_counts():
    """'38-40 minutes' slipped through a check that saw only decimals."""
    typed = typed_figures("about 38-40 minutes; 14.5 min in all; a 45-minute budget; 1.83x, 99.5% agreement; 64 MiB; "
                          "student 0.8455; ±2 points")
    assert typed == {"38-40 min", "14.5 min", "14.5", "45 min", "1.83 x", "1.83", "99.5 %", "99.5", "64 MiB",
                     "0.8455", "2 points"}
    assert typed_figures("38–40 min") == typed_figures("38 to 40 minutes") == {"38-40 min"}
    assert not typed_figures("torch 2.13.0, 2026-12-01 00:24-01:02, `sed -n 38,40p`, `take 38-40 min`\n"
                             "```\nline 12 took 3 min\n```\n2,000 reviews, 462 steps, seeds 42-44, a 95% CI, "
                             "95% paired-bootstrap interval, 2 x its CDF")


def test_no_figure_is_typed_both_in_the_readme_and_in_a_chapter():
    text = README.read_text()
    generated = text[text.index(START):text.index(END)]
    docs = "\n".join(chapter.read_text() for chapter in DOCS)
    assert not typed_figures(text.replace(generated, "")) & typed_figures(docs)  # by hand: one place only
    measured = {figure for figure in typed_figures(generated) if " " in figure}  # '14.5 min', not bare decimals
    assert not measured & typed_figures(docs)  # the generated block's figures with a unit are never retyped
    headline = re.findall(r"^\| (teacher|\*\*student\*\*)[^|]*\|\s*(\d\.\d+)", generated, re.M)
    assert len(headline) == 2
    for model, accuracy in headline:  # the generated headline is never retyped in a chapter, even rounded
        for typed in (accuracy, f"{float(accuracy):.3f}"):
            assert not re.search(rf"(?<![\d.]){re.escape(typed)}(?!\d)", docs), (model, typed)
