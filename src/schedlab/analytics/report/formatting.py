"""Numbers as the report prints them (percentages, durations, energy, UTC times) and as JSON."""

from __future__ import annotations

import json
import math

import numpy as np

CLASS_NAMES = {"ml": "ML", "generic": "generic", "all": "all"}


def _records(df) -> list[dict]:
    if df is None or len(df) == 0:
        return []
    return json.loads(df.to_json(orient="records"))


def _pct(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def _dur(s) -> str:
    if s is None or (isinstance(s, float) and math.isnan(s)):
        return "n/a"
    s = float(s)
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    if s < 172800:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} d"


def _mwh(j) -> str:
    return f"{j / 3.6e9:,.3f} MWh" if abs(j) >= 3.6e8 else f"{j / 3.6e6:,.1f} kWh"


def _utc(t) -> str:
    import pandas as pd

    return "n/a" if t is None else f"{pd.Timestamp(t, unit='s', tz='UTC'):%Y-%m-%d %H:%M} UTC"


def _json_safe(o):
    if isinstance(o, dict):
        return {k: _json_safe(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_json_safe(v) for v in o]
    if isinstance(o, np.ndarray):
        return _json_safe(o.tolist())
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (float, np.floating)):
        return None if not math.isfinite(float(o)) else float(o)
    return o
