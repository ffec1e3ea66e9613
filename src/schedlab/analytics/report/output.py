"""``write_report``: the output folder of ``schedlab analyze``."""

from __future__ import annotations

from pathlib import Path

from schedlab.analytics.report.analysis import Analysis
from schedlab.analytics.report.formatting import _json_safe
from schedlab.analytics.report.html_page import write_html
from schedlab.analytics.report.plots import _plots


def write_report(an: Analysis, out: Path) -> list[str]:
    """The output folder: every frame as Parquet and CSV, PNGs, report.html and, last, summary.json
    (each file atomically; the CLI writes them into a temporary folder that replaces --out)."""
    from schedlab.report.outputs import write_outputs

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    an.summary = _json_safe(an.summary)
    plots = _plots(an, out)
    html = write_html(an, out, plots)
    written = write_outputs(out, an.summary, an.frames, [])
    return [*written, *(str(p) for p in plots), str(html)]
