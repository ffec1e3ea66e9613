"""Figures for OPEN and EcoShift: each function draws one PNG into ``out`` and returns its path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from schedlab.report.figures import pyplot, save_figure


def _save(fig, out: Path, name: str) -> Path:
    """``out / name`` at the dpi of these figures."""
    return save_figure(fig, Path(out) / name, dpi=130)


def predicted_vs_measured(
    measured: np.ndarray,
    predicted: np.ndarray,
    apps,
    out: Path,
    name: str = "open_pred_vs_measured.png",
    title: str = "OPEN, leave-one-app-out",
) -> Path:
    """Scatter of predicted vs measured perf_norm, one colour per app, with the y = x line."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 6))
    cmap = plt.get_cmap("tab20")
    for i, app in enumerate(apps):
        ax.scatter(measured[i], predicted[i], s=6, alpha=0.6, color=cmap(i % 20), label=app)
    lo = float(np.nanmin([np.nanmin(measured), np.nanmin(predicted)]))
    ax.plot([lo, 1.0], [lo, 1.0], "k--", lw=1)
    ax.set_xlabel("measured perf_norm")
    ax.set_ylabel("predicted perf_norm")
    ax.set_title(title)
    ax.legend(fontsize=5, ncol=2, loc="upper left", markerscale=2)
    return _save(fig, out, name)


def accuracy_per_app(per_app: pd.DataFrame, out: Path, name: str = "open_accuracy_per_app.png") -> Path:
    """Bars of 100 - MAPE on the unprofiled pairs per app and mode, the authors' where known."""
    plt = pyplot()
    apps = list(dict.fromkeys(per_app["app"]))
    modes = list(dict.fromkeys(per_app["mode"]))
    cols = [(m, "acc_unprofiled") for m in modes]
    if "authors_acc_all" in per_app and per_app["authors_acc_all"].notna().any():
        cols.append(("authors", "authors_acc_all"))
    fig, ax = plt.subplots(figsize=(max(8, 0.35 * len(apps) * len(cols)), 4.5))
    w = 0.8 / len(cols)
    x = np.arange(len(apps))
    for k, (label, col) in enumerate(cols):
        src = per_app[per_app["mode"] == (modes[0] if label == "authors" else label)].set_index("app").reindex(apps)
        ax.bar(x + k * w, src[col], width=w, label=label if label == "authors" else f"{label} (unprofiled)")
    ax.axhline(95, color="k", ls="--", lw=1)
    ax.set_xticks(x + w * (len(cols) - 1) / 2)
    ax.set_xticklabels(apps, rotation=70, fontsize=7)
    ax.set_ylabel("100 - MAPE (%)")
    ax.set_ylim(max(0, float(np.nanmin(per_app[[c for _, c in cols]].to_numpy())) - 5), 100)
    ax.legend(fontsize=8)
    return _save(fig, out, name)


def gain_vs_cap(table: pd.DataFrame, out: Path, name: str = "ecoshift_gain_vs_cap.png") -> Path:
    """Measured mean-perf gain over fair share per policy against the cap fraction."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for pol, g in table.groupby("policy", sort=False):
        g = g.sort_values("fraction")
        ax.plot(g["fraction"], g["gain_vs_fair_pct"], marker="o", label=pol)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xlabel("cluster cap / peak")
    ax.set_ylabel("measured mean perf vs fair share (%)")
    ax.legend(fontsize=8)
    return _save(fig, out, name)


def allocation_per_node(frame: pd.DataFrame, out: Path, name: str = "ecoshift_allocation.png", title: str = "") -> Path:
    """Stacked CPU and GPU cap per node (label = app) for one allocation."""
    plt = pyplot()
    n = len(frame)
    fig, ax = plt.subplots(figsize=(max(6, 0.3 * n), 4.5))
    x = np.arange(n)
    ax.bar(x, frame["cpu_cap_w"], label="CPU cap")
    ax.bar(x, frame["gpu_cap_w"], bottom=frame["cpu_cap_w"], label="GPU cap")
    ax.set_xticks(x)
    ax.set_xticklabels(frame["app"], rotation=70, fontsize=7)
    ax.set_ylabel("W")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return _save(fig, out, name)
