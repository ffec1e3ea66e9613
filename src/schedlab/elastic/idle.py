"""Idle holes: when each node of a machine is idle (free for elastic trainers) and when it is busy.

An :class:`IdleTrace` is a sequence of events; at each event some nodes become idle and some
become busy.  Changes are stored flat (CSR style: the changes of event ``e`` are
``node[ptr[e]:ptr[e+1]]`` with ``to_idle`` telling the direction), plus the idle set before the
first event.  Three sources build one:

* :func:`read_node_states`: the real node-state trace of the BFTrainer data (4,734 nodes, 15 days);
* :func:`from_schedule`: the nodes left idle by any schedlab simulation (jobs placed on the
  lowest-numbered free nodes), so any SWF trace and any policy can be studied;
* :func:`synthetic`: an alternating idle/busy renewal process per node, idle durations drawn from
  a given sample (BFTrainer's measured fragments by default) and busy durations exponential with
  the mean that gives the requested idle fraction.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from schedlab.errors import IdleTraceError


@dataclass
class IdleTrace:
    n_nodes: int
    times: np.ndarray  # (E,) event times, seconds, strictly increasing
    ptr: np.ndarray  # (E+1,) change offsets per event
    node: np.ndarray  # (C,) node of each change
    to_idle: np.ndarray  # (C,) True = the node becomes idle, False = busy
    initial_idle: np.ndarray  # (n_nodes,) idle before the first event (at ``start``)
    start: float
    end: float
    name: str = "idle"
    clock_origin: str | None = None  # wall-clock time of t = 0, when known

    def __post_init__(self):
        if self.n_nodes <= 0:
            raise IdleTraceError("an idle trace needs at least one node")
        if not self.end > self.start:
            raise IdleTraceError(f"empty idle trace: it ends ({self.end}) before it starts ({self.start})")
        if len(self.times) and (np.any(np.diff(self.times) <= 0) or self.times[0] < self.start):
            raise IdleTraceError("event times must be increasing and not before the start")

    @property
    def n_events(self) -> int:
        return len(self.times)

    def changes(self, e: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.ptr[e], self.ptr[e + 1]
        return self.node[lo:hi], self.to_idle[lo:hi]

    # ------------------------------------------------------------------ views
    def window(self, start: float, end: float) -> IdleTrace:
        """The same machine between ``start`` and ``end`` (state at ``start`` becomes the initial one)."""
        start, end = max(start, self.start), min(end, self.end)
        if not end > start:
            raise IdleTraceError(
                f"window [{start:.0f}, {end:.0f}] s is outside the trace [{self.start:.0f}, {self.end:.0f}] s"
            )
        upto = int(np.searchsorted(self.times, start, side="right"))  # events at or before start
        state = self.initial_idle.copy()
        c_hi = self.ptr[upto]
        if c_hi:  # apply the changes up to ``start``; per node the last one wins
            last_nodes, last = np.unique(self.node[:c_hi][::-1], return_index=True)
            state[last_nodes] = self.to_idle[:c_hi][::-1][last]
        stop = int(np.searchsorted(self.times, end, side="right"))
        return IdleTrace(
            self.n_nodes,
            self.times[upto:stop].copy(),
            self.ptr[upto : stop + 1] - self.ptr[upto],
            self.node[self.ptr[upto] : self.ptr[stop]].copy(),
            self.to_idle[self.ptr[upto] : self.ptr[stop]].copy(),
            state,
            float(start),
            float(end),
            self.name,
            self.clock_origin,
        )

    def first_nodes(self, n: int) -> IdleTrace:
        """Only nodes 0..n-1 (events in which none of them changes are dropped, as BFTrainer does)."""
        if n >= self.n_nodes:
            return self
        if n <= 0:
            raise IdleTraceError(f"--nodes must be >= 1 (got {n})")
        keep = self.node < n
        ev = np.repeat(np.arange(self.n_events), np.diff(self.ptr))[keep]
        counts = np.bincount(ev, minlength=self.n_events)
        has = counts > 0
        ptr = np.r_[0, np.cumsum(counts[has])]
        return IdleTrace(
            n,
            self.times[has],
            ptr,
            self.node[keep],
            self.to_idle[keep],
            self.initial_idle[:n].copy(),
            self.start,
            self.end,
            self.name,
            self.clock_origin,
        )

    # ------------------------------------------------------------------ statistics
    def idle_counts(self) -> np.ndarray:
        """Idle nodes after each event."""
        delta = np.where(self.to_idle, 1, -1)
        per_event = np.add.reduceat(delta, self.ptr[:-1]) if len(delta) else np.zeros(0, int)
        per_event[np.diff(self.ptr) == 0] = 0
        return int(self.initial_idle.sum()) + np.cumsum(per_event)

    def idle_node_seconds(self) -> float:
        counts = np.r_[self.initial_idle.sum(), self.idle_counts()]
        edges = np.r_[self.start, self.times, self.end]
        return float(np.sum(counts * np.diff(edges)))

    def idle_fraction(self) -> float:
        return self.idle_node_seconds() / (self.n_nodes * (self.end - self.start))

    def holes(self) -> pd.DataFrame:
        """One row per maximal idle interval: node, start, end, duration, censored (cut by the window)."""
        open_at = np.where(self.initial_idle, self.start, np.nan)
        rows_node, rows_start, rows_end, cut = [], [], [], []
        ev = np.repeat(np.arange(self.n_events), np.diff(self.ptr))
        t = self.times[ev] if len(ev) else np.zeros(0)
        for n, idle, tt in zip(self.node, self.to_idle, t, strict=False):
            if idle:
                open_at[n] = tt
            elif not np.isnan(open_at[n]):
                rows_node.append(n), rows_start.append(open_at[n]), rows_end.append(tt)
                cut.append(open_at[n] == self.start and self.initial_idle[n])
                open_at[n] = np.nan
        still = np.flatnonzero(~np.isnan(open_at))
        df = pd.DataFrame(
            {
                "node": np.r_[np.asarray(rows_node, dtype=np.int64), still],
                "start": np.r_[np.asarray(rows_start, dtype=float), open_at[still]],
                "end": np.r_[np.asarray(rows_end, dtype=float), np.full(len(still), self.end)],
                "censored": np.r_[np.asarray(cut, dtype=bool), np.ones(len(still), dtype=bool)],
            }
        )
        df["duration"] = df["end"] - df["start"]
        return df.sort_values(["start", "node"], kind="stable").reset_index(drop=True)

    def summary(self) -> dict:
        holes = self.holes()
        return {
            "nodes": self.n_nodes,
            "events": self.n_events,
            "hours": (self.end - self.start) / 3600,
            "idle_fraction": self.idle_fraction(),
            "idle_node_hours": self.idle_node_seconds() / 3600,
            "holes": len(holes),
            "median_hole_s": float(holes["duration"].median()) if len(holes) else 0.0,
        }


# ---------------------------------------------------------------------------------------- builders


def from_changes(
    n_nodes: int,
    time_s,
    node,
    to_idle,
    start: float,
    end: float,
    initial_idle=None,
    name: str = "idle",
    clock_origin: str | None = None,
) -> IdleTrace:
    """Build a trace from a flat change list (any order; sorted here by time, stable)."""
    time_s = np.asarray(time_s, dtype=np.float64)
    node = np.asarray(node, dtype=np.int64)
    to_idle = np.asarray(to_idle, dtype=bool)
    if len(node) and (node.min() < 0 or node.max() >= n_nodes):
        raise IdleTraceError(f"node index out of range 0..{n_nodes - 1}")
    order = np.argsort(time_s, kind="stable")
    time_s, node, to_idle = time_s[order], node[order], to_idle[order]
    times, first = np.unique(time_s, return_index=True)
    ptr = np.r_[first, len(time_s)].astype(np.int64)
    init = np.zeros(n_nodes, dtype=bool) if initial_idle is None else np.asarray(initial_idle, dtype=bool)
    return IdleTrace(n_nodes, times, ptr, node, to_idle, init, float(start), float(end), name, clock_origin)


def read_node_states(folder: Path | None = None) -> IdleTrace:
    """The BFTrainer node-state trace (``node_state_changes.csv.gz``; every node busy before its first row)."""
    import json

    from schedlab.elastic.data import bftrainer_dir

    folder = bftrainer_dir(folder)
    changes = pd.read_csv(folder / "node_state_changes.csv.gz", dtype={"time_s": np.int64, "node": np.int64})
    if changes.empty:
        raise IdleTraceError(f"{folder / 'node_state_changes.csv.gz'} has no state changes")
    bad = ~changes["state"].isin(["idle", "busy"])
    if bad.any():
        raise IdleTraceError(f"node_state_changes.csv.gz: {int(bad.sum())} row(s) with a state other than idle/busy")
    meta_path = folder / "node_state_meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    n_nodes = int(meta.get("n_nodes", changes["node"].max() + 1))
    end = float(meta.get("span_s", changes["time_s"].max()))
    return from_changes(
        n_nodes,
        changes["time_s"].to_numpy(),
        changes["node"].to_numpy(),
        (changes["state"] == "idle").to_numpy(),
        0.0,
        end,
        name="real",
        clock_origin=meta.get("trace_start"),
    )


def _place(start: np.ndarray, end: np.ndarray, size: np.ndarray, n_nodes: int):
    """Place jobs on nodes, lowest-numbered free nodes first.  Returns (job, node) pairs."""
    order_ev = sorted([(float(e), 0, j) for j, e in enumerate(end)] + [(float(s), 1, j) for j, s in enumerate(start)])
    free = list(range(n_nodes))
    heapq.heapify(free)
    held: dict[int, list[int]] = {}
    pairs_job, pairs_node = [], []
    for _, kind, j in order_ev:  # at equal times ends (kind 0) come before starts (kind 1)
        if kind == 0:
            for n in held.pop(j, []):
                heapq.heappush(free, n)
        else:
            k = int(size[j])
            if k > len(free):
                raise IdleTraceError(f"the schedule overcommits the machine at t={start[j]:.0f} s")
            nodes = [heapq.heappop(free) for _ in range(k)]
            held[j] = nodes
            pairs_job += [j] * k
            pairs_node += nodes
    return np.asarray(pairs_job, dtype=np.int64), np.asarray(pairs_node, dtype=np.int64)


def from_schedule(
    start, end, size, n_nodes: int, t0: float | None = None, t1: float | None = None, name: str = "sim"
) -> IdleTrace:
    """Idle holes of a schedule: a node is idle whenever no job runs on it.

    ``size`` is in whole nodes.  Jobs with zero runtime are skipped.  Between ``t0`` (default: first
    start) and ``t1`` (default: last end).
    """
    start, end, size = np.asarray(start, float), np.asarray(end, float), np.asarray(size, np.int64)
    keep = end > start
    start, end, size = start[keep], end[keep], size[keep]
    if len(start) == 0:
        raise IdleTraceError("the schedule has no job with a positive runtime")
    if size.max() > n_nodes:
        raise IdleTraceError(f"a job needs {size.max()} nodes but the machine has {n_nodes}")
    job, node = _place(start, end, size, n_nodes)
    t0 = float(start.min()) if t0 is None else float(t0)
    t1 = float(end.max()) if t1 is None else float(t1)
    # each job makes its nodes busy at start and idle at end; a node freed and retaken at the same
    # instant has no hole, so net changes per (time, node) are kept only when the state flips
    t = np.r_[start[job], end[job]]
    nd = np.r_[node, node]
    delta = np.r_[-np.ones(len(job), int), np.ones(len(job), int)]  # -1 busy, +1 idle
    df = pd.DataFrame({"t": t, "node": nd, "d": delta}).groupby(["t", "node"], sort=True)["d"].sum().reset_index()
    df = df[df["d"] != 0]
    df = df[(df["t"] > t0) & (df["t"] < t1)]
    busy_at_t0 = np.zeros(n_nodes, dtype=bool)
    running = (start <= t0) & (end > t0)
    busy_at_t0[node[running[job]]] = True
    return from_changes(
        n_nodes,
        df["t"].to_numpy(),
        df["node"].to_numpy(),
        (df["d"] > 0).to_numpy(),
        t0,
        t1,
        initial_idle=~busy_at_t0,
        name=name,
    )


def from_simulation(result, t0: float | None = None, t1: float | None = None) -> IdleTrace:
    """Idle holes of a schedlab :class:`~schedlab.simulator.SimResult` simulated in whole nodes."""
    if result.config.capacity_unit != "nodes" and result.workload.max_procs != result.workload.max_nodes:
        raise IdleTraceError("simulate with capacity_unit='nodes' to derive node-level idle holes")
    return from_schedule(
        result.start,
        result.end,
        result.size,
        int(result.capacity),
        t0,
        t1,
        name=f"sim:{result.workload.name}:{result.config.policy}",
    )


def synthetic(
    n_nodes: int, hours: float, idle_fraction: float = 0.0827, idle_durations=None, seed: int = 0
) -> IdleTrace:
    """Alternating idle/busy periods per node (see the module docstring)."""
    if not 0 < idle_fraction < 1:
        raise IdleTraceError(f"idle fraction must be in (0, 1) (got {idle_fraction})")
    if not hours > 0:
        raise IdleTraceError(f"hours must be > 0 (got {hours})")
    rng = np.random.default_rng(seed)
    if idle_durations is None:
        idle_durations = rng.lognormal(np.log(475.0), 1.3, 10_000)
    idle_durations = np.asarray(idle_durations, dtype=np.float64)
    idle_durations = idle_durations[idle_durations > 0]
    if len(idle_durations) == 0:
        raise IdleTraceError("no positive idle durations to sample from")
    mean_idle = idle_durations.mean()
    mean_busy = mean_idle * (1 - idle_fraction) / idle_fraction
    horizon = hours * 3600.0
    warm = 10.0 * (mean_idle + mean_busy)  # start earlier and discard, so t = 0 is in steady state
    init = np.zeros(n_nodes, dtype=bool)
    t_all, n_all, idle_all = [], [], []
    for n in range(n_nodes):
        idle = bool(rng.random() < idle_fraction)
        t = -warm
        while True:
            t += rng.choice(idle_durations) if idle else rng.exponential(mean_busy)
            if t >= horizon:
                break
            idle = not idle
            if t > 0:
                t_all.append(t), n_all.append(n), idle_all.append(idle)
            else:
                init[n] = idle
    return from_changes(n_nodes, t_all, n_all, idle_all, 0.0, horizon, initial_idle=init, name="synthetic")
