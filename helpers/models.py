"""Name a model three ways: a hub id, a local folder, or `pkg:<module>` for a model shipped in a Python package."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

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


def files_digest(folder: Path, chosen) -> str:
    """A short hash of the names and contents of the files in `folder` for which `chosen(path)` is true."""
    import hashlib

    digest = hashlib.sha256()
    for file in sorted(Path(folder).iterdir()):
        if file.is_file() and chosen(file):
            digest.update(file.name.encode())
            with open(file, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 22), b""):
                    digest.update(block)
    return digest.hexdigest()[:20]


def model_identity(name: str) -> dict:
    """What tells two versions of a model apart: the hash of its config and weights (local folder or package),
    plus the package version; for a hub model its cached revision (commit hash) when known.
    """
    from importlib.metadata import PackageNotFoundError, version

    identity = {}
    if name.startswith(PACKAGE_PREFIX):
        module = name[len(PACKAGE_PREFIX):]
        try:
            identity["package_version"] = version(module.replace("_", "-"))
        except PackageNotFoundError:
            identity["package_version"] = None
    source = Path(model_source(name))
    if source.is_dir():
        identity["files_sha256"] = files_digest(source, lambda f: f.suffix in (".json", ".safetensors", ".bin", ".txt",
                                                                                ".model"))
    else:
        identity["revision"] = hub_revision(name)
    return identity


def hub_revision(name: str) -> str | None:
    """The commit hash of the hub model's cached snapshot, if one is cached (None: unknown)."""
    try:
        from huggingface_hub import scan_cache_dir

        revisions = [rev for repo in scan_cache_dir().repos if repo.repo_id == name and repo.repo_type == "model"
                     for rev in repo.revisions if "main" in rev.refs]
        return revisions[0].commit_hash if revisions else None
    except Exception:  # no cache yet, or an unreadable one: the name alone keys the cache
        return None


def hub_reachable(timeout: float = 5.0) -> bool:
    """True if the Hugging Face hub's host answers a TCP connection within `timeout` seconds."""
    import socket
    from urllib.parse import urlparse

    from huggingface_hub import constants

    url = urlparse(constants.ENDPOINT)
    try:
        socket.create_connection((url.hostname, url.port or 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def go_offline_if_hub_unreachable() -> bool:
    """Set HF_HUB_OFFLINE=1 (for this process and the kernels it starts) when the hub can't be reached.

    Offline, the libraries use their local caches and fail in seconds instead of retrying for minutes.
    """
    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes"):
        return True
    if hub_reachable():
        return False
    os.environ["HF_HUB_OFFLINE"] = "1"
    print("the Hugging Face hub is unreachable: working offline (HF_HUB_OFFLINE=1), from local caches only")
    return True


def hub_error(what: str, name: str, parameter: str, err: Exception) -> ConfigError:
    """A one-line explanation of a failed hub download, with the two ways out."""
    reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return ConfigError(f"could not get {what} {name!r} from the Hugging Face hub ({reason}). Download it where "
                       f"there is a network (`hf download {name}`) and set {parameter}=<local folder>, "
                       "or run the offline profile (--profile offline)")


def from_pretrained(loader, name: str, parameter: str, **kwargs):
    """`loader.from_pretrained` for a hub id, local folder or `pkg:<module>`; hub failures become one line."""
    source = model_source(name)
    try:
        return loader.from_pretrained(source, **kwargs)
    except OSError as err:
        if source != name:  # a local folder: its own error says more
            raise
        raise hub_error("model", name, parameter, err) from None


def pick_device(device: str = "auto") -> torch.device:
    """`auto` takes the GPU when there is one; otherwise the named device."""
    if device == "auto":
        if not torch.cuda.is_available():
            return torch.device("cpu")
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))  # one GPU per torchrun process
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} asked for, but no CUDA GPU is visible; use device='auto' or 'cpu'")
    return torch.device(device)
