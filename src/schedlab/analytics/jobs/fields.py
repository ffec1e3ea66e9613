"""Parsing of single job fields: Slurm durations, final states and GPU counts from TRES strings."""

from __future__ import annotations

import numpy as np

from schedlab.errors import JobFormatError, SchedlabError


def parse_duration(text) -> float:
    """Slurm time ``[D-]HH:MM:SS`` / ``MM:SS`` / ``MM`` (minutes) -> seconds; NaN for UNLIMITED."""
    if text is None:
        return np.nan
    t = str(text).strip()
    if not t or t.upper() in ("UNLIMITED", "PARTITION_LIMIT", "INVALID", "NONE", "UNKNOWN", "NAN"):
        return np.nan
    days = 0
    if "-" in t:
        d, _, t = t.partition("-")
        days = int(d)
    parts = [float(p) for p in t.split(":")]
    if len(parts) == 1:
        secs = parts[0] * 60  # Slurm: a bare number is minutes
    elif len(parts) == 2:
        secs = parts[0] * 60 + parts[1]
    elif len(parts) == 3:
        secs = parts[0] * 3600 + parts[1] * 60 + parts[2]
    else:
        raise SchedlabError(t)
    return days * 86400 + secs


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


def _gpus_from_tres(values):
    """``gres/gpu=4`` or ``gres/gpu:a100=4`` in an AllocTRES string -> 4 (0 when absent)."""
    import pandas as pd

    s = pd.Series(values).astype("string").fillna("")
    n = s.str.extract(r"gres/gpu(?::[^=,]*)?=(\d+)", expand=False)
    return pd.to_numeric(n, errors="coerce").fillna(0).astype("int64")


def _dur_or_raise(v, path, column):
    try:
        return parse_duration(v)
    except (ValueError, TypeError):
        raise JobFormatError(
            f"{path}: column {column!r}: cannot parse duration {v!r} (expected [D-]HH:MM:SS or UNLIMITED)"
        ) from None
