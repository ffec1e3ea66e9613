"""Changepoints in power and performance series: offline (PELT / binary segmentation) and online.

Drift in a power or throughput series shows up as a shift of its mean.  Two detectors:

* :func:`detect_changepoints` segments a whole series offline with ``ruptures``.  ``method="pelt"``
  runs PELT (exact for a penalised cost) through ruptures' compiled kernel implementation
  (``KernelCPD``; the linear kernel *is* the ``l2`` mean-shift cost), ``"binseg"`` runs binary
  segmentation, ``"bocpd"`` runs :func:`bocpd`.
* :class:`BayesianOnlineChangepoint` (Adams & MacKay 2007) follows a stream one value at a time:
  Gaussian observations with unknown mean and precision (Normal-Gamma prior, Student-t predictive),
  constant hazard, and the run-length posterior pruned to the ``max_run_length`` most probable
  hypotheses, so a stream of n values costs O(n * max_run_length).

**Default penalty** (``penalty=None``, ``cost="l2"``): ``pen = 2 * sigma**2 * log(n)``, the BIC
price of one more changepoint (a location and a mean: two parameters) when the cost is a sum of
squared residuals with noise variance ``sigma**2``.  ``sigma`` is estimated robustly from first
differences, ``1.4826 * MAD(diff(x)) / sqrt(2)``, so the level shifts themselves (a few large
differences) do not inflate it.  If most differences are exactly zero (a sample-and-hold meter,
as in SURF Lisa's measured power, which updates about every 4 minutes at 30 s sampling), the
zero differences are dropped first.  The BIC penalty assumes independent noise: on an
autocorrelated series (a daily load cycle) it finds every sustained swing, so pass
``penalty_scale`` (a multiple of the default) or a coarser series when only large shifts matter.
For ``cost="rbf"`` (a kernel cost, bounded per sample, for changes in distribution rather than
mean) the default is ``pen = 2 * log(n)`` on the standardised series.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
from scipy.special import gammaln

from schedlab.errors import SchedlabError


def logsumexp(a: np.ndarray) -> float:
    m = a.max()
    return float(m + np.log(np.exp(a - m).sum()))


@dataclass
class ChangepointResult:
    """Changepoints of one series: ``indices`` are the first sample of each new segment."""

    indices: np.ndarray  # int, sorted, each in 1..n-1
    times: np.ndarray  # the series' own time of each index (== indices without times)
    segment_means: np.ndarray  # len(indices) + 1 means
    segment_starts: np.ndarray  # times of the first sample of each segment
    penalty: float | None  # penalty used (PELT / binseg); None for bocpd
    method: str
    n: int
    sigma: float  # robust noise scale used for the default penalty
    cp_prob: np.ndarray | None = None  # bocpd only: P(run length < lag) after each sample
    params: dict = field(default_factory=dict)

    @property
    def n_changepoints(self) -> int:
        return len(self.indices)

    def to_frame(self):
        """One row per segment: start time, end time (exclusive), mean."""
        import pandas as pd

        n = self.n
        edges = np.r_[0, self.indices, n]
        return pd.DataFrame(
            {
                "start_index": edges[:-1],
                "end_index": edges[1:],
                "start": self.segment_starts,
                "mean": self.segment_means,
            }
        )


def robust_sigma(values) -> float:
    """Noise scale from first differences (MAD / sqrt 2); zero differences dropped for held series."""
    x = np.asarray(values, dtype=float)
    if x.ndim == 2:
        return float(np.sqrt(np.mean([robust_sigma(c) ** 2 for c in x.T])))
    d = np.diff(x)
    if d.size == 0:
        return 0.0
    if np.mean(d == 0) > 0.5:
        d = d[d != 0]
        if d.size == 0:
            return 0.0
    mad = np.median(np.abs(d - np.median(d)))
    if mad == 0:  # quantised series: mean absolute deviation instead
        mad = np.mean(np.abs(d - np.mean(d))) * 1.2533 / 1.4826
    return float(1.4826 * mad / np.sqrt(2.0))


def _as_series(values, times):
    x = np.asarray(values, dtype=float)
    if x.ndim not in (1, 2):
        raise SchedlabError(f"values must be 1-D (or 2-D samples x dims), got shape {x.shape}")
    if len(x) < 2:
        raise SchedlabError(f"need at least 2 values to find changepoints, got {len(x)}")
    if not np.all(np.isfinite(x)):
        raise SchedlabError(f"values contain {int(np.sum(~np.isfinite(x)))} NaN/inf entries; fill or drop them first")
    if times is not None:
        times = np.asarray(times)
        if len(times) != len(x):
            raise SchedlabError(f"times has {len(times)} entries but values has {len(x)}")
    return x, times


def _finish(x, times, idx, method, penalty, sigma, **extra) -> ChangepointResult:
    n = len(x)
    idx = np.asarray(sorted(int(i) for i in idx if 0 < i < n), dtype=np.int64)
    edges = np.r_[0, idx, n]
    xm = x if x.ndim == 1 else x.mean(axis=1)
    means = np.array([xm[a:b].mean() for a, b in itertools.pairwise(edges)])
    tt = np.arange(n) if times is None else times
    return ChangepointResult(
        indices=idx,
        times=tt[idx],
        segment_means=means,
        segment_starts=tt[edges[:-1]],
        penalty=penalty,
        method=method,
        n=n,
        sigma=sigma,
        **extra,
    )


def detect_changepoints(
    values,
    times=None,
    method: str = "pelt",
    penalty: float | None = None,
    min_size: int = 5,
    cost: str = "l2",
    penalty_scale: float = 1.0,
    jump: int = 1,
    **bocpd_kwargs,
) -> ChangepointResult:
    """Offline changepoints of ``values`` (1-D, or samples x dims).

    ``times`` (same length, any dtype: numbers or datetimes) gives the reported change times; the
    default penalty is documented in the module docstring.  ``min_size`` is the shortest segment
    in samples.  ``method="bocpd"`` forwards ``bocpd_kwargs`` to :func:`bocpd`.
    """
    x, times = _as_series(values, times)
    if method == "bocpd":
        return bocpd(x, times=times, min_size=min_size, **bocpd_kwargs)
    if method not in ("pelt", "binseg"):
        raise SchedlabError(f"method must be 'pelt', 'binseg' or 'bocpd', got {method!r}")
    if cost not in ("l2", "rbf"):
        raise SchedlabError(f"cost must be 'l2' or 'rbf', got {cost!r}")
    if min_size < 1 or jump < 1:
        raise SchedlabError(f"min_size and jump must be >= 1, got {min_size}, {jump}")
    if bocpd_kwargs:
        raise SchedlabError(f"unexpected arguments for method {method!r}: {sorted(bocpd_kwargs)}")
    import ruptures as rpt

    n = len(x)
    sigma = robust_sigma(x)
    sig = x.reshape(n, -1)
    if cost == "rbf":
        scale = sig.std(axis=0)
        sig = (sig - sig.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
    if penalty is None:
        if cost == "l2":
            if sigma == 0:  # constant series: nothing to find
                return _finish(x, times, [], method, None, sigma)
            penalty = 2.0 * sigma**2 * np.log(n) * sig.shape[1]
        else:
            penalty = 2.0 * np.log(n)
        penalty *= penalty_scale
    elif penalty <= 0:
        raise SchedlabError(f"penalty must be positive, got {penalty}")
    if n < 2 * min_size:
        return _finish(x, times, [], method, float(penalty), sigma)
    if method == "pelt":
        algo = rpt.KernelCPD(
            kernel="linear" if cost == "l2" else "rbf",
            min_size=min_size,
            **({} if cost == "l2" else {"params": {"gamma": 0.5}}),
        )
    else:
        algo = rpt.Binseg(model=cost, min_size=min_size, jump=jump)
    bkps = algo.fit(sig).predict(pen=float(penalty))
    return _finish(x, times, bkps[:-1], method, float(penalty), sigma)


# ---------------------------------------------------------------------------------- online (BOCPD)
class BayesianOnlineChangepoint:
    """Adams & MacKay (2007) online changepoint detection for a Gaussian stream.

    Each run (segment) has an unknown mean and precision with a Normal-Gamma prior
    (``mu0, kappa0, alpha0, beta0``); the predictive is Student-t.  ``hazard`` is the constant
    prior probability of a change at each step (1 / expected segment length).  Only the
    ``max_run_length`` most probable run lengths are kept (O(max_run_length) per update).

    ``mu0=None`` / ``beta0=None`` are set from the first ``warmup`` values (median and the
    first-difference noise scale, ``beta0 = alpha0 * sigma**2`` so the prior noise level matches
    the data); those values are then replayed, so nothing is lost.  ``update(x)`` returns the
    posterior probability that a change happened within the last ``lag`` values,
    ``P(run length < lag)``: a stream alarm when it exceeds 0.8 (on 20 unit-variance white-noise
    streams of 1,000 values, hazard 1/200: no alarm at 0.8, 5 streams with one at 0.5; a 3-sigma
    mean shift raised 0.8 within 15 values in 15 of 20 streams).
    """

    def __init__(
        self,
        hazard: float = 1 / 250,
        mu0: float | None = None,
        kappa0: float = 0.1,
        alpha0: float = 2.0,
        beta0: float | None = None,
        max_run_length: int = 500,
        lag: int = 5,
        warmup: int = 50,
    ):
        if not 0 < hazard < 1:
            raise SchedlabError(f"hazard must be in (0, 1), got {hazard}")
        if kappa0 <= 0 or alpha0 <= 0 or (beta0 is not None and beta0 <= 0):
            raise SchedlabError("kappa0, alpha0 and beta0 must be positive")
        if max_run_length < 2 or lag < 1 or warmup < 2:
            raise SchedlabError("max_run_length must be >= 2, lag >= 1, warmup >= 2")
        self.hazard = hazard
        self.mu0 = mu0
        self.kappa0 = kappa0
        self.alpha0 = alpha0
        self.beta0 = beta0
        self.max_run_length = max_run_length
        self.lag = lag
        self.warmup = warmup
        self.reset()

    def reset(self) -> BayesianOnlineChangepoint:
        self.t_ = 0
        self._buffer: list[float] | None = [] if (self.mu0 is None or self.beta0 is None) else None
        self._prior = None if self._buffer is not None else (float(self.mu0), float(self.beta0))
        self._init_state()
        return self

    def _init_state(self):
        self.run_lengths_ = np.zeros(0, dtype=np.int64)
        self._logp = np.zeros(0)
        self._mu = np.zeros(0)
        self._kappa = np.zeros(0)
        self._alpha = np.zeros(0)
        self._beta = np.zeros(0)
        self.cp_prob_ = 0.0
        self.map_run_length_ = 0

    def update(self, x: float) -> float:
        """Add one value; return P(a change within the last ``lag`` values)."""
        x = float(x)
        if not np.isfinite(x):
            raise SchedlabError(f"stream value must be finite, got {x}")
        if self._buffer is not None:  # still estimating the prior
            self._buffer.append(x)
            self.t_ += 1
            if len(self._buffer) < self.warmup:
                return 0.0
            b = np.asarray(self._buffer)
            sigma = robust_sigma(b) or (np.std(b) or 1.0)
            self._prior = (
                float(np.median(b)) if self.mu0 is None else float(self.mu0),
                float(self.alpha0 * sigma**2) if self.beta0 is None else float(self.beta0),
            )
            self._buffer = None
            self.t_ -= len(b)
            for v in b:
                p = self._step(v)
            return p
        return self._step(x)

    def _step(self, x: float) -> float:
        mu0, beta0 = self._prior
        logH, log1mH = np.log(self.hazard), np.log1p(-self.hazard)
        cat = np.concatenate
        # prepend the prior (a run that starts now) to the existing hypotheses' predictive
        mu = cat(([mu0], self._mu))
        kappa = cat(([self.kappa0], self._kappa))
        alpha = cat(([self.alpha0], self._alpha))
        beta = cat(([beta0], self._beta))
        # Student-t predictive: 2 alpha dof, loc mu, scale^2 = beta (kappa + 1) / (alpha kappa)
        nu = 2 * alpha
        s2 = beta * (kappa + 1) / (alpha * kappa)
        logpred = (
            gammaln((nu + 1) / 2)
            - gammaln(nu / 2)
            - 0.5 * np.log(nu * np.pi * s2)
            - (nu + 1) / 2 * np.log1p((x - mu) ** 2 / (nu * s2))
        )
        if self.t_ == 0:  # the first value starts the first run
            new = logpred[:1].copy()
            rl = np.zeros(1, dtype=np.int64)
            m, k, a, b = mu[:1], kappa[:1], alpha[:1], beta[:1]
        else:  # old hypotheses sit at predictive index 1..
            lp = self._logp + logpred[1:]
            new = cat(([logsumexp(lp) + logH], lp + log1mH))
            rl = cat(([0], self.run_lengths_ + 1))
            m, k, a, b = mu, kappa, alpha, beta
        new -= logsumexp(new)
        # posterior parameters after seeing x: index 0 = run started at x (from the prior)
        self._mu = (k * m + x) / (k + 1)
        self._kappa = k + 1
        self._alpha = a + 0.5
        self._beta = b + k * (x - m) ** 2 / (2 * (k + 1))
        self._logp = new
        self.run_lengths_ = rl
        if len(new) > self.max_run_length:
            top = np.sort(np.argpartition(new, -self.max_run_length)[-self.max_run_length :])
            self._mu, self._kappa, self._alpha, self._beta = (
                self._mu[top],
                self._kappa[top],
                self._alpha[top],
                self._beta[top],
            )
            self.run_lengths_ = rl[top]
            self._logp = new[top] - logsumexp(new[top])
        p = np.exp(self._logp)
        self.cp_prob_ = float(p[self.run_lengths_ < self.lag].sum())
        self.map_run_length_ = int(self.run_lengths_[np.argmax(p)])
        self.t_ += 1
        return self.cp_prob_

    def run_length_posterior(self) -> np.ndarray:
        """Dense P(run length = r | data so far), r = 0 .. max kept run length."""
        out = np.zeros(int(self.run_lengths_.max()) + 1 if len(self.run_lengths_) else 1)
        out[self.run_lengths_] = np.exp(self._logp)
        return out


def bocpd(
    values, times=None, hazard: float = 1 / 250, min_size: int = 5, max_run_length: int = 500, lag: int = 5, **prior
) -> ChangepointResult:
    """Run :class:`BayesianOnlineChangepoint` over a whole series and segment it.

    The segmentation follows the MAP run length back from the end: the last segment starts at
    ``n - 1 - r_MAP(n-1)``, the one before it ends there, and so on (segments shorter than
    ``min_size`` are merged into their predecessor).  The prior defaults to the whole series'
    median and first-difference noise scale, as for PELT's penalty.
    """
    x, times = _as_series(values, times)
    if x.ndim != 1:
        raise SchedlabError("bocpd takes a 1-D series")
    sigma = robust_sigma(x)
    prior.setdefault("mu0", float(np.median(x)))
    alpha0 = prior.setdefault("alpha0", 2.0)
    prior.setdefault("beta0", float(alpha0 * (sigma if sigma > 0 else (np.std(x) or 1.0)) ** 2))
    det = BayesianOnlineChangepoint(hazard=hazard, max_run_length=max_run_length, lag=lag, **prior)
    n = len(x)
    maprl = np.empty(n, dtype=np.int64)
    cpp = np.empty(n)
    for i, v in enumerate(x):
        cpp[i] = det.update(v)
        maprl[i] = det.map_run_length_
    idx = []
    t = n - 1
    while t > 0:
        s = t - int(maprl[t])
        if s <= 0:
            break
        idx.append(s)
        t = s - 1
    idx = sorted(idx)
    kept: list[int] = []  # enforce min_size between changepoints and at the ends
    for i in idx:
        if i >= min_size and n - i >= min_size and (not kept or i - kept[-1] >= min_size):
            kept.append(i)
    return _finish(
        x,
        times,
        kept,
        "bocpd",
        None,
        sigma,
        cp_prob=cpp,
        params={"hazard": hazard, "max_run_length": max_run_length, "lag": lag, **prior},
    )
