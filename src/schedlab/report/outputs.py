"""The one writer: the machine-readable output folder every command writes (summary.json, each
table as Parquet and CSV, and plots), every file written atomically.

A file is written to a temporary name in its own folder and renamed over the target, so a
reader never sees half a file and an interrupted run leaves the old file in place.  A target
that is a symbolic link is refused: outputs are never written through a link.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from schedlab.errors import SchedlabError


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path``; renamed onto ``path`` when the block ends without error."""
    path = Path(path)
    if path.is_symlink():
        raise SchedlabError(f"refusing to write through a symbolic link: {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text(path: Path, text: str) -> Path:
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text)
    return Path(path)


def json_safe(obj):
    """``obj`` with every non-finite float (NaN, ±inf) replaced by None, recursively, and numpy
    scalars as Python numbers: what strict JSON readers accept."""
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if hasattr(obj, "item") and getattr(obj, "ndim", None) == 0:  # numpy scalar
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def dumps(obj, **kw) -> str:
    """Strict JSON (no NaN/Infinity: see :func:`json_safe`)."""
    return json.dumps(json_safe(obj), allow_nan=False, **kw)


def write_json(path: Path, obj, indent: int | None = 2) -> Path:
    return write_text(path, dumps(obj, indent=indent))


def write_frame(out: Path, name: str, df) -> list[str]:
    """``df`` as ``out/name.parquet`` and ``out/name.csv``; the two paths."""
    pq, csv = Path(out) / f"{name}.parquet", Path(out) / f"{name}.csv"
    with atomic_path(pq) as tmp:
        df.to_parquet(tmp, index=False)
    with atomic_path(csv) as tmp:
        df.to_csv(tmp, index=False)
    return [str(pq), str(csv)]


def write_outputs(out: Path, summary: dict, frames: dict, plots) -> list[str]:
    """Write ``summary`` and ``frames`` (name -> DataFrame) into ``out``; ``plots`` are callables
    that draw one PNG each and return its path.  Returns every path written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = [str(write_json(out / "summary.json", summary))]
    for name, df in frames.items():
        written += write_frame(out, name, df)
    for make in plots:
        written.append(str(make()))
    return written


__all__ = ["atomic_path", "dumps", "json_safe", "write_frame", "write_json", "write_outputs", "write_text"]
