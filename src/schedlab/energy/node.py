"""One multi-GPU node running a job queue: the event loop, placement and the energy account.

The node has ``n_gpus`` GPUs in NUMA domains (4 GPUs in {0,1} and {2,3} on the profiled machines)
and runs at most ``max_tenants`` jobs at once (2, as EcoSched).  Every job of a queue arrives at
t = 0.  Time moves from event to event: at t = 0 and after every completion the policy may start
jobs; the loop then jumps to the next completion (ties end in job-label order).

Energy over the schedule [0, makespan]:

    energy = sum over jobs of (active power x runtime)  +  idle power per GPU x idle GPU-seconds

where idle GPU-seconds = n_gpus x makespan - sum of (GPUs x runtime).  EDP = energy x makespan.
The logs show no measurable co-location slowdown (median logged/profiled runtime of co-located jobs
is within 1.2 points of that of solo jobs on every GPU model), so a job's runtime does not depend on
its neighbour.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd

from schedlab.energy.profiles import AppTable, Mode, base_app
from schedlab.errors import ScheduleError


@dataclass(frozen=True)
class GPUNode:
    n_gpus: int = 4
    numa: tuple[tuple[int, ...], ...] = ((0, 1), (2, 3))
    idle_w_per_gpu: float = 70.0
    max_tenants: int = 2

    @classmethod
    def for_table(cls, table: AppTable, max_tenants: int = 2) -> GPUNode:
        half = table.n_gpus // 2
        return cls(
            table.n_gpus, (tuple(range(half)), tuple(range(half, table.n_gpus))), table.idle_w_per_gpu, max_tenants
        )

    def place(self, gpu_count: int, free: set[int], other_domains: list[int]) -> tuple[list[int], int, int]:
        """Local-first placement: the NUMA domain not used by a co-tenant, the most free GPUs
        first; GPUs of that domain first, the rest spilled.  Returns (gpu ids, domain, spilled)."""
        if gpu_count > len(free):
            raise ScheduleError(f"{gpu_count} GPUs asked, {len(free)} free")
        order = sorted(range(len(self.numa)), key=lambda d: (d in other_domains, -len(free & set(self.numa[d])), d))
        best = None
        for d in order:
            local = sorted(free & set(self.numa[d]))
            rest = sorted(free - set(local))
            ids = (local + rest)[:gpu_count]
            spill = sum(1 for i in ids if i not in self.numa[d])
            key = (d in other_domains, spill)
            if best is None or key < best[0]:
                best = (key, ids, d, spill)
        return sorted(best[1]), best[2], best[3]


@dataclass
class Running:
    job: str
    mode: Mode
    gpu_ids: list[int]
    numa: int
    spill: int
    start: float

    @property
    def end(self) -> float:
        return self.start + self.mode.runtime_s


@dataclass
class NodeState:
    """What a policy sees at a decision: the clock, the waiting jobs (queue order) and the tenants."""

    time: float
    pending: list[str]
    running: list[Running]
    node: GPUNode
    table: AppTable

    @property
    def free_gpus(self) -> set[int]:
        used = {i for r in self.running for i in r.gpu_ids}
        return set(range(self.node.n_gpus)) - used

    @property
    def free_slots(self) -> int:
        return self.node.max_tenants - len(self.running)


class Policy(Protocol):
    name: str

    def reset(self, queue: list[str], table: AppTable, node: GPUNode) -> None: ...

    def decide(self, state: NodeState) -> list[tuple[str, Mode]]:
        """Jobs to start now, each with its mode; an empty list waits for the next completion."""

    def observe(self, start: float, end: float, energy_j: float, state: NodeState) -> None:
        """Energy the node used between two events (a bandit learns from it)."""


@dataclass
class CoSchedule:
    """A finished run: one row per job, and the node's totals."""

    policy: str
    jobs: pd.DataFrame
    n_gpus: int
    idle_w_per_gpu: float
    decisions: int = 0
    meta: dict = field(default_factory=dict)

    @property
    def makespan_s(self) -> float:
        return float(self.jobs["end_s"].max()) if len(self.jobs) else 0.0

    @property
    def active_energy_j(self) -> float:
        return float(self.jobs["energy_j"].sum())

    @property
    def idle_energy_j(self) -> float:
        busy = float((self.jobs["gpu_count"] * self.jobs["runtime_s"]).sum())
        return self.idle_w_per_gpu * (self.n_gpus * self.makespan_s - busy)

    @property
    def energy_j(self) -> float:
        return self.active_energy_j + self.idle_energy_j

    @property
    def edp(self) -> float:
        return self.energy_j * self.makespan_s

    def summary(self) -> dict:
        return {
            "policy": self.policy,
            "jobs": len(self.jobs),
            "makespan_s": self.makespan_s,
            "energy_j": self.energy_j,
            "active_energy_j": self.active_energy_j,
            "idle_energy_j": self.idle_energy_j,
            "edp_js": self.edp,
            "gpu_utilisation": 1 - self.idle_energy_j / (self.idle_w_per_gpu * self.n_gpus * self.makespan_s)
            if self.makespan_s > 0
            else 0.0,
            **self.meta,
        }

    def check(self, node: GPUNode) -> None:
        """Invariants: every GPU and tenant slot is used by at most what the node has, at all times."""
        j = self.jobs
        times = np.unique(np.r_[j["start_s"].to_numpy(), j["end_s"].to_numpy()])
        for t in times:
            live = j[(j["start_s"] <= t + 1e-9) & (j["end_s"] > t + 1e-9)]
            ids = [i for s in live["gpu_ids"] for i in map(int, str(s).split())]
            if len(ids) != len(set(ids)) or len(ids) > node.n_gpus or len(live) > node.max_tenants:
                raise AssertionError(f"overcommit at t={t}: {live['job'].tolist()} on {ids}")


def simulate(queue: list[str], table: AppTable, policy: Policy, node: GPUNode | None = None) -> CoSchedule:
    """Run ``queue`` (all jobs at t = 0) on one node under ``policy``."""
    node = node or GPUNode.for_table(table)
    for job in queue:
        table.of(base_app(job))  # unknown apps fail before anything runs
    if len(set(queue)) != len(queue):
        raise ScheduleError("job labels must be unique (label repeated apps app#1, app#2, ...)")
    policy.reset(list(queue), table, node)
    state = NodeState(0.0, list(queue), [], node, table)
    rows, decisions = [], 0
    while state.pending or state.running:
        while state.pending and state.free_slots > 0:
            launches = policy.decide(state)
            decisions += 1
            if not launches:
                break
            for job, mode in launches:
                _start(state, job, mode)
        if not state.running:
            raise ScheduleError(f"policy {policy.name!r} left the node idle with {len(state.pending)} jobs waiting")
        t_next = min(r.end for r in state.running)
        energy = _interval_energy(state, t_next)
        t_prev = state.time
        done = sorted((r for r in state.running if r.end <= t_next + 1e-9), key=lambda r: r.job)
        state.running = [r for r in state.running if r not in done]
        state.time = t_next
        for r in done:
            rows.append(
                {
                    "job": r.job,
                    "app": r.mode.app,
                    "gpu_count": r.mode.gpu_count,
                    "gpu_ids": " ".join(map(str, r.gpu_ids)),
                    "numa": r.numa,
                    "spilled_gpus": r.spill,
                    "start_s": r.start,
                    "end_s": r.end,
                    "runtime_s": r.mode.runtime_s,
                    "power_w": r.mode.power_w,
                    "energy_j": r.mode.energy_j,
                }
            )
        policy.observe(t_prev, t_next, energy, state)
    jobs = pd.DataFrame(rows).sort_values(["start_s", "job"], ignore_index=True) if rows else pd.DataFrame()
    return CoSchedule(policy.name, jobs, node.n_gpus, node.idle_w_per_gpu, decisions)


def _start(state: NodeState, job: str, mode: Mode) -> None:
    if job not in state.pending:
        raise ScheduleError(f"job {job!r} is not waiting")
    if mode.app != base_app(job) or state.table.of(mode.app).get(mode.gpu_count) != mode:
        raise ScheduleError(f"{mode.app} on {mode.gpu_count} GPUs is not a profiled mode of {job!r}")
    if state.free_slots <= 0:
        raise ScheduleError(f"node already runs {state.node.max_tenants} jobs")
    ids, numa, spill = state.node.place(mode.gpu_count, state.free_gpus, [r.numa for r in state.running])
    state.pending.remove(job)
    state.running.append(Running(job, mode, ids, numa, spill, state.time))


def _interval_energy(state: NodeState, t_next: float) -> float:
    dt = t_next - state.time
    busy = sum(r.mode.gpu_count for r in state.running)
    return dt * (sum(r.mode.power_w for r in state.running) + state.node.idle_w_per_gpu * (state.node.n_gpus - busy))


# ------------------------------------------------------------------------------- logged runs


def replay_logged(table: AppTable, data_dir=None) -> pd.DataFrame:
    """Energy of every logged evaluation run of ``table``'s GPU model, recomputed from its logged
    schedule (start, end, GPU count per job) with the table's power: the calibration check."""
    from schedlab.energy.profiles import ecosched_dir

    folder = ecosched_dir(data_dir)
    jobs = pd.read_csv(folder / "eval_runs_jobs.csv")
    summ = pd.read_csv(folder / "eval_runs_summary.csv")
    jobs = jobs[jobs["gpu_model"] == table.gpu_model]
    out = []
    for (wl, pol), j in jobs.groupby(["workload", "policy"]):
        s = summ[(summ["gpu_model"] == table.gpu_model) & (summ["workload"] == wl) & (summ["policy"] == pol)]
        modes = [table.modes.get(a, {}).get(int(g)) for a, g in zip(j["app"], j["gpu_count"], strict=False)]
        if s.empty or any(m is None for m in modes):
            continue  # e.g. H100 hpgmg has no profile
        rt = j["runtime_s"].to_numpy(float)
        makespan = float(s["makespan_s"].iloc[0])
        busy = float((j["gpu_count"].to_numpy() * rt).sum())
        model = float(sum(m.power_w * r for m, r in zip(modes, rt, strict=False))) + table.idle_w_per_gpu * (
            table.n_gpus * makespan - busy
        )
        logged = float(s["gpu_energy_j"].iloc[0])
        out.append(
            {
                "gpu_model": table.gpu_model,
                "workload": wl,
                "policy": pol,
                "jobs": len(j),
                "makespan_s": makespan,
                "logged_energy_j": logged,
                "model_energy_j": model,
                "error": model / logged - 1,
            }
        )
    return pd.DataFrame(out)
