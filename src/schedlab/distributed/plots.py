"""The sweep's plots: each headline metric by policy and backfilling (``metrics.png``), and along
every other axis that varies (``by_load_scale.png``, ``by_estimates.png``, ...), one line or bar
group per policy, averaged over the axes not shown."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from schedlab.report.figures import pyplot, save_figure

METRICS = (("mean_bsld", "mean bounded slowdown"), ("mean_wait", "mean wait (s)"), ("utilization", "utilisation"))
ALONG = ("load_scale", "estimates", "cluster", "trace", "seed")


def _panel(ax, ok: pd.DataFrame, index: str, columns: str, metric: str, label: str, line: bool) -> None:
    pivot = ok.pivot_table(index=index, columns=columns, values=metric, aggfunc="mean")
    if line:
        pivot.plot(ax=ax, marker="o")
    else:
        pivot.plot.bar(ax=ax, rot=30)
    ax.set_title(label)
    ax.set_xlabel(index.replace("_", " "))
    if metric == "mean_bsld" and (pivot.max().max() or 0) > 50 * max(pivot.min().min() or 1, 1e-9):
        ax.set_yscale("log")


def _figure(ok: pd.DataFrame, index: str, columns: str, line: bool, path: Path) -> str:
    plt = pyplot()
    shown = [(m, label) for m, label in METRICS if m in ok]
    fig, axes = plt.subplots(1, len(shown), figsize=(4.2 * len(shown), 3.6), squeeze=False)
    for ax, (metric, label) in zip(axes[0], shown, strict=True):
        _panel(ax, ok, index, columns, metric, label, line)
    save_figure(fig, path)
    return Path(path).name


def plot_sweep(ok: pd.DataFrame, folder: Path) -> list[str]:
    """The plots of the module docstring for the cells that ran (``status == "ok"``); file names."""
    folder = Path(folder)
    files = [_figure(ok, "policy", "backfill", False, folder / "metrics.png")]
    for axis in ALONG:
        if ok[axis].nunique() > 1:
            numeric = pd.api.types.is_numeric_dtype(ok[axis])
            data = ok.assign(cluster=ok["cluster"].replace("", "(trace's own)")) if axis == "cluster" else ok
            files.append(_figure(data, axis, "policy", numeric, folder / f"by_{axis}.png"))
    return files


__all__ = ["plot_sweep"]
