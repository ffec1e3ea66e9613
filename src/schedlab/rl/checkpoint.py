"""Checkpoint files: a trained model (``model.pt``) and the resumable training state (``last.pt``).

Format ``schedlab-rl/1``: a dict with ``format``, ``meta`` (plain data: ``agent``,
``env_kwargs`` = the environment options that define the agent's decisions, see
:data:`schedlab.rl.options.CHECKPOINT_FIELDS`, ``ppo``, where it came from, validation scores)
and ``model`` (the network's state dict).  ``last.pt`` adds what exact resume needs: the
optimiser, the progress counters, every environment's state and every RNG's state.

Files are written atomically (a temporary file, then a rename), so a run killed while saving
never leaves a half-written checkpoint.  They are read with ``torch.load(weights_only=False)``:
``last.pt`` holds numpy arrays (environment and RNG states), which the weights-only loader needs
allow-listed, and its errors on a file that is not a checkpoint are long multi-line texts instead
of the one-line message below.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path

import numpy as np
import torch

from schedlab.errors import SchedlabError

CHECKPOINT_FORMAT = "schedlab-rl/1"


def plain(obj):
    """``obj`` with every enum member replaced by its value (recursively through dicts, lists and
    tuples), so that a checkpoint holds only types ``torch.load(weights_only=True)`` accepts and no
    reference to a schedlab class."""
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, dict):
        return {plain(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(plain(v) for v in obj)
    return obj


def save_checkpoint(path: str | Path, net: torch.nn.Module, meta: dict, extra: dict | None = None) -> None:
    """Write ``net``'s weights with ``meta`` (and ``extra`` top-level entries) to ``path``, atomically.
    Enum members in ``meta`` are stored as their values (see :func:`plain`)."""
    meta = plain(meta)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save({"format": CHECKPOINT_FORMAT, "meta": meta, "model": net.state_dict(), **(extra or {})}, tmp)
    tmp.replace(path)  # atomic: a run killed while saving never leaves a half-written checkpoint


def read_checkpoint(path: str | Path) -> dict:
    """The raw checkpoint dict, or a SchedlabError that says what is wrong with the file."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.pt"
    if not path.exists():
        raise SchedlabError(f"model file {path} does not exist")
    try:
        ck = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # any unpickling / zip error: the file is not a checkpoint
        raise SchedlabError(f"{path} is not a readable schedlab model ({type(exc).__name__}: {exc})") from None
    if not isinstance(ck, dict) or ck.get("format") != CHECKPOINT_FORMAT:
        raise SchedlabError(f"{path} is not a schedlab model (expected format {CHECKPOINT_FORMAT})")
    return ck


# -- the resumable training state ------------------------------------------------------------------
@dataclass
class Progress:
    """Where a training run is: counters saved in ``last.pt`` and restored on resume."""

    update: int = 0
    global_step: int = 0
    best: float = -np.inf  # -(best validation score so far); higher is better
    episodes: int = 0
    stage: int = 0  # index of the curriculum stage
    elapsed_s: float = 0.0  # training time before this process (resume)


def save_training_state(path: Path, net, meta: dict, optimizer, progress: Progress, envs: list) -> None:
    """``last.pt``: the model, the optimiser, the progress, every environment's state and every RNG's."""
    save_checkpoint(
        path,
        net,
        meta,
        {
            "optimizer": optimizer.state_dict(),
            "update": progress.update,
            "global_step": progress.global_step,
            "best": progress.best,
            "episodes": progress.episodes,
            "stage": progress.stage,
            "envs": [e.get_state() for e in envs],
            "elapsed_s": progress.elapsed_s,
            "rng": {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()},
        },
    )


def read_training_state(path: Path) -> tuple[dict, Progress]:
    """(the raw ``last.pt`` dict, its progress)."""
    ck = read_checkpoint(path)
    fields = asdict(Progress())
    progress = Progress(**{k: ck[k] if k in ck else fields[k] for k in fields})
    return ck, progress


def restore_training_state(ck: dict, net, optimizer, envs: list) -> None:
    """Load the weights, the optimiser, the environments' states and the RNGs of ``last.pt``."""
    net.load_state_dict(ck["model"])
    optimizer.load_state_dict(ck["optimizer"])
    for e, st in zip(envs, ck["envs"], strict=False):
        e.set_state(st)
    random.setstate(ck["rng"]["python"])
    np.random.set_state(ck["rng"]["numpy"])
    torch.set_rng_state(ck["rng"]["torch"])


__all__ = [
    "CHECKPOINT_FORMAT",
    "Progress",
    "read_checkpoint",
    "read_training_state",
    "restore_training_state",
    "save_checkpoint",
    "save_training_state",
]
