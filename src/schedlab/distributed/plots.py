"""The sweep's plot: each headline metric by policy and backfilling, averaged over the other axes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from schedlab.report.figures import pyplot, save_figure

METRICS = (("mean_bsld", "mean bounded slowdown"), ("mean_wait", "mean wait (s)"), ("utilization", "utilisation"))


def plot_sweep(ok: pd.DataFrame, path: Path) -> str:
    plt = pyplot()
    shown = [(m, label) for m, label in METRICS if m in ok]
    fig, axes = plt.subplots(1, len(shown), figsize=(4.2 * len(shown), 3.6), squeeze=False)
    for ax, (metric, label) in zip(axes[0], shown, strict=True):
        pivot = ok.pivot_table(index="policy", columns="backfill", values=metric, aggfunc="mean")
        pivot.plot.bar(ax=ax, rot=30)
        ax.set_title(label)
        ax.set_xlabel("")
        if metric == "mean_bsld" and (pivot.max().max() or 0) > 50 * max(pivot.min().min() or 1, 1e-9):
            ax.set_yscale("log")
    save_figure(fig, path)
    return Path(path).name


__all__ = ["plot_sweep"]
