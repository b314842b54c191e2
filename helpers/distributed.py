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


def barrier() -> None:
    """Wait until every process gets here; joins the launcher's process group (gloo on CPU) if needed."""
    if rank_and_world()[1] == 1:
        return
    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    dist.barrier()
