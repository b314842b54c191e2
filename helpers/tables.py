"""Tables shown in notebooks and reports. Cells may hold review text, which is untrusted: always HTML-escaped."""

from __future__ import annotations

import html

import pandas as pd


def counted(number, noun: str) -> str:
    """'1 seed', '3 seeds', '0.4 epochs': a count and its noun, plural unless the count is 1."""
    return f"{number:g} {noun}{'' if number == 1 else 's'}"


def md_text(value) -> str:
    """`value` safe inside Markdown that becomes HTML (Quarto, model cards): tags escaped, no table breaks."""
    return html.escape(str(value)).replace("|", "\\|")


def shown(frame: pd.DataFrame, precision: int = 3, hide_index: bool = False):
    """`frame` as a Styler with every cell, index label and column name HTML-escaped."""
    styler = (frame.style.format(precision=precision, na_rep="-", escape="html")
              .format_index(escape="html", axis=0).format_index(escape="html", axis=1))
    return styler.hide(axis="index") if hide_index else styler


def spread(mean, std, low, high) -> str:
    """'0.781 ± 0.004 (0.776-0.785)', or the single value for one seed."""
    if mean is None or pd.isna(mean):
        return "-"
    if std is None or pd.isna(std):
        return f"{mean:.3f}"
    return f"{mean:.3f} ± {std:.3f} ({low:.3f}-{high:.3f})"


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    """The summary for reading: mean ± sd (min-max) per figure; the winner on validation marked."""
    if "val_acc_shared" not in table:  # a sweep.csv written before the paired choice
        table = table.assign(val_acc_shared=table["val_acc_mean"], shared_seeds="all")
    return pd.DataFrame({
        "variant": table["variant"], "changes": table["changes"], "seeds": table["seeds"],
        f"**validation** acc., seed(s) {table['shared_seeds'].iloc[0]} (chooses)": [
            "-" if pd.isna(v) else f"{v:.3f}" for v in table["val_acc_shared"]],
        "validation acc., all its seeds": [spread(*r) for r in table[[f"val_acc_{s}" for s in ("mean", "std", "min", "max")]].to_numpy()],
        "validation ECE, held out (the student as saved)": [spread(*r) for r in table.reindex(
            columns=[f"val_ece_{s}" for s in ("mean", "std", "min", "max")]).to_numpy()],
        "test acc.": [spread(*r) for r in table[[f"test_acc_{s}" for s in ("mean", "std", "min", "max")]].to_numpy()],
        "student − teacher (test)": [spread(*r) for r in table[[f"student_minus_teacher_{s}" for s in ("mean", "std", "min", "max")]].to_numpy()],
        "teacher test acc.": [spread(*r) for r in table[[f"teacher_test_acc_{s}" for s in ("mean", "std", "min", "max")]].to_numpy()],
        "minutes per run": ["-" if pd.isna(m) else f"{m:.1f}" for m in table.get("minutes_mean", pd.Series([None] * len(table)))],
        "n val / test": [f"{int(v):,} / {int(t):,}" if t else f"{int(v):,} / -"
                         for v, t in zip(table["n_val"].fillna(0), table["n_test"].fillna(0))],
        "runs": table["runs"] if "runs" in table else "-",
        "chosen": table["chosen"].fillna("")})
