"""The report's PNG plots, drawn with the project's figure helper (:mod:`schedlab.report.figures`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from schedlab.analytics.report.analysis import Analysis
from schedlab.analytics.report.formatting import CLASS_NAMES
from schedlab.report.figures import pyplot, save_figure

_DPI = 110


def _plots(an: Analysis, out: Path) -> list[Path]:
    """Every plot the analysis has data for, written into ``out``; their paths."""
    plt = pyplot()
    paths = []
    st = an.stats
    ecdf = st.ecdf
    metrics = [m for m in ("run", "wait") if len(ecdf) and (ecdf["metric"] == m).any()]
    if metrics:
        paths.append(_ecdf_plot(plt, ecdf, metrics, out))
    if an.summary["states_known"] and len(st.states):
        paths.append(_state_mix_plot(plt, st.states, out))
        if len(st.failures_by_hour):
            paths.append(_failure_by_hour_plot(plt, st.failures_by_hour, out))
    if len(st.arrivals):
        paths.append(_arrivals_plot(plt, st.arrivals, st.arrival_profile, out))
    if an.energy is not None:
        paths.append(_energy_plot(plt, an, out))
        if an.tel_result.get("series") is not None:
            paths.append(_power_plot(plt, an.tel_result, out))
        sc = an.tel_result.get("scores")
        if sc is not None and len(sc):
            paths.append(_anomalies_plot(plt, sc, out))
    return paths


def _ecdf_plot(plt, ecdf, metrics: list[str], out: Path) -> Path:
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 3.6), squeeze=False)
    for ax, m in zip(axes[0], metrics, strict=False):
        for c, g in ecdf[ecdf["metric"] == m].groupby("job_class"):
            ax.step(np.maximum(g["value"], 1.0), g["prob"], where="post", label=CLASS_NAMES.get(c, c))
        ax.set_xscale("log")
        ax.set_xlabel(f"{'runtime' if m == 'run' else 'wait'} (s, log)")
        ax.set_ylabel("fraction of jobs")
        ax.grid(alpha=0.3)
        ax.legend()
    return save_figure(fig, out / "ecdf.png", dpi=_DPI)


def _state_mix_plot(plt, states, out: Path) -> Path:
    piv = states.pivot_table(index="job_class", columns="state", values="share", fill_value=0)
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    left = np.zeros(len(piv))
    for col in piv.columns:
        ax.barh([CLASS_NAMES.get(c, c) for c in piv.index], piv[col], left=left, label=col)
        left += piv[col].to_numpy()
    ax.set_xlabel("share of jobs")
    ax.legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.3))
    return save_figure(fig, out / "state_mix.png", dpi=_DPI)


def _failure_by_hour_plot(plt, fbh, out: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    for c, g in fbh.groupby("job_class"):
        ax.plot(g["hour"], g["failed_rate"], marker="o", label=f"{CLASS_NAMES.get(c, c)} FAILED")
        ax.plot(g["hour"], g["not_completed_rate"], ls="--", label=f"{CLASS_NAMES.get(c, c)} not COMPLETED")
    ax.set_xlabel("hour of submit (UTC)")
    ax.set_ylabel("rate")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return save_figure(fig, out / "failure_by_hour.png", dpi=_DPI)


def _arrivals_plot(plt, arr, arrival_profile, out: Path) -> Path:
    import pandas as pd

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.4), gridspec_kw={"width_ratios": [2.2, 1]})
    for c, g in arr.groupby("job_class"):
        axes[0].plot(pd.to_datetime(g["hour_start"], unit="s"), g["jobs"], lw=0.7, label=CLASS_NAMES.get(c, c))
    axes[0].set_ylabel("submissions per hour")
    axes[0].legend()
    prof = arrival_profile[arrival_profile["profile"] == "hour_of_day"]
    for c, g in prof.groupby("job_class"):
        axes[1].bar(g["slot"], g["jobs_per_day"], alpha=0.6, label=CLASS_NAMES.get(c, c))
    axes[1].set_xlabel("hour of day (UTC)")
    axes[1].set_ylabel("submissions per day")
    fig.autofmt_xdate()
    return save_figure(fig, out / "arrivals.png", dpi=_DPI)


def _energy_plot(plt, an: Analysis, out: Path) -> Path:
    """Measured power and its split (job static/dynamic shares, idle and no-usage loss) per bin, in kW."""
    import pandas as pd

    sl = an.energy.slots
    bin_s = an.tel_result.get("bin_s", 300.0)
    b = np.floor((sl["time"] - sl["time"].iloc[0]) / bin_s)
    agg = (
        sl.assign(b=b)
        .groupby("b")
        .agg(
            time=("time", "first"),
            measured=("measured_j", "sum"),
            st=("static_jobs_j", "sum"),
            dy=("dynamic_jobs_j", "sum"),
            idle=("idle_loss_j", "sum"),
            nu=("no_usage_loss_j", "sum"),
            n=("measured_j", "size"),
        )
    )
    dt = an.energy.balance["interval_s"]
    kw = lambda v: v / (agg["n"] * dt) / 1e3
    x = pd.to_datetime(agg["time"], unit="s")
    fig, ax = plt.subplots(figsize=(11, 3.6))
    ax.stackplot(
        x,
        kw(agg["st"]),
        kw(agg["dy"]),
        kw(agg["idle"]),
        kw(agg["nu"]),
        labels=["jobs: static share", "jobs: dynamic", "loss: idle nodes", "loss: no job usage"],
        alpha=0.8,
    )
    ax.plot(x, kw(agg["measured"]), color="k", lw=0.6, label="measured")
    ax.set_ylabel("kW")
    ax.legend(fontsize=7, loc="upper left", ncol=5)
    fig.autofmt_xdate()
    return save_figure(fig, out / "energy_attribution.png", dpi=_DPI)


def _power_plot(plt, tel_result: dict, out: Path) -> Path:
    """The binned power series with its changepoints and segment means."""
    import pandas as pd

    ser = tel_result["series"]
    bin_s = tel_result.get("bin_s", 300.0)
    fig, ax = plt.subplots(figsize=(11, 3.2))
    ax.plot(pd.to_datetime(ser["time"], unit="s"), ser["power_w"] / 1e3, lw=0.7, label="power")
    seg = tel_result.get("segments")
    if seg is not None:
        ends = [*list(seg["start"].iloc[1:]), ser["time"].iloc[-1]]
        for s0, s1, m in zip(seg["start"], ends, seg["mean"], strict=False):
            ax.hlines(m / 1e3, pd.to_datetime(s0, unit="s"), pd.to_datetime(s1, unit="s"), colors="r", lw=1.5)
        for t in tel_result.get("cp_times", []):
            ax.axvline(pd.to_datetime(t, unit="s"), color="r", lw=0.4, alpha=0.5)
    ax.set_ylabel("kW")
    ax.set_title(f"power ({bin_s / 60:.0f}-min means) with changepoints and segment means", fontsize=9)
    fig.autofmt_xdate()
    return save_figure(fig, out / "power_changepoints.png", dpi=_DPI)


def _anomalies_plot(plt, sc, out: Path) -> Path:
    """The 30 nodes with the largest mrDMD |z|, against the flagging threshold."""
    top = sc.groupby("node")["z"].apply(lambda z: np.abs(z).max()).sort_values(ascending=False).head(30)
    fig, ax = plt.subplots(figsize=(6.5, max(2.5, 0.18 * len(top))))
    ax.barh(top.index.astype(str)[::-1], top.to_numpy()[::-1])
    thr = sc.attrs.get("threshold")
    if thr:
        ax.axvline(thr, color="r", ls="--", label=f"threshold {thr:.1f}")
        ax.legend()
    ax.set_xlabel("max |robust z| over mrDMD windows")
    return save_figure(fig, out / "anomalies.png", dpi=_DPI)
