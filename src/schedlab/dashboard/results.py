"""Results folders the dashboard reads: the ``--out`` folders of simulate, compare, evaluate,
explain, bftrainer, energy (ecosched, ecoshift, open) and analyze.

A folder is untrusted input.  It is recognised by its files, read only through Parquet/JSON/PNG
readers (never unpickled), each file bounded in size (:data:`MAX_FILE_BYTES`), and every failure is a
:class:`~schedlab.errors.SchedlabError` whose one-line message the page shows: a folder that cannot
be read, one that holds no schedlab output, one written by an older schedlab whose tables lack
columns this version reads.  Symbolic links inside a folder are not followed.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from schedlab.errors import SchedlabError
from schedlab.report.outputs import MARKER

#: Largest file read from a results folder (a 300k-job jobs.parquet is ~10 MB).
MAX_FILE_BYTES = 512 * 1024 * 1024
#: Largest PNG shown inline (the analytics report's figures).
MAX_PNG_BYTES = 8 * 1024 * 1024

#: kind -> (files that identify it, columns its main table must have)
KINDS: dict[str, tuple[tuple[str, ...], dict[str, tuple[str, ...]]]] = {
    "simulate": (("jobs.parquet", "summary.json"), {"jobs": ("job_id", "submit", "start", "end", "wait", "size")}),
    "compare": (("comparison.parquet", "summary.json"), {"comparison": ("policy", "backfill", "mean_wait")}),
    "evaluate": (("evaluation.parquet", "summary.json"), {"evaluation": ("policy", "part", "mean_bsld")}),
    "explain": (("tree.json", "explain.json"), {}),
    "bftrainer": (
        ("events.parquet", "trainers.parquet", "allocations.parquet"),
        {"events": ("time", "idle_nodes", "used_nodes"), "allocations": ("time", "trainer", "nodes", "job_id")},
    ),
    "ecosched": (("jobs.parquet", "policies.parquet", "calibration.parquet"), {"jobs": ("job", "app", "policy")}),
    "ecoshift": (("policies.parquet", "summary.json"), {"policies": ("policy", "cap_w", "measured_mean")}),
    "analyze": (("report.html", "summary.json"), {}),
}
#: Which kinds a loaded file set matches first (more specific first).
ORDER = ("ecosched", "bftrainer", "explain", "evaluate", "compare", "analyze", "simulate", "ecoshift")


@dataclass
class Results:
    """One loaded results folder: its kind, summary, marker and tables (name -> DataFrame)."""

    path: Path
    kind: str
    summary: dict = field(default_factory=dict)
    marker: dict = field(default_factory=dict)
    tables: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def label(self) -> str:
        cfg = self.summary.get("config") if isinstance(self.summary.get("config"), dict) else {}
        if self.kind == "simulate" and cfg:
            return f"{self.name} ({cfg.get('policy', '?')}+{cfg.get('backfill', '?')})"
        return f"{self.name} ({self.kind})"


def _file(folder: Path, name: str) -> Path:
    p = folder / name
    if p.is_symlink():
        raise SchedlabError(f"{p} is a symbolic link; the dashboard does not follow links in a results folder")
    size = p.stat().st_size
    if size > MAX_FILE_BYTES:
        raise SchedlabError(
            f"{p} is {size / 2**20:.0f} MiB, over the {MAX_FILE_BYTES / 2**20:.0f} MiB the dashboard reads"
        )
    return p


def read_json(folder: Path, name: str) -> dict:
    try:
        data = json.loads(_file(folder, name).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SchedlabError(f"cannot read {folder / name}: {exc}") from None
    if not isinstance(data, dict):
        raise SchedlabError(f"{folder / name} is not a JSON object")
    return data


def read_table(folder: Path, name: str, columns: tuple[str, ...] = ()):
    """``folder/name.parquet`` as a DataFrame, checked for ``columns``."""
    import pandas as pd

    try:
        df = pd.read_parquet(_file(folder, f"{name}.parquet"))
    except SchedlabError:
        raise
    except Exception as exc:  # pyarrow raises many kinds for a damaged file
        raise SchedlabError(f"cannot read {folder / name}.parquet: {str(exc).splitlines()[0][:200]}") from None
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SchedlabError(
            f"{folder / name}.parquet lacks {', '.join(missing)}: a results folder from an older or other schedlab "
            "version; rerun the command that wrote it"
        )
    return df


def png_uri(path: Path) -> str | None:
    """A PNG as a data URI (None if it is too large or not a PNG)."""
    p = Path(path)
    if p.is_symlink() or not p.is_file() or p.stat().st_size > MAX_PNG_BYTES:
        return None
    data = p.read_bytes()
    if not data.startswith(b"\x89PNG"):
        return None
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def detect_kind(folder: Path, names: set[str]) -> str:
    for kind in ORDER:
        if set(KINDS[kind][0]) <= names:
            return kind
    raise SchedlabError(
        f"{folder} holds no schedlab results this dashboard shows (no jobs.parquet, comparison.parquet, "
        "evaluation.parquet, tree.json, events.parquet, policies.parquet or report.html: the --out of simulate, "
        "compare, evaluate, explain, bftrainer, energy ecosched|ecoshift or analyze)"
    )


def _check_version(folder: Path, marker: dict) -> None:
    from schedlab import __version__

    made = str(marker.get("schedlab", ""))
    if not made:
        raise SchedlabError(f"{folder / MARKER} names no schedlab version; rerun the command that wrote the folder")

    def minor(v: str) -> tuple:
        return tuple(int(p) if p.isdigit() else 0 for p in v.split(".")[:2])

    if minor(made) != minor(__version__) and made.split(".")[0] == "0":  # 0.x: a minor version may change a table
        which = "an older" if minor(made) < minor(__version__) else "a newer"
        raise SchedlabError(
            f"{folder} was written by schedlab {made}, this is {__version__}: a results folder from {which} version; "
            "rerun the command that wrote it"
        )


def load_results(path: str | Path) -> Results:
    """One results folder, read and checked (see the module doc)."""
    folder = Path(os.path.abspath(Path(path).expanduser()))
    if folder.is_symlink():
        raise SchedlabError(f"{folder} is a symbolic link; give the folder it points to")
    if not folder.is_dir():
        raise SchedlabError(f"{folder} is not a folder (or cannot be read)")
    try:
        names = {e.name for e in os.scandir(folder) if e.is_file(follow_symlinks=False)}
    except OSError as exc:
        raise SchedlabError(f"cannot read the folder {folder}: {exc.strerror or exc}") from None
    if MARKER not in names:
        raise SchedlabError(
            f"{folder} is not a finished schedlab results folder (no {MARKER}); give an --out folder of a schedlab "
            "command that finished"
        )
    marker = read_json(folder, MARKER)
    _check_version(folder, marker)
    kind = detect_kind(folder, names)
    summary = read_json(folder, "summary.json") if "summary.json" in names else {}
    res = Results(folder, kind, summary, marker)
    for table, cols in KINDS.get(kind, ((), {}))[1].items():
        res.tables[table] = read_table(folder, table, cols)
    for n in sorted(names):  # every other table, unchecked (shown as it is)
        stem = n.removesuffix(".parquet")
        if n.endswith(".parquet") and stem not in res.tables:
            res.tables[stem] = read_table(folder, stem)
    if kind == "explain":
        res.extra["tree"] = read_json(folder, "tree.json")
        res.extra["explain"] = read_json(folder, "explain.json")
    res.extra["pngs"] = sorted(n for n in names if n.endswith(".png"))
    return res


__all__ = ["KINDS", "MAX_FILE_BYTES", "Results", "load_results", "png_uri", "read_json", "read_table"]
