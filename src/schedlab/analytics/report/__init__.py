"""``schedlab analyze`` end to end: read, characterise, attribute energy, look at the telemetry, and
write the report folder (report.html, summary.json, tables as Parquet and CSV, PNG plots).

Findings are sentences built from the numbers (see :func:`findings`), never hand-written, so they
stay true when the input changes.

Modules: :mod:`~.analysis` (:func:`run_analysis`, :class:`Analysis`), :mod:`~.telemetry`
(:func:`telemetry_section`: changepoints and mrDMD anomalies), :mod:`~.key_findings`, :mod:`~.plots`
(PNG figures), :mod:`~.html_page` (report.html), :mod:`~.output` (:func:`write_report`) and
:mod:`~.formatting` (numbers as text and JSON).
"""

from __future__ import annotations

from schedlab.analytics.report.analysis import Analysis, run_analysis
from schedlab.analytics.report.formatting import CLASS_NAMES, _dur, _json_safe, _mwh, _pct, _records, _utc
from schedlab.analytics.report.html_page import write_html
from schedlab.analytics.report.key_findings import findings
from schedlab.analytics.report.output import write_report
from schedlab.analytics.report.telemetry import telemetry_section

__all__ = [
    "CLASS_NAMES",
    "Analysis",
    "_dur",
    "_json_safe",
    "_mwh",
    "_pct",
    "_records",
    "_utc",
    "findings",
    "run_analysis",
    "telemetry_section",
    "write_html",
    "write_report",
]
