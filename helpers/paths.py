"""Where a run's artifacts live, and writing them so a crash never leaves a half-file."""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def resolve(path: str | os.PathLike) -> Path:
    """Absolute path; a relative one is taken from the project root, as in the README."""
    path = Path(path).expanduser()
    return path if path.is_absolute() else (PROJECT_ROOT / path).resolve()


@dataclass(frozen=True)
class RunPaths:
    """Every file a run reads or writes, under `workdir`, grouped by run name."""

    workdir: Path
    run_name: str

    @classmethod
    def of(cls, workdir: str, run_name: str) -> "RunPaths":
        """Paths of run `run_name` under `workdir` (relative to the project root)."""
        if not run_name or any(sep in run_name for sep in "/\\") or run_name.startswith("."):
            raise ConfigError(f"run_name {run_name!r} must be a plain folder name (no '/', '\\' or leading '.'), "
                              "e.g. 'offline' or 'offline-2ep'")
        return cls(resolve(workdir), run_name)

    @property
    def data(self) -> Path:
        return self.workdir / "data" / self.run_name

    @property
    def cache(self) -> Path:
        """Teacher annotations keyed by content: shared by all runs, never overwritten."""
        return self.workdir / "data" / "cache"

    @property
    def models(self) -> Path:
        return self.workdir / "models" / self.run_name

    @property
    def student(self) -> Path:
        return self.models / "distilled_sentiment"

    @property
    def checkpoints(self) -> Path:
        return self.models / "checkpoints"

    @property
    def gold_student(self) -> Path:
        """The ceiling: the same student trained on the true labels of the same training reviews."""
        return self.models / "gold_supervised"

    @property
    def gold_checkpoints(self) -> Path:
        return self.models / "checkpoints_gold"

    @property
    def results(self) -> Path:
        return self.workdir / "results" / self.run_name

    @property
    def figures(self) -> Path:
        return self.results / "figures"

    def reviews(self, split: str) -> Path:
        """01's output: the sampled reviews of `split`."""
        return self.data / f"{split}_reviews.csv"

    def annotated(self, split: str) -> Path:
        """02's output: `split`'s reviews with the teacher's label and class probabilities."""
        return self.data / f"{split}_teacher_annotated.csv"


def run_name(sweep: str, variant: str, seed: int) -> str:
    """The run name of one variant and seed of a sweep: `<sweep>-<variant>-s<seed>`."""
    return f"{sweep}-{variant}-s{seed}"


@contextmanager
def atomic_path(target: str | os.PathLike):
    """Yield a temp path beside `target`; rename it onto `target` only if the block succeeds."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        plain_mode(tmp)  # mkstemp makes 0600
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def plain_mode(path: str | os.PathLike) -> None:
    """Give `path` the mode a plain open() would have: 0666 less the umask."""
    os.chmod(path, 0o666 & ~current_umask())


def plain_modes(folder: str | os.PathLike) -> None:
    """`plain_mode` for every file under `folder` (transformers writes its shards through 0600 temp files)."""
    for file in Path(folder).rglob("*"):
        if file.is_file():
            plain_mode(file)


def current_umask() -> int:
    """The process's file-creation mask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_json(obj, target: str | os.PathLike) -> Path:
    """Write `obj` as indented JSON, atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, default=str) + "\n")
    return Path(target)


def write_csv(frame: pd.DataFrame, target: str | os.PathLike) -> Path:
    """Write `frame` as CSV without its index, atomically."""
    with atomic_path(target) as tmp:
        frame.to_csv(tmp, index=False)
    return Path(target)


def read_json(source: str | os.PathLike):
    """Read a JSON file."""
    return json.loads(Path(source).read_text())
