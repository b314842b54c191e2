"""Project layout promises: the book lists the notebooks that exist, in order."""

import yaml

from helpers.paths import PROJECT_ROOT
from helpers.run import notebooks


def test_quarto_book_lists_exactly_the_notebooks_in_order():
    book = yaml.safe_load((PROJECT_ROOT / "_quarto.yml").read_text())
    chapters = [c for c in book["book"]["chapters"] if c.endswith(".ipynb")]
    assert chapters == [f"notebooks/{nb.name}" for nb in notebooks()]
    assert book["execute"]["enabled"] is False


def test_readme_refuses_a_missing_ablation_before_writing_anything(smoke_run, capsys):
    from helpers.lab import readme

    figure = PROJECT_ROOT / readme.FIGURE
    before = (figure.stat().st_mtime_ns if figure.exists() else None, (PROJECT_ROOT / "README.md").read_text())
    workdir, _ = smoke_run
    assert readme.main(["--run", "smoke", "--workdir", str(workdir), "--ablation", "nosuch", "--ungated"]) == 1
    assert "--ablation nosuch" in capsys.readouterr().err
    assert (figure.stat().st_mtime_ns if figure.exists() else None, (PROJECT_ROOT / "README.md").read_text()) == before
