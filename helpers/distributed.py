"""Several processes (torchrun / accelerate launch) sharing one job: who am I, and wait for the others."""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


def rank_and_world() -> tuple[int, int]:
    """This process's rank and the number of processes, from the launcher's environment (0, 1 alone)."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def is_main() -> bool:
    """True in the process that writes shared outputs."""
    return rank_and_world()[0] == 0


def local_device() -> torch.device | None:
    """This process's GPU under torchrun (LOCAL_RANK), made current so NCCL and autocast use it; None on CPU."""
    if not torch.cuda.is_available():
        return None
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    torch.cuda.set_device(device)
    return device


def barrier() -> None:
    """Wait until every process gets here; joins the launcher's process group if needed: NCCL bound to this
    process's own GPU (so ranks never share GPU 0), gloo on CPU."""
    if rank_and_world()[1] == 1:
        return
    if not dist.is_initialized():
        device = local_device()
        if device is not None:
            dist.init_process_group("nccl", device_id=device)
        else:
            dist.init_process_group("gloo")
    dist.barrier(**({"device_ids": [torch.cuda.current_device()]} if torch.cuda.is_available() else {}))
