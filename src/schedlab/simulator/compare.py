"""One simulation with its metrics, and policy x backfill comparisons over the whole trace or
over windows (each window simulated alone from an empty cluster)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from schedlab.errors import SchedlabError
from schedlab.metrics import result_metrics
from schedlab.policies import resolve
from schedlab.simulator.config import SimConfig
from schedlab.simulator.result import SimResult
from schedlab.simulator.run import simulate
from schedlab.workload.table import Workload

#: Metrics reported per window and averaged (the keys of ``--json`` output).
REPORTED = (
    "jobs",
    "mean_wait",
    "median_wait",
    "p95_wait",
    "max_wait",
    "mean_bsld",
    "mean_turnaround",
    "utilization",
    "makespan",
    "mean_queue_length",
    "max_queue_length",
    "worst_user_mean_wait",
    "user_wait_jain",
    "pred_mae_s",
    "pred_under_share",
    "pred_e_loss",
    "sim_seconds",
)


def metrics_of(result: SimResult, tau: float = 10.0) -> dict:
    """Summary metrics of one result.  Under the ``rlscheduler`` preset, ``utilization`` follows
    RLScheduler's definition (work / ((last start - first submit) * MaxProcs))."""
    if not tau > 0:
        raise SchedlabError(f"--tau must be > 0 seconds (got {tau})")
    m = result_metrics(result, tau=tau)
    if result.config.preset == "rlscheduler":
        from schedlab.simulator.parity.rlscheduler import rlscheduler_window_metrics

        m["utilization"] = rlscheduler_window_metrics(result)["utilization"]
    if "predicted" in result.extra:  # how good the runtime predictions were
        from schedlab.predict.quality import prediction_quality

        q, _ = prediction_quality(result.extra["predicted"], result.run, result.workload.req_time)
        m.update({f"pred_{k}": v for k, v in q.items() if k != "jobs"})
        # the reservation guarantee holds for true estimates; an under-prediction can break it
        has = np.isfinite(result.reservation)
        late = result.start[has] - result.reservation[has]
        m["resv_late_share"] = float(np.mean(late > 1e-6)) if has.any() else 0.0
        m["resv_max_late_s"] = float(late.max()) if has.any() and late.max() > 0 else 0.0
    m["sim_seconds"] = result.sim_seconds
    return m


def warm_up() -> None:
    """Compile (or load from cache) the engine on a two-job trace so timings exclude the JIT."""
    wl = Workload(
        name="warmup",
        job_id=np.arange(2),
        submit=np.array([0.0, 1.0]),
        run=np.array([5.0, 5.0]),
        req_time=np.array([5.0, 5.0]),
        procs=np.array([1, 2]),
        user=np.zeros(2, dtype=np.int64),
        raw_submit=np.array([0.0, 1.0]),
        status=np.ones(2, dtype=np.int64),
        max_procs=2,
        max_nodes=2,
    )
    for bf in ("none", "easy", "conservative"):
        simulate(wl, policy="fcfs", backfill=bf)
        simulate(wl, policy="wfp3", backfill=bf)
    simulate(wl, policy="fcfs", backfill="easy", preset="cqsim")


@dataclass
class ComparisonRow:
    policy: str
    backfill: str
    windows: list[dict]
    mean: dict
    waits: np.ndarray = field(repr=False)
    results: list[SimResult] = field(repr=False, default_factory=list)

    def to_dict(self) -> dict:
        return {"policy": self.policy, "backfill": self.backfill, "windows": self.windows, "mean": self.mean}


def compare(
    workload: Workload,
    policies: Sequence[str],
    backfills: Sequence[str],
    window_starts: Sequence[int] | None = None,
    window_len: int | None = None,
    tau: float = 10.0,
    keep_results: bool = False,
    on_step: Callable[[], None] | None = None,
    **config,
) -> list[ComparisonRow]:
    """Simulate every policy x backfill on the whole trace, or on each window separately."""
    if window_starts is not None:
        parts = [workload.window(int(s), int(window_len)) for s in window_starts]
    else:
        parts = [workload]
    rows = []
    resolved = [resolve(p) for p in policies]  # each model or tree is loaded once, here
    configs = [SimConfig(policy=p, backfill=b, **config) for p in resolved for b in backfills]
    for cfg in configs:
        per, waits, results = [], [], []
        for part in parts:
            res = simulate(part, cfg)
            per.append(metrics_of(res, tau))
            waits.append(res.wait)
            if keep_results:
                results.append(res)
            if on_step:
                on_step()
        mean = {k: float(np.mean([w[k] for w in per])) for k in per[0] if k in REPORTED}
        rows.append(ComparisonRow(cfg.policy_label, cfg.backfill, per, mean, np.concatenate(waits), results))
    return rows


def simulate_summary(workload: Workload, config: SimConfig, tau: float = 10.0) -> tuple[dict, SimResult]:
    """``schedlab simulate``: one run (engine compiled first, so ``sim_seconds`` excludes the JIT),
    its summary (trace, config, metrics, cleaning counts) and the result."""
    warm_up()
    if config.cluster is not None or workload.resources is not None or str(config.policy_label) == "multifactor":
        from schedlab.simulator.multires.run import warm_up_multires

        warm_up_multires(config)
    res = simulate(workload, config)
    summary = {
        "trace": workload.name,
        "config": config.to_dict(),
        "tau": tau,
        **metrics_of(res, tau),
        "cleaning": res.workload.cleaning.to_dict(),
    }
    if "multires" in res.extra:
        from schedlab.metrics.resources import resource_metrics

        summary.update(resource_metrics(res, tau))
    return summary, res


def comparison_windows(
    workload: Workload, window_len: int, windows: int | None = None, seed: int = 0, starts: Sequence[int] | None = None
) -> list[int]:
    """Window starts: the given ``starts`` (checked to fit), or ``windows`` placed by ``seed``."""
    chosen = (
        [int(s) for s in starts] if starts is not None else workload.window_starts(windows, window_len, seed).tolist()
    )
    for s in chosen:
        workload.window(s, window_len)  # validates the range
    return chosen
