"""report.html: findings, the cleaning report, tables and the plots embedded as PNG."""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path

import numpy as np

from schedlab.analytics.report.analysis import Analysis
from schedlab.analytics.report.formatting import _mwh
from schedlab.report.outputs import write_text

_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:1150px;margin:2em auto;color:#222}\n"
    "table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:13px}"
    "td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}\n"
    "th{background:#f2f2f2}td:first-child,th:first-child{text-align:left}"
    "img{max-width:100%;border:1px solid #eee;margin:.5em 0}\n"
    "li{margin:.3em 0}.note{color:#666;font-size:13px}"
)


def _table(df, fmt=None, max_rows=60) -> str:
    if df is None or len(df) == 0:
        return "<p class='note'>(empty)</p>"
    rows = ["<table><tr>" + "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns) + "</tr>"]
    for _, r in df.head(max_rows).iterrows():
        cells = []
        for c in df.columns:
            v = r[c]
            if isinstance(v, (float, np.floating)):
                txt = "" if math.isnan(v) else (fmt(c, v) if fmt else f"{v:,.4g}")
            else:
                txt = "" if v is None else str(v)
            cells.append(f"<td>{html.escape(txt)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = (
        f"<p class='note'>first {max_rows} of {len(df):,} rows; all in the CSV/Parquet file</p>"
        if len(df) > max_rows
        else ""
    )
    return "\n".join(rows) + "</table>" + more


def _numfmt(c, v):
    if "share" in c or "rate" in c:
        return f"{100 * v:.1f}%"
    if c.endswith("_j"):
        return _mwh(v)
    if c.endswith("_s") or c in ("p5", "p25", "p50", "p75", "p95", "p99", "mean", "max"):
        return f"{v:,.1f}"
    return f"{v:,.4g}"


def _img(p: Path) -> str:
    data = base64.b64encode(p.read_bytes()).decode()
    return f"<img alt='{html.escape(p.stem)}' src='data:image/png;base64,{data}'>"


def write_html(an: Analysis, out: Path, plots: list[Path]) -> Path:
    """report.html: findings, cleaning report, tables and the PNGs embedded (also beside it)."""
    s = an.summary
    by = {p.stem: p for p in plots}
    h = _head(s)
    h.append(_cleaning_section(s))
    h += _workload_sections(an, by)
    if s.get("energy"):
        h += _energy_section(an, by)
    if an.tel_result:
        h += _telemetry_section(an.tel_result, by)
    h.append(
        "<p class='note'>Tables as CSV and Parquet and all numbers in summary.json beside this file. "
        "Written by schedlab analyze.</p></body></html>"
    )
    return write_text(out / "report.html", "\n".join(h))


def _head(s: dict) -> list[str]:
    """Title, what was read and how, and the key findings."""
    return [
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>schedlab analyze: {html.escape(Path(s['source']).name)}</title>"
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Operations report: {html.escape(s['source'])}</h1>",
        f"<p class='note'>format {html.escape(s['format'])}; "
        f"job classes by rule <code>{html.escape(s['class_rule'])}</code> "
        f"(<code>{html.escape(s['class_sql'] or '')}</code>); "
        f"naive times read as {html.escape(s['timezone_of_naive_times'])}; "
        "hours of day in UTC.</p>",
        "<h2>Key findings</h2><ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in s["findings"]) + "</ul>",
    ]


def _cleaning_section(s: dict) -> str:
    """The counted cleaning rules as a table, and the notes of reading and characterising."""
    import pandas as pd

    notes = s["notes"] + s["cleaning"]["notes"]
    cl = s["cleaning"]
    rows = [("read", cl["read"]), ("malformed lines skipped", cl["malformed_skipped"])]
    rows += [(f"dropped: {k}", v) for k, v in cl["dropped"].items()]
    rows += [(f"changed: {k}", v) for k, v in cl["changed"].items()]
    rows.append(("kept", cl["kept"]))
    return (
        "<h2>Cleaning report</h2>"
        + _table(pd.DataFrame(rows, columns=["rule", "jobs"]))
        + "".join(f"<p class='note'>note: {html.escape(n)}</p>" for n in notes)
    )


def _workload_sections(an: Analysis, by: dict) -> list[str]:
    """Job classes, final states and failures, distributions and arrivals, with their plots."""
    h = []
    s = an.summary
    st = an.stats
    h.append("<h2>Job classes</h2>" + _table(st.classes, _numfmt))
    h.append("<h2>Final states and failures</h2>")
    if s["states_known"]:
        h.append(_table(st.failures, _numfmt) + _table(st.states, _numfmt))
        for k in ("state_mix", "failure_by_hour"):
            if k in by:
                h.append(_img(by[k]))
    else:
        h.append("<p>The input records no final job states.</p>")
    h.append("<h2>Runtime, wait and size distributions</h2>" + _table(st.distributions, _numfmt))
    if "ecdf" in by:
        h.append(_img(by["ecdf"]))
    h.append("<h2>Arrivals</h2>" + _table(st.burstiness, _numfmt))
    if "arrivals" in by:
        h.append(_img(by["arrivals"]))
    return h


def _energy_section(an: Analysis, by: dict) -> list[str]:
    """The energy balance, its plot and energy by state, by class and of the top jobs."""
    import pandas as pd

    h = []
    e = an.summary["energy"]
    b = e["balance"]
    bal = pd.DataFrame(
        [
            ("measured", b["measured_j"]),
            ("attributed to jobs", b["attributed_j"]),
            ("loss: idle nodes (static power of nodes no job held)", b["loss_idle_nodes_j"]),
            ("loss: slots with no job usage (dynamic power)", b["loss_no_usage_j"]),
            ("residual (measured - attributed - loss)", b["residual_j"]),
        ],
        columns=["line", "energy_j"],
    )
    bal["energy_kwh"] = bal["energy_j"] / 3.6e6
    bal["share_of_measured"] = bal["energy_j"] / b["measured_j"]
    h.append(
        f"<h2>Energy attribution ({html.escape(e['method'])}, {html.escape(e['level'])}-level telemetry)</h2>"
        + _table(bal, lambda c, v: f"{v:,.6g}" if c != "share_of_measured" else f"{100 * v:.2f}%")
        + "".join(f"<p class='note'>{html.escape(n)}</p>" for n in e["notes"])
    )
    if "energy_attribution" in by:
        h.append(_img(by["energy_attribution"]))
    h.append(
        "<h3>By final state</h3>"
        + _table(an.frames["energy_by_state"], _numfmt)
        + "<h3>By class</h3>"
        + _table(an.frames["energy_by_class"], _numfmt)
        + "<h3>Top jobs</h3>"
        + _table(an.frames["energy_jobs"].head(20), _numfmt)
    )
    return h


def _telemetry_section(tr: dict, by: dict) -> list[str]:
    """Changepoint segments and mrDMD anomalies of the power telemetry."""
    import pandas as pd

    h = ["<h2>Telemetry</h2>"]
    for k in ("changepoints_error", "anomalies_error"):
        if tr.get(k):
            h.append(f"<p class='note'>{html.escape(tr[k])}</p>")
    if "power_changepoints" in by:
        h.append(_img(by["power_changepoints"]))
    if tr.get("segments") is not None:
        h.append(_table(tr["segments"][["start_utc", "mean"]].rename(columns={"mean": "mean_power_w"})))
    if tr.get("anomalous_nodes"):
        h.append("<h3>mrDMD anomalies</h3>" + _table(pd.DataFrame(tr["anomalous_nodes"])))
    if "anomalies" in by:
        h.append(_img(by["anomalies"]))
    return h
