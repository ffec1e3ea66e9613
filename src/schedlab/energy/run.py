"""``schedlab energy ecosched`` as one library call: run policies on a queue, compare, write outputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from schedlab.energy.ecosched import POLICIES, make_policy
from schedlab.energy.node import CoSchedule, GPUNode, simulate
from schedlab.energy.profiles import ecosched_dir, load_app_table, load_queue
from schedlab.errors import SchedlabError

BASELINE = "sequential-best"
#: logged run name of each policy in eval_runs_summary.csv (for the reproduction columns)
LOGGED = {
    "sequential": "sequential_max_gpu",
    "sequential-best": "sequential_best_gpu",
    "marble": "marble",
    "bandit": "ecosched_cmab",
    "optimal": "cpsat_plan_executed",
}


@dataclass
class EcoSchedRun:
    gpu_model: str
    queue: str
    jobs: list[str]
    schedules: dict[str, CoSchedule]
    params: dict
    logged: dict = field(default_factory=dict)  # policy -> logged summary row (dict)
    calibration: pd.DataFrame | None = None

    def rows(self) -> list[dict]:
        base = self.schedules.get(BASELINE)
        out = []
        for name, s in self.schedules.items():
            r = {**s.summary(), "policy": name}
            if base is not None:
                for k, col in (("energy", "energy_j"), ("makespan", "makespan_s"), ("edp", "edp_js")):
                    r[f"{k}_vs_{BASELINE}"] = r[col] / base.summary()[col] - 1
            lg, lb = self.logged.get(name), self.logged.get(BASELINE)
            if lg is not None and lb is not None:
                r["logged_energy_vs_baseline"] = lg["gpu_energy_j"] / lb["gpu_energy_j"] - 1
                r["logged_makespan_vs_baseline"] = lg["makespan_s"] / lb["makespan_s"] - 1
                r["logged_edp_vs_baseline"] = lg["edp_js"] / lb["edp_js"] - 1
            out.append(r)
        return out

    def summary(self) -> dict:
        s = {
            "gpu_model": self.gpu_model,
            "queue": self.queue,
            "jobs": len(self.jobs),
            "baseline": BASELINE,
            "params": self.params,
            "policies": self.rows(),
        }
        e = {n: sch.energy_j for n, sch in self.schedules.items()}
        if {"optimal", "lookahead"} <= set(e):
            for eco in ("bandit", "score"):
                if eco in e and e[eco] > e["optimal"]:
                    s[f"gap_closed_vs_{eco}"] = (e[eco] - e["lookahead"]) / (e[eco] - e["optimal"])
        if self.calibration is not None and len(self.calibration):
            s["calibration_error_median"] = float(self.calibration["error"].median())
            s["calibration_error_max_abs"] = float(self.calibration["error"].abs().max())
        return s


def logged_tolerance(gpu_model: str, queue: str, data_dir=None) -> float | None:
    """The slowdown tolerance EcoSched's own logged run of this queue used (None if not logged)."""
    try:
        summ = pd.read_csv(ecosched_dir(data_dir) / "eval_runs_summary.csv")
    except FileNotFoundError:
        return None
    r = summ[(summ["gpu_model"] == gpu_model) & (summ["workload"] == queue) & (summ["policy"] == "ecosched_cmab")]
    return float(r["slowdown_tol"].iloc[0]) if len(r) and pd.notna(r["slowdown_tol"].iloc[0]) else None


def run_ecosched(
    gpu_model: str = "H100",
    queue: str = "default",
    policies=("all",),
    slowdown_tol: float | None = None,
    idle_weight: float | None = None,
    blocking_weight: float = 0.0,
    metric: str = "energy",
    estimate: str = "counters",
    anchor: str | None = "longest",
    mode_tol: float | None = None,
    width: int = 8,
    power: str = "run",
    time_limit_s: float = 60.0,
    workers: int = 2,
    seed: int = 0,
    data_dir: Path | None = None,
    on_policy=None,
) -> EcoSchedRun:
    """Run the chosen policies (``all`` = every one) on ``queue`` and collect schedules and logged numbers."""
    from schedlab.energy.node import replay_logged

    gpu_model = gpu_model.upper()
    table = load_app_table(gpu_model, power=power, data_dir=data_dir)
    jobs = load_queue(gpu_model, queue, data_dir)
    node = GPUNode.for_table(table)
    names = list(POLICIES) if "all" in policies else list(dict.fromkeys(policies))
    if bad := [p for p in names if p not in POLICIES]:
        raise SchedlabError(f"unknown policy {', '.join(bad)}; choose from {', '.join(POLICIES)} or all")
    if BASELINE not in names:
        names.insert(0, BASELINE)
    tol = slowdown_tol if slowdown_tol is not None else (logged_tolerance(gpu_model, queue, data_dir) or 0.2)
    params = {
        "slowdown_tol": tol,
        "idle_weight": idle_weight,
        "blocking_weight": blocking_weight,
        "metric": metric,
        "estimate": estimate,
        "anchor": anchor,
        "mode_tol": mode_tol,
        "width": width,
        "power": power,
        "time_limit_s": time_limit_s,
    }
    schedules: dict[str, CoSchedule] = {}
    for name in [n for n in names if n != "optimal"]:
        if on_policy:
            on_policy(name)
        kw = dict(
            slowdown_tol=mode_tol if name == "lookahead" else tol,
            idle_weight=idle_weight,
            blocking_weight=blocking_weight,
            metric=metric,
            estimate=estimate,
            anchor=anchor,
            width=width,
        )
        pol = make_policy(name, **kw)
        s = simulate(jobs, table, pol, node)
        s.check(node)
        if name in ("score", "bandit"):
            params[f"{name}_idle_weight_used"] = pol.idle_weight_
        schedules[name] = s
    if "optimal" in names:
        from schedlab.energy.optimal import solve_optimal

        if on_policy:
            on_policy("optimal")
        hints = [s for n, s in schedules.items() if n in ("lookahead", "bandit", "score")]
        hint = min(hints, key=lambda s: s.energy_j) if hints else None
        res = solve_optimal(
            jobs,
            table,
            node,
            slowdown_tol=mode_tol,
            time_limit_s=time_limit_s,
            workers=workers,
            seed=seed,
            hint=hint if hint is not None and _within(hint, table, mode_tol) else None,
        )
        res.schedule.check(node)
        schedules["optimal"] = res.schedule
    logged = {}
    try:
        summ = pd.read_csv(ecosched_dir(data_dir) / "eval_runs_summary.csv")
        for name, run in LOGGED.items():
            r = summ[(summ["gpu_model"] == gpu_model) & (summ["workload"] == queue) & (summ["policy"] == run)]
            if len(r):
                logged[name] = r.iloc[0].to_dict()
        cal = replay_logged(table, data_dir)
    except FileNotFoundError:
        cal = None
    return EcoSchedRun(gpu_model, queue, jobs, schedules, params, logged, cal)


def _within(s: CoSchedule, table, mode_tol) -> bool:
    from schedlab.energy.optimal import allowed_modes

    return all(
        any(m.gpu_count == g for m in allowed_modes(table, a, mode_tol))
        for a, g in zip(s.jobs["app"], s.jobs["gpu_count"], strict=False)
    )


def write_ecosched_outputs(run: EcoSchedRun, out: Path) -> list[str]:
    from schedlab.energy import plots
    from schedlab.report.outputs import write_outputs

    out = Path(out)
    frames = {
        "policies": pd.DataFrame(run.rows()),
        "jobs": pd.concat([s.jobs.assign(policy=n) for n, s in run.schedules.items()], ignore_index=True),
    }
    if run.calibration is not None:
        frames["calibration"] = run.calibration
    shown = {
        n: s for n, s in run.schedules.items() if n in ("sequential-best", "marble", "bandit", "lookahead", "optimal")
    }
    return write_outputs(
        out,
        run.summary(),
        frames,
        [
            lambda: plots.gantt(shown or run.schedules, out / "gantt.png"),
            lambda: plots.metric_bars(run.rows(), out / "energy_makespan_edp.png", BASELINE),
        ],
    )
