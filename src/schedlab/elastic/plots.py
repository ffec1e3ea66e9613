"""PNG plots of a BFTrainer replay: idle nodes used over time, and who held them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from schedlab.report.figures import pyplot, save_figure


def idle_usage(events: pd.DataFrame, out: Path) -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 3.4))
    h = (events["time"] - events["time"].iloc[0]) / 3600
    ax.step(h, events["idle_nodes"], where="post", color="#999999", lw=0.8, label="idle nodes")
    ax.step(h, events["used_nodes"], where="post", color="#C44E52", lw=0.8, label="used by trainers")
    ax.set_xlabel("hours")
    ax.set_ylabel("nodes")
    ax.set_title("Idle nodes and the part elastic trainers use")
    ax.legend(loc="upper right", fontsize=8)
    return save_figure(fig, out / "idle_nodes_used.png", dpi=110)


def _wide(result) -> pd.DataFrame:
    """Nodes each trainer holds after every decision point (rows: event times, columns: trainers)."""
    ev_t = result.events["time"].to_numpy()
    alloc = result.allocations.drop_duplicates(["time", "trainer"], keep="last")
    grid = np.union1d(ev_t, alloc["time"].unique())
    wide = alloc.pivot(index="time", columns="trainer", values="nodes").reindex(grid).ffill().fillna(0.0)
    return wide.reindex(ev_t)


def allocation_by_model(result, out: Path) -> Path:
    """Stacked nodes held over time, per model."""
    plt = pyplot()
    ev_t = result.events["time"].to_numpy()
    fig, ax = plt.subplots(figsize=(9, 3.6))
    if len(result.allocations):
        wide = _wide(result)
        models = result.trainers["model"].to_numpy()
        by_model = wide.T.groupby(models[wide.columns.to_numpy()]).sum().T
        ax.stackplot((ev_t - ev_t[0]) / 3600, by_model.to_numpy().T, labels=list(by_model.columns), step="post")
        ax.legend(loc="upper right", fontsize=7, ncol=2)
    ax.set_xlabel("hours")
    ax.set_ylabel("nodes held")
    ax.set_title("Nodes held by trainers, by model")
    return save_figure(fig, out / "allocation_by_model.png", dpi=110)


def trainer_allocation(result, out: Path) -> Path:
    """Per-trainer allocation over time: one row per trainer that ever held nodes, colour = nodes."""
    plt = pyplot()
    ev_t = result.events["time"].to_numpy()
    fig, ax = plt.subplots(figsize=(9, 4.2))
    if len(result.allocations):
        wide = _wide(result)
        img = ax.imshow(
            wide.to_numpy().T,
            aspect="auto",
            interpolation="nearest",
            cmap="viridis",
            extent=(0, (ev_t[-1] - ev_t[0]) / 3600, wide.shape[1], 0),
        )
        fig.colorbar(img, ax=ax, label="nodes")
    ax.set_xlabel("hours")
    ax.set_ylabel("trainer (submission order)")
    ax.set_title("Nodes held by each trainer over time")
    return save_figure(fig, out / "trainer_allocation.png", dpi=110)
