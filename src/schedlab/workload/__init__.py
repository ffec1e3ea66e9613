"""Workload: SWF reading, counted cleaning, the columnar job table, windows and load scaling."""

from __future__ import annotations

from pathlib import Path

from schedlab.workload.bundled import BUNDLED, DEFAULT_TRACE, resolve_trace
from schedlab.workload.cleaning import RULE_SETS, clean
from schedlab.workload.cleaning_report import CleaningReport
from schedlab.workload.swf import RawTrace, TraceFormatError, read_swf
from schedlab.workload.table import Workload


def load_trace(name_or_path: str | Path = DEFAULT_TRACE, rules: str = "textbook", lenient: bool = False) -> Workload:
    """Read a bundled trace name or an SWF path and apply a cleaning rule set."""
    return clean(read_swf(resolve_trace(name_or_path), lenient=lenient), rules=rules)


__all__ = [
    "BUNDLED",
    "DEFAULT_TRACE",
    "RULE_SETS",
    "CleaningReport",
    "RawTrace",
    "TraceFormatError",
    "Workload",
    "clean",
    "load_trace",
    "read_swf",
    "resolve_trace",
]
