"""Warm runtime-predictor states for the RL environment's windows, fast.

An episode on window ``[s, s + L)`` of a workload predicts as ``simulate(workload.window(s, L),
estimates="predicted:...")`` does: its predictor starts from the state
:func:`schedlab.predict.online.predictor_state` builds for that window, i.e. warmed by the jobs of
the workload that had ended before the window's first submit, in end order.  Building that state
from scratch costs a pass over the whole history at every reset; :class:`WindowPredictor` keeps
snapshots of the warm-up (every ``K`` jobs in end order), so a reset copies one snapshot and
replays fewer than ``K`` jobs.  The state is the same, value for value (tested): the same jobs
observed in the same order; only the numbering of the history keys differs, which no prediction
reads.  Where the shortcut could group jobs differently from ``predictor_state`` (the window and
its history hold fewer than two distinct users of a trace that has several; or a window at the
workload's first job, whose history is the workload's own ``history()``), the state is built the
slow, exact way.
"""

from __future__ import annotations

import weakref

import numpy as np

from schedlab.predict.online import _warm, history_keys, new_state, predictor_state
from schedlab.workload.table import Workload

#: snapshots take at most about this many bytes per workload and predictor
SNAPSHOT_BYTES = 64 * 2**20
MIN_STRIDE = 512


def _copy(state: tuple) -> tuple:
    return tuple(a.copy() for a in state)


class WindowPredictor:
    """Warm predictor states (``pstate`` of :func:`~schedlab.simulator.engine.simulate_kernel_ex`)
    for windows of ``workload`` under predictor ``code`` (PRED_*)."""

    def __init__(self, workload: Workload, code: int):
        self.workload, self.code = workload, int(code)
        wl = workload
        self.keys, self.by_user = history_keys(wl.user, wl.req_time)
        self.n_keys = int(self.keys.max()) + 1 if len(self.keys) else 1
        self.req = np.ascontiguousarray(wl.req_time, dtype=np.float64)
        self.procs = np.ascontiguousarray(wl.procs, dtype=np.float64)
        self.run = np.ascontiguousarray(wl.run, dtype=np.float64)
        end = wl.submit + wl.run  # as Workload.history: an end is submit + runtime
        self.order = np.argsort(end, kind="stable")
        self.sorted_end = end[self.order]
        self.prefix_max = np.maximum.accumulate(self.order) if len(self.order) else self.order
        per_snapshot = 24 * self.n_keys + 8 * 64
        self.stride = max(MIN_STRIDE, int(np.ceil(len(wl) * per_snapshot / SNAPSHOT_BYTES)))
        self._snapshots: list[tuple] | None = None

    def _build(self) -> list[tuple]:
        state = new_state(self.n_keys)
        snaps = [_copy(state)]
        o, K = self.order, self.stride
        for lo in range(0, len(o) - K + 1, K):
            idx = o[lo : lo + K]
            _warm(self.code, self.keys[idx], self.run[idx], self.req[idx], self.procs[idx], *state)
            snaps.append(_copy(state))
        return snaps

    def state(self, s: int, L: int) -> tuple[tuple, bool]:
        """(pstate, by_user) for the window of jobs ``[s, s + L)``, as
        ``predictor_state(workload.window(s, L), code)`` gives them."""
        wl = self.workload
        sl = slice(s, s + L)
        c = int(np.searchsorted(self.sorted_end, wl.submit[s], side="right")) if s > 0 else 0
        exact = s == 0 or (c > 0 and self.prefix_max[c - 1] >= s)
        if self.by_user and not exact:  # the window alone must hold two users for the same grouping
            u = wl.user[sl]
            u = u[u >= 0]
            exact = len(u) == 0 or u.min() == u.max()
        if exact:
            return predictor_state(wl.window(s, L), self.code)
        if self._snapshots is None:
            self._snapshots = self._build()
        k = c // self.stride
        hist, cnt, w, P, seen = _copy(self._snapshots[k])
        idx = self.order[k * self.stride : c]
        if len(idx):
            _warm(self.code, self.keys[idx], self.run[idx], self.req[idx], self.procs[idx], hist, cnt, w, P, seen)
        own = (np.ascontiguousarray(self.keys[sl]), self.req[sl].copy(), self.procs[sl].copy())
        return (*own, hist, cnt, w, P, seen), self.by_user


_CACHE: dict[tuple[int, int], tuple[weakref.ref, WindowPredictor]] = {}


def window_predictor(workload: Workload, code: int) -> WindowPredictor:
    """The :class:`WindowPredictor` of ``workload`` and ``code``, shared by every environment of the
    process on that workload object (its snapshots are read-only)."""
    key = (id(workload), int(code))
    hit = _CACHE.get(key)
    if hit is not None and hit[0]() is workload:
        return hit[1]
    wp = WindowPredictor(workload, code)
    _CACHE[key] = (weakref.ref(workload, lambda _ref, key=key, cache=_CACHE: cache.pop(key, None)), wp)
    return wp


def feature_keys(workload: Workload) -> tuple[np.ndarray, int]:
    """History keys of every job (users, or similar requests) and their count: what the per-key
    accuracy feature is kept by when no predictor runs."""
    keys, _ = history_keys(workload.user, workload.req_time)
    return keys, int(keys.max()) + 1 if len(keys) else 1


__all__ = ["WindowPredictor", "feature_keys", "window_predictor"]
