"""One BFTrainer experiment, as the ``schedlab bftrainer`` command runs it: idle trace + trainers +
allocator -> replay -> summary, tables and plots."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from schedlab.elastic.idle import IdleTrace, IdleTraceError, from_simulation, read_node_states, synthetic
from schedlab.elastic.replay import ReplayConfig, ReplayResult, replay
from schedlab.elastic.trainers import TrainerSet, load_job_set

#: Default window start (hours on the trace clock) per idle-trace kind.  real: the replay start of
#: BFTrainer's replayer (event 1000, 2021-02-10 20:21:15); sim: one week in, past the empty-machine
#: start; synthetic: 0 (it is generated in steady state).
DEFAULT_START_HOURS = {"real": 72743 / 3600, "sim": 168.0, "synthetic": 0.0}


@dataclass
class IdleSpec:
    kind: str
    trace: str | None = None
    policy: str | None = None


def parse_idle_spec(text: str) -> IdleSpec:
    """``real``, ``synthetic`` or ``sim:TRACE:POLICY`` (POLICY defaults to fcfs; EASY backfilling)."""
    if text in ("real", "synthetic"):
        return IdleSpec(text)
    if text.startswith("sim:"):
        parts = text.split(":", 2)
        trace = parts[1] if len(parts) > 1 else ""
        policy = parts[2] if len(parts) > 2 and parts[2] else "fcfs"
        if not trace:
            raise IdleTraceError("sim idle trace needs a trace: sim:TRACE[:POLICY], e.g. sim:theta_2022:fcfs")
        return IdleSpec("sim", trace, policy)
    raise IdleTraceError(f"unknown idle trace {text!r}; use real, synthetic or sim:TRACE:POLICY")


def simulate_for_holes(trace: str, policy: str):
    """The main scheduler's schedule (EASY backfilling, whole nodes) whose idle nodes trainers fill."""
    from schedlab.simulator import simulate
    from schedlab.workload import load_trace

    wl = load_trace(trace)
    return simulate(wl, policy=policy, backfill="easy", capacity_unit="nodes")


def load_idle(
    spec: IdleSpec,
    hours: float,
    start_hour: float | None = None,
    nodes: int | None = None,
    seed: int = 0,
    data_dir: Path | None = None,
    sim_result=None,
) -> tuple[IdleTrace, IdleTrace | None]:
    """(window to replay, the whole trace it came from) for an idle-trace spec."""
    if not hours > 0:
        raise IdleTraceError(f"--hours must be > 0 (got {hours})")
    start = 3600.0 * (DEFAULT_START_HOURS[spec.kind] if start_hour is None else start_hour)
    if spec.kind == "synthetic":
        durations = None
        try:
            import pandas as pd

            from schedlab.elastic.data import bftrainer_dir

            frag = bftrainer_dir(data_dir) / "idle_fragments.csv.gz"
            if frag.exists():
                durations = pd.read_csv(frag)["duration_s"].to_numpy(np.float64)
        except FileNotFoundError:
            durations = None
        full = synthetic(nodes or 1024, hours + start / 3600.0, idle_durations=durations, seed=seed)
    elif spec.kind == "real":
        full = read_node_states(data_dir)
        if nodes:
            full = full.first_nodes(nodes)
    else:
        res = sim_result if sim_result is not None else simulate_for_holes(spec.trace, spec.policy)
        full = from_simulation(res)
        if nodes:
            full = full.first_nodes(nodes)
    if not full.start <= start < full.end:
        raise IdleTraceError(
            f"--start-hour {start / 3600:g} is outside the idle trace "
            f"([{full.start / 3600:.1f}, {full.end / 3600:.1f}) h); give a --start-hour in that range"
        )
    if start + hours * 3600.0 > full.end + 1e-6:
        raise IdleTraceError(
            f"--hours {hours:g} from --start-hour {start / 3600:g} runs past the end of the idle trace "
            f"({full.end / 3600:.1f} h): give --hours {(full.end - start) / 3600:.3f} or less"
        )
    return full.window(start, start + hours * 3600.0), full


def align_trainers(trainers: TrainerSet, window: IdleTrace) -> TrainerSet:
    """Shift the job set so its first submission is the window's start (their spacing is kept)."""
    return trainers.shift_submit(window.start - float(trainers.submit.min()))


def run_bftrainer(idle: IdleTrace, trainers: TrainerSet, config: ReplayConfig, on_event=None) -> ReplayResult:
    return replay(idle, align_trainers(trainers, idle), config, on_event=on_event)


@dataclass
class BFTrainerConfig:
    """One ``schedlab bftrainer`` experiment: where the idle nodes come from (``idle_trace``, an
    :func:`parse_idle_spec` spec), which trainers (:func:`load_job_set`), the window, and the replay's
    knobs.  Validated when built, before any data is read.

    predict_holes  fit a :class:`~schedlab.elastic.horizon.HoleLifePredictor` on the
                   ``history_hours`` of idle trace before the window and replay with it
                   (``replay.horizon``, ``node_choice='longest'``)
    """

    idle_trace: str = "real"
    trainers: str = "imagenet"
    hours: float = 24.0
    start_hour: float | None = None
    nodes: int | None = None
    seed: int = 0
    data_dir: Path | None = None
    predict_holes: bool = False
    history_hours: float = 168.0
    replay: ReplayConfig = field(default_factory=ReplayConfig)
    spec: IdleSpec = field(init=False, repr=False)  # idle_trace, parsed

    def __post_init__(self):
        if not self.hours > 0:
            raise IdleTraceError(f"--hours must be > 0 (got {self.hours})")
        self.spec = parse_idle_spec(self.idle_trace)


def fit_hole_model(window: IdleTrace, full: IdleTrace, history_hours: float, seed: int = 0):
    """A :class:`~schedlab.elastic.horizon.HoleLifePredictor` fitted on the ``history_hours`` of
    ``full`` before ``window`` (at least one hour of it must exist)."""
    from schedlab.elastic.horizon import HoleLifePredictor

    lo = max(full.start, window.start - history_hours * 3600)
    if window.start - lo < 3600:
        raise IdleTraceError(
            "--predict-holes needs at least one hour of idle trace before the window; use --start-hour"
        )
    return HoleLifePredictor(seed=seed).fit(full.window(lo, window.start))


def run_experiment(config: BFTrainerConfig, on_progress: Callable[[float, float], None] | None = None) -> ReplayResult:
    """Run one BFTrainer experiment end to end: load the trainers and the idle window (simulating the
    main schedule for a ``sim:`` idle trace), fit the hole-life model with ``predict_holes``, replay.

    For a ``sim:`` idle trace the summary also says whether the main schedule was only read:
    ``main_jobs`` and ``main_schedule_unchanged`` (simulating the trace again gives the identical
    schedule, and no trainer held a node a job was using).  ``on_progress(done_s, window_s)`` is
    called after each decision (progress bars).
    """
    spec = config.spec
    jobs = load_job_set(config.trainers, config.data_dir)
    main = simulate_for_holes(spec.trace, spec.policy) if spec.kind == "sim" else None
    window, full = load_idle(
        spec, config.hours, config.start_hour, config.nodes, config.seed, config.data_dir, sim_result=main
    )
    replay_config = config.replay
    if config.predict_holes:
        horizon = fit_hole_model(window, full, config.history_hours, config.seed)
        replay_config = replace(replay_config, horizon=horizon, node_choice="longest")
    span = window.end - window.start
    on_event = (lambda t: on_progress(t - window.start, span)) if on_progress is not None else None
    res = run_bftrainer(window, jobs, replay_config, on_event=on_event)
    if main is not None:
        again = simulate_for_holes(spec.trace, spec.policy)
        res.summary["main_jobs"] = len(main.start)
        res.summary["main_schedule_unchanged"] = (
            bool(np.array_equal(again.start, main.start)) and res.summary["busy_node_conflicts"] == 0
        )
    return res


def write_outputs(result: ReplayResult, out: Path) -> list[str]:
    """summary.json, the events / allocations / trainers tables (Parquet and CSV) and three plots."""
    from schedlab.elastic import plots
    from schedlab.report.outputs import write_outputs as write

    return write(
        out,
        result.summary,
        {"events": result.events, "allocations": result.allocations, "trainers": result.trainers},
        [
            lambda: plots.idle_usage(result.events, out),
            lambda: plots.allocation_by_model(result, out),
            lambda: plots.trainer_allocation(result, out),
        ],
    )


__all__ = [
    "DEFAULT_START_HOURS",
    "BFTrainerConfig",
    "IdleSpec",
    "align_trainers",
    "fit_hole_model",
    "load_idle",
    "load_job_set",
    "parse_idle_spec",
    "run_bftrainer",
    "run_experiment",
    "simulate_for_holes",
    "write_outputs",
]
