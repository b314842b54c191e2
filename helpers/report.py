"""Publish a run: the Quarto book of its executed notebooks, or a static HTML report when Quarto is missing.

`python -m helpers.report --run offline` (re)builds `results/<run>/report/` without rerunning anything.
"""

from __future__ import annotations

import argparse
import html
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pandas as pd

from .errors import UserError
from .metrics import comparison_table, headline, precision_line, summary_table
from .paths import PROJECT_ROOT, RunPaths, atomic_path, read_json
from .tables import display_table, md_text

BOOK_FILES = ["_quarto.yml", "index.qmd", "references.qmd", "references.bib"]
DOCS = "docs"  # the book's chapters after the notebooks (method, speed, ...): the same for every run
FIGURES = {
    "teacher_vs_student_accuracy.png": "Accuracy against IMDB's labels on the same test reviews, with the majority "
                                       "floor and, when trained, the gold-supervised ceiling.",
    "teacher_vs_student_label_distribution.png": "How often teacher and student say negative, neutral, positive.",
    "confusion_matrices.png": "Confusion matrices (neutral counted as positive).",
    "reliability.png": "Reliability: predicted p(positive) against the share of truly positive reviews.",
    "training_curves.png": "Training loss per step and validation accuracy during training.",
    "calibration_map.png": "The calibration map folded into the student's head: trained against calibrated p(positive).",
    "accuracy_by_length.png": "Accuracy by review length in words.",
    "agreement.png": "Teacher-student agreement on the 3-class labels.",
    "source_agreement.png": "Label sources: agreement of each pair where both speak, and each one's coverage.",
}


def headline_table(metrics: dict) -> pd.DataFrame:
    """The headline table (test; validation for a run whose test split was not scored), rounded for reading."""
    table = summary_table(headline(metrics)[2])
    return table.apply(lambda col: col.map(lambda v: f"{v:.3f}" if isinstance(v, float) else ("-" if v is None else v)))


ABLATION_NOTE = ("Each variant is its own run of the pipeline (`python -m helpers.lab.sweep`), over the seeds shown; "
                 "variants are ranked and the winner chosen by the student's accuracy on the validation reviews, averaged "
                 "over the seeds every variant ran, so that variants are compared paired; "
                 "test accuracy is shown, never used to choose.")


def ablation_table(paths: RunPaths) -> pd.DataFrame | None:
    """The ablation sweep's summary (`results/ablation/sweep.csv`) for reading, if one has run under this workdir."""
    table = paths.workdir / "results" / "ablation" / "sweep.csv"
    return display_table(pd.read_csv(table)) if table.exists() else None


def scored_on(metrics: dict) -> str:
    """'24,801 test reviews (the whole test split ...)', or the validation reviews of a run not scored on test."""
    split, n, _, _ = headline(metrics)
    if split == "validation":
        return f"{n:,} validation reviews (this run's test split was not scored: score_test was false)"
    return f"{n:,} test reviews ({metrics.get('test_sample', 'test reviews')})"


def results_markdown(metrics: dict, figures: list[str], ablation: pd.DataFrame | None) -> str:
    """`_results.md`: the headline table, the ablation and the figures, included by the book's index page."""
    split, _, _, comparisons = headline(metrics)
    lines = [f"## Results of run {md_text(metrics['run_name'])}", "",
             f"{md_text(scored_on(metrics))}. Mapping: {md_text(metrics['mapping'])}. "
             f"Number format: {md_text(precision_line(metrics))}.", "",
             *[f"**Note:** {md_text(note)}.\n" for note in metrics.get("notes", [])],
             headline_table(metrics).map(md_text).to_markdown(), "", ": Headline results {#tbl-headline}", ""]
    if comparisons:
        lines += [f"Paired on the same {split} reviews (first minus second): accuracy difference, 95% paired-bootstrap "
                  "interval, McNemar's exact test.", "",
                  comparison_table(comparisons).map(md_text).to_markdown(), "",
                  ": Paired comparisons {#tbl-paired}", ""]
    if ablation is not None:
        lines += ["## What each technique buys", "", ABLATION_NOTE, "", ablation.map(md_text).to_markdown(index=False), "",
                  ": Ablation {#tbl-ablation}", ""]
    for name in figures:
        lines += [f"![{FIGURES[name]}](figures/{name}){{width=90%}}", ""]
    return "\n".join(lines)


def stage(paths: RunPaths) -> Path:
    """`results/<run>/report/`: the book's files, the executed notebooks, the figures and `_results.md`."""
    metrics_file = paths.results / "metrics.json"
    if not metrics_file.exists():
        raise UserError(f"{metrics_file} does not exist: run the pipeline for run {paths.run_name!r} first")
    report = paths.results / "report"
    shutil.rmtree(report, ignore_errors=True)
    (report / "notebooks").mkdir(parents=True)
    for name in BOOK_FILES:
        shutil.copy(PROJECT_ROOT / name, report / name)
    for notebook in sorted((paths.results / "notebooks").glob("*.ipynb")):
        shutil.copy(notebook, report / "notebooks" / notebook.name)
    shutil.copytree(PROJECT_ROOT / DOCS, report / DOCS)
    readme_figures = PROJECT_ROOT / "results" / "readme"  # docs/_results_detail.md shows the README's figure
    if readme_figures.is_dir():
        shutil.copytree(readme_figures, report / "results" / "readme")
    shutil.copytree(paths.figures, report / "figures")
    for chapter in (report / DOCS).glob("*.qmd"):
        chapter.write_text(drawn_figures_only(chapter.read_text(), report / "figures"))
    figures = [name for name in FIGURES if (report / "figures" / name).exists()]
    (report / "_results.md").write_text(results_markdown(gate_noted(paths), figures, ablation_table(paths)))
    return report


RUN_FIGURE = re.compile(r"^!\[([^\]]*)\]\(\.\./figures/([^)\s]+)\)(\{[^}]*\})?[ \t]*$", re.M)


def drawn_figures_only(chapter: str, figures: Path) -> str:
    """A docs chapter whose images of the run's own figures (`../figures/NAME`) that this run did not draw (a smoke
    run skips calibration) become a line saying so, instead of a broken image."""
    return RUN_FIGURE.sub(lambda found: found.group(0) if (figures / found.group(2)).exists() else
                          f"*(This run drew no `{found.group(2)}`: {found.group(1).rstrip('.')}.)*", chapter)


def gate_noted(paths: RunPaths) -> dict:
    """The run's metrics, with a note when their test figures passed no gate (no final.json valid for them)."""
    from .gate import final_checked

    metrics = read_json(paths.results / "metrics.json")
    if metrics.get("test_scored", True) and not final_checked(paths.results):
        metrics["notes"] = [*metrics.get("notes", []), "ungated: these test figures passed no gate (no final.json "
                            "valid for this metrics.json; `python -m helpers.run --final` makes a gated run)"]
    return metrics


def notebook_title(stem: str) -> str:
    """'02_teacher_annotate' -> '02 · teacher annotate'."""
    number, _, rest = stem.partition("_")
    return f"{number} · {rest.replace('_', ' ')}" if rest else stem


def navigation(pages: list[tuple[str, str]], current: str) -> dict:
    """The sidebar (every page, this one marked, a contents list filled from its headings) and the
    previous/next links of page `current`; every name is HTML-escaped."""
    marked = ' class="current" aria-current="page"'
    items = "\n".join(f'<li{marked if href == current else ""}><a href="{html.escape(href)}">{html.escape(title)}</a></li>'
                      for href, title in pages)
    sidebar = (f'<nav class="report-nav" aria-label="Report"><a class="report-home" href="index.html">Distillation '
               f'report</a><h2>Chapters</h2><ol class="report-chapters">{items}</ol>'
               f'<h2>On this page</h2><ol id="report-toc"></ol></nav>')
    hrefs = [href for href, _ in pages]
    at = hrefs.index(current)
    links = []
    if at > 0:
        links.append(f'<a class="report-prev" rel="prev" href="{html.escape(hrefs[at - 1])}">&larr; '
                     f'{html.escape(pages[at - 1][1])}</a>')
    if at + 1 < len(pages):
        links.append(f'<a class="report-next" rel="next" href="{html.escape(hrefs[at + 1])}">'
                     f'{html.escape(pages[at + 1][1])} &rarr;</a>')
    return {"sidebar": sidebar, "pager": f'<nav class="report-pager" aria-label="Previous and next">{"".join(links)}</nav>',
            "css": NAV_CSS, "script": TOC_SCRIPT}


def docs_chapters(book: Path = PROJECT_ROOT) -> list[Path]:
    """The chapters under docs/ that `book`'s `_quarto.yml` lists, in its order."""
    import yaml

    chapters = yaml.safe_load((book / "_quarto.yml").read_text())["book"]["chapters"]
    return [book / chapter for chapter in chapters if chapter.startswith(f"{DOCS}/")]


HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*(?:\{([^}]*)\})?\s*$")
INCLUDE = re.compile(r"\{\{<\s*include\s+(\S+?)\s*>\}\}")
SHORTCODE = re.compile(r"\{\{<.*?>\}\}")
CITATIONS = re.compile(r"\[((?:-?@[\w:.-]+\s*;?\s*)+)\]")
CHAPTER_LINK = re.compile(r"\]\((?![a-z]+:)([^)\s#]*?)([^/)\s#]+)\.(qmd|ipynb)(#[^)\s]*)?\)")
FIGURE_LINE = re.compile(r"^(!\[([^\]]*)\]\([^)\s]*\))[ \t]*$", re.M)  # an image alone on its line: a figure
PAGE_ANCHOR = re.compile(r"\]\(#([^)\s]+)\)")


def plain_heading(text: str) -> str:
    """A Markdown heading's text as the reader sees it: no code ticks, emphasis or link targets."""
    return re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text).replace("`", "").replace("**", "").replace("*", "")


def pandoc_id(text: str) -> str:
    """The identifier Quarto (Pandoc) and GitHub give a heading: 'How the README's recipe' -> 'how-the-readmes-recipe'."""
    slug = re.sub(r"[^\w\s.-]", "", plain_heading(text).lower()).strip()
    return re.sub(r"^[^a-z]+", "", re.sub(r"\s+", "-", slug))


def nbconvert_id(text: str) -> str:
    """The id nbconvert gives the same heading in a Markdown cell ('How-the-README's-recipe')."""
    return quote(plain_heading(text).replace(" ", "-"), safe="?/:@!$&'()*+,;=")


def heading_ids(text: str) -> dict[str, str]:
    """{Quarto's id of each heading of a chapter (explicit `{#id}` or automatic): nbconvert's id of it}."""
    ids, fenced = {}, False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        found = None if fenced else HEADING.match(line)
        if found:
            explicit = re.search(r"#([\w:.-]+)", found.group(3) or "")
            ids[explicit.group(1) if explicit else pandoc_id(found.group(2))] = nbconvert_id(found.group(2))
    return ids


def bibliography(bib: Path) -> dict[str, str]:
    """{key: 'Hinton et al. 2015'} from a BibTeX file, for citations in the static report."""
    names = {}
    for entry in re.split(r"\n(?=@)", bib.read_text() if bib.exists() else ""):
        key = re.match(r"\s*@\w+\{([^,\s]+),", entry)
        authors = re.search(r"author\s*=\s*\{(.*?)\},?\s*\n", entry, re.S)
        year = re.search(r"year\s*=\s*\{?(\d{4})", entry)
        if key and authors and year:
            surnames = [a.split(",")[0].strip().strip("{}") for a in authors.group(1).split(" and ")]
            who = (surnames[0] if len(surnames) == 1 else " & ".join(surnames) if len(surnames) == 2
                   else f"{surnames[0]} et al.")
            names[key.group(1)] = f"{who} {year.group(1)}"
    return names


def chapter_markdown(chapter: Path, root: Path, ids: dict[str, dict[str, str]], cited: dict[str, str]) -> str:
    """A Quarto chapter as the plain Markdown that nbconvert renders: front matter dropped, `{{< include >}}`
    inlined (paths from the chapter's folder, or from `root` with a leading /), other shortcodes and ::: fences
    dropped, heading and figure attributes removed, a figure's caption shown under it, citations as '(Hinton et al. 2015)', and links to chapters and notebooks
    pointed at their pages in the static report. `ids` maps each page to {Quarto's heading id: nbconvert's}."""
    text = re.sub(r"\A---\n.*?\n---\n", "", chapter.read_text(), flags=re.S)

    def include(found: re.Match) -> str:
        name = found.group(1)
        path = root / name.lstrip("/") if name.startswith("/") else chapter.parent / name
        return path.read_text() if path.exists() else f"*({name} is not part of this report.)*"

    text = SHORTCODE.sub("", INCLUDE.sub(include, text))
    lines, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced:
            if line.startswith(":::"):
                continue
            found = HEADING.match(line)
            if found:
                line = f"{found.group(1)} {found.group(2)}"
        lines.append(line)
    text = re.sub(r"(!\[[^\]]*\]\([^)\s]*\))\{[^}]*\}", r"\1", "\n".join(lines) + "\n")  # a figure's {#fig-id}
    text = FIGURE_LINE.sub(lambda found: f"{found.group(1)}\n\n*{found.group(2)}*" if found.group(2) else found.group(1),
                           text)  # its caption shown below it, as Quarto shows it

    def citation(found: re.Match) -> str:
        keys = [key.strip().lstrip("-@") for key in found.group(1).split(";")]
        return "(" + "; ".join(cited.get(key, key) for key in keys) + ")"

    text = CITATIONS.sub(citation, text)
    text = re.sub(r"(?<![\w@.`/])@([\w:.-]*\w)", lambda m: (f"{cited[m.group(1)].rsplit(' ', 1)[0]} "
                                                             f"({cited[m.group(1)].rsplit(' ', 1)[1]})")
                  if m.group(1) in cited else m.group(0), text)
    here = ids.get(f"{chapter.stem}.html", {})

    def chapter_link(found: re.Match) -> str:
        page = "index.html" if found.group(2) == "index" else f"{found.group(2)}.html"
        anchor = found.group(4) or ""
        return f"]({page}{'#' + ids.get(page, {}).get(anchor[1:], anchor[1:]) if anchor else ''})"

    text = CHAPTER_LINK.sub(chapter_link, text)
    return PAGE_ANCHOR.sub(lambda found: f"](#{here.get(found.group(1), found.group(1))})", text)


def chapter_title(path: Path) -> str:
    """A chapter's title: its front matter's `title`, else its first heading."""
    text = path.read_text()
    title = re.search(r"\A---\n.*?^title:\s*[\"']?(.*?)[\"']?\s*$.*?\n---\n", text, flags=re.S | re.M)
    if title:
        return title.group(1)
    heading = next((HEADING.match(line) for line in text.splitlines() if HEADING.match(line)), None)
    return plain_heading(heading.group(2)) if heading else path.stem


def docs_html(report: Path, out: Path, exporter, pages: list[tuple[str, str]]) -> list[Path]:
    """Each docs chapter of the staged `report` as a page of the static report in `out`, rendered as a one-cell
    notebook by the same exporter (and so the same Markdown, template and navigation) as the notebooks."""
    import nbformat

    chapters = docs_chapters(report)
    ids = {f"{chapter.stem}.html": heading_ids(chapter.read_text()) for chapter in chapters}
    cited = bibliography(report / "references.bib")
    written = []
    for chapter in chapters:
        cell = nbformat.v4.new_markdown_cell(chapter_markdown(chapter, report, ids, cited))
        body, _ = exporter.from_notebook_node(nbformat.v4.new_notebook(cells=[cell]), resources={
            "report_nav": navigation(pages, f"{chapter.stem}.html"),
            "metadata": {"name": f"{chapter_title(chapter)} · distillation report"}})
        (out / f"{chapter.stem}.html").write_text(body)
        written.append(out / f"{chapter.stem}.html")
    return written


LAB_STYLESHEETS = ("static/index.css", "static/theme-light.css")  # what nbconvert's lab template inlines


def link_lab_stylesheets(pages: list[Path], exporter, out: Path) -> None:
    """Replace the lab template's stylesheets, inlined whole in every page (about 256 KB per page), by links to one
    copy of each in `out`; a page where a stylesheet is not found inlined keeps what it has."""
    env = exporter.environment
    swaps = []  # (inlined, linked) per stylesheet
    for name in LAB_STYLESHEETS:
        css = env.loader.get_source(env, name)[0]
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(css)
        swaps.append((f'<style type="text/css">\n{css}</style>', f'<link rel="stylesheet" href="{name}">'))
    for page in pages:  # each page read and written once
        text = page.read_text()
        for inlined, linked in swaps:
            text = text.replace(inlined, linked)
        page.write_text(text)


def static_html(report: Path, metrics: dict, ablation: pd.DataFrame | None = None) -> Path:
    """Each notebook exported by nbconvert, each docs chapter (method, speed, ...) rendered the same way, plus an
    index page with the headline table and figures, all with a sidebar of chapters, a contents list and
    previous/next links."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab", template_file=str(Path(__file__).parent / "templates/offline.html.j2"))
    out = report / "html"
    shutil.copytree(report / "figures", out / "figures")
    notebooks = sorted((report / "notebooks").glob("*.ipynb"))
    pages = ([("index.html", "Results")] + [(f"{nb.stem}.html", notebook_title(nb.stem)) for nb in notebooks]
             + [(f"{chapter.stem}.html", chapter_title(chapter)) for chapter in docs_chapters(report)])
    for notebook in notebooks:
        body, _ = exporter.from_filename(str(notebook), resources={
            "report_nav": navigation(pages, f"{notebook.stem}.html"),
            "metadata": {"name": f"{notebook_title(notebook.stem)} · distillation report"}})
        (out / f"{notebook.stem}.html").write_text(body)
    docs = docs_html(report, out, exporter, pages)
    link_lab_stylesheets([out / f"{notebook.stem}.html" for notebook in notebooks] + docs, exporter, out)
    figures = [name for name in FIGURES if (out / "figures" / name).exists()]
    nav = navigation(pages, "index.html")
    page = INDEX_PAGE.format(
        run=html.escape(metrics["run_name"]), scored_on=html.escape(scored_on(metrics)),
        mapping=html.escape(metrics["mapping"]), precision=html.escape(precision_line(metrics)),
        table="".join(f'<p class="note"><b>Note:</b> {html.escape(note)}.</p>' for note in metrics.get("notes", []))
        + headline_table(metrics).to_html(classes="headline", border=0, table_id="headline")
        + ("" if not headline(metrics)[3] else
           f"<p>Paired on the same {headline(metrics)[0]} reviews (first minus second): accuracy difference, 95% "
           "paired-bootstrap interval, McNemar's exact test.</p>"
           + comparison_table(headline(metrics)[3]).to_html(classes="headline", border=0, table_id="paired")),
        ablation="" if ablation is None else (f"<h2>What each technique buys</h2><p>{html.escape(ABLATION_NOTE)}</p>"
                                              + ablation.to_html(classes="headline", border=0, index=False,
                                                                 table_id="ablation")),
        chapters="\n".join(f'<li><a href="{html.escape(href)}">{html.escape(title)}</a></li>' for href, title in pages[1:]),
        figures="\n".join(f'<figure><img src="figures/{n}" alt="{html.escape(FIGURES[n])}">'
                          f'<figcaption>{html.escape(FIGURES[n])}</figcaption></figure>' for n in figures),
        css=NAV_CSS, sidebar=nav["sidebar"], pager=nav["pager"], script=TOC_SCRIPT)
    with atomic_path(out / "index.html") as tmp:
        tmp.write_text(page)
    return out / "index.html"


NAV_CSS = """<style>
.report-nav { position: fixed; top: 0; left: 0; bottom: 0; width: 240px; overflow-y: auto; padding: 1rem;
  background: #f6f7f9; border-right: 1px solid #ddd; font: 14px/1.45 system-ui, sans-serif; box-sizing: border-box; }
.report-nav h2 { font-size: 0.8rem; text-transform: uppercase; color: #666; margin: 1.2rem 0 0.3rem; }
.report-nav ol { list-style: none; padding: 0; margin: 0; }
.report-nav li { margin: 0.15rem 0; } .report-nav li.current > a { font-weight: 700; color: #000; }
.report-nav a { color: #1f5fa8; text-decoration: none; } .report-nav a:hover { text-decoration: underline; }
.report-home { font-weight: 700; font-size: 1rem; }
#report-toc li.toc-h2 { padding-left: 0.8rem; } #report-toc li.toc-h3 { padding-left: 1.6rem; }
body { padding-left: 250px !important; }
.report-pager { display: flex; justify-content: space-between; margin: 1rem 0; font: 14px system-ui, sans-serif; }
.report-pager .report-next { margin-left: auto; }
@media (max-width: 800px) { .report-nav { position: static; width: auto; } body { padding-left: 0 !important; } }
</style>"""

TOC_SCRIPT = r"""<script>
document.addEventListener("DOMContentLoaded", function () {
  var toc = document.getElementById("report-toc");
  if (!toc) return;
  document.querySelectorAll("main h1, main h2, main h3").forEach(function (heading, i) {
    if (!heading.id) heading.id = "section-" + i;
    var item = document.createElement("li"), link = document.createElement("a");
    item.className = "toc-" + heading.tagName.toLowerCase();
    link.href = "#" + encodeURIComponent(heading.id);
    link.textContent = heading.textContent.replace(/\u00b6\s*$/, "").trim();
    item.appendChild(link);
    toc.appendChild(item);
  });
});
</script>"""


def publish(workdir: str, run_name: str) -> Path:
    """Render the run's report with Quarto if installed, else the static HTML one; return its index page."""
    paths = RunPaths.of(workdir, run_name)
    report = stage(paths)
    if shutil.which("quarto"):
        done = subprocess.run(["quarto", "render", str(report)], capture_output=True, text=True)
        if done.returncode != 0:
            raise UserError(f"quarto render failed: {done.stderr.strip().splitlines()[-1:]}")
        return report / "_book" / "index.html"
    index = static_html(report, gate_noted(paths), ablation_table(paths))
    print(f"quarto not found on PATH: wrote a static HTML report instead (install Quarto for the book): {index}")
    return index


INDEX_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Distillation report: {run}</title>
{css}
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 1000px; margin: 2rem auto;
       padding: 0 1rem; color: #222; line-height: 1.5; }}
h1 {{ font-size: 1.8rem; margin-bottom: 0.2rem; }} .sub {{ color: #666; margin-top: 0; }}
table.headline {{ border-collapse: collapse; margin: 1rem 0; font-variant-numeric: tabular-nums; }}
table.headline th, table.headline td {{ padding: 0.35rem 0.8rem; border-bottom: 1px solid #ddd; text-align: right; }}
table.headline th:first-child, table.headline tbody th {{ text-align: left; }}
figure {{ margin: 1.5rem 0; }} figure img {{ max-width: min(100%, 780px); }}
figcaption {{ color: #555; font-size: 0.95rem; }}
</style></head>
<body>
{sidebar}
<main>
{pager}
<h1>Teacher-student sentiment distillation on IMDB</h1>
<p class="sub">Run <code>{run}</code> &middot; {scored_on} &middot; precision: {precision}</p>
<p>A teacher labels IMDB reviews; a small transformer, the student, is fine-tuned on those labels alone; both are
scored against IMDB's own labels on the same test reviews.</p>
<h2>Headline results</h2>
{table}
<p>Mapping: {mapping}. Accuracy intervals are 95% percentile bootstrap; ECE is the expected calibration error.</p>
{ablation}
<h2>Chapters</h2>
<ol>
{chapters}
</ol>
<h2>Figures</h2>
{figures}
<h2>References</h2>
<ul>
<li>Hinton, Vinyals &amp; Dean (2015). Distilling the knowledge in a neural network. arXiv:1503.02531.</li>
<li>Sanh, Debut, Chaumond &amp; Wolf (2019). DistilBERT, a distilled version of BERT. arXiv:1910.01108.</li>
<li>Maas et al. (2011). Learning word vectors for sentiment analysis. ACL 2011 (the IMDB dataset).</li>
<li>Loureiro et al. (2022). TimeLMs: diachronic language models from Twitter (cardiffnlp/twitter-roberta-base-sentiment-latest).</li>
<li>Hutto &amp; Gilbert (2014). VADER: a parsimonious rule-based model for sentiment analysis of social media text. ICWSM.</li>
</ul>
{pager}
</main>
{script}
</body></html>
"""


PUBLISHED = PROJECT_ROOT / "results" / "published"  # the run readers of the repository see without running it
TEXT_SUFFIXES = {".ipynb", ".html", ".md", ".qmd", ".json", ".yml", ".bib", ".csv", ".txt"}


def machine_paths(workdir: Path) -> list[tuple[str, str]]:
    """(absolute path, what a reader sees instead), longest first: the run's workdir and the project become '.',
    the folder holding the project '..' (where a sibling data folder such as ../shared/data/imdb lives), unless
    that folder is the root or the home folder."""
    pairs = {str(Path(workdir).resolve()): ".", str(PROJECT_ROOT): "."}
    if PROJECT_ROOT.parent not in (Path("/"), Path.home()):
        pairs[str(PROJECT_ROOT.parent)] = ".."
    return sorted(pairs.items(), key=lambda pair: -len(pair[0]))


def scrubbed(text: str, pairs: list[tuple[str, str]]) -> str:
    """`text` with every machine path of `pairs` replaced where it is a whole path or a path's start (JSON-escaped
    slashes too), never inside a longer name ('/work' is not replaced in '/workflows')."""
    for path, shown in pairs:
        for form, sep in ((path, "/"), (path.replace("/", "\\/"), "\\/")):
            text = re.sub(re.escape(form) + rf"(?=$|{re.escape(sep)}|[\s\"'`),;:\]}}<\\])", shown.replace("\\", "\\\\"), text)
    return text


def publish_run(workdir: str, run_name: str, target: Path = PUBLISHED) -> Path:
    """Copy a finished run's report (the book's sources with its executed notebooks, its figures and the static HTML
    report) and its metrics.json and run.json into `target`, for readers of the repository: every machine path
    becomes relative, Quarto's output folder is left out. Returns `target`."""
    paths = RunPaths.of(workdir, run_name)
    report = paths.results / "report"
    if not (report / "html" / "index.html").exists() and not (report / "_book").exists():
        raise UserError(f"{report} holds no rendered report: run the pipeline for run {run_name!r} first")
    pairs = machine_paths(paths.workdir)
    staging, aside = target.with_name(f".{target.name}.staging"), target.with_name(f".{target.name}.old")
    for folder in (staging, aside):
        shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(report, staging, ignore=shutil.ignore_patterns("_book", ".quarto"))
    for name in ("metrics.json", "run.json", "final.json"):
        if (paths.results / name).exists():
            shutil.copy(paths.results / name, staging / name)
    for file in staging.rglob("*"):
        if file.is_file() and file.suffix in TEXT_SUFFIXES:
            file.write_text(scrubbed(file.read_text(), pairs))
    if target.exists():  # the old copy goes only once the new one is complete
        target.rename(aside)
    staging.rename(target)
    shutil.rmtree(aside, ignore_errors=True)
    return target


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m helpers.report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="run name, e.g. offline")
    parser.add_argument("--publish", action="store_true", help=f"copy the run's report, executed notebooks and metrics "
                        f"to {PUBLISHED.relative_to(PROJECT_ROOT)}/ with machine paths made relative (after --run)")
    parser.add_argument("--workdir", default=".", help="folder holding results/ (default: the project root)")
    args = parser.parse_args(argv)
    try:
        if args.publish:
            print(f"published: {publish_run(args.workdir, args.run)}")
            return 0
        print(f"report: {publish(args.workdir, args.run)}")
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
