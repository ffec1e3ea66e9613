"""The multi-resource engine, paused at every scheduling decision (for RL agents on a machine
description).

The rules are the compiled engine's (:mod:`.kernel`), with its node state and its functions
(:mod:`.alloc`, :mod:`.reserve`) called one decision at a time from Python, so there is one copy
of fit, node selection and EASY's resource-exact reservation.  At each event time ``t``: all
completions, then all arrivals, then a pass made of decisions:

* a decision is due while some waiting job is *eligible* (not held by a QOS per-user limit) and
  the pass is not over; the agent sees the first ``W`` eligible jobs in queue order (static
  ``rank``, lowest first; ties by submit order);
* the agent picks one.  If it fits now (every resource, on nodes of its pool, by the selection
  rule) it starts and another decision is due at ``t``.  If not, it becomes the *reserved* job:
  EASY's reservation gives its shadow time and nodes, and the pass ends after backfilling:
  ``none`` starts nothing else; ``easy`` tries every other eligible job in queue order and
  starts it if it fits now and either ends (now + estimate) by the shadow time or fits within
  the reserved nodes' slack (the kernel's test);
* then the clock moves to the next event.

An agent that always picks the first visible job reproduces ``simulate`` (same policy as queue
order, same backfill) job for job (tested).  A job's start delay if reserved now is the same
reservation computed without keeping it (:meth:`MultiStepper.shadow_if_reserved`).
"""

from __future__ import annotations

import heapq

import numpy as np

from schedlab.simulator.engine import _run_insert, _run_remove
from schedlab.simulator.multires.alloc import SEL_FIRST, B, R, build_counters, choose, give_back, take
from schedlab.simulator.multires.reserve import clear_reservation, reserve, use_slack


class MultiMachine:
    """The static arrays of a prepared machine (see :class:`.prepare.Prepared`): node totals,
    pools both ways, allocation and selection rules, and each pool's totals per resource."""

    def __init__(self, prep, excl: bool, sel: int):
        self.tot, self.excl, self.sel = prep.tot, bool(excl), int(sel)
        self.pool_ptr, self.pool_idx, self.np_ptr, self.np_idx = prep.pool_ptr, prep.pool_idx, prep.np_ptr, prep.np_idx
        P = len(self.pool_ptr) - 1
        self.pool_tot = np.array(
            [self.tot[self.pool_idx[self.pool_ptr[p] : self.pool_ptr[p + 1]]].sum(0) for p in range(P)]
        ).reshape(P, R)
        self.n_nodes = self.tot.shape[0]


class MultiStepper:
    """One window of jobs (indices 0..J-1, submit order) on ``machine``; see the module docstring.

    ``jobs`` = (submit, run, est, nodes, req, pool); ``qos`` = (qpair, lim_jobs, lim_gpus,
    n_pairs, gpus_total) as :func:`.run._qos_limits` gives them; ``rank``: queue order (lower
    first); ``easy``: backfill after a reservation."""

    def __init__(self, machine: MultiMachine, jobs, qos, rank: np.ndarray, easy: bool):
        self.m = machine
        self.submit, self.run, self.est, self.nodes, self.req, self.pool = jobs
        self.qpair, self.lim_jobs, self.lim_gpus, n_pairs, self.gpus_total = qos
        self.rank, self.easy = np.asarray(rank, dtype=np.int64), bool(easy)
        J, N = len(self.submit), machine.n_nodes
        self.J = J
        self.free = machine.tot.copy()
        self.cnt = build_counters(machine.tot, machine.pool_ptr, machine.pool_idx, machine.np_ptr, machine.np_idx)
        self.off = np.zeros(J + 1, dtype=np.int64)
        self.off[1:] = np.cumsum(self.nodes)
        self.alloc = np.full(int(self.off[-1]), -1, dtype=np.int64)
        self.start = np.full(J, -1.0)
        self.re, self.rj, self.nrun = np.empty(J + 1), np.empty(J + 1, dtype=np.int64), 0
        self.heap: list[tuple[float, int]] = []
        self.in_resv = np.zeros(N, dtype=np.bool_)
        self.slack = np.zeros((N, R), dtype=np.int64)
        maxn = int(self.nodes.max()) if J else 1
        self.resv_nodes = np.empty(maxn, dtype=np.int64)
        self.scratch = (
            np.empty((N, R), dtype=np.int64),
            np.zeros(N, dtype=np.bool_),
            np.empty(N, dtype=np.int64),
            np.empty(N, dtype=np.int64),
        )
        self.rs = (
            np.zeros((R, B + 1), dtype=np.int64),
            np.zeros((R, B + 1), dtype=np.int64),
            np.zeros(1, dtype=np.int64),
        )
        self.out = np.empty(maxn, dtype=np.int64)
        self.run_jobs = np.zeros(max(n_pairs, 1), dtype=np.int64)
        self.run_gpus = np.zeros(max(n_pairs, 1), dtype=np.int64)
        self.queue: list[int] = []  # waiting jobs, kept in (rank, job) order
        self.t, self.i_arr, self.in_pass, self.started = 0.0, 0, False, 0
        self.reserved, self.shadow = -1, np.inf
        self.decisions = 0

    # -- what a decision sees ---------------------------------------------------------------
    def blocked(self, j: int) -> bool:
        """``j`` is held by its QOS's per-user limit on running jobs or GPUs."""
        p = self.qpair[j]
        if p < 0:
            return False
        if self.lim_jobs[j] > 0 and self.run_jobs[p] + 1 > self.lim_jobs[j]:
            return True
        return bool(self.lim_gpus[j] > 0 and self.run_gpus[p] + self.gpus_total[j] > self.lim_gpus[j])

    def eligible(self, limit: int | None = None) -> list[int]:
        """The first ``limit`` waiting jobs not held by a QOS limit, in queue order."""
        out = []
        for j in self.queue:
            if not self.blocked(j):
                out.append(j)
                if limit is not None and len(out) == limit:
                    break
        return out

    def fits(self, j: int) -> bool:
        """``j`` fits now on nodes of its pool (the nodes are not taken)."""
        return self._choose(j, False)

    def shadow_if_reserved(self, j: int) -> float:
        """When ``j`` would start if reserved now (running jobs ending at their estimates); ``t``
        when it fits now."""
        if self.fits(j):
            return self.t
        s = self._reserve(j)
        clear_reservation(j, self.nodes, self.in_resv, self.resv_nodes)
        return s

    def running(self) -> tuple[np.ndarray, np.ndarray]:
        """(estimated ends ascending, job) of the running jobs."""
        return self.re[: self.nrun].copy(), self.rj[: self.nrun].copy()

    # -- moving on ----------------------------------------------------------------------------
    def advance(self) -> bool:
        """Move to the next decision; True when every job of the window has started."""
        while True:
            if self.in_pass and self.eligible(1):
                return False
            self.in_pass = False
            if self.started == self.J:
                return True
            t = self.submit[self.i_arr] if self.i_arr < self.J else np.inf
            if self.heap and self.heap[0][0] < t:
                t = self.heap[0][0]
            self.t = float(t)
            self._events(self.t)
            self.in_pass = True

    def act(self, j: int) -> bool:
        """The agent's pick ``j`` (an eligible waiting job): True when it started now."""
        self.decisions += 1
        if self._choose(j, False):
            self._start(j, guard=False)
            return True
        self.reserved = j
        self.shadow = self._reserve(j)
        if self.easy:
            for k in list(self.queue):
                if k != j and not self.blocked(k):
                    guard = self.t + self.est[k] > self.shadow
                    if self._choose(k, guard):
                        self._start(k, guard)
        clear_reservation(j, self.nodes, self.in_resv, self.resv_nodes)
        self.in_pass = False
        return False

    # -- internals ----------------------------------------------------------------------------
    def _events(self, t: float) -> None:
        m = self.m
        while self.heap and self.heap[0][0] <= t:
            _, j = heapq.heappop(self.heap)
            nodes = self.alloc[self.off[j] : self.off[j] + self.nodes[j]]
            give_back(j, nodes, self.free, m.tot, self.req, m.excl, m.np_ptr, m.np_idx, self.cnt, self.in_resv, self.rs)
            self.nrun = _run_remove(self.re, self.rj, self.nrun, self.start[j] + self.est[j], j)
            if self.qpair[j] >= 0:
                self.run_jobs[self.qpair[j]] -= 1
                self.run_gpus[self.qpair[j]] -= self.gpus_total[j]
        while self.i_arr < self.J and self.submit[self.i_arr] <= t:
            j = self.i_arr
            key = (self.rank[j], j)
            lo, hi = 0, len(self.queue)
            while lo < hi:  # insert in (rank, job) order
                mid = (lo + hi) // 2
                o = self.queue[mid]
                if (self.rank[o], o) < key:
                    lo = mid + 1
                else:
                    hi = mid
            self.queue.insert(lo, j)
            self.i_arr += 1

    def _choose(self, j: int, guard: bool) -> bool:
        m = self.m
        return bool(
            choose(
                j,
                self.pool[j],
                self.free,
                m.tot,
                self.req,
                self.nodes,
                m.excl,
                m.sel,
                m.pool_ptr,
                m.pool_idx,
                self.in_resv,
                self.slack,
                guard,
                self.out[: self.nodes[j]],
                self.cnt,
            )
        )

    def _reserve(self, j: int) -> float:
        m = self.m
        return float(
            reserve(
                j,
                self.pool[j],
                self.t,
                self.free,
                m.tot,
                self.req,
                self.nodes,
                m.excl,
                m.sel,
                m.pool_ptr,
                m.pool_idx,
                m.np_ptr,
                m.np_idx,
                self.cnt,
                self.re,
                self.rj,
                self.nrun,
                self.alloc,
                self.off,
                self.scratch,
                self.in_resv,
                self.slack,
                self.resv_nodes,
            )
        )

    def _start(self, j: int, guard: bool) -> None:
        """Start ``j`` on the nodes the last successful :meth:`_choose` of ``j`` put in ``out``."""
        m, t = self.m, self.t
        chosen = self.out[: self.nodes[j]].copy()
        if guard:
            use_slack(j, chosen, self.req, self.in_resv, self.slack, self.cnt[3], self.rs)
        self.alloc[self.off[j] : self.off[j] + self.nodes[j]] = chosen
        take(j, chosen, self.free, m.tot, self.req, m.excl, m.np_ptr, m.np_idx, self.cnt, self.in_resv, self.rs)
        self.start[j] = t
        heapq.heappush(self.heap, (t + float(self.run[j]), j))
        self.nrun = _run_insert(self.re, self.rj, self.nrun, t + float(self.est[j]), j)
        if self.qpair[j] >= 0:
            self.run_jobs[self.qpair[j]] += 1
            self.run_gpus[self.qpair[j]] += self.gpus_total[j]
        self.queue.remove(j)
        self.started += 1

    # -- exact save/restore (plain arrays: a training checkpoint holds them) ----------------------
    _ARRAYS = ("free", "alloc", "start", "re", "rj", "run_jobs", "run_gpus")

    def get_state(self) -> dict:
        """Everything that changes during a window, as arrays (between decisions no reservation
        is held, so the reservation's flags and slack are not part of it)."""
        st = {k: getattr(self, k).copy() for k in self._ARRAYS}
        st["cnt"] = tuple(a.copy() for a in self.cnt)
        st["heap_t"] = np.array([h[0] for h in self.heap], dtype=np.float64)
        st["heap_j"] = np.array([h[1] for h in self.heap], dtype=np.int64)
        st["queue"] = np.array(self.queue, dtype=np.int64)
        st["scalars"] = np.array([self.t, self.i_arr, self.in_pass, self.started, self.decisions, self.nrun])
        return st

    def set_state(self, st: dict) -> None:
        """Restore :meth:`get_state`'s arrays; a ValueError when they do not fit this window."""
        for k in self._ARRAYS:
            a = np.asarray(st[k])
            if a.shape != getattr(self, k).shape:
                raise ValueError(f"the saved {k} has shape {a.shape}, the window {getattr(self, k).shape}")
            setattr(self, k, a.astype(getattr(self, k).dtype, copy=True))
        cnt = tuple(np.asarray(a) for a in st["cnt"])
        if len(cnt) != len(self.cnt) or any(a.shape != b.shape for a, b in zip(cnt, self.cnt, strict=True)):
            raise ValueError("the saved node counters do not fit this machine")
        self.cnt = tuple(a.astype(b.dtype, copy=True) for a, b in zip(cnt, self.cnt, strict=True))
        queue, hj = np.asarray(st["queue"], dtype=np.int64), np.asarray(st["heap_j"], dtype=np.int64)
        if ((queue < 0) | (queue >= self.J)).any() or ((hj < 0) | (hj >= self.J)).any():
            raise ValueError("the saved queue names jobs outside the window")
        self.queue = [int(j) for j in queue]
        self.heap = [(float(t), int(j)) for t, j in zip(st["heap_t"], hj, strict=True)]
        heapq.heapify(self.heap)
        t, i_arr, in_pass, started, decisions, nrun = np.asarray(st["scalars"], dtype=np.float64).tolist()
        self.t, self.i_arr, self.in_pass = t, int(i_arr), bool(in_pass)
        self.started, self.decisions, self.nrun = int(started), int(decisions), int(nrun)
        if not (0 <= self.i_arr <= self.J and 0 <= self.nrun <= self.J):
            raise ValueError("the saved counters are out of range")

    def pool_free(self) -> np.ndarray:
        """Free amount of each resource per pool, (P, 3)."""
        return self.cnt[1].copy()


__all__ = ["SEL_FIRST", "MultiMachine", "MultiStepper"]
