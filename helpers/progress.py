"""Progress of long work (annotating, training, scoring).

In JupyterLab: ordinary tqdm bars in the notebook. In a batch run (`python -m helpers.run` sets
`HELPERS_PROGRESS_FILE`): the bar goes to that file, which the runner shows live on its terminal, and the
executed notebook gets one clean line per operation instead of a bar.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import threading
import time
from pathlib import Path

from tqdm import tqdm

PROGRESS_FILE = "HELPERS_PROGRESS_FILE"
# Set for the kernels of a batch run: third-party bars ("Loading weights", "Writing model shards", datasets' map)
# would only be noise in the executed notebooks.
QUIET_ENVIRONMENT = {"HF_HUB_DISABLE_PROGRESS_BARS": "1", "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
                     "TRANSFORMERS_VERBOSITY": "error", "TQDM_DISABLE": "1"}


def batch_mode() -> bool:
    """True inside a kernel started by the batch runner."""
    return bool(os.environ.get(PROGRESS_FILE))


@contextlib.contextmanager
def progress(total: int, desc: str, unit: str = "review"):
    """A tqdm bar for `total` units: in the notebook interactively; on the runner's terminal in a batch run."""
    if not batch_mode():
        from tqdm.auto import tqdm as auto_tqdm

        with auto_tqdm(total=total, desc=desc, unit=unit) as bar:
            yield bar
        return
    start = time.perf_counter()
    with open(os.environ[PROGRESS_FILE], "a", buffering=1, encoding="utf-8") as stream:
        bar = tqdm(total=total, desc=desc, unit=unit, file=stream, mininterval=1.0, ascii=True, ncols=110,
                   disable=False)
        try:
            yield bar
        finally:
            bar.close()
            stream.write("\n")
    print(f"{desc}: {bar.n:,} {unit}s in {time.perf_counter() - start:.1f} s", flush=True)


def _training_callback_base():
    from transformers import TrainerCallback

    return TrainerCallback


class TrainingProgress(_training_callback_base()):
    """The Trainer's steps as a `progress` bar, with the latest training loss and validation accuracy."""

    def __init__(self, name: str = "training"):
        self.name, self.bar, self.context = name, None, None

    def on_train_begin(self, args, state, control, **kwargs):
        self.context = progress(state.max_steps, f"{self.name}: training", unit="step")
        self.bar = self.context.__enter__()
        self.bar.update(state.global_step)  # resumed from a checkpoint

    def on_step_end(self, args, state, control, **kwargs):
        self.bar.update(state.global_step - self.bar.n)

    def on_log(self, args, state, control, logs=None, **kwargs):
        shown = {k: f"{v:.3f}" for k, v in (logs or {}).items() if k in ("loss", "eval_accuracy")}
        if shown and self.bar is not None:
            self.bar.set_postfix(shown, refresh=False)

    def on_train_end(self, args, state, control, **kwargs):
        if self.context is not None:
            self.context.__exit__(None, None, None)
            self.context = self.bar = None


class ProgressRelay(threading.Thread):
    """Shows the latest status written to the progress file: one updating line on a terminal, otherwise a
    line every `every` seconds and the last status of each bar."""

    def __init__(self, path: Path, stream=None, every: float = 30.0, poll: float = 0.5):
        super().__init__(daemon=True)
        self.path, self.stream, self.every, self.poll = Path(path), stream or sys.stderr, every, poll
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.lock, self.finished = threading.Lock(), threading.Event()
        self.status, self.shown, self.last_line, self.offset, self.on_screen = "", "", float("-inf"), 0, False
        self.path.touch()

    def run(self) -> None:
        while not self.finished.wait(self.poll):
            self.pump()
        self.pump(final=True)

    def pump(self, final: bool = False) -> None:
        """Read what was written since the last call and show it."""
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            data = handle.read().decode("utf-8", errors="replace")
            self.offset = handle.tell()
        with self.lock:
            *ended, current = data.split("\n") if data else [""]
            for line in ended:  # a newline ends a bar: its last status is where it ended
                last = next((piece.strip() for piece in reversed(line.split("\r")) if piece.strip()), "")
                if last:
                    self.status = last
                    if not self.tty and last != self.shown:
                        self._line(last)
            last = next((piece.strip() for piece in reversed(current.split("\r")) if piece.strip()), "")
            self.status = last or self.status
            if self.status and self.status != self.shown:
                if self.tty:
                    width = shutil.get_terminal_size((120, 20)).columns - 1
                    self.stream.write("\r\x1b[K" + self.status[:width])
                    self.stream.flush()
                    self.shown, self.on_screen = self.status, True
                elif final or time.monotonic() - self.last_line >= self.every:
                    self._line(self.status)

    def _line(self, text: str) -> None:
        self.stream.write(f"    {text}\n")
        self.stream.flush()
        self.shown, self.last_line = text, time.monotonic()

    def clear(self) -> None:
        """Remove the live line so the runner can print its own."""
        with self.lock:
            if self.on_screen:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
                self.on_screen = False

    def stop(self) -> None:
        """Show the final status and end."""
        self.finished.set()
        self.join()
        self.clear()
