"""Guessing the format of a job file or folder."""

from __future__ import annotations

import gzip
import re
import zlib
from pathlib import Path

from schedlab.errors import JobFormatError
from schedlab.workload.jobtables.schema import FORMATS

#: how the Alibaba GPU pod list's header starts (``openb_pod_list_*.csv``)
POD_HEADER = "name,cpu_milli,memory_mib,num_gpu,gpu_milli"
#: an SWF data line: whitespace-separated plain numbers only
_SWF_LINE = re.compile(r"\s*(?:[+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?\s+){5,}[+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?\s*", re.ASCII)


def detect_format(path: Path) -> str:
    """Guess the format from the name and the first bytes / Parquet schema."""
    path = Path(path)
    if path.is_dir():
        if (path / "jobs.parquet").exists() or (path / "jobs.csv").exists():
            return "schedlab"
        if (path / "tasks.parquet").exists():
            return "opendc"
        raise JobFormatError(f"{path}: a folder without jobs.parquet (schedlab) or tasks.parquet (OpenDC)")
    name = path.name.lower()
    if name.endswith((".swf", ".swf.gz")):
        return "swf"
    if name.endswith((".json", ".json.gz")):
        return "sacct_json"
    if name.endswith(".parquet"):
        import pyarrow.parquet as pq

        try:
            cols = set(pq.read_schema(path).names)
        except (OSError, ValueError) as exc:  # pyarrow: "Parquet magic bytes not found", truncated file
            raise JobFormatError(f"{path}: not a readable Parquet file ({str(exc).strip()[:200]})") from None
        if {"submission_time", "duration", "id"} <= cols:
            return "opendc"
        if {"bsld", "procs", "start", "end", "job_id"} <= cols:
            return "schedlab"
        return "parquet"
    head = _head(path)
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    if text.lstrip().startswith("{"):
        return "sacct_json"
    lines = [ln for ln in text.splitlines() if ln.strip()]
    first = lines[0] if lines else ""
    if first.lstrip().startswith(";") or _SWF_LINE.fullmatch(first):
        return "swf"
    if "|" in first:
        return "sacct"
    low = first.lower()
    if low.replace(" ", "").startswith(POD_HEADER):
        return "alibaba_pods"
    if "bsld" in low and "procs" in low:
        return "schedlab"
    if "," in first:
        return "csv"
    raise JobFormatError(f"{path}: cannot tell the format (give --format {'|'.join(FORMATS[1:])})")


def _head(path: Path) -> bytes:
    """The first 4 KiB of the file, decompressed when it is gzip."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
        if head[:2] == b"\x1f\x8b":
            with gzip.open(path, "rb") as fh:
                head = fh.read(4096)
    except (OSError, EOFError, zlib.error) as exc:
        raise JobFormatError(f"{path}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    return head
