"""Name a model three ways: a hub id, a local folder, or `pkg:<module>` for a model shipped in a Python package."""

from __future__ import annotations

import importlib
import os

import torch

from .errors import ConfigError
from .paths import resolve

PACKAGE_PREFIX = "pkg:"


def model_source(name: str) -> str:
    """What `from_pretrained` should get for `name`: a local folder path, or the hub id unchanged."""
    if name.startswith(PACKAGE_PREFIX):
        module_name = name[len(PACKAGE_PREFIX):]
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            raise ConfigError(f"model {name!r}: package {module_name!r} is not installed "
                              f"(pip install {module_name.replace('_', '-')})") from None
        return str(module.get_model_path())
    local = resolve(name)
    if local.exists():
        if not (local / "config.json").exists():
            raise ConfigError(f"model folder {local} has no config.json: point at a folder saved "
                              "with save_pretrained, or use a hub id")
        return str(local)
    if name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise ConfigError(f"model folder {local} does not exist: check the path, or give a hub id")
    return name


def pick_device(device: str = "auto") -> torch.device:
    """`auto` takes the GPU when there is one; otherwise the named device."""
    if device == "auto":
        if not torch.cuda.is_available():
            return torch.device("cpu")
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))  # one GPU per torchrun process
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} asked for, but no CUDA GPU is visible; use device='auto' or 'cpu'")
    return torch.device(device)
