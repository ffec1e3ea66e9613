"""Figures and tables of the dashboard's views, from loaded results (plain plotly figure dicts and
lists of row dicts; nothing here touches Dash).  Every series sent to the browser is bounded:
time series are binned to at most :data:`MAX_POINTS` points, distributions to :data:`MAX_POINTS`
quantiles, tables to :data:`MAX_ROWS` rows."""

from __future__ import annotations

import numpy as np

from schedlab.dashboard.gantt import PALETTE

MAX_POINTS = 2000
MAX_ROWS = 1000


def empty(message: str) -> dict:
    """A blank figure that says why it is blank."""
    return dict(
        data=[],
        layout=dict(
            xaxis=dict(visible=False), yaxis=dict(visible=False), margin=dict(l=10, r=10, t=10, b=10),
            annotations=[dict(text=message, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)],
        ),
    )  # fmt: skip


def _layout(title: str, x: str, y: str, **kw) -> dict:
    return dict(
        title=dict(text=title, font=dict(size=14)), xaxis=dict(title=dict(text=x)), yaxis=dict(title=dict(text=y)),
        margin=dict(l=60, r=10, t=40, b=40), legend=dict(orientation="h", y=-0.2), plot_bgcolor="white", **kw,
    )  # fmt: skip


def rows(df, limit: int = MAX_ROWS) -> list[dict]:
    """The first ``limit`` rows of ``df`` as JSON-safe dicts (NaN as None, numbers rounded)."""
    from schedlab.report.outputs import json_safe

    part = df.head(limit).copy()
    for c in part.columns:
        if part[c].dtype.kind == "f":
            part[c] = part[c].round(4)
    return json_safe(part.to_dict("records"))


def columns(df) -> list[dict]:
    return [dict(field=str(c), sortable=True, filter=True, resizable=True) for c in df.columns]


def capacity_of(res) -> float:
    """Capacity of a simulate run: from its utilisation (area / (capacity x span)), else peak use."""
    from schedlab.dashboard.gantt import peak_use

    j = res.tables["jobs"]
    area = float(((j["end"] - j["start"]) * j["size"]).sum())
    span = float(j["end"].max() - j["submit"].min()) if len(j) else 0.0
    util = res.summary.get("utilization")
    if isinstance(util, int | float) and util > 0 and span > 0:
        return max(1.0, round(area / (util * span)))
    return float(peak_use(j["start"].to_numpy(), j["end"].to_numpy(), j["size"].to_numpy()))


def _binned(times: np.ndarray, values: np.ndarray, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
    """A step function (value from each time on) averaged over at most MAX_POINTS equal bins."""
    if len(times) == 0 or t1 <= t0:
        return np.array([]), np.array([])
    edges = np.linspace(t0, t1, MAX_POINTS + 1)
    # integral of the step function at each edge
    seg_t = np.r_[times, t1]
    widths = np.diff(np.clip(seg_t, t0, t1))
    cum = np.r_[0.0, np.cumsum(values * widths)]
    at = np.interp(edges, np.clip(seg_t, t0, t1), cum)
    return (edges[:-1] + edges[1:]) / 2, np.diff(at) / np.diff(edges)


def over_time(results: list) -> dict:
    """Utilisation and queue length over time of simulate runs (one line each, two panels)."""
    from schedlab.metrics import queue_length_series, utilization_series

    data = []
    for k, res in enumerate(results):
        j = res.tables["jobs"]
        t0, t1 = float(j["submit"].min()), float(j["end"].max())
        ut, uv = utilization_series(j["start"].to_numpy(), j["end"].to_numpy(), j["size"].to_numpy(), capacity_of(res))
        qt, qv = queue_length_series(j["submit"].to_numpy(), j["start"].to_numpy())
        col = PALETTE[k % len(PALETTE)]
        for (t, v), axis, what in (((ut, uv), "y", "utilisation"), ((qt, qv), "y2", "queue length")):
            x, y = _binned(t, v, t0, t1)
            data.append(
                dict(type="scatter", mode="lines", x=((x - t0) / 3600).tolist(), y=y.tolist(), yaxis=axis,
                     name=f"{res.label}: {what}", line=dict(color=col, dash="solid" if axis == "y" else "dot"))
            )  # fmt: skip
    layout = _layout("Utilisation and queue length (bin means)", "hours since the first submit", "utilisation")
    layout["yaxis"].update(domain=[0.55, 1.0], range=[0, 1.05])
    layout["yaxis2"] = dict(domain=[0.0, 0.45], title=dict(text="queue length (jobs)"), anchor="x")
    return dict(data=data, layout=layout)


def distributions(results: list, metric: str) -> dict:
    """Empirical CDF of per-job wait (hours) or bounded slowdown, one line per run."""
    data = []
    for k, res in enumerate(results):
        j = res.tables["jobs"]
        if metric not in j.columns:
            continue
        v = np.sort(j[metric].to_numpy(np.float64))
        v = v[np.isfinite(v)]
        if metric == "wait":
            v = v / 3600.0
        q = np.linspace(0, 1, min(MAX_POINTS, max(len(v), 2)))
        x = np.quantile(v, q) if len(v) else q
        data.append(
            dict(type="scatter", mode="lines", x=x.tolist(), y=q.tolist(), name=res.label,
                 line=dict(color=PALETTE[k % len(PALETTE)], shape="hv"))
        )  # fmt: skip
    unit = "wait (hours)" if metric == "wait" else "bounded slowdown"
    return dict(data=data, layout=_layout(f"Distribution of {unit} per policy", unit, "fraction of jobs"))


def metric_bars(table, metric: str, by: str = "policy", title: str = "") -> dict:
    """Mean of ``metric`` per ``by`` (and backfill, if there), with the min–max over windows."""
    keys = [c for c in (by, "backfill", "part") if c in table.columns]
    g = table.groupby(keys, sort=False)[metric].agg(["mean", "min", "max"]).reset_index()
    names = g[keys].astype(str).agg("+".join, axis=1).tolist()
    bar = dict(
        type="bar", x=names, y=g["mean"].tolist(), marker=dict(color=PALETTE[0]),
        error_y=dict(type="data", symmetric=False, array=(g["max"] - g["mean"]).tolist(),
                     arrayminus=(g["mean"] - g["min"]).tolist()),
    )  # fmt: skip
    return dict(data=[bar], layout=_layout(title or f"{metric} per {by}", by, metric))


def moved_most(a, b, limit: int = 50):
    """Jobs of two runs of the same trace, matched by job_id, ordered by how far their start moved."""
    import pandas as pd

    cols = ["job_id", "submit", "start", "wait", "size"]
    m = pd.merge(a[cols], b[["job_id", "start", "wait"]], on="job_id", suffixes=("_a", "_b"))
    m["moved_h"] = (m["start_b"] - m["start_a"]) / 3600.0
    m = m.reindex(m["moved_h"].abs().sort_values(ascending=False, kind="stable").index)
    return m.head(limit), m


def start_scatter(m, label_a: str, label_b: str) -> dict:
    """Start in run B against start in run A (a thinned sample of at most MAX_POINTS jobs, moved most first)."""
    part = m.head(MAX_POINTS)
    t0 = float(min(part["start_a"].min(), part["start_b"].min())) if len(part) else 0.0
    pts = dict(
        type="scatter", mode="markers", x=((part["start_a"] - t0) / 3600).tolist(),
        y=((part["start_b"] - t0) / 3600).tolist(), customdata=part["job_id"].tolist(),
        marker=dict(size=5, color=part["moved_h"].tolist(), colorscale="RdBu", showscale=True),
        hovertemplate="job %{customdata}<br>A %{x:.1f} h, B %{y:.1f} h<extra></extra>", name="jobs",
    )  # fmt: skip
    return dict(data=[pts], layout=_layout("Start times of the jobs that moved most", label_a, label_b))


def per_group(jobs, key: str):
    """Per-user or per-partition table: jobs, mean/max wait (h), mean bsld, processor-hours."""
    import pandas as pd

    j = jobs.assign(_ph=(jobs["end"] - jobs["start"]) * jobs["size"] / 3600.0, _wh=jobs["wait"] / 3600.0)
    agg = {"jobs": ("job_id", "count"), "mean_wait_h": ("_wh", "mean"), "max_wait_h": ("_wh", "max")}
    if "bsld" in j.columns:
        agg["mean_bsld"] = ("bsld", "mean")
    agg["proc_hours"] = ("_ph", "sum")
    g = j.groupby(key).agg(**agg).reset_index().sort_values("proc_hours", ascending=False)
    return pd.DataFrame(g)


def bftrainer(res) -> dict:
    """Idle nodes and the nodes trainers used over time (step lines), and each trainer's nodes."""
    ev = res.tables["events"]
    al = res.tables["allocations"]
    t0 = float(ev["time"].min()) if len(ev) else 0.0
    h = lambda s: ((s - t0) / 3600.0).tolist()
    data = [
        dict(type="scatter", mode="lines", x=h(ev["time"]), y=ev["idle_nodes"].tolist(), name="idle nodes (holes)",
             line=dict(shape="hv", color="#bbbbbb"), fill="tozeroy"),
        dict(type="scatter", mode="lines", x=h(ev["time"]), y=ev["used_nodes"].tolist(), name="used by trainers",
             line=dict(shape="hv", color=PALETTE[0]), fill="tozeroy"),
    ]  # fmt: skip
    for k, (job, g) in enumerate(al.groupby("job_id", sort=True)):
        if k >= 20:
            break
        data.append(
            dict(type="scatter", mode="lines", x=h(g["time"]), y=g["nodes"].tolist(), name=f"{job}", yaxis="y2",
                 line=dict(shape="hv", color=PALETTE[k % len(PALETTE)]))
        )  # fmt: skip
    layout = _layout("BFTrainer: idle holes and how trainers filled them", "hours", "nodes")
    layout["yaxis"].update(domain=[0.5, 1.0])
    layout["yaxis2"] = dict(domain=[0.0, 0.42], title=dict(text="nodes per trainer"), anchor="x")
    return dict(data=data, layout=layout)


def ecosched_gantt(jobs, policy: str) -> dict:
    """EcoSched: each job on its GPUs over time under one policy, coloured by application."""
    j = jobs[jobs["policy"] == policy]
    apps = sorted(j["app"].astype(str).unique())
    data = []
    for k, app in enumerate(apps):
        xs, ys = [], []
        for _, r in j[j["app"].astype(str) == app].iterrows():
            for gpu in str(r["gpu_ids"]).split():
                g = float(gpu)
                xs += [r["start_s"], r["end_s"], r["end_s"], r["start_s"], r["start_s"], None]
                ys += [g - 0.4, g - 0.4, g + 0.4, g + 0.4, g - 0.4, None]
        col = PALETTE[k % len(PALETTE)]
        data.append(
            dict(type="scatter", mode="lines", fill="toself", x=xs, y=ys, name=app, line=dict(color=col, width=0.5),
                 fillcolor=col)
        )  # fmt: skip
    return dict(data=data, layout=_layout(f"EcoSched: {policy}, jobs on GPUs", "seconds", "GPU"))


def ecoshift_caps(res, policy: str) -> dict:
    """EcoShift: the CPU and GPU power caps each node got under one policy, stacked."""
    key = "allocation_" + policy.replace("-", "_")
    al = res.tables.get(key)
    if al is None:
        return empty(f"no {key}.parquet in {res.name}")
    x = [f"{n} {a}" for n, a in zip(al["node"], al["app"], strict=True)]
    data = [
        dict(type="bar", x=x, y=al["cpu_cap_w"].tolist(), name="CPU cap (W)", marker=dict(color=PALETTE[0])),
        dict(type="bar", x=x, y=al["gpu_cap_w"].tolist(), name="GPU cap (W)", marker=dict(color=PALETTE[1])),
    ]
    return dict(data=data, layout=_layout(f"EcoShift: caps per node under {policy}", "node", "watts", barmode="stack"))


def class_bars(table, value: str, title: str) -> dict:
    """Bars of one column of an analytics table, per job class (and state, where there)."""
    if "state" in table.columns:
        data = [
            dict(type="bar", x=g["job_class"].astype(str).tolist(), y=g[value].tolist(), name=str(state),
                 marker=dict(color=PALETTE[k % len(PALETTE)]))
            for k, (state, g) in enumerate(table.groupby("state", sort=True))
        ]  # fmt: skip
        return dict(data=data, layout=_layout(title, "job class", value, barmode="stack"))
    bar = dict(
        type="bar", x=table["job_class"].astype(str).tolist(), y=table[value].tolist(), marker=dict(color=PALETTE[0])
    )
    return dict(data=[bar], layout=_layout(title, "job class", value))


__all__ = [
    "bftrainer",
    "capacity_of",
    "class_bars",
    "columns",
    "distributions",
    "ecosched_gantt",
    "ecoshift_caps",
    "empty",
    "metric_bars",
    "moved_most",
    "over_time",
    "per_group",
    "rows",
    "start_scatter",
]  # fmt: skip
