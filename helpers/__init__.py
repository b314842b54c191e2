"""Helpers behind the IMDB teacher-student distillation notebooks."""

from .errors import install_short_errors

__version__ = "0.1.0"

install_short_errors()
