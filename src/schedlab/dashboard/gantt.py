"""The schedule Gantt: every job a rectangle, time across, processors (or nodes) up.

A jobs table says when each job ran and on how many processors, not on which ones, so the rows
are a display placement (:func:`place`): jobs in start order, each on the lowest free processors
(one block where one fits, else the lowest free pieces), ends released before starts at the same
time; the machine's height is the peak use, so every job fits.  With a ``partition`` column each
partition is placed on its own, stacked.

Large runs stay responsive and bounded: the browser never gets the rectangles.  The server keeps
the segment arrays (a few numpy arrays, ~40 bytes a segment) and answers every view with a datashader
raster of the visible segments (:func:`render`: one PNG, a few hundred KB, whatever the job count);
once fewer than :data:`EXACT_LIMIT` jobs are in view it sends those as exact rectangles with their
job ids instead, so a click on one names the job (above that, the table of the jobs in view does).
"""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass, field

import numpy as np
from numba import njit

#: Below this many jobs in view, exact rectangles instead of a raster.  Measured in headless
#: Chromium with software rendering (benchmarks/bench_dashboard.py): vector rectangles cost the
#: browser ~0.3-0.4 ms a job, so 4,786 jobs took 2.1 s to draw and 1,280 took 0.34 s; the raster
#: is already exact to the pixel at those zooms, and the table lists the jobs in view.
EXACT_LIMIT = 1500
#: Colours: up to 9 categories (the most frequent) and "other"; continuous values in 8 bins.
PALETTE = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
)  # fmt: skip
RAMP = ("#440154", "#46327e", "#365c8d", "#277f8e", "#1fa187", "#4ac16d", "#a0da39", "#fde725")
MAX_CATEGORIES = 9
CONTINUOUS = ("wait", "bsld")
#: colour -> (bin edges, scale from the table's unit, unit shown): 8 bins each
BINS = {
    "wait": (np.array([0, 0.1, 0.5, 1, 3, 6, 12, 24, np.inf]), 1 / 3600.0, " h"),
    "bsld": (np.array([1, 1.5, 2, 5, 10, 50, 100, 1000, np.inf]), 1.0, ""),
}
PX_W, PX_H = 1100, 480


@njit(cache=True)
def _free(fs, fe, nf, lo, hi):
    """Give [lo, hi) back to the sorted free list (fs, fe) of nf intervals, merging neighbours."""
    pos = 0
    while pos < nf and fs[pos] < lo:
        pos += 1
    if pos > 0 and fe[pos - 1] == lo:
        fe[pos - 1] = hi
        if pos < nf and fs[pos] == hi:  # joins the next one too
            fe[pos - 1] = fe[pos]
            for k in range(pos, nf - 1):
                fs[k] = fs[k + 1]
                fe[k] = fe[k + 1]
            nf -= 1
        return nf
    if pos < nf and fs[pos] == hi:
        fs[pos] = lo
        return nf
    for k in range(nf, pos, -1):
        fs[k] = fs[k - 1]
        fe[k] = fe[k - 1]
    fs[pos] = lo
    fe[pos] = hi
    return nf + 1


@njit(cache=True)
def _place(start, end, size, by_start, by_end, capacity, seg_job, seg_lo, seg_hi):
    """Segments (job, lo, hi) of every job; -1 when the segment arrays are too small."""
    n = len(start)
    fs = np.empty(capacity + 2, np.int64)
    fe = np.empty(capacity + 2, np.int64)
    fs[0], fe[0], nf = 0, capacity, 1
    first = np.full(n, -1, np.int64)
    count = np.zeros(n, np.int64)
    ns, ie = 0, 0
    for k in range(n):
        j = by_start[k]
        while ie < n and end[by_end[ie]] <= start[j]:
            r = by_end[ie]
            ie += 1
            for s in range(first[r], first[r] + count[r]):
                nf = _free(fs, fe, nf, seg_lo[s], seg_hi[s])
        need = size[j]
        first[j] = ns
        fit = -1
        for i in range(nf):
            if fe[i] - fs[i] >= need:
                fit = i
                break
        while need > 0:
            if ns >= len(seg_job):
                return -1
            i = fit if fit >= 0 else 0
            if nf == 0:  # over the peak (cannot happen with capacity = peak use): above the machine
                lo = capacity + 0
                take = need
            else:
                lo = fs[i]
                take = min(need, fe[i] - fs[i])
                fs[i] += take
                if fs[i] == fe[i]:
                    for q in range(i, nf - 1):
                        fs[q] = fs[q + 1]
                        fe[q] = fe[q + 1]
                    nf -= 1
            seg_job[ns], seg_lo[ns], seg_hi[ns] = j, lo, lo + take
            ns += 1
            need -= take
        count[j] = ns - first[j]
    return ns


def peak_use(start: np.ndarray, end: np.ndarray, size: np.ndarray) -> int:
    """Most processors in use at once (ends before starts at equal times)."""
    if len(start) == 0:
        return 1
    t = np.concatenate([end, start])
    d = np.concatenate([-size, size]).astype(np.int64)
    order = np.lexsort((d, t))
    return max(1, int(np.cumsum(d[order]).max()))


def place(start, end, size) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(segment job index, lo, hi, height) for jobs that ran (end > start, size > 0)."""
    start = np.asarray(start, np.float64)
    end = np.asarray(end, np.float64)
    size = np.asarray(size, np.int64)
    ran = np.flatnonzero((end > start) & (size > 0))
    s, e, z = start[ran], end[ran], size[ran]
    height = peak_use(s, e, z)
    by_start = np.lexsort((np.arange(len(s)), s))
    by_end = np.lexsort((np.arange(len(e)), e))
    cap = 2 * len(s) + 16
    while True:
        job, lo, hi = (np.empty(cap, np.int64) for _ in range(3))
        ns = _place(s, e, z, by_start, by_end, height, job, lo, hi)
        if ns >= 0:
            return ran[job[:ns]], lo[:ns], hi[:ns], height
        cap *= 4


@dataclass
class GanttData:
    """The segments of one run, ready to draw (times in hours since the first submit)."""

    job: np.ndarray  # row index into the jobs table, per segment
    x0: np.ndarray
    x1: np.ndarray
    y0: np.ndarray
    y1: np.ndarray
    height: float
    jobs: object  # the jobs table (DataFrame)
    bands: list  # (name, y0, y1) per partition
    unit: str = "processors (display placement)"  # what a row is
    cache: dict = field(default_factory=dict)  # colour -> categories()

    @property
    def extent(self) -> tuple[tuple[float, float], tuple[float, float]]:
        if len(self.x0) == 0:
            return (0.0, 1.0), (0.0, 1.0)
        return (float(self.x0.min()), float(self.x1.max())), (0.0, float(self.height))


def _natural(name: str) -> tuple:
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name))


def node_rows(jobs) -> tuple[np.ndarray, np.ndarray, np.ndarray, int] | None:
    """(segment job index, lo, hi, nodes) from the real node lists of a run on a machine
    (``--cluster``: each job's Slurm hostlist), nodes in natural name order; None without them."""
    from schedlab.cluster.fields import host_names
    from schedlab.errors import SchedlabError

    if "nodelist" not in jobs.columns or jobs["nodelist"].isna().any():
        return None
    ran = np.flatnonzero(jobs["end"].to_numpy() > jobs["start"].to_numpy())
    lists = jobs["nodelist"].astype(str).to_numpy()[ran]
    try:
        expanded = {h: host_names(h, "nodelist") for h in set(lists.tolist())}
    except SchedlabError:
        return None
    names = sorted({n for v in expanded.values() for n in v}, key=_natural)
    index = {n: i for i, n in enumerate(names)}
    runs = {}  # hostlist -> contiguous (lo, hi) row ranges
    for h, v in expanded.items():
        idx = np.sort(np.fromiter((index[n] for n in v), np.int64, len(v)))
        cut = np.flatnonzero(np.diff(idx) != 1) + 1
        runs[h] = [(int(p[0]), int(p[-1]) + 1) for p in np.split(idx, cut)]
    job, lo, hi = [], [], []
    for i, h in zip(ran, lists, strict=True):
        for a, b in runs[h]:
            job.append(i)
            lo.append(a)
            hi.append(b)
    return np.array(job, np.int64), np.array(lo, np.float64), np.array(hi, np.float64), len(names)


def build(jobs) -> GanttData:
    """The Gantt of a jobs table (columns submit, start, end, size; optional partition, nodelist):
    by node when the run has node lists, else by processor in a display placement per partition."""
    t0 = float(jobs["submit"].min()) if len(jobs) else 0.0
    nodes = node_rows(jobs)
    if nodes is not None:
        job, lo, hi, base = nodes
        bands, unit = [], "nodes"
    else:
        job, lo, hi, base, bands = _placed(jobs)
        unit = "processors (display placement)"
    x0 = (jobs["start"].to_numpy(np.float64)[job] - t0) / 3600.0
    x1 = (jobs["end"].to_numpy(np.float64)[job] - t0) / 3600.0
    return GanttData(job, x0, x1, lo, hi, float(max(base, 1)), jobs, bands if len(bands) > 1 else [], unit)


def _placed(jobs):
    parts = jobs["partition"].astype(str).to_numpy() if "partition" in jobs.columns else np.zeros(len(jobs), "U1")
    out, bands, base = [], [], 0
    for name in sorted(set(parts.tolist())):
        rows = np.flatnonzero(parts == name)
        sub = jobs.iloc[rows]
        j, lo, hi, height = place(sub["start"].to_numpy(), sub["end"].to_numpy(), sub["size"].to_numpy())
        out.append((rows[j], lo + base, hi + base))
        bands.append((name, base, base + height))
        base += height
    job = np.concatenate([o[0] for o in out]) if out else np.empty(0, np.int64)
    lo = np.concatenate([o[1] for o in out]).astype(np.float64) if out else np.empty(0)
    hi = np.concatenate([o[2] for o in out]).astype(np.float64) if out else np.empty(0)
    return job, lo, hi, base, bands


def colour_options(jobs) -> list[str]:
    """What the Gantt can be coloured by, for this table."""
    cats = [c for c in ("user", "partition", "state", "policy", "qos", "account") if c in jobs.columns]
    return [c for c in CONTINUOUS if c in jobs.columns] + cats  # wait first: every run has it


def categories(jobs, colour: str) -> tuple[np.ndarray, list[str], list[str]]:
    """(code per job, label per code, colour per code) for ``colour``."""
    if colour in CONTINUOUS:  # fixed bins, so two runs side by side share their colours
        v = jobs[colour].to_numpy(np.float64)
        edges, scale, unit = BINS[colour]
        codes = np.clip(np.searchsorted(edges, v * scale, side="right") - 1, 0, len(edges) - 2)
        labels = [f"{colour} {edges[i]:g}–{edges[i + 1]:g}{unit}" for i in range(len(edges) - 2)]
        labels.append(f"{colour} ≥ {edges[-2]:g}{unit}")
        return codes.astype(np.int64), labels, list(RAMP[: len(labels)])
    vals = jobs[colour].astype(str).to_numpy() if colour in jobs.columns else np.full(len(jobs), "all")
    names, inv, counts = np.unique(vals, return_inverse=True, return_counts=True)
    top = np.argsort(-counts, kind="stable")[:MAX_CATEGORIES]
    code_of = np.full(len(names), len(top), np.int64)
    code_of[top] = np.arange(len(top))
    labels = [f"{colour} {names[i]}" for i in top] + ([f"{colour}: other"] if len(names) > len(top) else [])
    return code_of[inv], labels, [*PALETTE[: len(labels) - 1], PALETTE[-1]]


def in_view(g: GanttData, xr, yr) -> np.ndarray:
    """Indices of the segments that overlap the view."""
    return np.flatnonzero((g.x1 >= xr[0]) & (g.x0 <= xr[1]) & (g.y1 >= yr[0]) & (g.y0 <= yr[1]))


def raster_png(g: GanttData, seg: np.ndarray, codes: np.ndarray, colours: list[str], xr, yr) -> str:
    """The segments ``seg`` rasterised by datashader over the view, as a PNG data URI: each pixel in
    the colour of the category that covers it most, white where nothing ran.  A segment narrower than
    a pixel is widened to one, so short jobs still show."""
    import datashader as ds
    import pandas as pd
    from PIL import Image

    px, py = (xr[1] - xr[0]) / PX_W, (yr[1] - yr[0]) / PX_H
    x0, y0 = g.x0[seg], g.y0[seg]
    df = pd.DataFrame(
        {
            "x0": x0, "x1": np.maximum(g.x1[seg], x0 + px), "y0": y0, "y1": np.maximum(g.y1[seg], y0 + py),
            "c": pd.Categorical.from_codes(codes[g.job[seg]], categories=[str(i) for i in range(len(PALETTE))]),
        }
    )  # fmt: skip
    cvs = ds.Canvas(
        plot_width=PX_W, plot_height=PX_H, x_range=(float(xr[0]), float(xr[1])), y_range=(float(yr[0]), float(yr[1]))
    )
    agg = cvs.area(df, x=["x0", "x1"], y=["y0", "y0"], y_stack=["y1", "y1"], axis=1, agg=ds.count_cat("c"))
    counts = np.asarray(agg.data)[::-1]  # rows from the top
    rgb = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in colours] + [[255, 255, 255]], np.uint8)
    pick = np.where(counts.any(axis=2), counts.argmax(axis=2), len(colours))
    buf = io.BytesIO()
    Image.fromarray(rgb[np.minimum(pick, len(colours))]).save(buf, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _clamp(g: GanttData, xr, yr):
    (ex0, ex1), (ey0, ey1) = g.extent
    xr = [float(xr[0]), float(xr[1])] if xr else [ex0, ex1]
    yr = [float(yr[0]), float(yr[1])] if yr else [ey0, ey1]
    if not xr[1] > xr[0]:
        xr = [ex0, ex1 if ex1 > ex0 else ex0 + 1]
    if not yr[1] > yr[0]:
        yr = [ey0, ey1 if ey1 > ey0 else ey0 + 1]
    return xr, yr


def _exact_traces(g: GanttData, seg, codes, labels, colours) -> list[dict]:
    """One filled scatter trace per category: each segment four corners (the fill closes them) and a
    gap, its job id on every corner; times to 1/1000 h (3.6 s), fill only (no outline to draw)."""
    ids = g.jobs["job_id"].to_numpy() if "job_id" in g.jobs.columns else np.arange(len(g.jobs))
    code = codes[g.job[seg]]
    traces = []
    for c in range(len(labels)):
        s = seg[code == c]
        gap = np.full(len(s), np.nan)
        x0, x1 = np.round(g.x0[s], 3), np.round(g.x1[s], 3)
        x = np.column_stack([x0, x1, x1, x0, gap]).ravel()
        y = np.column_stack([g.y0[s], g.y0[s], g.y1[s], g.y1[s], gap]).ravel()
        jid = np.repeat(ids[g.job[s]], 5)
        traces.append(
            dict(
                type="scatter", mode="lines", fill="toself", x=x.tolist(), y=y.tolist(), name=labels[c],
                customdata=jid.tolist(), line=dict(width=0, color=colours[c]), fillcolor=colours[c],
                hovertemplate="job %{customdata}<extra>" + labels[c] + "</extra>", hoveron="points",
            )
        )  # fmt: skip
    return traces


def figure(g: GanttData, colour: str, xr=None, yr=None, title: str = "") -> tuple[dict, dict]:
    """(plotly figure dict, info) for the view: a raster or exact rectangles (see the module doc).
    info: mode ("raster" or "exact"), jobs_in_view, segments, rows (indices into the jobs table)."""
    xr, yr = _clamp(g, xr, yr)
    if colour not in g.cache:
        g.cache[colour] = categories(g.jobs, colour)
    codes, labels, colours = g.cache[colour]
    seg = in_view(g, xr, yr)
    mark = np.zeros(len(g.jobs), bool)  # the jobs in view (np.unique is 10x slower here)
    mark[g.job[seg]] = True
    rows = np.flatnonzero(mark)
    exact = len(rows) < EXACT_LIMIT
    layout = dict(
        title=dict(text=title, font=dict(size=14)), uirevision=title, margin=dict(l=60, r=10, t=40, b=40),
        xaxis=dict(range=xr, title=dict(text="hours since the first submit"), showgrid=False, zeroline=False),
        yaxis=dict(range=yr, title=dict(text=g.unit), showgrid=False, zeroline=False),
        legend=dict(orientation="h", y=-0.15), plot_bgcolor="white", dragmode="zoom",
    )  # fmt: skip
    if exact:
        data = _exact_traces(g, seg, codes, labels, colours)
    else:
        whole = (tuple(xr), tuple(yr)) == tuple(tuple(r) for r in g.extent)
        src = g.cache.get(("png", colour)) if whole else None
        if src is None:
            src = raster_png(g, seg, codes, colours, xr, yr)
            if whole:  # the overview is drawn again at every zoom out: kept, one per colour
                g.cache[("png", colour)] = src
        layout["images"] = [
            dict(source=src, xref="x", yref="y", x=xr[0], y=yr[1], sizex=xr[1] - xr[0], sizey=yr[1] - yr[0],
                 sizing="stretch", layer="below", opacity=1)
        ]  # fmt: skip
        data = [
            dict(type="scatter", mode="markers", x=[None], y=[None], name=lab, marker=dict(color=col, symbol="square"))
            for lab, col in zip(labels, colours, strict=True)
        ]
    layout["shapes"] = [
        dict(type="line", xref="paper", x0=0, x1=1, y0=b, y1=b, line=dict(color="#999", width=1, dash="dot"))
        for _, b, _ in g.bands[1:]
    ]
    layout["annotations"] = [
        dict(xref="paper", x=0.01, y=(b0 + b1) / 2, text=name, showarrow=False, font=dict(color="#555"))
        for name, b0, b1 in g.bands
    ]
    info = dict(mode="exact" if exact else "raster", jobs_in_view=len(rows), segments=len(seg), rows=rows)
    return dict(data=data, layout=layout), info


def moves_view(relayout: dict | None) -> bool:
    """Whether a relayout event changes the axes' ranges (plotly also sends ones that do not, such
    as ``autosize`` when the page lays out, which must not redraw the view)."""
    return bool(relayout) and any(k.startswith(("xaxis.range", "yaxis.range", "xaxis.autorange", "yaxis.autorange"))
                                  for k in relayout)  # fmt: skip


def view_from_relayout(relayout: dict | None, current: dict | None) -> tuple[list | None, list | None]:
    """The x and y ranges a plotly relayout event asks for (None: the whole extent)."""
    cur = current or {}
    xr, yr = cur.get("x"), cur.get("y")
    if not relayout:
        return xr, yr
    if relayout.get("xaxis.autorange"):
        xr = None
    if relayout.get("yaxis.autorange"):
        yr = None
    if "xaxis.range[0]" in relayout:
        xr = [relayout["xaxis.range[0]"], relayout["xaxis.range[1]"]]
    elif "xaxis.range" in relayout:
        xr = list(relayout["xaxis.range"])
    if "yaxis.range[0]" in relayout:
        yr = [relayout["yaxis.range[0]"], relayout["yaxis.range[1]"]]
    elif "yaxis.range" in relayout:
        yr = list(relayout["yaxis.range"])
    return xr, yr


def warm_up() -> None:
    """Compile the placement and datashader's kernels once (a few seconds), before the first page."""
    import pandas as pd

    jobs = pd.DataFrame(
        {
            "job_id": [1, 2, 3],
            "submit": [0.0, 0, 0],
            "start": [0.0, 0, 5],
            "end": [10.0, 5, 9],
            "size": [1, 2, 2],
            "wait": [0.0, 0, 5],
        }
    )
    g = build(jobs)
    codes, _, colours = categories(jobs, "job_id")
    raster_png(g, np.arange(len(g.job)), codes, colours, (0.0, 1.0), (0.0, 3.0))
    figure(g, "wait", [0, 0.001], [0, 3])


__all__ = ["EXACT_LIMIT", "GanttData", "build", "colour_options", "figure", "place", "view_from_relayout", "warm_up"]
