"""One home for the project's caches, all under `<workdir>/data/cache/<kind>/`: the teacher's annotations, each label
source's scores, precision verdicts, the gold ceiling and students' predictions.

One way to key an entry (`key`: a short hash of what the entry depends on), one way to write one file whole
(`paths.atomic_path`) and one way to write a folder whole (`complete_folder`), so an entry is complete or absent.
Every entry that holds a model's outputs keys, beside what the model is, how they were computed (`inference.computed_on`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from .paths import current_umask


def key(obj) -> str:
    """Short stable hash of a string or a JSON-able object: a cache entry's name."""
    data = obj if isinstance(obj, str) else json.dumps(obj, sort_keys=True)
    return hashlib.sha256(data.encode("utf-8", "surrogatepass")).hexdigest()[:20]


def texts_key(texts) -> str:
    """One key for a list of review texts (order counts)."""
    return key("\x00".join(texts))


def libraries() -> dict:
    """The versions of the libraries that compute a model's outputs: part of every key of model work."""
    import torch
    import transformers

    return {"torch": torch.__version__, "transformers": transformers.__version__}


@contextmanager
def complete_folder(target: Path):
    """Yield an empty staging folder, unique to this process, beside `target`; when the block succeeds it becomes
    `target` in one rename, so `target` is complete or absent. If another process put `target` in place first,
    theirs is kept and this one discarded; if the block fails, nothing is left behind."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial"))
    os.chmod(staging, 0o777 & ~current_umask())  # mkdtemp makes 0700; a folder gets what a plain mkdir would
    try:
        yield staging
        try:
            os.rename(staging, target)
        except OSError:
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
