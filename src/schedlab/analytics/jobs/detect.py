"""Guessing the format of a job file or folder."""

from __future__ import annotations

from pathlib import Path

from schedlab.errors import JobFormatError


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
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        raise JobFormatError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if head[:2] == b"\x1f\x8b":
        return "swf"
    first = head.decode("utf-8", errors="replace").splitlines()[0] if head else ""
    if "|" in first:
        return "sacct"
    if first.lstrip().startswith(";"):
        return "swf"
    low = first.lower()
    if "bsld" in low and "procs" in low:
        return "schedlab"
    if "," in first:
        return "csv"
    raise JobFormatError(f"{path}: cannot tell the format (give --format sacct|csv|parquet|swf|opendc|schedlab)")
