"""The mrDMD decomposition itself: per level and window, DMD of a subsampled copy, slow modes kept
and subtracted on the full grid (see :mod:`schedlab.analytics.mrdmd`)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from schedlab.errors import SchedlabError


@dataclass
class MrDMDWindow:
    """The slow modes that one level took from one time window ``[start, stop)`` (sample indices)."""

    level: int
    index: int
    start: int
    stop: int
    step: int  # samples per snapshot
    t0: float  # sample position of snapshot 0 (block centre for "mean")
    modes: np.ndarray  # entities x k, complex
    eigs: np.ndarray  # k discrete-time eigenvalues per snapshot step
    amplitudes: np.ndarray  # k
    rank: int  # SVD rank used (slow modes are a subset)

    @property
    def n_modes(self) -> int:
        return len(self.eigs)

    def frequencies(self, dt: float = 1.0) -> np.ndarray:
        """Cycles per unit time of each slow mode (``dt`` = time per sample)."""
        return np.angle(self.eigs) / (2 * np.pi * self.step * dt)

    def dynamics(self, t: np.ndarray) -> np.ndarray:
        """k x len(t) time dynamics ``b * lambda**((t - t0) / step)`` at sample positions ``t``."""
        loglam = np.log(self.eigs)
        return self.amplitudes[:, None] * np.exp(np.outer(loglam, (np.asarray(t, float) - self.t0) / self.step))


def _robust_rank(s: np.ndarray, shape: tuple[int, int]) -> int:
    """Gavish & Donoho optimal hard threshold with unknown noise: tau = omega(beta) * median(s)."""
    beta = min(shape) / max(shape)
    omega = 0.56 * beta**3 - 0.95 * beta**2 + 1.82 * beta + 1.43
    return int(np.sum(s > omega * np.median(s)))


def _svd(X: np.ndarray, rank, method: str, rng: np.random.Generator, oversample: int, power_iter: int):
    """Truncated SVD of X (entities x snapshots); randomized range finder when it pays."""
    n, m = X.shape
    if method == "auto":
        method = "randomized" if isinstance(rank, (int, np.integer)) and rank + oversample < min(n, m) // 2 else "full"
    if method == "randomized" and not isinstance(rank, str):
        k = min(rank + oversample, min(n, m))
        Q, _ = np.linalg.qr(X @ rng.standard_normal((m, k)))
        for _ in range(power_iter):
            Q, _ = np.linalg.qr(X.T @ Q)
            Q, _ = np.linalg.qr(X @ Q)
        Ub, s, Vt = np.linalg.svd(Q.T @ X, full_matrices=False)
        U = Q @ Ub
    else:
        U, s, Vt = np.linalg.svd(X, full_matrices=False)
    r = _robust_rank(s, X.shape) if rank == "oht" else int(rank)
    r = min(r, len(s))
    r = min(r, int(np.sum(s > s[0] * 1e-10))) if len(s) and s[0] > 0 else 0
    return U[:, :r], s[:r], Vt[:r]


class MrDMD:
    """Multiresolution DMD of an entities x time matrix (see the module docstring).

    Parameters: ``max_levels`` levels at most (fewer if windows get shorter than ``2 * snapshots``
    samples); ``max_cycles`` slow cycles kept per window; ``rank`` the SVD rank per window (an
    int, or ``"oht"`` for the Gavish-Donoho optimal hard threshold); ``snapshots`` the subsampled
    columns per window (default ``max(8 * max_cycles, 2 * rank + 2)``); ``subsample`` ``"mean"`` or
    ``"decimate"``; ``svd`` ``"auto"``, ``"full"`` or ``"randomized"``; ``seed`` for the randomized
    SVD; ``chunk`` columns per block when subtracting (bounds the extra memory); ``delays`` stacks
    that many time-shifted copies of the snapshots (a Hankel matrix) before the DMD, because nodes
    that all follow one load curve give a data matrix of spatial rank ~2, and DMD needs two modes
    (a conjugate pair) per oscillation; ``noise_floor`` scales the z-score floor (see
    :func:`score_anomalies`).
    """

    def __init__(
        self,
        max_levels: int = 6,
        max_cycles: int = 2,
        rank: int | str = 10,
        snapshots: int | None = None,
        subsample: str = "mean",
        svd: str = "auto",
        oversample: int = 10,
        power_iter: int = 2,
        seed: int = 0,
        chunk: int = 512,
        noise_floor: float = 1.0,
        delays: int = 4,
        shared_rank: int = 3,
        shared_fraction: float = 0.2,
    ):
        self.max_levels = max_levels
        self.max_cycles = max_cycles
        self.rank = rank
        self.snapshots = snapshots
        self.subsample = subsample
        self.svd = svd
        self.oversample = oversample
        self.power_iter = power_iter
        self.seed = seed
        self.chunk = chunk
        self.noise_floor = noise_floor
        self.delays = delays
        self.shared_rank = shared_rank
        self.shared_fraction = shared_fraction

    # ------------------------------------------------------------------ fit
    def _check(self):
        if not (isinstance(self.max_levels, (int, np.integer)) and self.max_levels >= 1):
            raise SchedlabError(f"max_levels must be an int >= 1, got {self.max_levels!r}")
        if not self.max_cycles > 0:
            raise SchedlabError(f"max_cycles must be positive, got {self.max_cycles!r}")
        if not (self.rank == "oht" or (isinstance(self.rank, (int, np.integer)) and self.rank >= 1)):
            raise SchedlabError(f"rank must be an int >= 1 or 'oht', got {self.rank!r}")
        if self.subsample not in ("mean", "decimate"):
            raise SchedlabError(f"subsample must be 'mean' or 'decimate', got {self.subsample!r}")
        if not (isinstance(self.delays, (int, np.integer)) and self.delays >= 1):
            raise SchedlabError(f"delays must be an int >= 1, got {self.delays!r}")
        if self.svd not in ("auto", "full", "randomized"):
            raise SchedlabError(f"svd must be 'auto', 'full' or 'randomized', got {self.svd!r}")
        snaps = self.snapshots
        if snaps is None:
            snaps = (
                max(int(np.ceil(8 * self.max_cycles)), 2 * (self.rank if self.rank != "oht" else 8) + 2)
                + self.delays
                - 1
            )
        if snaps < 4:
            raise SchedlabError(f"snapshots must be >= 4, got {snaps}")
        return int(snaps)

    def fit(self, X, times=None) -> MrDMD:
        """Decompose ``X`` (entities x time, finite, on a regular grid); ``times`` labels the columns."""
        snaps = self._check()
        X = self._check_data(X, times, snaps)
        n, m = X.shape
        rng = np.random.default_rng(self.seed)
        R = np.array(X, dtype=np.float64, order="C", copy=True)  # the residual, updated in place
        n_levels = 1
        while n_levels < self.max_levels and (m >> n_levels) >= 2 * snaps:
            n_levels += 1
        self.levels_: list[list[MrDMDWindow]] = []
        self.window_rms_: list[np.ndarray] = []
        self.window_dev_: list[np.ndarray] = []
        self.window_bounds_: list[np.ndarray] = []
        for lev in range(n_levels):
            self._fit_level(R, lev, snaps, rng)
        self._residual_sums(R)
        self.residual_rms_ = self.residual_rms(n_levels - 1)
        self.noise_ = self._noise_level(R, rng)
        self.n_levels_ = n_levels
        self.n_entities_, self.n_times_ = n, m
        self.snapshots_ = snaps
        self.times_ = None if times is None else np.asarray(times)
        return self

    @staticmethod
    def _check_data(X, times, snaps: int) -> np.ndarray:
        """``X`` as an array, after checking its shape, values and ``times``."""
        X = np.asarray(X)
        if X.ndim != 2:
            raise SchedlabError(f"X must be a 2-D entities x time array, got shape {X.shape}")
        n, m = X.shape
        if n < 1 or m < 2 * snaps:
            raise SchedlabError(f"X has {m} time samples; need at least 2 * snapshots = {2 * snaps}")
        if not np.all(np.isfinite(X)):
            raise SchedlabError(
                f"X has {int(np.sum(~np.isfinite(X)))} NaN/inf entries; fill gaps first (e.g. TelemetryMatrix.filled())"
            )
        if times is not None and len(times) != m:
            raise SchedlabError(f"times has {len(times)} entries but X has {m} columns")
        return X

    def _fit_level(self, R: np.ndarray, lev: int, snaps: int, rng: np.random.Generator) -> None:
        """Level ``lev`` (``2**lev`` windows): DMD of each window's subsampled residual, whose slow
        modes are subtracted from ``R`` in place; appends the level's windows, RMS and bounds."""
        n, m = R.shape
        edges = np.array([(j * m) >> lev for j in range((1 << lev) + 1)])
        wins, rms, dev = [], np.zeros((n, 1 << lev)), np.zeros((n, 1 << lev))
        steps, sums = self._level_blocks(R, edges, lev, snaps)
        col = 0
        for j in range(1 << lev):
            a, b = edges[j], edges[j + 1]
            step, k = steps[j]
            if self.subsample == "mean":
                Xs = sums[:, col : col + k] / step
                col += k
                t0 = a + (step - 1) / 2
            else:
                Xs = R[:, a : a + step * k : step]
                t0 = float(a)
            win = self._dmd_window(Xs, lev, j, a, b, step, t0, rng)
            wins.append(win)
            if win.n_modes:
                self._subtract(R, win)
                rms[:, j], dev[:, j] = self._deviation(win)
        self.levels_.append(wins)
        self.window_rms_.append(rms)
        self.window_dev_.append(dev)
        self.window_bounds_.append(edges)

    def _level_blocks(self, R: np.ndarray, edges: np.ndarray, lev: int, snaps: int):
        """``(samples per snapshot, snapshots)`` of every window of level ``lev`` and, for
        ``subsample="mean"``, the block sums of all its windows (one pass over ``R``; else None)."""
        starts, keep = [], []
        steps = []
        for j in range(1 << lev):
            a, b = edges[j], edges[j + 1]
            step = max(1, (b - a) // snaps)
            k = (b - a) // step
            steps.append((step, k))
            if self.subsample == "mean":
                cuts = a + step * np.arange(k + 1)
                keep += list(range(len(starts), len(starts) + k))
                starts += list(cuts[:-1]) + ([cuts[-1]] if cuts[-1] < b else [])
        sums = None
        if self.subsample == "mean":
            sums = np.add.reduceat(R, np.asarray(starts), axis=1)[:, keep]
        return steps, sums

    def _residual_sums(self, R: np.ndarray) -> None:
        """Per entity and finest window: sum, sum of squares and sum of squared first differences of ``R``."""
        fin = self.window_bounds_[-1]
        self.residual_sum_ = np.column_stack([R[:, a:b].sum(axis=1) for a, b in itertools.pairwise(fin)])
        self.residual_sumsq_ = np.column_stack(
            [np.einsum("ij,ij->i", R[:, a:b], R[:, a:b]) for a, b in itertools.pairwise(fin)]
        )
        # sum of squared first differences inside each finest window: the fast part of the residual
        # (white noise, fast oscillations, spikes) without what slow-mode fit errors leave behind
        self.residual_dsq_ = np.column_stack(
            [np.einsum("ij,ij->i", np.diff(R[:, a:b]), np.diff(R[:, a:b])) for a, b in itertools.pairwise(fin)]
        )

    @staticmethod
    def _noise_level(R: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Per-entity white-noise level of the residual (first differences, robust), from at most
        1,024 seeded column pairs: a robust scale needs no more."""
        m = R.shape[1]
        cols = np.arange(m - 1) if m <= 1025 else np.sort(rng.choice(m - 1, 1024, replace=False))
        d = R[:, cols + 1] - R[:, cols]
        return 1.4826 * np.median(np.abs(d - np.median(d, axis=1, keepdims=True)), axis=1) / np.sqrt(2)

    def _dmd_window(self, Xs, lev, j, a, b, step, t0, rng) -> MrDMDWindow:
        n, k = Xs.shape
        d = self.delays
        if d > 1:  # time-delay (Hankel) stack
            Xs = np.vstack([Xs[:, i : k - d + 1 + i] for i in range(d)])
            k = Xs.shape[1]
        X1, X2 = Xs[:, :-1], Xs[:, 1:]
        U, s, Vt = _svd(X1, self.rank, self.svd, rng, self.oversample, self.power_iter)
        empty = MrDMDWindow(
            lev,
            j,
            int(a),
            int(b),
            int(step),
            float(t0),
            np.zeros((n, 0), complex),
            np.zeros(0, complex),
            np.zeros(0, complex),
            len(s),
        )
        if len(s) == 0:
            return empty
        X2VS = (X2 @ Vt.T) / s  # n x r
        Atilde = U.T @ X2VS
        lam, W = np.linalg.eig(Atilde)
        ok = np.abs(lam) > 1e-12
        lam, W = lam[ok], W[:, ok]
        # slow modes: |omega| / 2 pi <= max_cycles per window, omega = log(lambda) per snapshot
        slow = np.abs(np.log(lam)) / (2 * np.pi) * k <= self.max_cycles
        if not slow.any():
            return empty
        lam, W = lam[slow], W[:, slow]
        Phi = X2VS @ W  # exact DMD modes
        # amplitudes that best fit all snapshots (not only the first): min ||Xs - Phi diag(b) V||
        V = lam[:, None] ** np.arange(k)[None, :]
        P = (Phi.conj().T @ Phi) * (V @ V.conj().T).conj()
        q = np.einsum("ij,ji->i", V, Xs.T @ Phi.conj()).conj()
        try:
            bamp = np.linalg.solve(P, q)
        except np.linalg.LinAlgError:
            bamp = np.linalg.lstsq(P, q, rcond=None)[0]
        return MrDMDWindow(lev, j, int(a), int(b), int(step), float(t0), Phi[:n], lam, bamp, len(s))

    def _subtract(self, R: np.ndarray, win: MrDMDWindow) -> None:
        """R[:, window] -= the window's slow reconstruction, in column chunks (one real matmul each)."""
        P = np.hstack([win.modes.real, -win.modes.imag])  # Re(Phi D) = [Re, -Im] [Re D; Im D]
        for c in range(win.start, win.stop, self.chunk):
            e = min(c + self.chunk, win.stop)
            D = win.dynamics(np.arange(c, e))
            R[:, c:e] -= P @ np.vstack([D.real, D.imag])

    def residual_rms(self, level: int) -> np.ndarray:
        """Entities x windows RMS (about the window mean) of the residual on ``level``'s windows."""
        if not 0 <= level < len(self.window_bounds_):
            raise SchedlabError(f"level must be in 0..{len(self.window_bounds_) - 1}, got {level}")
        group = 1 << (len(self.window_bounds_) - 1 - level)  # finest windows per window
        fin = self.window_bounds_[-1]
        w = np.add.reduceat(np.diff(fin), np.arange(0, len(fin) - 1, group))
        s1 = np.add.reduceat(self.residual_sum_, np.arange(0, len(fin) - 1, group), axis=1)
        s2 = np.add.reduceat(self.residual_sumsq_, np.arange(0, len(fin) - 1, group), axis=1)
        return np.sqrt(np.maximum(s2 / w - (s1 / w) ** 2, 0.0))

    def residual_noise(self, level: int) -> np.ndarray:
        """Entities x windows RMS of the residual's first differences / sqrt(2) on ``level``'s windows.

        For white noise this is its standard deviation, as the RMS is; unlike the RMS it hardly
        moves when a slow level mis-fits a window (a smooth error has small differences), so it
        is the residual feature :func:`score_anomalies` scores."""
        if not 0 <= level < len(self.window_bounds_):
            raise SchedlabError(f"level must be in 0..{len(self.window_bounds_) - 1}, got {level}")
        group = 1 << (len(self.window_bounds_) - 1 - level)
        fin = self.window_bounds_[-1]
        w = np.add.reduceat(np.diff(fin) - 1, np.arange(0, len(fin) - 1, group))
        d2 = np.add.reduceat(self.residual_dsq_, np.arange(0, len(fin) - 1, group), axis=1)
        return np.sqrt(d2 / (2 * np.maximum(w, 1)))

    def _deviation(self, win: MrDMDWindow) -> tuple[np.ndarray, np.ndarray]:
        """Per-entity RMS of the window's slow part (about its mean), and of what lies outside the shared pattern.

        Entity i's centred contribution is c_i . d(t), c_i = modes[i] * amplitudes.  In the
        time-energy metric (Gram matrix of the dynamics) the shared patterns are the top
        ``shared_rank`` directions of the *normalised* rows (spherical PCA: every entity one vote,
        so one loud anomalous node cannot claim a direction).  A node that runs the common cycles
        harder or softer, or mixes them differently, scores ~0; one that drifts, steps or
        oscillates on its own does not.  O(n k**2).
        """
        t = np.linspace(win.start, win.stop - 1, min(2048, win.stop - win.start))
        D = np.exp(np.outer(np.log(win.eigs), (t - win.t0) / win.step))
        D = D - D.mean(axis=1, keepdims=True)
        G = (D @ D.conj().T) / D.shape[1]  # k x k Gram, time-averaged
        ev, EV = np.linalg.eigh(G)
        Wh = (EV * np.sqrt(np.maximum(ev, 0.0))) @ EV.conj().T  # G^(1/2)
        Y = (win.modes * win.amplitudes[None, :]) @ Wh  # ||Y_i||^2 = energy
        norm = np.linalg.norm(Y, axis=1)
        q = min(self.shared_rank, Y.shape[1])
        if q == 0 or not np.any(norm > 0):
            return norm, norm
        Yn = Y[norm > 0] / norm[norm > 0, None]
        _, sv, Vt = np.linalg.svd(Yn, full_matrices=False)
        # a direction is shared when at least `shared_fraction` of the entities' votes lie on it
        q = min(q, int(np.sum(sv**2 >= self.shared_fraction * len(Yn))))
        Vq = Vt[:q].conj().T  # k x q
        E = Y - (Y @ Vq) @ Vq.conj().T
        return norm, np.linalg.norm(E, axis=1)

    # ------------------------------------------------------------------ use
    def _fitted(self):
        if not hasattr(self, "levels_"):
            raise SchedlabError("this MrDMD is not fitted yet; call fit(X) first")

    def reconstruct(self, level=None, entities=None, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Slow part taken by ``level`` (an int, a list of ints, or None = all levels), columns [start, stop)."""
        self._fitted()
        stop = self.n_times_ if stop is None else stop
        if not 0 <= start < stop <= self.n_times_:
            raise SchedlabError(f"need 0 <= start < stop <= {self.n_times_}, got {start}, {stop}")
        levels = range(self.n_levels_) if level is None else np.atleast_1d(level)
        for lev in levels:
            if not 0 <= int(lev) < self.n_levels_:
                raise SchedlabError(f"level must be in 0..{self.n_levels_ - 1}, got {lev}")
        rows = slice(None) if entities is None else np.asarray(entities)
        out = np.zeros((self.n_entities_ if entities is None else len(rows), stop - start))
        for lev in levels:
            for win in self.levels_[int(lev)]:
                a, b = max(win.start, start), min(win.stop, stop)
                if a >= b or not win.n_modes:
                    continue
                D = win.dynamics(np.arange(a, b))
                out[:, a - start : b - start] += (win.modes[rows] @ D).real
        return out

    def amplitudes(self) -> pd.DataFrame:
        """Long table: entity, level (``n_levels_`` = residual), window, start, stop, rms."""
        self._fitted()
        frames = []
        for lev in range(self.n_levels_ + 1):
            vals = self.window_rms_[lev] if lev < self.n_levels_ else self.residual_rms_
            edges = self.window_bounds_[min(lev, self.n_levels_ - 1)]
            nw = vals.shape[1]
            frames.append(
                pd.DataFrame(
                    {
                        "entity": np.repeat(np.arange(self.n_entities_), nw),
                        "level": lev,
                        "window": np.tile(np.arange(nw), self.n_entities_),
                        "start": np.tile(edges[:-1], self.n_entities_),
                        "stop": np.tile(edges[1:], self.n_entities_),
                        "rms": vals.ravel(),
                    }
                )
            )
        return pd.concat(frames, ignore_index=True)

    def mode_table(self, dt: float = 1.0) -> pd.DataFrame:
        """One row per slow mode: level, window, frequency (cycles per unit of ``dt``), |eig|, |b|."""
        self._fitted()
        rows = []
        for wins in self.levels_:
            for w in wins:
                for f, lam, b in zip(w.frequencies(dt), w.eigs, w.amplitudes, strict=False):
                    rows.append((w.level, w.index, w.start, w.stop, f, abs(lam), abs(b)))
        return pd.DataFrame(rows, columns=["level", "window", "start", "stop", "frequency", "abs_eig", "abs_amplitude"])

    def entity_features(self, log: bool = True, window_levels: int = 2) -> np.ndarray:
        """Per entity: window RMS of levels 0..window_levels, and each finer level's median over windows.

        Fine levels have many short, noisy windows; their medians describe behaviour without
        letting noise features outvote the few coarse ones when standardised.
        """
        self._fitted()
        cols = [self.window_rms_[lev] for lev in range(min(window_levels + 1, self.n_levels_))]
        cols += [
            np.median(self.window_rms_[lev], axis=1, keepdims=True) for lev in range(window_levels + 1, self.n_levels_)
        ]
        cols.append(np.median(self.residual_rms_, axis=1, keepdims=True))
        F = np.hstack(cols)
        return np.log1p(F) if log else F


def fill_inactive(X, active, iterations: int = 3) -> np.ndarray:
    """A copy of entities x time ``X`` whose inactive cells (``~active``) hold what the entity
    would draw if it ran then: its level times the machine-wide profile, ``X ~ level_i * p(t)``
    fitted to the active cells by alternating medians (``p(t)``: the median over active entities of
    value / level, interpolated where none is active; ``level_i``: the median over its active cells
    of value / ``p(t)``), ``iterations`` rounds from the entity's median active value.

    The rounds matter: a job that runs through only part of the daily cycle has a median active
    value that is its level times the *mean load of its run*, not of the whole span, and a fill at
    that level steps up or down where the job starts or stops; mrDMD's coarse levels then fit those
    steps and leak job-specific slow modes into the finer levels (on clean synthetic job data: |z|
    up to 15 and flagged cells in most runs).  Fit :class:`MrDMD` to this rather than to a jobs
    matrix with zeros: the on/off edges of every job would otherwise dominate the slow modes, and
    score with ``active`` so that filled cells are never scored."""
    X = np.array(X, dtype=float)
    act = np.asarray(active, bool)
    if act.shape != X.shape:
        raise SchedlabError(f"active has shape {act.shape}, X has {X.shape}")
    lvl = np.array([np.median(x[a]) if a.any() else 0.0 for x, a in zip(X, act, strict=False)])
    ok = lvl > 0
    if not ok.any():
        return np.where(act, X, 0.0)
    Xa = np.where(act[ok], X[ok], np.nan)
    seen = act[ok].any(axis=0)
    idx = np.arange(X.shape[1])
    p = np.ones(X.shape[1])
    for it in range(max(1, int(iterations))):
        if seen.any():
            p[seen] = np.nanmedian(Xa[:, seen] / lvl[ok, None], axis=0)
            p = np.interp(idx, idx[seen], p[seen])
        if it == iterations - 1:
            break
        with np.errstate(divide="ignore", invalid="ignore"):
            new = np.nanmedian(Xa / np.where(p > 0, p, np.nan)[None, :], axis=1)
        lvl[ok] = np.where(np.isfinite(new) & (new > 0), new, lvl[ok])
    return np.where(act, X, lvl[:, None] * p[None, :])
