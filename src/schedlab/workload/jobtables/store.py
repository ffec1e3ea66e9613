"""The DuckDB side: the connection with its memory, spill and thread settings, SQL quoting, and
staging a parsed frame or a Parquet SELECT as the raw job relation ``jobs_raw``."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from schedlab.errors import JobFormatError, SchedlabError
from schedlab.workload.jobtables.schema import _SQL_TYPES


def _bytes(size: str) -> float | None:
    m = re.fullmatch(r"\s*([0-9.]+)\s*([kmgt]?i?b?)\s*", str(size).lower())
    if not m:
        return None
    unit = m.group(2).rstrip("b").rstrip("i")
    return float(m.group(1)) * {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}[unit]


def _connect(memory_limit: str | None = None, temp_directory: str | Path | None = None, threads: int | None = None):
    """An in-memory DuckDB connection.  ``memory_limit`` (e.g. ``"40MB"``, ``"2GB"``) caps DuckDB's
    buffer memory; past it, the materialised job table, sorts, joins and window partitions spill
    to ``temp_directory`` (default: DuckDB's own, ``.tmp`` beside the process; give one on a fast
    local disk for tables larger than memory).  ``threads`` defaults to 2, or 1 under a limit below
    128 MB (each DuckDB thread holds its own buffers; two do not fit in a few tens of MB)."""
    import duckdb

    if threads is None:
        lim = _bytes(memory_limit) if memory_limit is not None else None
        threads = 1 if lim is not None and lim < 128 * 2**20 else 2
    con = duckdb.connect()
    con.execute(f"SET threads TO {int(threads)}")
    con.execute("SET preserve_insertion_order = false")
    if temp_directory is not None:
        Path(temp_directory).mkdir(parents=True, exist_ok=True)
        con.execute(f"SET temp_directory = '{_sql_str(temp_directory)}'")
    if memory_limit is not None:
        try:
            con.execute(f"SET memory_limit = '{_sql_str(memory_limit)}'")
        except Exception as exc:
            raise SchedlabError(
                f"memory_limit {memory_limit!r} is not a DuckDB memory size (e.g. '512MB', '4GB'): {exc}"
            ) from None
    return con


def _sql_str(path) -> str:
    return str(path).replace("'", "''")


def _describe(con, src: str) -> dict[str, str]:
    return {r[0]: r[1] for r in con.sql(f"DESCRIBE SELECT * FROM {src}").fetchall()}


def _stage_frame(con, frame) -> None:
    """Register a canonical pandas frame as ``jobs_raw`` (typed as :data:`_SQL_TYPES`, plus a row number)."""
    frame = frame.copy()
    for c, t in _SQL_TYPES.items():
        if t == "VARCHAR":
            frame[c] = frame[c].astype("string").astype(object).where(frame[c].notna(), None)
        elif t == "DOUBLE":
            frame[c] = frame[c].astype(float)
        else:
            frame[c] = frame[c].astype("Int64")
    frame["_row"] = np.arange(len(frame), dtype=np.int64)
    con.register("jobs_src", frame)
    cast = ", ".join(f'CAST("{c}" AS {t}) AS "{c}"' for c, t in _SQL_TYPES.items())
    con.execute(f"CREATE TEMP VIEW jobs_raw AS SELECT {cast}, _row FROM jobs_src")


def _stage_sql(con, sql: str, path: Path, fmt: str) -> None:
    """Create ``jobs_raw`` from a SELECT over the source file (see :mod:`.parquet`)."""
    try:
        con.execute(f"CREATE TEMP VIEW jobs_raw AS {sql}")
    except Exception as exc:
        raise JobFormatError(f"{path}: cannot read as {fmt}: {exc}") from None
