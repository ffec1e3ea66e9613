"""Parsing of single job fields: Slurm durations, counts, final states and GPU counts from TRES
strings.  Only ASCII digits are numbers (Python's ``int("١٢")`` is 12; here it is refused); a value
that is not a number, not finite, fractional where a whole number belongs or out of range is
refused with a :class:`JobFormatError` naming the file, the column and the line."""

from __future__ import annotations

import re

import numpy as np

from schedlab.errors import JobFormatError, SchedlabError

#: the largest node, core or GPU count accepted in a job table
MAX_COUNT = 10**8
#: the longest duration text accepted (``1-00:00:00`` is 10 characters)
MAX_DURATION_CHARS = 64
#: Slurm's words for "no limit of its own" / "no value": the time limit is unknown (NULL)
NO_DURATION = ("UNLIMITED", "PARTITION_LIMIT", "INVALID", "NONE", "UNKNOWN", "NAN")
_PART = re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,9})?", re.ASCII)
_DAYS = re.compile(r"[0-9]{1,7}", re.ASCII)
_WHOLE = r"[+-]?[0-9]{1,18}(?:\.0*)?"


def parse_duration(text) -> float:
    """Slurm time -> seconds; NaN for UNLIMITED, Partition_Limit, INVALID and empty values.

    The Slurm forms: ``MM``, ``MM:SS``, ``HH:MM:SS``, ``D-HH``, ``D-HH:MM``, ``D-HH:MM:SS`` (the
    last part may have a decimal fraction).  Anything else (non-ASCII digits, ``inf``, signs,
    more than 9 digits in a part, over :data:`MAX_DURATION_CHARS` characters) raises
    :class:`SchedlabError`.
    """
    if text is None:
        return np.nan
    t = str(text).strip()
    if len(t) > MAX_DURATION_CHARS:
        raise SchedlabError(f"duration of {len(t):,} characters")
    if not t or t.upper() in NO_DURATION:
        return np.nan
    days, sep, rest = t.rpartition("-")
    parts = rest.split(":")
    if (sep and not _DAYS.fullmatch(days)) or len(parts) > 3 or not all(_PART.fullmatch(p) for p in parts):
        raise SchedlabError(t)
    if any("." in p for p in parts[:-1]):
        raise SchedlabError(t)
    x = [float(p) for p in parts]
    if sep:  # D-HH, D-HH:MM, D-HH:MM:SS
        secs = x[0] * 3600 + (x[1] * 60 if len(x) > 1 else 0) + (x[2] if len(x) > 2 else 0)
        return int(days) * 86400 + secs
    if len(x) == 1:
        return x[0] * 60  # Slurm: a bare number is minutes
    if len(x) == 2:
        return x[0] * 60 + x[1]
    return x[0] * 3600 + x[1] * 60 + x[2]


def _where(rows, i: int) -> str:
    return f"line {rows[i]}" if rows is not None else f"row {i + 1}"


def durations(values, path, column: str, rows=None) -> np.ndarray:
    """Slurm durations (see :func:`parse_duration`) as seconds; a bad one raises naming its line."""
    out = np.empty(len(values), dtype=np.float64)
    for i, v in enumerate(values):
        try:
            out[i] = parse_duration(v)
        except (ValueError, TypeError):
            raise JobFormatError(
                f"{path}: column {column!r}, {_where(rows, i)}: cannot parse duration {str(v)[:40]!r} "
                "(expected [D-]HH:MM:SS, MM:SS, minutes or UNLIMITED)"
            ) from None
    return out


def check_numbers(x: np.ndarray, path, column: str, rows=None, *, lo: float, hi: float, whole: bool = False) -> None:
    """Raise :class:`JobFormatError` for the first value that is infinite, outside ``[lo, hi]`` or
    (``whole``) fractional; NaN is a missing value and passes."""
    with np.errstate(invalid="ignore"):
        bad = ~np.isnan(x) & ~((x >= lo) & (x <= hi))
        if whole:
            bad |= np.isfinite(x) & (x != np.floor(x))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        what = "a whole number" if whole else "a number"
        raise JobFormatError(
            f"{path}: column {column!r}, {_where(rows, i)}: {x[i]:g} is not {what} in [{lo:,.0f}, {hi:,.0f}]"
        )


def counts(values, path, column: str, rows=None):
    """A node/core/GPU count column as ``Int64``: ASCII whole numbers of magnitude up to
    :data:`MAX_COUNT` (``4`` or ``4.0``); empty is missing (NA).  Anything else (``2.5``, ``inf``,
    ``nan`` text, ``1e30``, ``١``, words) raises naming the column and line."""
    import pandas as pd

    s = pd.Series(values).reset_index(drop=True)
    if pd.api.types.is_bool_dtype(s):
        s = s.astype("Int64")
    if pd.api.types.is_numeric_dtype(s):
        x = s.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        t = s.astype("string").str.strip()
        missing = t.isna() | (t == "")
        ok = missing | t.str.fullmatch(_WHOLE).fillna(False).astype(bool)
        if not ok.all():
            i = int(np.flatnonzero(~ok.to_numpy())[0])
            raise JobFormatError(
                f"{path}: column {column!r}, {_where(rows, i)}: {str(t.iloc[i])[:40]!r} is not a whole number"
            )
        x = pd.to_numeric(t.mask(missing), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    check_numbers(x, path, column, rows, lo=-MAX_COUNT, hi=MAX_COUNT, whole=True)
    return pd.Series(x).astype("Int64")


def normalize_state(values):
    """sacct states -> canonical: 'CANCELLED by 123' -> CANCELLED, 'OOM' -> OUT_OF_MEMORY, SWF codes."""
    import pandas as pd

    s = pd.Series(values).astype("string").str.strip().str.upper()
    s = s.str.split(" ", n=1).str[0].str.rstrip("+")
    s = s.replace(
        {
            "CA": "CANCELLED",
            "CD": "COMPLETED",
            "F": "FAILED",
            "TO": "TIMEOUT",
            "OOM": "OUT_OF_MEMORY",
            "NF": "NODE_FAIL",
            "PR": "PREEMPTED",
            "BF": "BOOT_FAIL",
            "DL": "DEADLINE",
            "CANCELED": "CANCELLED",
        }
    )
    return s.fillna("UNKNOWN")


def _gpus_from_tres(values, path="", column: str = "AllocTRES", rows=None):
    """``gres/gpu=4`` or ``gres/gpu:a100=4`` in an AllocTRES string -> 4 (0 when absent); a GPU
    count that is not ASCII digits or is above :data:`MAX_COUNT` raises naming the line."""
    import pandas as pd

    s = pd.Series(values).astype("string").fillna("").reset_index(drop=True)
    has = s.str.contains(r"gres/gpu(?::[^=,]*)?=", regex=True)
    n = s.str.extract(r"gres/gpu(?::[^=,]*)?=([0-9]+)(?:[,\s]|$)", expand=False)
    bad = has & (n.isna() | (n.str.len() > 9))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise JobFormatError(
            f"{path}: column {column!r}, {_where(rows, i)}: GPU count in {str(s.iloc[i])[:80]!r} is not a whole number"
        )
    x = pd.to_numeric(n, errors="coerce").fillna(0).astype("int64")
    check_numbers(x.to_numpy(dtype=np.float64), path, column, rows, lo=0, hi=MAX_COUNT)
    return x
