"""``write_report``: the output folder of ``schedlab analyze``."""

from __future__ import annotations

from pathlib import Path

from schedlab.analytics.report.analysis import Analysis
from schedlab.analytics.report.formatting import _json_safe
from schedlab.analytics.report.html_page import write_html
from schedlab.analytics.report.plots import _plots


def write_report(an: Analysis, out: Path) -> list[str]:
    """The output folder: summary.json, every frame as Parquet and CSV, PNGs and report.html."""
    from schedlab.report.outputs import write_outputs

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    an.summary = _json_safe(an.summary)
    written = write_outputs(out, an.summary, an.frames, [])
    plots = _plots(an, out)
    written += [str(p) for p in plots]
    written.append(str(write_html(an, out, plots)))
    return written
