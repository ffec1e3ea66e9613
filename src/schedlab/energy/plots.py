"""Plots of co-schedules: a Gantt chart per GPU, and energy / makespan / EDP bars per policy."""

from __future__ import annotations

from pathlib import Path

from schedlab.energy.node import CoSchedule
from schedlab.report.figures import pyplot, save_figure


def gantt(schedules: dict[str, CoSchedule], path: Path, n_gpus: int = 4) -> Path:
    """One panel per policy: a bar per job on each GPU it held, coloured by app."""
    plt = pyplot()
    apps = sorted({a for s in schedules.values() for a in s.jobs["app"]})
    cmap = plt.get_cmap("tab20")
    colour = {a: cmap(i % 20) for i, a in enumerate(apps)}
    fig, axes = plt.subplots(len(schedules), 1, figsize=(11, 1.2 + 1.1 * len(schedules)), sharex=True, squeeze=False)
    for ax, (name, s) in zip(axes[:, 0], schedules.items(), strict=False):
        for r in s.jobs.itertuples(index=False):
            for g in map(int, str(r.gpu_ids).split()):
                ax.barh(g, r.runtime_s, left=r.start_s, color=colour[r.app], edgecolor="white", linewidth=0.5)
        ax.set_yticks(range(n_gpus), [f"GPU{g}" for g in range(n_gpus)])
        ax.invert_yaxis()
        ax.set_title(f"{name}: makespan {s.makespan_s:.0f} s, energy {s.energy_j / 1e3:.1f} kJ", fontsize=9, loc="left")
    axes[-1, 0].set_xlabel("time since the queue started (s)")
    handles = [plt.Rectangle((0, 0), 1, 1, color=colour[a]) for a in apps]
    fig.legend(handles, apps, loc="lower center", ncol=6, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.04 + 0.012 * (len(apps) // 6), 1, 1))
    return save_figure(fig, path, dpi=120, tight=False)


def metric_bars(summary_rows: list[dict], path: Path, baseline: str) -> Path:
    """Energy, makespan and EDP of every policy, relative to ``baseline`` (= 1)."""
    plt = pyplot()
    base = next(r for r in summary_rows if r["policy"] == baseline)
    names = [r["policy"] for r in summary_rows]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), sharey=False)
    for ax, key, label in zip(axes, ("energy_j", "makespan_s", "edp_js"), ("energy", "makespan", "EDP"), strict=False):
        vals = [r[key] / base[key] for r in summary_rows]
        ax.bar(range(len(names)), vals, color=["#888" if n == baseline else "#3a7" for n in names])
        ax.axhline(1.0, color="k", lw=0.8)
        ax.set_xticks(range(len(names)), names, rotation=40, ha="right", fontsize=8)
        ax.set_title(f"{label} vs {baseline}", fontsize=9)
        for i, v in enumerate(vals):
            ax.text(i, v, f"{v:.2f}", ha="center", va="bottom", fontsize=7)
    return save_figure(fig, path, dpi=120)
