"""Tables shown in notebooks and reports. Cells may hold review text, which is untrusted: always HTML-escaped."""

from __future__ import annotations

import html

import pandas as pd


def md_text(value) -> str:
    """`value` safe inside Markdown that becomes HTML (Quarto, model cards): tags escaped, no table breaks."""
    return html.escape(str(value)).replace("|", "\\|")


def shown(frame: pd.DataFrame, precision: int = 3, hide_index: bool = False):
    """`frame` as a Styler with every cell, index label and column name HTML-escaped."""
    styler = (frame.style.format(precision=precision, na_rep="-", escape="html")
              .format_index(escape="html", axis=0).format_index(escape="html", axis=1))
    return styler.hide(axis="index") if hide_index else styler
