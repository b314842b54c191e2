"""Helpers behind the IMDB teacher-student distillation notebooks."""

import warnings

from .errors import install_short_errors

__version__ = "0.1.0"

install_short_errors()
# Libraries import tqdm.auto, which warns in notebooks without ipywidgets; the text bars it falls back to are fine.
warnings.filterwarnings("ignore", message="IProgress not found", category=Warning)
