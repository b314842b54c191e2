"""Run the four notebooks in order with papermill: `python -m helpers.run --profile offline --set k=v`.

`--final` makes a gated run: the notebooks on validation only, then test scored through the gate (`helpers.gate`),
the only way a test figure gets the final.json that the README and the sweep tables require. run.json records every
resolved parameter (the notebooks' defaults included) and the git commit.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import functools
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import yaml
from jupyter_client.manager import AsyncKernelManager

from . import gate
from .errors import ConfigError, UserError
from .distributed import is_main
from .inference import cpu_model, native_precisions
from .models import go_offline_if_hub_unreachable
from .paths import PROJECT_ROOT, RunPaths, read_json, resolve, write_json
from .progress import PROGRESS_FILE, QUIET_ENVIRONMENT, ProgressRelay
from .report import DOCS, notebook_title, publish
from .tables import md_text

NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"
PROFILE_DIR = PROJECT_ROOT / "params"
PACKAGES = ["torch", "transformers", "datasets", "accelerate", "papermill", "vaderSentiment", "scikit-learn"]
_TYPES = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,)}


class IPCKernelManager(AsyncKernelManager):
    """Kernels talk over local sockets in a private temp folder: no open TCP ports, no warning about them."""

    socket_dir = tempfile.gettempdir()  # run() points this at a folder it removes afterwards

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.transport, self.ip = "ipc", str(Path(self.socket_dir) / f"kernel-{os.getpid()}-{id(self)}")


def notebooks() -> list[Path]:
    """The numbered notebooks, in run order."""
    return sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))


def declared_parameters(notebook: Path) -> dict[str, str]:
    """Name -> type name of each parameter in `notebook`'s `parameters` cell."""
    return {name: kind for name, (kind, _) in _parameter_cell(str(notebook), notebook.stat().st_mtime_ns).items()}


def notebook_defaults(chosen: list[Path] | None = None) -> dict:
    """Each parameter's default in the `parameters` cells of `chosen` notebooks (default: all of them)."""
    return {name: default for nb in (chosen or notebooks())
            for name, (_, default) in _parameter_cell(str(nb), nb.stat().st_mtime_ns).items()}


@functools.lru_cache(maxsize=32)
def _parameter_cell(notebook: str, mtime_ns: int) -> dict[str, tuple[str, object]]:
    """Name -> (type name, default) of the `parameters` cell, read once per version of the file."""
    import ast

    import papermill

    return {name: (spec["inferred_type_name"], ast.literal_eval(spec["default"]))
            for name, spec in papermill.inspect_notebook(notebook).items()}


def load_profile(profile: str) -> dict:
    """A profile's parameters: `params/<profile>.yaml`, or a YAML file path."""
    path = Path(profile) if profile.endswith((".yaml", ".yml")) else PROFILE_DIR / f"{profile}.yaml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in PROFILE_DIR.glob("*.yaml")))
        raise ConfigError(f"unknown profile {profile!r}: choose one of {known}, or give a .yaml path")
    try:
        params = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"profile {path} is not valid YAML ({' '.join(str(err).split())}): fix that line") from None
    if not isinstance(params, dict):
        raise ConfigError(f"profile {path} must map parameter names to values (name: value per line), "
                          f"not a {type(params).__name__}")
    return params


def parse_overrides(pairs: list[str]) -> dict:
    """`key=value` strings to a dict, values read as YAML (so 3 is an int, true a bool)."""
    overrides = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {pair!r} is not key=value")
        try:
            overrides[key.strip()] = yaml.safe_load(value) if value else ""
        except yaml.YAMLError:
            raise ConfigError(f"--set {pair!r}: the value is not valid YAML; quote it, e.g. --set '{key.strip()}=\"...\"'") from None
    return overrides


def chosen_notebooks(steps: list[str] | None) -> list[Path]:
    """The notebooks `--steps` names, by number ('3' or '03') or name ('03_train_student'); all when none."""
    if not steps:
        return notebooks()
    by_key = {}
    for nb in notebooks():
        number = nb.stem.split("_", 1)[0]
        by_key.update({nb.stem: nb, number: nb, str(int(number)): nb})
    unknown = [step for step in steps if step not in by_key]
    if unknown:
        raise ConfigError(f"--steps {' '.join(unknown)}: no such notebook; choose from "
                          f"{', '.join(nb.stem.split('_', 1)[0] for nb in notebooks())} (e.g. --steps 03 04)")
    wanted = {by_key[step] for step in steps}
    return [nb for nb in notebooks() if nb in wanted]


STUDENT_IGNORES = ("device", "eval_batch_size", "eval_each_epoch", "epoch_eval_reviews",  # do not change the weights
                   "evals_per_epoch")


def stated_ratings_differ(record: dict, wanted: dict) -> list[str]:
    """How the student's stated-ratings step (training.json's `stated_ratings`; none: 0 epochs) differs from this
    run's parameters; a step skipped for want of rated reviews matches any: its weights are those of none."""
    if "skipped" in record or "stated_rating_epochs" not in wanted:
        return []
    had = {"stated_rating_epochs": record.get("epochs", 0.0)}
    if had["stated_rating_epochs"] and wanted["stated_rating_epochs"]:
        had["stated_rating_learning_rate"] = record.get("learning_rate")
    return [f"{name}={value!r} (this run: {wanted[name]!r})" for name, value in had.items() if value != wanted[name]]


def check_student(paths: RunPaths, params: dict, declared_03: dict) -> None:
    """Before 04 runs without 03: the saved student must have been trained with this run's 03 parameters."""
    settings_file = paths.student / "training.json"
    if not settings_file.exists():
        raise ConfigError(f"{paths.student} has no trained student: run 03 first (--steps 03 04)")
    trained = read_json(settings_file)
    wanted = {name: params[name] for name in declared_03}  # resolved: every parameter has its value
    differ = [f"{name}={trained[name]!r} (this run: {wanted[name]!r})" for name in sorted(wanted)
              if name in trained and name not in STUDENT_IGNORES and trained[name] != wanted[name]]
    differ += stated_ratings_differ(trained.get("stated_ratings") or {}, wanted)
    if differ:
        raise ConfigError(f"the student in {paths.student} was trained with {', '.join(differ)}: rerun 03 with these "
                          f"parameters (--steps 03 04), or score it under the parameters it was trained with")


def check_parameters(params: dict, declared: dict[str, dict[str, str]]) -> dict:
    """Refuse names no notebook declares and values of the wrong type; return the typed values."""
    types = {name: kind for per_notebook in declared.values() for name, kind in per_notebook.items()}
    unknown = sorted(set(params) - set(types))
    if unknown:
        raise ConfigError(f"unknown parameter(s) {', '.join(map(repr, unknown))}: "
                          f"the notebooks declare {', '.join(sorted(types))}")
    typed = {name: _typed(name, value, types[name]) for name, value in params.items()}
    for name, allowed in choices().items():
        if name in typed and typed[name] not in allowed:
            raise ConfigError(f"parameter {name!r} is {typed[name]!r}: choose one of {', '.join(map(str, allowed))}")
    return typed


def choices() -> dict[str, tuple]:
    """The parameters that take one of a few names, and those names: refused when parameters are resolved,
    before any notebook runs, rather than in the notebook that first uses them."""
    from .distill import BALANCING, LOSSES
    from .inference import PRECISIONS, TRUNCATIONS
    from .precision import TRAIN_PRECISIONS
    from .calibrate import SELF_CALIBRATION_PARTS

    return {"precision": PRECISIONS, "train_precision": TRAIN_PRECISIONS, "truncation": TRUNCATIONS,
            "teacher_truncation": (*TRUNCATIONS, "chunks"), "zeroshot_truncation": TRUNCATIONS,
            "distill_loss": LOSSES, "balance": BALANCING, "self_calibration_part": SELF_CALIBRATION_PARTS}


def _typed(name: str, value, kind: str):
    """`value` as the declared type; strings like '5e-5' become numbers, anything else wrong is refused."""
    allowed = _TYPES.get(kind)
    if allowed is None:
        return value
    if isinstance(value, str) and kind in ("int", "float"):
        try:
            value = int(value) if kind == "int" else float(value)
        except ValueError:
            pass
    if isinstance(value, bool) and kind != "bool" or not isinstance(value, allowed):
        raise ConfigError(f"parameter {name!r} must be {kind}, got {type(value).__name__} {value!r}")
    return float(value) if kind == "float" else value


def needs_hub(params: dict) -> bool:
    """True if the run names a hub dataset or a hub model."""
    models = [params.get(k, "") for k in ("teacher", "student")]
    return params.get("data_dir") == "" or any(
        m and m.lower() != "vader" and not m.startswith("pkg:") and not resolve(m).exists() for m in models)


def resolve_parameters(profile: str, overrides: dict | None = None, declared: dict | None = None) -> dict:
    """Every parameter of a run, checked and typed: the notebooks' defaults, then the profile's, then the overrides;
    run_name defaults to the profile."""
    declared = declared or {nb.stem: declared_parameters(nb) for nb in notebooks()}
    name = Path(profile).name.removesuffix(".yaml").removesuffix(".yml")
    return check_parameters({**notebook_defaults(), "run_name": name, **load_profile(profile), **(overrides or {})},
                            declared)


def environment() -> dict:
    """Package versions, Python, git commit and compute device, for run.json."""
    import torch

    def pkg(name):
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    git = subprocess.run(["git", "-C", str(PROJECT_ROOT), "describe", "--always", "--dirty", "--abbrev=40"],
                         capture_output=True, text=True)
    return {
        "python": platform.python_version(),
        "packages": {name: pkg(name) for name in PACKAGES},
        "git_commit": git.stdout.strip() or None,
        "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"cpu ({platform.processor() or platform.machine()})",
        "host": platform.node(),
        "cpu_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": cpu_model(),
        "native_precisions": {"cpu": native_precisions(torch.device("cpu")),
                              **({"cuda": native_precisions(torch.device("cuda", 0))} if torch.cuda.is_available() else {})},
    }


def run(profile: str, overrides: dict | None = None, steps: list[str] | None = None, pass_: str | None = None) -> Path:
    """Execute the notebooks for `profile` (+ overrides), then publish the report; return the results folder.
    `pass_` names a second pass over some steps (the gate's): run.json keeps every earlier step beside them."""
    chosen = chosen_notebooks(steps)
    declared = {nb.stem: declared_parameters(nb) for nb in notebooks()}
    params = resolve_parameters(profile, overrides, declared)
    paths = RunPaths.of(params.get("workdir", "."), params["run_name"])
    stems = [nb.stem for nb in chosen]
    if "04_evaluate_plot" in stems and "03_train_student" not in stems:
        check_student(paths, params, declared["03_train_student"])
    if needs_hub(params):
        go_offline_if_hub_unreachable()  # kernels inherit it: fail in seconds, not after minutes of retries
    record = {"profile": profile, "parameters": params, "started": _now(), **environment(),
              "steps": _earlier_steps(paths, params, chosen, pass_)}
    print(f"run {params['run_name']!r} ({profile}) -> {paths.results}", flush=True)
    with tempfile.TemporaryDirectory(prefix="papermill-kernels-") as private:
        IPCKernelManager.socket_dir = private
        relay = ProgressRelay(Path(private) / "progress.log")
        with kernel_environment({PROGRESS_FILE: str(relay.path), **QUIET_ENVIRONMENT}):
            relay.start()
            try:
                _execute(chosen, declared, params, paths, record, relay, pass_)
            finally:
                relay.stop()
    record["precision_used"] = precision_used(paths)
    write_json(record, paths.results / "run.json")
    if chosen and chosen[-1] == notebooks()[-1] and is_main():
        start = time.perf_counter()
        record["report"] = str(publish(str(paths.workdir), paths.run_name))
        record["steps"].append({"notebook": "report", "status": "ok", "seconds": round(time.perf_counter() - start, 2)})
        write_json(record, paths.results / "run.json")
        print(f"report: {record['report']}", flush=True)
    return paths.results


def run_final(profile: str, overrides: dict | None = None) -> Path:
    """A gated run: the four notebooks on validation only (no model meets a test label), then test scored through
    the gate (`gate.score_on_test`); a run already gated with these parameters is kept. Return the results folder."""
    validate = {**(overrides or {}), "score_test": False}
    params = resolve_parameters(profile, validate)
    results = RunPaths.of(params["workdir"], params["run_name"]).results
    if not gated_already(results, params):
        run(profile, validate)
    gate.score_on_test(profile, results, params, run)
    if is_main():  # the report 04 published was written before final.json: publish it again, gated
        record = read_json(results / "run.json")
        record["report"] = str(publish(str(results.parent.parent), params["run_name"]))
        write_json(record, results / "run.json")
    return results


def gated_already(results: Path, params: dict) -> bool:
    """True if the run in `results` passed the gate and made what `params` make."""
    record = results / "run.json"
    return (gate.final_checked(results) and record.exists()
            and same_work(read_json(record).get("parameters", {}), params)
            and read_json(record).get("git_commit") == environment()["git_commit"])  # older code: redo it


def precision_used(paths: RunPaths) -> dict:
    """What each model ran at, from the run's outputs: the students' training (training.json) and everyone's
    scoring (metrics.json), for run.json."""
    used = {}
    for name, folder in (("student", paths.student), ("gold_supervised", paths.gold_student)):
        if (folder / "training.json").exists():
            used[f"{name}_training"] = read_json(folder / "training.json").get("train_precision_used")
    if (paths.results / "metrics.json").exists():
        for name, verdict in (read_json(paths.results / "metrics.json").get("precision") or {}).items():
            used[f"{name}_scoring"] = verdict.get("precision")
    return used


@contextlib.contextmanager
def kernel_environment(variables: dict):
    """Environment variables that the kernels started inside the block inherit; restored afterwards."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _execute(chosen: list[Path], declared: dict, params: dict, paths: RunPaths, record: dict,
             relay: ProgressRelay, pass_: str | None = None) -> None:
    """Run `chosen` notebooks in order, recording each step in run.json; a failure names notebook and cell."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    for i, nb in enumerate(chosen, 1):
        out = paths.results / "notebooks" / nb.name
        out.parent.mkdir(parents=True, exist_ok=True)
        relay.clear()
        print(f"[{i}/{len(chosen)}] {nb.stem} ...", flush=True)
        start = time.perf_counter()
        step = {"notebook": nb.stem, "executed": str(out), **({"pass": pass_} if pass_ else {})}
        try:
            papermill.execute_notebook(str(nb), str(out), kernel_name="python3", cwd=str(NOTEBOOK_DIR),
                                       parameters={k: v for k, v in params.items() if k in declared[nb.stem]},
                                       progress_bar=False, log_output=False,
                                       kernel_manager_class="helpers.run.IPCKernelManager")
        except PapermillExecutionError as err:
            relay.clear()
            step.update(status="failed", seconds=round(time.perf_counter() - start, 2))
            record["steps"].append(step)
            write_json(record, paths.results / "run.json")
            raise UserError(f"{nb.name} failed in cell {err.exec_count} (cell index {err.cell_index}): "
                            f"{err.ename}: {err.evalue.strip()}  [executed copy: {out}]") from None
        step.update(status="ok", seconds=round(time.perf_counter() - start, 2))
        record["steps"].append(step)
        record["finished"] = _now()
        write_json(record, paths.results / "run.json")
        relay.pump()
        relay.clear()
        print(f"[{i}/{len(chosen)}] {nb.stem} done in {step['seconds']:.1f}s", flush=True)


# score_test decides whether 04 scores test, not what the other steps make; reuse_predictions only whether 04 may
# read scores from the cache; workdir is where a run's files lie (records moved to results/records/ are the same run)
NOT_THE_WORK = ("score_test", "reuse_predictions", "workdir")


def same_work(recorded: dict, params: dict) -> bool:
    """True if two runs' parameters make the same artifacts (`work_differences` finds none)."""
    return not work_differences(recorded, params)


def work_differences(recorded: dict, params: dict) -> list[str]:
    """The parameters in which two runs differ, but for NOT_THE_WORK; a parameter one of them lacks differs (a record
    written before a parameter existed is not read with today's default: records are migrated instead)."""
    missing = object()
    return sorted(k for k in recorded.keys() | params.keys()
                  if k not in NOT_THE_WORK and recorded.get(k, missing) != params.get(k, missing))


def _earlier_steps(paths: RunPaths, params: dict, chosen: list[Path], pass_: str | None = None) -> list[dict]:
    """Steps of this run recorded earlier with parameters that make the same artifacts, which this call does not
    redo (so scoring a validated run on test with `--steps 04` keeps the record of its training); a named pass (the
    gate's) redoes only its own earlier steps, so a gated run records its validation pass and the gate's."""
    record_file = paths.results / "run.json"
    if not record_file.exists() or not same_work(read_json(record_file).get("parameters", {}), params):
        return []
    redo = {nb.stem for nb in chosen} | {"report"}
    return [step for step in read_json(record_file).get("steps", [])
            if step["notebook"] not in redo or step["notebook"] != "report" and step.get("pass") != pass_]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


PARAMETERS_FILE = PROJECT_ROOT / DOCS / "_parameters.md"  # Method includes it; `helpers.run --parameters` writes it


def literal(value) -> str:
    """A parameter's value as the parameters cells write it: strings quoted, True/False, numbers as Python prints
    them (so a YAML `false` and a cell's `False` read the same)."""
    return json.dumps(value) if isinstance(value, str) else repr(value)


def code(text: str) -> str:
    """`text` as a Markdown code span that cannot break a table row."""
    return "`" + str(text).replace("|", "\\|") + "`"


def parameters_markdown(profile: str = "offline") -> str:
    """Method's parameter reference, read from the notebooks' `parameters` cells: per notebook, each parameter with
    its default there (what JupyterLab runs), its value in the main job's `profile`, and its comment."""
    import papermill

    main_job = load_profile(profile)
    lines = ["<!-- written by python -m helpers.run --parameters, from the notebooks' parameters cells -->", ""]
    for notebook in notebooks():
        lines += [f"**{notebook_title(notebook.stem)}** (`notebooks/{notebook.name}`)", "",
                  f"| parameter | notebook default | `{profile}` | what it does |", "|---|---|---|---|"]
        for name, spec in papermill.inspect_notebook(str(notebook)).items():
            value = code(literal(main_job[name])) if name in main_job else "as the notebook"
            lines.append(f"| `{name}` | {code(literal(ast.literal_eval(spec['default'])))} | {value} | "
                         f"{md_text(spec['help'])} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m helpers.run", description=__doc__)
    parser.add_argument("--profile", default="offline", help="params/<name>.yaml or a YAML path (default: offline)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override one parameter; repeatable, e.g. --set epochs=2")
    parser.add_argument("--steps", nargs="*", help="run only these notebooks, e.g. --steps 03 04")
    parser.add_argument("--parameters", action="store_true", help="write Method's parameter reference "
                        "(docs/_parameters.md) from the notebooks' parameters cells, and nothing else")
    parser.add_argument("--final", action="store_true", help="a gated run: the notebooks on validation only, then "
                        "test scored through the gate (helpers.gate), which writes final.json if every check passes")
    args = parser.parse_args(argv)
    if args.parameters:
        PARAMETERS_FILE.write_text(parameters_markdown())
        print(f"wrote {PARAMETERS_FILE.relative_to(PROJECT_ROOT)}")
        return 0
    try:
        if args.final and args.steps:
            raise ConfigError("--final runs every notebook on validation, then the gate scores test: leave out --steps")
        overrides = parse_overrides(args.overrides)
        results = run_final(args.profile, overrides) if args.final else run(args.profile, overrides, args.steps)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"done: {results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
