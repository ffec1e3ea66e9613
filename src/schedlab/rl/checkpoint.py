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

from schedlab.errors import ModelFormatError

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
    """The informative line of a loader error (torch's weights-only errors are paragraphs), cut short."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    reason = lines[0] if lines else ""
    for i, ln in enumerate(lines):
        if "WeightsUnpickler error:" in ln:
            rest = ln.split("WeightsUnpickler error:", 1)[1].strip()
            reason = rest or (lines[i + 1] if i + 1 < len(lines) else ln)
            break
    return reason if len(reason) <= 200 else reason[:197] + "..."


#: the largest checkpoint file read at all, and the largest pickle (``data.pkl``) in it: a model's
#: is a few KiB (its weights are separate records), a training state's holds the environments' arrays
MAX_FILE_BYTES = 1 << 30
MODEL_PICKLE_BYTES = 16 << 20
STATE_PICKLE_BYTES = 512 << 20
MAX_RECORDS = 10_000  # entries in the archive (one per tensor, plus a few)


def short(value, limit: int = 40) -> str:
    """``value`` for an error message, in one short line: a scalar's repr (cut at ``limit``
    characters), anything else only its type (a hostile container's repr can be enormous)."""
    if isinstance(value, bool | float | None | str) or (isinstance(value, int) and value.bit_length() < 64):
        text = repr(value)
        return text if len(text) <= limit else text[: limit - 3] + "..."
    return f"a value of type {type(value).__name__}"


def _check_archive(path: Path, pickle_limit: int) -> None:
    """Refuse, before torch reads anything, a file that is too large, not a zip archive, or whose
    entries are compressed or declare more bytes than the file holds (torch.save stores every
    entry uncompressed, so what torch then allocates is bounded by the file's size)."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ModelFormatError(f"{path} is {size:,} bytes, more than a schedlab checkpoint may be ({MAX_FILE_BYTES:,})")
    bad = f"{path} is not a readable schedlab model"
    if not zipfile.is_zipfile(path):  # every checkpoint torch.save writes is a zip archive
        raise ModelFormatError(f"{bad} (not a PyTorch checkpoint archive)")
    try:
        with zipfile.ZipFile(path) as zf:
            entries = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ModelFormatError(f"{bad} (broken zip archive: {_reason(exc)})") from None
    if len(entries) > MAX_RECORDS:
        raise ModelFormatError(f"{bad} (the archive has {len(entries):,} entries)")
    for e in entries:
        if e.compress_type != zipfile.ZIP_STORED or e.file_size != e.compress_size:
            raise ModelFormatError(f"{bad} (entry {e.filename[-60:]!r} is compressed; torch.save never compresses)")
        if e.header_offset + e.compress_size > size:
            raise ModelFormatError(f"{bad} (entry {e.filename[-60:]!r} claims more bytes than the file holds)")
        if e.filename.endswith("data.pkl") and e.file_size > pickle_limit:
            raise ModelFormatError(f"{bad} (its pickle is {e.file_size:,} bytes, more than {pickle_limit:,})")


def _check_layout(path: Path, ck) -> None:
    """The checkpoint's top level: a dict of format, meta (a dict naming the agent and its options)
    and model (a state dict: names to tensors).  What is inside (options, weights) is checked by
    :func:`schedlab.rl.agents.load_policy` against the network the options build."""
    if not isinstance(ck, dict) or not isinstance(ck.get("format"), str) or ck["format"] != CHECKPOINT_FORMAT:
        raise ModelFormatError(f"{path} is not a schedlab model (expected format {CHECKPOINT_FORMAT})")
    meta, state = ck.get("meta"), ck.get("model")
    bad = f"{path} is not a valid schedlab model:"
    if not isinstance(meta, dict):
        raise ModelFormatError(f"{bad} its meta is {short(meta)}, not a dict")
    if not isinstance(meta.get("agent"), str):
        raise ModelFormatError(f"{bad} meta['agent'] is {short(meta.get('agent'))}, not an agent name")
    options = meta.get("env_kwargs")
    if not isinstance(options, dict) or not all(isinstance(k, str) for k in options):
        raise ModelFormatError(f"{bad} meta['env_kwargs'] is not a dict of named options")
    if not isinstance(state, dict):
        raise ModelFormatError(f"{bad} its weights are {short(state)}, not a state dict")
    if not state:
        raise ModelFormatError(f"{bad} it holds no weights")
    for name, value in state.items():
        if not isinstance(name, str):
            raise ModelFormatError(f"{bad} a weight is named {short(name)}, not a string")
        if not isinstance(value, torch.Tensor):
            raise ModelFormatError(f"{bad} weight {short(name)} is {short(value)}, not a tensor")


def read_checkpoint(path: str | Path, pickle_limit: int = MODEL_PICKLE_BYTES) -> dict:
    """The raw checkpoint dict, or a :class:`ModelFormatError` that says what is wrong with the
    file: missing, too large, not a (plain, uncompressed) torch archive, a pickle that would build
    anything but tensors and plain data, or a top level that is not a schedlab checkpoint's."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.pt"
    if not path.exists():
        raise ModelFormatError(f"model file {path} does not exist")
    if not path.is_file():  # a device or a pipe could be endless or block forever
        raise ModelFormatError(f"{path} is not a regular file")
    _check_archive(path, pickle_limit)
    try:
        with torch.serialization.safe_globals(SAFE_GLOBALS):
            ck = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any unpickling / zip error, or a global outside the allow-list
        reason = _reason(exc)
        raise ModelFormatError(f"{path} is not a readable schedlab model ({type(exc).__name__}: {reason})") from None
    _check_layout(path, ck)
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


def _check_training_state(path: Path, ck: dict) -> Progress:
    """``last.pt``'s progress counters, RNG states and model weights, checked without touching the
    running process (the RNG states are tried on fresh generators)."""
    from schedlab.rl.agents import model_network, saved_options

    bad = f"{path} is not a valid training state:"
    fields = asdict(Progress())
    for name, default in fields.items():
        value = ck.get(name, default)
        if isinstance(value, bool) or not isinstance(value, type(default) | int):
            raise ModelFormatError(f"{bad} {name} is {short(value)}, not a number")
        if isinstance(default, int) and not 0 <= value < 2**62:
            raise ModelFormatError(f"{bad} {name} is {short(value)}, out of range")
        if name == "elapsed_s" and not 0 <= value < float("inf"):
            raise ModelFormatError(f"{bad} {name} is {short(value)}, out of range")
        if value != value:  # NaN
            raise ModelFormatError(f"{bad} {name} is NaN")
    model_network(path, ck["meta"]["agent"], saved_options(path, ck["meta"]), ck["model"])
    rng, envs, opt = ck.get("rng"), ck.get("envs"), ck.get("optimizer")
    if not isinstance(rng, dict) or not isinstance(envs, list) or not isinstance(opt, dict):
        raise ModelFormatError(f"{bad} its rng, envs or optimizer entry is missing or of the wrong type")
    try:
        random.Random().setstate(rng["python"])
        np.random.RandomState().set_state(rng["numpy"])
        torch.Generator().set_state(rng["torch"])
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as exc:
        raise ModelFormatError(f"{bad} its random-number states do not restore ({_reason(exc)})") from None
    return Progress(**{k: ck.get(k, fields[k]) for k in fields})


def read_training_state(path: Path) -> tuple[dict, Progress]:
    """(the raw ``last.pt`` dict, its progress), checked (:func:`_check_training_state`); the dict's
    ``source`` is the file, for :func:`restore_training_state`'s errors."""
    path = Path(path)
    ck = read_checkpoint(path, pickle_limit=STATE_PICKLE_BYTES)
    progress = _check_training_state(path, ck)
    return {**ck, "source": str(path)}, progress


def restore_training_state(ck: dict, net, optimizer, envs: list) -> None:
    """Load the weights, the optimiser, the environments' states and the RNGs of ``last.pt``; a
    ModelFormatError naming the file when its optimiser or environment states do not fit."""
    try:
        net.load_state_dict(ck["model"])
        optimizer.load_state_dict(ck["optimizer"])
        if len(ck["envs"]) != len(envs):
            raise ValueError(f"it holds {len(ck['envs'])} environment states, the run has {len(envs)}")
        for e, st in zip(envs, ck["envs"], strict=True):
            e.set_state(st)
        random.setstate(ck["rng"]["python"])
        np.random.set_state(ck["rng"]["numpy"])
        torch.set_rng_state(ck["rng"]["torch"])
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError, AttributeError) as exc:
        where = ck.get("source", "the training state")
        raise ModelFormatError(f"{where} cannot be resumed from ({type(exc).__name__}: {_reason(exc)})") from None


__all__ = [
    "CHECKPOINT_FORMAT",
    "Progress",
    "read_checkpoint",
    "read_training_state",
    "restore_training_state",
    "save_checkpoint",
    "save_training_state",
]
