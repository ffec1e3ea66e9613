"""Where schedlab looks for measured datasets it reads but does not ship.

Several datasets (BFTrainer's node map, EcoSched's GPU profiles, OPEN's power-cap matrix, the
SURF Lisa and Marconi100 traces) have no licence of their own, so they are not in the wheel.  Every
reader finds them the same way: ``--data-dir`` if given, else ``$SCHEDLAB_DATA``, else the user
cache that ``schedlab data fetch`` fills (``~/.cache/schedlab/data``), else a ``shared/data``
folder beside a source checkout (how CI and the project's own machines have them).

``DataNotFound`` is declared in :mod:`schedlab.errors` and re-exported here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from schedlab.errors import DataNotFound, OptionError


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/schedlab/data`` (default ``~/.cache/schedlab/data``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "schedlab" / "data"


def data_roots(data_dir: Path | None = None) -> list[Path]:
    """The folders searched, in order.  An explicit ``data_dir`` is the only one searched."""
    if data_dir is not None:
        return [Path(data_dir)]
    out = []
    if os.environ.get("SCHEDLAB_DATA"):
        out.append(Path(os.environ["SCHEDLAB_DATA"]))
    out.append(cache_dir())
    repo = Path(__file__).resolve().parents[3]  # src/schedlab/datasets/find.py -> checkout root
    out += [repo.parent / "shared" / "data", Path.cwd().parent / "shared" / "data"]
    return out


def find_dataset(
    name: str, required: Iterable[str], data_dir: Path | None = None, fetch_hint: str | None = None
) -> Path:
    """The folder ``<root>/<name>`` (or ``<root>`` itself) that holds every file in ``required``.

    Raises :class:`DataNotFound` naming every folder tried and how to get the data.
    """
    required = tuple(required)
    tried = []
    for root in data_roots(data_dir):
        for folder in (root / name, root):
            tried.append(str(folder))
            if all((folder / f).exists() for f in required):
                return folder
    hint = fetch_hint or f"run `schedlab data fetch {name}` or pass --data-dir"
    raise DataNotFound(f"{name} data not found (looked in " + ", ".join(dict.fromkeys(tried)) + f"); {hint}")


def resolve_data_path(spec: str, data_dir: Path | None = None) -> Path:
    """``data:DATASET/FILE`` -> the file of a dataset found by :func:`find_dataset`, e.g.
    ``data:surf_lisa/surf_week/tasks.parquet``; the path stays inside the dataset (no ``..``, no
    absolute path, no symlink leading out).  Raises :class:`OptionError` / :class:`DataNotFound`."""
    name, _, rest = spec.removeprefix("data:").partition("/")
    if not name or not rest:
        raise OptionError(f"{spec!r}: write data:DATASET/PATH, e.g. data:surf_lisa/surf_week/tasks.parquet")
    parts = Path(rest).parts
    if "/" in name or name in (".", "..") or Path(rest).is_absolute() or ".." in parts:
        raise OptionError(f"{spec!r}: a data: path stays inside its dataset (no '..', no absolute path)")
    root = find_dataset(name, [rest], data_dir)
    path = root / rest
    if not path.resolve().is_relative_to(root.resolve()):  # a symlink inside the dataset pointing out
        raise OptionError(f"{spec!r} leads outside the {name} dataset")
    return path


__all__ = ["DataNotFound", "cache_dir", "data_roots", "find_dataset", "resolve_data_path"]
