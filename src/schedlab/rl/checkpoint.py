"""Checkpoint files: a trained model (``model.pt``) and the resumable training state (``last.pt``).

Format ``schedlab-rl/1``: a dict with ``format``, ``meta`` (plain data: ``agent``,
``env_kwargs`` = the environment options that define the agent's decisions, see
:data:`schedlab.rl.options.CHECKPOINT_FIELDS`, ``ppo``, where it came from, validation scores)
and ``model`` (the network's state dict).  ``last.pt`` adds what exact resume needs: the
optimiser, the progress counters, every environment's state and every RNG's state.

Files are written atomically (a temporary file, then a rename), so a run killed while saving
never leaves a half-written checkpoint.  They are read with ``torch.load(weights_only=True)``, so a
file cannot run code when it is loaded: besides tensors and plain containers, only numeric numpy
arrays (the environment and RNG states of ``last.pt``) may be built (:data:`SAFE_GLOBALS`).  Every
checkpoint schedlab has written loads so; anything else is refused in one line.
"""

from __future__ import annotations

import random
import zipfile
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


#: what ``torch.load(weights_only=True)`` may build besides tensors and plain containers: numpy
#: arrays of numeric dtypes (the RNG and environment states of ``last.pt``); never an object array,
#: a function or a class of schedlab or anyone else
SAFE_GLOBALS = [
    np._core.multiarray._reconstruct,
    np.ndarray,
    np.dtype,
    *sorted(
        {type(np.dtype(t)) for t in ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                                      "uint64", "float16", "float32", "float64")},
        key=lambda c: c.__name__,
    ),
]  # fmt: skip


def _reason(exc: Exception) -> str:
    """The informative line of a loader error (torch's weights-only errors are paragraphs)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    for i, ln in enumerate(lines):
        if "WeightsUnpickler error:" in ln:
            rest = ln.split("WeightsUnpickler error:", 1)[1].strip()
            return rest or (lines[i + 1] if i + 1 < len(lines) else ln)
    return lines[0] if lines else ""


def read_checkpoint(path: str | Path) -> dict:
    """The raw checkpoint dict, or a SchedlabError that says what is wrong with the file."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.pt"
    if not path.exists():
        raise SchedlabError(f"model file {path} does not exist")
    if not zipfile.is_zipfile(path):  # every checkpoint torch.save writes is a zip archive
        raise SchedlabError(f"{path} is not a readable schedlab model (not a PyTorch checkpoint archive)")
    try:
        with torch.serialization.safe_globals(SAFE_GLOBALS):
            ck = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any unpickling / zip error, or a global outside the allow-list
        reason = _reason(exc)
        raise SchedlabError(f"{path} is not a readable schedlab model ({type(exc).__name__}: {reason})") from None
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
