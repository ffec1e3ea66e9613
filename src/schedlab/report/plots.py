"""PNG plots for comparisons (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from schedlab.report.figures import pyplot, save_figure


def metric_bars(rows: list[dict], out: Path, metrics=("mean_wait", "mean_bsld", "utilization")) -> Path:
    """Bars of each metric per policy+backfill (mean over windows; error bars = min..max)."""
    plt = pyplot()
    labels = [f"{r['policy']}+{r['backfill']}" for r in rows]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 0.35 * len(rows) + 2.2))
    for ax, m in zip(np.atleast_1d(axes), metrics, strict=False):
        vals = np.array([r["mean"][m] for r in rows])
        lo = np.array([min(w[m] for w in r["windows"]) for r in rows])
        hi = np.array([max(w[m] for w in r["windows"]) for r in rows])
        y = np.arange(len(rows))
        ax.barh(
            y, vals, xerr=[vals - lo, hi - vals] if len(rows[0]["windows"]) > 1 else None, color="#4C72B0", capsize=3
        )
        ax.set_yticks(y, labels, fontsize=8)
        ax.invert_yaxis()
        ax.set_title(m.replace("_", " "))
        ax.grid(axis="x", alpha=0.3)
    return save_figure(fig, out / "metrics.png", dpi=110)


def wait_cdfs(waits: dict[str, np.ndarray], out: Path) -> Path:
    """Empirical CDF of job wait times (log x axis), one line per policy+backfill."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, w in waits.items():
        x = np.sort(np.maximum(w, 1.0))
        ax.plot(x, np.arange(1, len(x) + 1) / len(x), label=label, lw=1.3)
    ax.set_xscale("log")
    ax.set_xlabel("wait time (s, values < 1 s drawn at 1 s)")
    ax.set_ylabel("fraction of jobs")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    return save_figure(fig, out / "wait_cdf.png", dpi=110)


def binned_mean(t: np.ndarray, v: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Time average of the step function (t, v) over each bin of ``edges``."""
    seg_end = np.r_[t[1:], edges[-1]]
    cum = np.r_[0.0, np.cumsum(v * np.diff(np.r_[t, edges[-1]]).clip(0))]

    def integral(x):
        k = np.searchsorted(t, x, side="right") - 1
        k = k.clip(0, len(t) - 1)
        return cum[k] + v[k] * (np.minimum(x, seg_end[k]) - t[k]).clip(0)

    return np.diff(integral(edges)) / np.diff(edges)


def over_time(series: dict[str, dict], out: Path, bins: int = 300) -> Path:
    """Utilisation and queue length over time (time averages in ``bins`` bins per line)."""
    plt = pyplot()
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    t_end = max(max(s["util_t"][-1], s["queue_t"][-1]) for s in series.values())
    edges = np.linspace(0.0, t_end, bins + 1)
    mid = (edges[:-1] + edges[1:]) / 2 / 86400
    width = (edges[1] - edges[0]) / 3600
    for label, s in series.items():
        a1.plot(mid, binned_mean(s["util_t"], s["util"], edges), lw=1.0, label=label)
        a2.plot(mid, binned_mean(s["queue_t"], s["queue"], edges), lw=1.0, label=label)
    a1.set_ylabel(f"utilisation ({width:.3g} h means)")
    a2.set_ylabel("queue length (jobs)")
    a2.set_xlabel("time since first submit (days)")
    for a in (a1, a2):
        a.grid(alpha=0.3)
    a1.legend(fontsize=7, ncol=3)
    return save_figure(fig, out / "over_time.png", dpi=110)


def predicted_vs_actual(predicted: np.ndarray, actual: np.ndarray, requested: np.ndarray, out: Path) -> Path:
    """Predicted (and requested) against actual runtime, log-log, with the diagonal: points below
    it are under-predictions (each corrected while the job ran)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 5))
    a = np.maximum(actual, 1.0)
    ax.scatter(a, np.maximum(requested, 1.0), s=2, alpha=0.15, color="0.6", label="requested", rasterized=True)
    ax.scatter(a, np.maximum(predicted, 1.0), s=2, alpha=0.3, color="C0", label="predicted", rasterized=True)
    lim = (1.0, float(max(a.max(), np.max(requested), 10.0)) * 1.5) if len(a) else (1.0, 10.0)
    ax.plot(lim, lim, color="k", lw=0.8)
    ax.set(xscale="log", yscale="log", xlim=lim, ylim=lim, xlabel="actual runtime (s)", ylabel="estimate (s)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, markerscale=4)
    return save_figure(fig, out / "predicted_vs_actual.png", dpi=110)
