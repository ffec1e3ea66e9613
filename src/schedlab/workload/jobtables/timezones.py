"""Time stamps to epoch seconds (UTC): offsets honoured, naive values read in a time zone,
DST-ambiguous or non-existent local times resolved and counted, epoch milliseconds detected."""

from __future__ import annotations

import re

import numpy as np

from schedlab.errors import JobFormatError
from schedlab.workload.cleaning_report import CleaningReport

_OFFSET_RE = re.compile(r"(?:Z|[+-]\d\d:?\d\d)$")
#: the latest epoch second accepted (year 5138); a number beyond it even as milliseconds is refused
MAX_EPOCH = 1e11
_NULL_TIMES = {"", "unknown", "none", "nan", "nat", "n/a", "(null)"}


def parse_times(values, *, tz: str, path: str, column: str, report: CleaningReport, rows=None):
    """Strings / numbers / datetimes -> float64 epoch seconds (NaN for 'Unknown', 'None', '').

    Numbers are epoch seconds, or milliseconds when above 1e11 (after 1973 in ms).  Offsets are
    honoured; naive values are read in ``tz``.  Unparseable text raises :class:`JobFormatError`
    naming the file, column and row (``rows[i]``, the file line of value i, when given; else i + 1).
    """
    import pandas as pd

    s = pd.Series(values)
    if pd.api.types.is_bool_dtype(s):
        raise JobFormatError(f"{path}: column {column!r} holds true/false values, not times")
    if pd.api.types.is_numeric_dtype(s):
        x = s.to_numpy(dtype=np.float64, na_value=np.nan)
        _check_epoch(x, 1000 * MAX_EPOCH, path, column, rows)
        big = np.nanmax(np.abs(x)) if np.isfinite(x).any() else 0.0
        if big > MAX_EPOCH:
            report.notes.append(f"{column}: numbers taken as epoch milliseconds")
            x = x / 1000.0
        return x
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        x = _dt_to_epoch(s.dt.tz_convert("UTC"))
    elif pd.api.types.is_datetime64_any_dtype(s):
        x = _localize(s, tz, column, report)
    else:
        x = _parse_text(s, tz, path, column, report, rows)
    _check_epoch(x, MAX_EPOCH, path, column, rows)
    return x


def _parse_text(s, tz: str, path: str, column: str, report: CleaningReport, rows) -> np.ndarray:
    """Text time stamps (ASCII only: ``dateutil`` would read ``١٢`` as a date) -> epoch seconds."""
    import pandas as pd

    text = s.astype("string").str.strip()
    null = text.isna() | text.str.lower().isin(_NULL_TIMES)
    out = np.full(len(s), np.nan)
    odd = ~null & ~(text.str.isascii().fillna(True).astype(bool) & (text.str.len() <= 64))
    has_off = ~null & ~odd & text.str.contains(_OFFSET_RE, na=False)
    naive = ~null & ~odd & ~has_off
    for mask, aware in ((odd, None), (has_off, True), (naive, False)):
        if not mask.any():
            continue
        sub = text[mask]
        if aware is None:
            parsed = pd.Series(pd.NaT, index=sub.index)
        else:
            parsed = pd.to_datetime(sub, utc=aware, errors="coerce", format="ISO8601" if aware else "mixed")
        bad = parsed.isna()
        if bad.any():
            i = int(np.flatnonzero(mask.to_numpy())[np.flatnonzero(bad.to_numpy())[0]])
            where = f"line {rows[i]}" if rows is not None else f"row {i + 1}"
            raise JobFormatError(
                f"{path}: column {column!r}, {where}: cannot parse time "
                f"{sub[bad].iloc[0][:64]!r} (expected ISO 8601, e.g. 2024-03-01T10:00:00[+01:00])"
            )
        if aware:
            out[mask.to_numpy()] = _dt_to_epoch(parsed)
        else:
            out[mask.to_numpy()] = _localize(parsed, tz, column, report)
    if has_off.any():
        report.change(f"{column}: time stamps with a UTC offset converted to UTC", int(has_off.sum()))
    return out


def _check_epoch(x: np.ndarray, limit: float, path: str, column: str, rows) -> None:
    """Refuse infinite numbers and numbers of magnitude above ``limit`` (NaN is missing and passes)."""
    with np.errstate(invalid="ignore"):
        bad = np.isinf(x) | (np.abs(x) > limit)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        where = f"line {rows[i]}" if rows is not None else f"row {i + 1}"
        raise JobFormatError(
            f"{path}: column {column!r}, {where}: time {x[i]:g} is out of range "
            f"(epoch seconds up to {MAX_EPOCH:g}, year 5138; numbers above that are milliseconds)"
        )


def _dt_to_epoch(s) -> np.ndarray:
    import pandas as pd

    s = pd.Series(s)
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        d = s.dt.tz_convert("UTC") - pd.Timestamp("1970-01-01", tz="UTC")
    else:
        if not pd.api.types.is_datetime64_any_dtype(s):
            s = pd.to_datetime(s)
        d = s - pd.Timestamp("1970-01-01")  # in the series' own unit: years outside 1677-2262 fit
    return (d / pd.Timedelta(seconds=1)).to_numpy(dtype=np.float64, na_value=np.nan)


def _localize(s, tz: str, column: str, report: CleaningReport) -> np.ndarray:
    import pandas as pd

    s = pd.Series(s)
    if not pd.api.types.is_datetime64_any_dtype(s):
        s = pd.to_datetime(s)
    if s.notna().any():
        _note_naive(report, tz)
    if tz.upper() == "UTC":
        return _dt_to_epoch(s)
    try:
        strict = s.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    except Exception as exc:
        raise JobFormatError(f"unknown time zone {tz!r} ({exc})") from None
    fixed = strict.isna() & s.notna()
    if fixed.any():
        report.change(
            f"{column}: DST-ambiguous/non-existent local times resolved (standard time / shifted forward)",
            int(fixed.sum()),
        )
        loose = s.dt.tz_localize(tz, ambiguous=np.zeros(len(s), dtype=bool), nonexistent="shift_forward")
        strict = strict.where(~fixed, loose)
    return _dt_to_epoch(strict.dt.tz_convert("UTC"))


def _note_naive(report: CleaningReport, tz: str) -> None:
    """Say once in the report that naive time stamps were read in ``tz``."""
    note = f"naive time stamps read as {tz} (no UTC offset in the data; set --timezone if they are local time)"
    if note not in report.notes:
        report.notes.append(note)


def check_timezone(tz: str) -> str:
    """``tz`` if it is a time zone name of the IANA database (or UTC), else a JobFormatError: the
    name reaches DuckDB SQL and pandas only after this allow-list check."""
    from zoneinfo import available_timezones

    if not isinstance(tz, str) or (tz.upper() != "UTC" and tz not in available_timezones()):
        raise JobFormatError(f"unknown time zone {tz!r} (give an IANA name such as Europe/Amsterdam, or UTC)")
    return tz
