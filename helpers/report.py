"""Publish a run: the Quarto book of its executed notebooks, or a static HTML report when Quarto is missing.

`python -m helpers.report --run offline` (re)builds `results/<run>/report/` without rerunning anything.
"""

from __future__ import annotations

import argparse
import html
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

from .errors import UserError
from .metrics import summary_table
from .paths import PROJECT_ROOT, RunPaths, atomic_path, read_json

BOOK_FILES = ["_quarto.yml", "index.qmd", "references.qmd", "references.bib"]
FIGURES = {
    "teacher_vs_student_accuracy.png": "Accuracy against IMDB's labels on the same test reviews, with the majority "
                                       "floor and, when trained, the gold-supervised ceiling.",
    "teacher_vs_student_label_distribution.png": "How often teacher and student say negative, neutral, positive.",
    "confusion_matrices.png": "Confusion matrices (neutral counted as positive).",
    "reliability.png": "Reliability: predicted p(positive) against the share of truly positive reviews.",
    "training_curves.png": "Training loss per step and test accuracy after each epoch.",
    "accuracy_by_length.png": "Accuracy by review length in words.",
    "agreement.png": "Teacher-student agreement on the 3-class labels.",
    "speed_and_size.png": "Student vs teacher architecture: throughput and size (from the benchmark).",
}


def headline(metrics: dict) -> pd.DataFrame:
    """The headline table, rounded for reading."""
    table = summary_table(metrics["models"])
    return table.apply(lambda col: col.map(lambda v: f"{v:.3f}" if isinstance(v, float) else ("-" if v is None else v)))


def markdown(table: pd.DataFrame) -> str:
    """The table as Markdown, accuracy with its interval."""
    shown = table.copy()
    if "student_acc" in shown:
        shown["student accuracy (95% CI)"] = [f"{a:.3f} ({lo:.3f}-{hi:.3f})" if pd.notna(a) else "failed"
                                              for a, lo, hi in zip(shown["student_acc"], shown["ci95_low"],
                                                                   shown["ci95_high"])]
        shown = shown[["variant", "changes", "student accuracy (95% CI)", "student_f1", "student_ece",
                       "agreement", "teacher_acc", "gold_acc", "n_test"]]
    return shown.to_markdown(index=False, floatfmt=".3f")


ABLATION_NOTE = ("Each variant is its own run of the pipeline on the same reviews (`python -m helpers.sweep`); "
                 "accuracy against the true test labels with its 95% bootstrap interval.")


def ablation_table(paths: RunPaths) -> pd.DataFrame | None:
    """The ablation sweep's table (`results/ablation/ablation.csv`), if one has run under this workdir."""
    table = paths.workdir / "results" / "ablation" / "ablation.csv"
    return pd.read_csv(table) if table.exists() else None


def results_markdown(metrics: dict, figures: list[str], ablation: pd.DataFrame | None) -> str:
    """`_results.md`: the headline table, the ablation and the figures, included by the book's index page."""
    lines = [f"## Results of run `{metrics['run_name']}`", "",
             f"{metrics['n_test']:,} test reviews, stratified by label. Mapping: {metrics['mapping']}.", "",
             headline(metrics).to_markdown(), "", ": Headline results {#tbl-headline}", ""]
    if ablation is not None:
        lines += ["## What each technique buys", "", ABLATION_NOTE, "", markdown(ablation), "",
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
    shutil.copytree(paths.figures, report / "figures")
    figures = [name for name in FIGURES if (report / "figures" / name).exists()]
    (report / "_results.md").write_text(results_markdown(read_json(metrics_file), figures, ablation_table(paths)))
    return report


def static_html(report: Path, metrics: dict, ablation: pd.DataFrame | None = None) -> Path:
    """Each notebook exported by nbconvert plus an index page with the headline table and figures."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab", template_file=str(Path(__file__).parent / "templates/offline.html.j2"))
    out = report / "html"
    shutil.copytree(report / "figures", out / "figures")
    chapters = []
    for notebook in sorted((report / "notebooks").glob("*.ipynb")):
        body, _ = exporter.from_filename(str(notebook))
        (out / f"{notebook.stem}.html").write_text(body)
        chapters.append(notebook.stem)
    figures = [name for name in FIGURES if (out / "figures" / name).exists()]
    page = INDEX_PAGE.format(
        run=html.escape(metrics["run_name"]), n_test=metrics["n_test"], mapping=html.escape(metrics["mapping"]),
        table=headline(metrics).to_html(classes="headline", border=0, table_id="headline"),
        ablation="" if ablation is None else (f"<h2>What each technique buys</h2><p>{html.escape(ABLATION_NOTE)}</p>"
                                              + ablation.to_html(classes="headline", border=0, index=False,
                                                                 table_id="ablation", float_format="%.3f")),
        chapters="\n".join(f'<li><a href="{c}.html">{html.escape(c.replace("_", " "))}</a></li>' for c in chapters),
        figures="\n".join(f'<figure><img src="figures/{n}" alt="{html.escape(FIGURES[n])}">'
                          f'<figcaption>{html.escape(FIGURES[n])}</figcaption></figure>' for n in figures))
    with atomic_path(out / "index.html") as tmp:
        tmp.write_text(page)
    return out / "index.html"


def publish(workdir: str, run_name: str) -> Path:
    """Render the run's report with Quarto if installed, else the static HTML one; return its index page."""
    paths = RunPaths.of(workdir, run_name)
    report = stage(paths)
    if shutil.which("quarto"):
        done = subprocess.run(["quarto", "render", str(report)], capture_output=True, text=True)
        if done.returncode != 0:
            raise UserError(f"quarto render failed: {done.stderr.strip().splitlines()[-1:]}")
        return report / "_book" / "index.html"
    index = static_html(report, read_json(paths.results / "metrics.json"), ablation_table(paths))
    print(f"quarto not found on PATH: wrote a static HTML report instead (install Quarto for the book): {index}")
    return index


INDEX_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Distillation report: {run}</title>
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
<h1>Teacher-student sentiment distillation on IMDB</h1>
<p class="sub">Run <code>{run}</code> &middot; {n_test:,} test reviews, stratified by label</p>
<p>A large off-the-shelf sentiment model (the teacher) labels IMDB reviews; a small transformer (the student) is
fine-tuned on those labels; both are scored against IMDB's own labels on the same test reviews.</p>
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
</body></html>
"""


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m helpers.report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="run name, e.g. offline")
    parser.add_argument("--workdir", default=".", help="folder holding results/ (default: the project root)")
    args = parser.parse_args(argv)
    try:
        print(f"report: {publish(args.workdir, args.run)}")
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
