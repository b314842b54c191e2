"""Project layout promises: the book lists the notebooks that exist, in order."""

import yaml

from helpers.paths import PROJECT_ROOT
from helpers.run import notebooks


def test_quarto_book_lists_exactly_the_notebooks_in_order():
    book = yaml.safe_load((PROJECT_ROOT / "_quarto.yml").read_text())
    chapters = [c for c in book["book"]["chapters"] if c.endswith(".ipynb")]
    assert chapters == [f"notebooks/{nb.name}" for nb in notebooks()]
    assert book["execute"]["enabled"] is False
