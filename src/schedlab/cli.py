"""The ``schedlab`` command.  Thin: parse options, call the library, print.

Scripts rely on the flags and the ``--json`` keys; keep them stable.
"""

from __future__ import annotations

import json
import os
import sys
from enum import StrEnum
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from schedlab.policies import POLICY_NAMES
from schedlab.report.outputs import write_outputs as _write_outputs
from schedlab.workload import BUNDLED, DEFAULT_TRACE

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    help="schedlab: replay batch-job traces against a simulated supercomputer, compare "
    "scheduling policies, train and evaluate deep-RL schedulers, and distil them into readable decision "
    "trees (`explain`; use a tree with --policy tree:PATH), and fill idle nodes with elastic DNN "
    "training (`bftrainer`), schedule GPU nodes for energy and share power caps (`energy ecosched|open|ecoshift`), "
    "and characterise a workload and its energy (`analyze`).  `data fetch NAME` gets the measured datasets "
    "these read.  Run `schedlab COMMAND --help` for each command's options.",
)
_WIDTH = None if sys.stdout.isatty() else 140  # wide tables when piped to a file or a log
out_console = Console(width=_WIDTH)
err_console = Console(stderr=True, width=_WIDTH)


class Backfill(StrEnum):
    none = "none"
    easy = "easy"
    conservative = "conservative"


class Preset(StrEnum):
    textbook = "textbook"
    rlscheduler = "rlscheduler"
    cqsim = "cqsim"


class Unit(StrEnum):
    procs = "procs"
    nodes = "nodes"


class Estimates(StrEnum):
    requested = "requested"
    actual = "actual"


class Overrun(StrEnum):
    kill = "kill"
    run_on = "run-on"


POLICY_HELP = (
    "Queue order: " + ", ".join(POLICY_NAMES) + ", or expr:<numpy expression in r (requested time), "
    "n (processors), s (submit time)>; lower score runs first; or model:PATH, a trained RL agent "
    "(a model.pt file or a `schedlab train` output folder; `model:theta_2022-dras` etc. name a shipped one); "
    "or tree:PATH, a decision tree distilled by `schedlab explain` (tree.json or its folder)."
)
TRACE_HELP = f"Bundled trace name ({', '.join(BUNDLED)}) or path to an SWF file (.swf or .swf.gz)."
PRESET_HELP = (
    "Semantics: textbook (schedlab defaults), rlscheduler (RLScheduler SchedGym, SC20: its loading "
    "rules, whole nodes, its loop) or cqsim (CQSim's rules and EASY variant). A preset sets its own "
    "loading rules and overrides --capacity-unit/--estimates/--overrun."
)
UNIT_HELP = "What a job holds: procs (its processor count) or nodes (whole nodes, ceil(procs/(MaxProcs/MaxNodes)))."
EST_HELP = (
    "Runtime estimate used for reservations and backfilling: requested (the user's walltime) or actual (perfect)."
)
OVERRUN_HELP = "A job running past its requested time: kill (ends at the request) or run-on (keeps running)."
LENIENT_HELP = "Skip and count malformed trace lines instead of stopping at the first one."
TAU_HELP = "Bounded-slowdown threshold in seconds: bsld = max(1, (wait+run)/max(run, tau))."
JSON_HELP = "Print one JSON object to stdout instead of tables."
LOAD_HELP = "Multiply inter-arrival gaps by this factor (<1 = more load) before simulating."


def _fail(msg: str) -> None:
    err_console.print(f"[bold red]error:[/] {msg}")
    raise typer.Exit(2)


def _load(trace: str, preset: Preset, lenient: bool, load_scale: float, tau: float = 10.0):
    from schedlab.workload import TraceFormatError, load_trace

    if not load_scale > 0:
        _fail(f"--load-scale must be > 0 (got {load_scale})")
    if not tau > 0:
        _fail(f"--tau must be > 0 seconds (got {tau})")
    try:
        wl = load_trace(trace, rules=preset.value, lenient=lenient)
        if load_scale != 1.0:
            wl = wl.scale_load(load_scale)
    except (TraceFormatError, FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    return wl


def _resolve_policy(policy: str) -> str:
    """``model:NAME`` of a shipped model -> its file; check that a model or tree file is readable."""
    if policy.startswith("tree:"):
        from schedlab.explain.tree import load_tree

        try:
            load_tree(policy[5:])
        except ValueError as exc:
            _fail(str(exc))
        return policy
    if not policy.startswith("model:"):
        return policy
    from schedlab.rl.models import resolve_model

    try:
        return "model:" + str(resolve_model(policy[6:]))
    except ValueError as exc:
        _fail(str(exc))


def _config_kwargs(preset, unit, estimates, overrun) -> dict:
    return dict(
        preset=preset.value,
        capacity_unit=unit.value,
        estimates=estimates.value,
        kill_at_request=overrun == Overrun.kill,
    )


def _split(text: str, allowed=None, what="value") -> list[str]:
    items = [x.strip() for x in text.split(",") if x.strip()]
    if not items:
        _fail(f"no {what} given")
    for x in items:
        if allowed is not None and x not in allowed and not x.startswith(("expr:", "model:", "tree:")):
            _fail(f"unknown {what} {x!r}; choose from {', '.join(allowed)}")
    return items


_DECIMALS = {
    "mean_bsld": 2,
    "max_bsld": 2,
    "utilization": 3,
    "user_wait_jain": 3,
    "sim_seconds": 4,
    "mean_queue_length": 1,
}


def _fmt(v: float, metric: str | None = None) -> str:
    if isinstance(v, int):
        return f"{v:,}"
    if metric in _DECIMALS:
        return f"{v:,.{_DECIMALS[metric]}f}"
    if metric and (metric.endswith("wait") or metric in ("makespan", "mean_turnaround")):
        return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.1f}"  # seconds
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:,.1f}"
    return f"{v:.3f}"


@app.command()
def simulate(
    trace: str = typer.Option(DEFAULT_TRACE, "--trace", "-t", help=TRACE_HELP),
    policy: str = typer.Option("fcfs", "--policy", "-p", help=POLICY_HELP),
    backfill: Backfill = typer.Option(
        Backfill.easy,
        "--backfill",
        "-b",
        help="Backfilling: none, easy (EASY, head reservation), conservative (every job reserved).",
    ),
    preset: Preset = typer.Option(Preset.textbook, "--preset", help=PRESET_HELP),
    capacity_unit: Unit = typer.Option(Unit.procs, "--capacity-unit", help=UNIT_HELP),
    estimates: Estimates = typer.Option(Estimates.requested, "--estimates", help=EST_HELP),
    overrun: Overrun = typer.Option(Overrun.kill, "--overrun", help=OVERRUN_HELP),
    load_scale: float = typer.Option(1.0, "--load-scale", help=LOAD_HELP),
    tau: float = typer.Option(10.0, "--tau", help=TAU_HELP),
    lenient: bool = typer.Option(False, "--lenient", help=LENIENT_HELP),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Write jobs.parquet/jobs.csv (per job), summary.json and plots (PNG) here."
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
):
    """Simulate one policy on one trace and print its metrics."""
    from schedlab.experiments import metrics_of, warm_up
    from schedlab.simulator import SimConfig
    from schedlab.simulator import simulate as run_sim

    if policy not in POLICY_NAMES and not policy.startswith(("expr:", "model:", "tree:")):
        _fail(f"unknown policy {policy!r}; choose from {', '.join(POLICY_NAMES)}, expr:..., model:PATH or tree:PATH")
    policy = _resolve_policy(policy)
    wl = _load(trace, preset, lenient, load_scale, tau)
    try:
        cfg = SimConfig(
            policy=policy, backfill=backfill.value, **_config_kwargs(preset, capacity_unit, estimates, overrun)
        )
        warm_up()
        res = run_sim(wl, cfg)
    except ValueError as exc:
        _fail(str(exc))
    m = metrics_of(res, tau)
    summary = {"trace": wl.name, "config": cfg.to_dict(), "tau": tau, **m, "cleaning": wl.cleaning.to_dict()}
    written = []
    if out is not None:
        from schedlab.metrics import queue_length_series, utilization_series
        from schedlab.report import plots

        label = f"{cfg.policy}+{cfg.backfill}"
        ut, uv = utilization_series(res.start, res.end, res.size, res.capacity)
        qt, qv = queue_length_series(wl.submit, res.start)
        written = _write_outputs(
            out,
            summary,
            {"jobs": res.to_frame()},
            [
                lambda: plots.wait_cdfs({label: res.wait}, out),
                lambda: plots.over_time({label: dict(util_t=ut, util=uv, queue_t=qt, queue=qv)}, out),
            ],
        )
    if as_json:
        print(json.dumps(summary))
        return
    err_console.print(f"[dim]{wl.cleaning.summary()}[/]")
    for note in wl.cleaning.notes:
        err_console.print(f"[dim]note: {note}[/]")
    table = Table(title=f"{wl.name}: {cfg.policy} + {cfg.backfill} ({cfg.preset})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in m.items():
        table.add_row(k, _fmt(v, k))
    out_console.print(table)
    for path in written:
        out_console.print(f"wrote {path}")


@app.command()
def compare(
    trace: str = typer.Option(DEFAULT_TRACE, "--trace", "-t", help=TRACE_HELP),
    policies: str = typer.Option("fcfs,sjf,wfp3,f1", "--policies", help="Comma-separated policies. " + POLICY_HELP),
    backfill: str = typer.Option(
        "none,easy", "--backfill", "-b", help="Comma-separated backfill modes: none, easy, conservative."
    ),
    preset: Preset = typer.Option(Preset.textbook, "--preset", help=PRESET_HELP),
    capacity_unit: Unit = typer.Option(Unit.procs, "--capacity-unit", help=UNIT_HELP),
    estimates: Estimates = typer.Option(Estimates.requested, "--estimates", help=EST_HELP),
    overrun: Overrun = typer.Option(Overrun.kill, "--overrun", help=OVERRUN_HELP),
    windows: int | None = typer.Option(
        None,
        "--windows",
        min=1,
        help="Simulate K windows of --window-len consecutive jobs at seeded random starts, each from an empty cluster.",
    ),
    window_len: int | None = typer.Option(None, "--window-len", min=1, help="Jobs per window."),
    seed: int = typer.Option(0, "--seed", help="Seed for the window starts."),
    window_starts: str | None = typer.Option(
        None,
        "--window-starts",
        help="Comma-separated job indices (after cleaning) where windows start; instead of --windows.",
    ),
    load_scale: float = typer.Option(1.0, "--load-scale", help=LOAD_HELP),
    tau: float = typer.Option(10.0, "--tau", help=TAU_HELP),
    lenient: bool = typer.Option(False, "--lenient", help=LENIENT_HELP),
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="Write comparison.csv/.parquet (per window), summary.json and plots (metrics.png, wait_cdf.png, over_time.png) here.",
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
):
    """Compare policies x backfill modes on a trace (whole trace or windows) in one table."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from schedlab import experiments

    pols = [_resolve_policy(p) for p in _split(policies, POLICY_NAMES, "policy")]
    bfs = _split(backfill, [b.value for b in Backfill], "backfill mode")
    wl = _load(trace, preset, lenient, load_scale, tau)
    starts = None
    if window_starts is not None or windows is not None:
        if window_len is None:
            _fail("--window-len is required with --windows or --window-starts")
        if window_starts is not None and windows is not None:
            _fail("give either --windows or --window-starts, not both")
        try:
            if window_starts is not None:
                starts = [int(x) for x in _split(window_starts, what="window start")]
            else:
                starts = wl.window_starts(windows, window_len, seed).tolist()
            for s in starts:
                wl.window(s, window_len)  # validates the range
        except ValueError as exc:
            _fail(str(exc))
    n_steps = len(pols) * len(bfs) * (len(starts) if starts else 1)
    try:
        experiments.warm_up()
        with Progress(
            TextColumn("simulating"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
            disable=as_json or not err_console.is_terminal,
        ) as prog:
            task = prog.add_task("sim", total=n_steps)
            rows = experiments.compare(
                wl,
                pols,
                bfs,
                window_starts=starts,
                window_len=window_len,
                tau=tau,
                keep_results=out is not None and starts is None,
                on_step=lambda: prog.advance(task),
                **_config_kwargs(preset, capacity_unit, estimates, overrun),
            )
    except ValueError as exc:
        _fail(str(exc))
    summary = {
        "trace": wl.name,
        "preset": preset.value,
        "capacity_unit": capacity_unit.value,
        "estimates": estimates.value,
        "overrun": overrun.value,
        "tau": tau,
        "window_len": window_len,
        "window_starts": starts,
        "results": [r.to_dict() for r in rows],
        "cleaning": wl.cleaning.to_dict(),
    }
    written = []
    if out is not None:
        import pandas as pd

        from schedlab.metrics import queue_length_series, utilization_series
        from schedlab.report import plots

        records = []
        for r in rows:
            for i, w in enumerate(r.windows):
                records.append(
                    {"policy": r.policy, "backfill": r.backfill, "window_start": starts[i] if starts else 0, **w}
                )
        series = {}
        for r in rows:
            if r.results:
                res = r.results[0]
                ut, uv = utilization_series(res.start, res.end, res.size, res.capacity)
                qt, qv = queue_length_series(res.workload.submit, res.start)
                series[f"{r.policy}+{r.backfill}"] = dict(util_t=ut, util=uv, queue_t=qt, queue=qv)
        makers = [
            lambda: plots.metric_bars([r.to_dict() for r in rows], out),
            lambda: plots.wait_cdfs({f"{r.policy}+{r.backfill}": r.waits for r in rows}, out),
        ]
        if series:
            makers.append(lambda: plots.over_time(series, out))
        written = _write_outputs(out, summary, {"comparison": pd.DataFrame(records)}, makers)
    if as_json:
        print(json.dumps(summary))
        return
    err_console.print(f"[dim]{wl.cleaning.summary()}[/]")
    scope = f"{len(starts)} windows of {window_len} jobs" if starts else f"whole trace, {len(wl):,} jobs"
    table = Table(
        title=f"{wl.name} ({preset.value}): {scope}; mean over windows"
        if starts
        else f"{wl.name} ({preset.value}): {scope}"
    )
    cols = ["mean_wait", "median_wait", "p95_wait", "mean_bsld", "utilization", "mean_queue_length"]
    table.add_column("policy")
    table.add_column("backfill")
    for c in cols:
        table.add_column(c, justify="right")
    best = {c: min(r.mean[c] for r in rows) for c in cols if c != "utilization"}
    for r in rows:
        cells = []
        for c in cols:
            txt = _fmt(r.mean[c], c)
            cells.append(f"[bold green]{txt}[/]" if best.get(c) == r.mean[c] else txt)
        table.add_row(r.policy, r.backfill, *cells)
    out_console.print(table)
    if starts and len(starts) > 1:
        wt = Table(title="mean bounded slowdown per window")
        wt.add_column("policy+backfill")
        for s in starts:
            wt.add_column(str(s), justify="right")
        for r in rows:
            wt.add_row(f"{r.policy}+{r.backfill}", *[_fmt(w["mean_bsld"], "mean_bsld") for w in r.windows])
        out_console.print(wt)
    for path in written:
        out_console.print(f"wrote {path}")


@app.command()
def traces(as_json: bool = typer.Option(False, "--json", help=JSON_HELP)):
    """List the bundled traces with their statistics (after textbook cleaning)."""
    from schedlab.workload import load_trace

    rows = []
    for name, (fname, desc) in BUNDLED.items():
        wl = load_trace(name)
        rows.append({"name": name, "file": fname, "description": desc, **wl.stats(), "cleaning": wl.cleaning.summary()})
    if as_json:
        print(json.dumps(rows))
        return
    table = Table(title="bundled traces (use the name with --trace; any SWF path works too)")
    for c in ("name", "jobs", "procs", "nodes", "days", "load", "mean run (h)", "description"):
        table.add_column(c, justify="left" if c in ("name", "description") else "right")
    for r in rows:
        table.add_row(
            r["name"],
            f"{r['jobs']:,}",
            f"{r['max_procs']:,}",
            f"{r['max_nodes']:,}",
            f"{r['span_days']:.1f}",
            f"{r['offered_load']:.2f}",
            f"{r['mean_runtime_s'] / 3600:.2f}",
            r["description"],
        )
    out_console.print(table)


class Agent(StrEnum):
    dras = "dras"
    scorer = "scorer"


class Objective(StrEnum):
    bsld = "bsld"
    bsld_dense = "bsld-dense"
    wait = "wait"
    util = "util"
    dras = "dras"


class TrainPreset(StrEnum):
    textbook = "textbook"
    rlscheduler = "rlscheduler"


class Split(StrEnum):
    train = "train"
    test = "test"
    all = "all"


@app.command()
def train(
    agent: Agent = typer.Option(
        Agent.dras,
        "--agent",
        help="dras: DRAS's two-level agent (picks the job to run or reserve, then its own backfill jobs); scorer: RLScheduler-style per-job scoring network (EASY backfilling).",
    ),
    trace: str = typer.Option(DEFAULT_TRACE, "--trace", "-t", help=TRACE_HELP),
    objective: Objective = typer.Option(
        Objective.bsld,
        "--objective",
        help="What the agent optimises: bsld (mean bounded slowdown), wait (mean wait), util (utilisation), all rewarded at the end of each window; bsld-dense (mean bounded slowdown paid as it accrues: after each decision, minus the slowdown the waiting jobs gather until the next one); or dras (DRAS's per-decision reward).",
    ),
    train_split: float = typer.Option(
        0.7,
        "--train-split",
        help="Fraction of the jobs (by submit time) used for training; the rest is held out for `schedlab evaluate`.",
    ),
    val_fraction: float = typer.Option(
        0.2,
        "--val-fraction",
        help="The last part of the training split held back to choose the best checkpoint (model.pt); agents train on the jobs before it. 0: train on the whole training split and choose on windows inside it (in-sample).",
    ),
    steps: int = typer.Option(
        500_000,
        "--steps",
        min=1,
        help="Scheduling decisions to train for (all environments together), in whole PPO rollouts of --num-envs x 256 decisions: rounded down, at least one rollout.",
    ),
    seed: int = typer.Option(
        0, "--seed", help="Seed for the network, the sampling and the windows: same seed, same run."
    ),
    out: Path = typer.Option(
        Path("out/train"),
        "--out",
        "-o",
        help="Run folder: model.pt (best on validation windows of the training split), last.pt (resumable checkpoint), train_log.csv, run.json, tensorboard/ (if installed). A folder that already holds a run is refused unless --resume.",
    ),
    resume: bool = typer.Option(
        False,
        "--resume",
        help="Continue the run in --out from its last checkpoint (same options required), exactly as if it had not stopped.",
    ),
    window_len: int = typer.Option(
        256,
        "--window-len",
        min=2,
        help="Jobs per training episode (a window of consecutive jobs, from an empty machine).",
    ),
    visible: int = typer.Option(
        128,
        "--visible",
        min=1,
        help="W: waiting jobs the agent sees and may pick (the W oldest; the rest wait unseen).",
    ),
    backfill: str | None = typer.Option(
        None,
        "--backfill",
        help="Backfilling during training: none, easy, or agent (the agent picks backfill jobs). Default: agent for dras, easy for scorer.",
    ),
    backfill_order: str = typer.Option(
        "sjf",
        "--backfill-order",
        help="Order in which EASY tries backfill candidates (a static policy: fcfs, sjf, saf, ...).",
    ),
    imitate: str = typer.Option(
        "sjf",
        "--imitate",
        help="Warm start: first imitate this static heuristic's choices (behaviour cloning), then PPO; 'none' to start from random.",
    ),
    baseline: str = typer.Option(
        "sjf",
        "--baseline",
        help="End-of-window rewards are measured relative to this heuristic on the same window (lower variance); 'none' for the raw metric.",
    ),
    curriculum: str = typer.Option(
        "dras",
        "--curriculum",
        help="dras: sampled easier job sets, then the DRAS Theta job sets (theta traces), then real training windows; none: real windows only.",
    ),
    preset: TrainPreset = typer.Option(
        TrainPreset.textbook,
        "--preset",
        help="textbook, or rlscheduler (RLScheduler's loading rules, whole nodes, no kills) to train for RLScheduler's protocol.",
    ),
    load_scales: str = typer.Option(
        "1",
        "--load-scales",
        help="Comma-separated load scales for the real training windows and the validation windows, e.g. 1,1.3,1.6: inter-arrival gaps are multiplied by each factor (>1 = lighter load), so the agent sees the lighter and heavier periods a machine goes through. 1: the trace as it is.",
    ),
    val_metric: str = typer.Option(
        "bsld",
        "--val-metric",
        help="How the best checkpoint is chosen on the validation windows: bsld (lowest mean bounded slowdown) or relative (lowest mean of bsld / the --baseline heuristic's bsld per window, so light and heavy windows weigh the same).",
    ),
    num_envs: int = typer.Option(
        8,
        "--num-envs",
        min=1,
        help="Environments stepped together (one process); each PPO update learns from num-envs x 256 decisions.",
    ),
    validate_every: int = typer.Option(
        25,
        "--validate-every",
        min=0,
        help="PPO updates between validations (each may replace model.pt); 0: never validate, keep the last model.",
    ),
    lr: float = typer.Option(1e-4, "--lr", help="Adam learning rate (linearly annealed to 0)."),
    ent_coef: float = typer.Option(
        0.001, "--ent-coef", help="Entropy bonus weight (exploration); small after an imitation warm start."
    ),
    threads: int = typer.Option(1, "--threads", min=1, help="torch threads (1 is fastest on small shared machines)."),
):
    """Train an RL scheduling agent with PPO; progress bar with live metrics, CSV log, checkpoints."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from schedlab.rl.training import run_training

    if not 0 < train_split < 1:
        _fail(f"--train-split must be between 0 and 1 (got {train_split})")
    if not 0 <= val_fraction < 1:
        _fail(f"--val-fraction must be in [0, 1) (got {val_fraction})")
    if backfill is not None and backfill not in ("none", "easy", "agent"):
        _fail(f"unknown --backfill {backfill!r}; choose none, easy or agent")
    if baseline != "none" and baseline not in POLICY_NAMES:
        _fail(f"unknown --baseline {baseline!r}; choose a heuristic ({', '.join(POLICY_NAMES)}) or none")
    if resume and not (out / "last.pt").exists():
        _fail(f"--resume: {out} has no checkpoint (last.pt) to continue from")
    from schedlab.policies import STATIC

    if backfill_order not in STATIC:
        _fail(f"unknown --backfill-order {backfill_order!r}; choose one of {', '.join(STATIC)}")
    if imitate != "none" and imitate not in STATIC:
        _fail(f"unknown --imitate {imitate!r}; choose a static heuristic ({', '.join(STATIC)}) or none")
    try:
        scales = tuple(float(x) for x in load_scales.split(",") if x.strip())
    except ValueError:
        _fail(f"--load-scales must be comma-separated numbers, e.g. 1,1.3,1.6 (got {load_scales!r})")
    if not scales or not all(f > 0 for f in scales):
        _fail(f"--load-scales must be positive numbers (got {load_scales!r})")
    if val_metric not in ("bsld", "relative"):
        _fail(f"unknown --val-metric {val_metric!r}; choose bsld or relative")
    if val_metric == "relative" and baseline == "none":
        _fail("--val-metric relative compares with the --baseline heuristic; give one (e.g. --baseline sjf)")
    ppo = {
        "num_envs": num_envs,
        "validate_every": validate_every,
        "learning_rate": lr,
        "ent_coef": ent_coef,
        "torch_threads": threads,
        "bc_teacher": None if imitate == "none" else imitate,
    }
    with Progress(
        TextColumn("training"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[live]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        disable=not err_console.is_terminal,
    ) as prog:
        task = prog.add_task("train", total=steps, live="")

        def on_update(st: dict) -> None:
            live = f"{st['stage']} bsld {st['episode_bsld']:.2f} return {st['episode_return']:+.3f}"
            if st["val_bsld"] == st["val_bsld"]:
                live += f" val {st['val_bsld']:.2f}"
            if st.get("val_ratio") == st.get("val_ratio"):
                live += f" (x{st['val_ratio']:.3f} {baseline})"
            prog.update(task, completed=min(st["global_step"], steps), live=live)

        try:
            stats = run_training(
                agent.value,
                trace,
                objective.value,
                train_split,
                steps,
                seed,
                out,
                window_len=window_len,
                visible=visible,
                backfill=backfill,
                baseline=None if baseline == "none" else baseline,
                curriculum=curriculum,
                preset=preset.value,
                backfill_order=backfill_order,
                resume=resume,
                ppo_overrides=ppo,
                on_update=on_update,
                command="schedlab " + " ".join(sys.argv[1:]),
                val_fraction=val_fraction,
                load_scales=scales,
                val_metric=val_metric,
            )
        except (ValueError, FileNotFoundError) as exc:
            _fail(str(exc))
    out_console.print(
        f"trained {stats.get('global_step', 0):,} steps; model {out / 'model.pt'}, log {out / 'train_log.csv'}"
    )


@app.command()
def evaluate(
    model: str = typer.Option(
        ..., "--model", "-m", help="Model file, run folder, or shipped model name (see `schedlab models`)."
    ),
    trace: str = typer.Option(DEFAULT_TRACE, "--trace", "-t", help=TRACE_HELP),
    split: Split = typer.Option(
        Split.test, "--split", help="Where the windows come from: test (jobs after --train-split), train, or all."
    ),
    train_split: float = typer.Option(
        0.7, "--train-split", help="Fraction of jobs (by submit time) in the training split."
    ),
    windows: int = typer.Option(
        10, "--windows", min=1, help="Number of windows (fixed by --seed; non-overlapping when they fit in the split)."
    ),
    window_len: int = typer.Option(1024, "--window-len", min=2, help="Jobs per window."),
    window_starts: str | None = typer.Option(
        None,
        "--window-starts",
        help="Comma-separated job indices where windows start, instead of --windows/--split. With --preset rlscheduler and neither given: RLScheduler's 10 published windows.",
    ),
    seed: int = typer.Option(0, "--seed", help="Seed that places the windows."),
    backfill: str = typer.Option(
        "easy",
        "--backfill",
        "-b",
        help="Backfilling for the heuristics and the scorer agent: none or easy (a DRAS model picks its own backfill jobs among EASY's).",
    ),
    preset: TrainPreset = typer.Option(
        TrainPreset.textbook,
        "--preset",
        help="textbook, or rlscheduler (RLScheduler's rules and loop; the agent picks the job their loop takes from the queue head).",
    ),
    tau: float = typer.Option(10.0, "--tau", help=TAU_HELP),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Write evaluation.csv/.parquet (per window), summary.json and a bar plot here."
    ),
    as_json: bool = typer.Option(
        False, "--json", help=JSON_HELP + " Per policy: mean_bsld, mean_wait, utilization, windows."
    ),
):
    """Evaluate a trained model against every heuristic (FCFS, SJF, SAF, WFP3, UNICEP, F1) on the same windows."""
    from schedlab.rl.evaluation import evaluate as run_eval
    from schedlab.rl.evaluation import evaluation_windows
    from schedlab.rl.models import resolve_model

    if backfill not in ("none", "easy"):
        _fail(f"--backfill must be none or easy for evaluation (got {backfill!r})")
    try:
        path = resolve_model(model)
    except ValueError as exc:
        _fail(str(exc))
    wl = _load(trace, Preset(preset.value), False, 1.0, tau)
    try:
        if window_starts is not None:
            starts = [int(x) for x in _split(window_starts, what="window start")]
        elif preset == TrainPreset.rlscheduler and windows == 10 and window_len == 1024:
            from schedlab.simulator.parity.rlscheduler import TABLE_WINDOW_STARTS

            starts = list(TABLE_WINDOW_STARTS)
        else:
            starts = evaluation_windows(wl, split.value, windows, window_len, seed, train_split)
        for s in starts:
            wl.window(s, window_len)
        from schedlab.experiments import warm_up

        warm_up()
        res = run_eval(path, wl, starts, window_len, backfill=backfill, preset=preset.value, tau=tau)
    except ValueError as exc:
        _fail(str(exc))
    if out is not None:
        import pandas as pd

        from schedlab.report import plots

        records = [
            {"policy": r["policy"], "window_start": s, **w}
            for r in res["results"]
            for s, w in zip(starts, r["windows"], strict=False)
        ]
        _write_outputs(
            out,
            res,
            {"evaluation": pd.DataFrame(records)},
            [
                lambda: plots.metric_bars(
                    [
                        {
                            "policy": r["policy"],
                            "backfill": backfill,
                            "windows": r["windows"],
                            "mean": {k: r[k] for k in ("mean_bsld", "mean_wait", "utilization")},
                        }
                        for r in res["results"]
                    ],
                    out,
                )
            ],
        )
    if as_json:
        print(
            json.dumps(
                {
                    **res,
                    "results": {
                        r["policy"]: {k: r[k] for k in ("mean_bsld", "mean_wait", "utilization", "windows")}
                        for r in res["results"]
                    },
                }
            )
        )
        return
    table = Table(
        title=f"{wl.name}: {len(starts)} windows of {window_len} jobs ({preset.value}, {backfill} backfilling)"
    )
    for c in ("policy", "mean_bsld", "mean_wait", "utilization"):
        table.add_column(c, justify="left" if c == "policy" else "right")
    best = min(r["mean_bsld"] for r in res["results"])
    for r in res["results"]:
        b = _fmt(r["mean_bsld"], "mean_bsld")
        table.add_row(
            r["policy"],
            f"[bold green]{b}[/]" if r["mean_bsld"] == best else b,
            _fmt(r["mean_wait"], "mean_wait"),
            _fmt(r["utilization"], "utilization"),
        )
    out_console.print(table)
    out_console.print(
        f"model vs best heuristic ({res['best_heuristic']}): {res['bsld_vs_best_heuristic']:+.1%} mean bsld; "
        f"vs fcfs: {res['bsld_vs_fcfs']:+.1%}"
    )


@app.command()
def models(as_json: bool = typer.Option(False, "--json", help=JSON_HELP)):
    """List the pretrained models shipped with schedlab (use as --policy model:NAME)."""
    from schedlab.rl.agents import read_checkpoint
    from schedlab.rl.models import shipped_models

    rows = []
    for name, path in shipped_models().items():
        meta = read_checkpoint(path)["meta"]
        rows.append(
            {
                "name": name,
                "agent": meta["agent"],
                "trace": meta.get("trace", ""),
                "objective": meta["env_kwargs"].get("reward", ""),
                "file": str(path),
                "command": meta.get("command", ""),
            }
        )
    if as_json:
        print(json.dumps(rows))
        return
    table = Table(title="shipped models (use with --policy model:NAME or --model NAME)")
    for c in ("name", "agent", "trace", "objective", "command"):
        table.add_column(c)
    for r in rows:
        table.add_row(r["name"], r["agent"], r["trace"], r["objective"], r["command"])
    out_console.print(table)


@app.command()
def explain(
    model: str | None = typer.Option(
        None,
        "--model",
        "-m",
        help="Teacher to explain: a model file, run folder or shipped model name (see `schedlab models`), or a static heuristic name (sjf, saf, ...) to check the method on a known rule.",
    ),
    trace: str = typer.Option(DEFAULT_TRACE, "--trace", "-t", help=TRACE_HELP),
    iterations: int = typer.Option(
        5,
        "--iterations",
        min=1,
        help="DAgger iterations: the first rolls out the teacher, each later one the tree mixed with the teacher (teacher with probability 0.5^i) and has the teacher label what the tree visits.",
    ),
    max_leaves: int = typer.Option(64, "--max-leaves", min=2, help="Most leaves the tree may have (before pruning)."),
    critical: str = typer.Option(
        "all",
        "--critical",
        help="States the tree is fitted on: all; queue:N (IRL's rule: more than N jobs waiting); gap:G (the teacher's choice is ahead of its runner-up by at least G in probability, i.e. the decision matters to it).",
    ),
    form: str = typer.Option(
        "regression",
        "--form",
        help="regression: the tree predicts the teacher's log-probability of each job; classification: whether the teacher picks it. Either way the job with the highest tree score runs.",
    ),
    prune: bool = typer.Option(
        True,
        "--prune/--no-prune",
        help="Cost-complexity pruning: keep the smallest pruned tree within --prune-tolerance of the best mean bsld on the validation windows.",
    ),
    prune_tolerance: float = typer.Option(
        0.01,
        "--prune-tolerance",
        min=0.0,
        help="How much worse (as a fraction of the best validation mean bsld) a smaller pruned tree may be and still be preferred; 0.02 = 2%.",
    ),
    windows: int = typer.Option(
        10, "--windows", min=1, help="Held-out windows (test split, placed by --seed as in `schedlab evaluate`)."
    ),
    val_windows: int = typer.Option(
        16,
        "--val-windows",
        min=1,
        help="Validation windows (the last 20% of the training split) that choose the DAgger iterate and the pruning level.",
    ),
    window_len: int = typer.Option(
        1024, "--window-len", min=2, help="Jobs per window (DAgger, validation and held-out windows)."
    ),
    train_split: float = typer.Option(
        0.7,
        "--train-split",
        help="Fraction of jobs (by submit time) DAgger and validation may use; the rest is held out.",
    ),
    seed: int = typer.Option(
        0, "--seed", help="Seed for the DAgger windows, the mixing and the held-out window placement."
    ),
    any_trace: bool = typer.Option(False, "--any-trace", help="Allow a model trained on another trace."),
    compare_dirs: tuple[Path, Path] | None = typer.Option(
        None,
        "--compare",
        help="--compare A B: two `schedlab explain` output folders (or tree.json files, or shipped tree names) shown side by side: feature importances and the first three levels of splits, e.g. of agents trained with different rewards.",
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="Write tree.json, tree.txt (rules), tree.dot (Graphviz; tree.svg if dot is installed), tree_priority.py (a standalone priority function) and explain.json here.",
    ),
    as_json: bool = typer.Option(
        False,
        "--json",
        help=JSON_HELP + " Tree size, fidelity, mean bsld/wait of teacher, tree and heuristics, latency.",
    ),
):
    """Distil an RL scheduler (or any teacher) into a readable decision tree with DAgger (IRL, MASCOTS'23) and measure it."""
    if compare_dirs:
        _explain_compare(compare_dirs, as_json)
        return
    if model is None:
        _fail("give --model (the teacher to explain), or --compare A B")
    if form not in ("regression", "classification"):
        _fail(f"unknown --form {form!r}; choose regression or classification")
    if not 0 < train_split < 1:
        _fail(f"--train-split must be between 0 and 1 (got {train_split})")
    from schedlab.explain.dagger import parse_critical
    from schedlab.explain.export import to_text
    from schedlab.explain.run import explain as run_explain
    from schedlab.explain.run import write_outputs

    try:
        parse_critical(critical)
    except ValueError as exc:
        _fail(f"--critical: {exc}")
    wl = _load(trace, Preset.textbook, False, 1.0)
    from contextlib import nullcontext

    with err_console.status("DAgger", spinner="dots") if err_console.is_terminal else nullcontext() as status:

        def progress(h: dict) -> None:
            if status is not None:
                status.update(
                    f"DAgger iteration {h['iteration'] + 1}/{iterations}: {h['decisions']:,} decisions, "
                    f"{h['leaves']} leaves, validation bsld {h['val_bsld']:.2f}"
                )

        try:
            tree, res = run_explain(
                model,
                wl,
                iterations=iterations,
                max_leaves=max_leaves,
                critical=critical,
                form=form,
                train_split=train_split,
                window_len=window_len,
                windows=windows,
                val_windows=val_windows,
                eval_seed=seed,
                seed=seed,
                prune=prune,
                prune_tolerance=prune_tolerance,
                progress=progress,
                any_trace=any_trace,
                command="schedlab " + " ".join(sys.argv[1:]),
            )
        except ValueError as exc:
            _fail(str(exc))
    written = write_outputs(tree, res, out) if out is not None else []
    if as_json:
        print(json.dumps(res, indent=2))
        return
    out_console.print(to_text(tree), markup=False, highlight=False)
    t = res["tree"]
    out_console.print(
        f"tree: {t['nodes']} nodes, {t['leaves']} leaves, depth {t['depth']}; fidelity "
        f"{res['fidelity']:.1%} on {res['held_out_decisions']:,} held-out teacher decisions"
    )
    table = Table(title=f"{wl.name}: {windows} held-out windows of {window_len} jobs")
    for c in ("policy", "mean_bsld", "mean_wait", "utilization"):
        table.add_column(c, justify="left" if c == "policy" else "right")
    for name, r in res["results"].items():
        table.add_row(
            name,
            _fmt(r["mean_bsld"], "mean_bsld"),
            _fmt(r["mean_wait"], "mean_wait"),
            _fmt(r["utilization"], "utilization"),
        )
    out_console.print(table)
    lat = res["latency_s"]
    out_console.print(
        f"tree vs teacher: {res['tree_vs_teacher_bsld']:+.1%} mean bsld; vs best heuristic "
        f"({res['best_heuristic']}): {res['tree_vs_best_heuristic_bsld']:+.1%}"
    )
    if res["speedup"]:
        out_console.print(
            f"per decision: teacher {lat['teacher'] * 1e6:.1f} us, tree {lat['tree'] * 1e6:.1f} us "
            f"({res['speedup']:.0f}x faster)"
        )
    for p in written:
        out_console.print(f"wrote {p}")


def _explain_compare(paths: list[Path], as_json: bool) -> None:
    from schedlab.explain.export import to_text
    from schedlab.explain.tree import load_tree

    sides = []
    for p in paths:
        try:
            tree = load_tree(p)
        except ValueError as exc:
            _fail(str(exc))
        imp = tree.meta.get("importances") or tree.importances()  # sample-weighted when the tree carries them
        top = "\n".join(to_text(tree.truncated(3)).splitlines()[:24])
        sides.append(
            {
                "path": str(p),
                "teacher": tree.meta.get("teacher", ""),
                "leaves": tree.n_leaves,
                "importances": imp,
                "top_splits": top,
            }
        )
    if as_json:
        print(json.dumps(sides, indent=2))
        return
    table = Table(title="feature importances (share of samples routed by splits on the feature)")
    table.add_column("feature")
    for s_ in sides:
        table.add_column(f"{s_['teacher'] or s_['path']} ({s_['leaves']} leaves)", justify="right")
    feats = sorted(
        sides[0]["importances"], key=lambda f: -(sides[0]["importances"][f] + sides[1]["importances"].get(f, 0))
    )
    for f in feats:
        a, b = sides[0]["importances"][f], sides[1]["importances"].get(f, 0.0)
        if a or b:
            table.add_row(f, f"{a:.1%}", f"{b:.1%}")
    out_console.print(table)
    splits = Table(title="top splits (first three levels)")
    for s_ in sides:
        splits.add_column(s_["teacher"] or s_["path"])
    splits.add_row(*[s_["top_splits"] for s_ in sides])
    out_console.print(splits)


class ElasticObjective(StrEnum):
    throughput = "throughput"
    fairness = "fairness"


class ElasticSolver(StrEnum):
    dp = "dp"
    milp = "milp"
    equal = "equal"


class CostRate(StrEnum):
    current = "current"
    stall = "stall"


@app.command()
def bftrainer(
    idle_trace: str = typer.Option(
        "real",
        "--idle-trace",
        help="Where idle nodes come from: real (the 4,734-node, 15-day node-state trace of the BFTrainer data), sim:TRACE:POLICY (nodes left idle by a schedlab simulation of TRACE under POLICY with EASY backfilling, e.g. sim:theta_2022:fcfs) or synthetic (idle/busy renewal process, idle lengths drawn from the measured fragments).",
    ),
    trainers: str = typer.Option(
        "imagenet",
        "--trainers",
        help="Elastic trainers: imagenet (1,001 trainers, 7 ImageNet models), hps (1,000 identical ShuffleNet trainers), hps10 (10 of them), or a trainer_jobs CSV in the same format. Submissions are shifted so the first one is at the window start.",
    ),
    objective: ElasticObjective = typer.Option(
        ElasticObjective.throughput,
        "--objective",
        help="throughput: maximise Tfwd x samples/s minus rescale losses, as BFTrainer; fairness: first maximise the smallest progress fraction of the running trainers, then throughput.",
    ),
    solver: ElasticSolver = typer.Option(
        ElasticSolver.dp,
        "--solver",
        help="dp: exact dynamic program over node counts (fast); milp: BFTrainer's per-node MILP solved with HiGHS (same optimum, slower); equal: equal share baseline (no optimisation).",
    ),
    nodes: int | None = typer.Option(
        None, "--nodes", help="Use only the first N nodes of the machine (default: all; synthetic: 1,024)."
    ),
    hours: float = typer.Option(24.0, "--hours", help="Length of the replayed window, hours."),
    start_hour: float | None = typer.Option(
        None,
        "--start-hour",
        help="Window start on the idle trace's clock, hours. Default: real 20.21 (BFTrainer's replay start, 2021-02-10 20:21:15), sim 168 (one week in, past the empty-machine start), synthetic 0.",
    ),
    tfwd: float = typer.Option(
        10.0,
        "--tfwd",
        help="BFTrainer's look-ahead Tfwd in seconds (its default, 10): how long a new allocation is assumed to pay off, against its rescale cost. Small = few rescales.",
    ),
    cost_rate: CostRate = typer.Option(
        CostRate.current,
        "--cost-rate",
        help="Rate the objective charges a rescale at: current (rate before the change, as BFTrainer) or stall (rate after it, what the replay actually loses).",
    ),
    compat: bool = typer.Option(
        False,
        "--bftrainer-compat",
        help="Keep the published MILP's big-M = N + 1, which caps every trainer's change at (N+1)/2 nodes per event.",
    ),
    max_running: int = typer.Option(
        10, "--max-running", help="At most this many trainers admitted at once (FCFS); BFTrainer's maxJ."
    ),
    predict_holes: bool = typer.Option(
        False,
        "--predict-holes",
        help="Learn each idle hole's remaining life from the --history-hours before the window (node, hour of day, hole age) and give growing trainers the longest-lived nodes.",
    ),
    tfwd_from_holes: float | None = typer.Option(
        None,
        "--tfwd-from-holes",
        help="With --predict-holes: instead of the fixed --tfwd, set Tfwd at every event to this factor x the median predicted remaining life of the free idle nodes (e.g. 0.01).",
    ),
    tfwd_learned: bool = typer.Option(
        False,
        "--tfwd-learned",
        help="With --predict-holes: no Tfwd or scale to tune. At every event Tfwd is the predicted time until the next idle node is taken back (1 / sum of 1 / predicted remaining life over the idle nodes, at least 1 s), i.e. how long the allocation being chosen stands before the pool changes.",
    ),
    risk: bool = typer.Option(
        False,
        "--risk",
        help="With --predict-holes: also take the predicted pre-emption stalls off each allocation's value in the objective.",
    ),
    history_hours: float = typer.Option(
        168.0, "--history-hours", help="With --predict-holes: hours of idle trace before the window to learn from."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the synthetic idle trace."),
    data_dir: Path | None = typer.Option(
        None,
        "--data-dir",
        help="Folder with the BFTrainer data (default: $SCHEDLAB_DATA, the `schedlab data fetch` cache, or shared/data beside a checkout).",
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="Write summary.json, events/allocations/trainers (Parquet and CSV) and plots (PNG) here.",
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
):
    """Fill idle nodes with elastic DNN trainers (BFTrainer): replay an idle trace, re-solve the allocation at every event."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from schedlab.elastic.data import DataNotFound
    from schedlab.elastic.idle import IdleTraceError
    from schedlab.elastic.replay import ReplayConfig
    from schedlab.elastic.run import load_idle, parse_idle_spec, run_bftrainer, simulate_for_holes, write_outputs
    from schedlab.elastic.trainers import TrainerError, load_job_set

    if risk and not predict_holes:
        _fail("--risk needs --predict-holes")
    if tfwd_from_holes is not None and not predict_holes:
        _fail("--tfwd-from-holes needs --predict-holes")
    if not tfwd > 0:  # checked before any data is read
        _fail(f"--tfwd must be > 0 seconds (got {tfwd:g})")
    if tfwd_learned and not predict_holes:
        _fail("--tfwd-learned needs --predict-holes")
    if tfwd_learned and tfwd_from_holes is not None:
        _fail("give --tfwd-learned or --tfwd-from-holes, not both")
    if tfwd_from_holes is not None and not tfwd_from_holes > 0:
        _fail(f"--tfwd-from-holes must be > 0 (got {tfwd_from_holes})")
    if not hours > 0:
        _fail(f"--hours must be > 0 (got {hours})")
    try:
        spec = parse_idle_spec(idle_trace)
        jobs = load_job_set(trainers, data_dir)
        main = simulate_for_holes(spec.trace, spec.policy) if spec.kind == "sim" else None
        window, full = load_idle(spec, hours, start_hour, nodes, seed, data_dir, sim_result=main)
        horizon = None
        if predict_holes:
            from schedlab.elastic.horizon import HoleLifePredictor

            lo = max(full.start, window.start - history_hours * 3600)
            if window.start - lo < 3600:
                _fail("--predict-holes needs at least one hour of idle trace before the window; use --start-hour")
            horizon = HoleLifePredictor(seed=seed).fit(full.window(lo, window.start))
        cfg = ReplayConfig(
            objective=objective.value,
            solver=solver.value,
            tfwd=tfwd,
            cost_rate=cost_rate.value,
            compat=compat,
            max_running=max_running,
            horizon=horizon,
            node_choice="longest" if predict_holes else "lowest",
            risk=risk,
            tfwd_scale=tfwd_from_holes,
            tfwd_learned=tfwd_learned,
        )
    except (IdleTraceError, TrainerError, DataNotFound, FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    with Progress(
        TextColumn("replaying"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}% of the window"),
        TimeElapsedColumn(),
        console=err_console,
        disable=as_json or not err_console.is_terminal,
    ) as bar:
        task = bar.add_task("replay", total=window.end - window.start)
        res = run_bftrainer(window, jobs, cfg, on_event=lambda t: bar.update(task, completed=t - window.start))
    s = res.summary
    if main is not None:
        # the main schedule is only read: trainers never held a node a job was using (conflicts = 0),
        # and simulating the trace again gives the identical schedule
        again = simulate_for_holes(spec.trace, spec.policy)
        s["main_jobs"] = len(main.start)
        s["main_schedule_unchanged"] = bool(np.array_equal(again.start, main.start)) and s["busy_node_conflicts"] == 0
    written = write_outputs(res, out) if out is not None else []
    if as_json:
        print(json.dumps(s))
        return
    table = Table(
        title=f"BFTrainer on {s['idle_trace']} ({s['nodes']:,} nodes, {s['hours']:g} h), {s['trainers']} "
        f"trainers, {cfg.solver} / {cfg.objective}"
    )
    table.add_column("metric")
    table.add_column("value", justify="right")
    rows = [
        ("idle node-hours available", f"{s['idle_node_hours']:,.1f}"),
        ("idle node-hours used", f"{s['used_node_hours']:,.1f} ({100 * s['idle_used_fraction']:.1f}%)"),
        ("samples processed", f"{s['samples']:.4e}"),
        ("efficiency vs same scales, no losses", f"{100 * s['efficiency_vs_same_scales']:.2f}%"),
        ("efficiency vs dedicated nodes (mean scale)", f"{100 * s['efficiency_vs_dedicated']:.2f}%"),
        ("trainers started / finished", f"{s['trainers_started']:,} / {s['trainers_finished']:,}"),
        ("mean / median completion (h)", f"{s['mean_completion_hours']:.2f} / {s['median_completion_hours']:.2f}"),
        ("starts / stops", f"{s['starts']:,} / {s['stops']:,}"),
        ("scale-ups / scale-downs", f"{s['scale_ups']:,} / {s['scale_downs']:,}"),
        ("pre-emptions (trainer-events)", f"{s['preemptions']:,}"),
        ("decisions", f"{s['decisions']:,}"),
        ("Tfwd per decision, median (s)", f"{s['tfwd_median']:.1f}" if s.get("tfwd_median") is not None else "-"),
        (
            "decision ms per event: median / p95 / max",
            f"{s['decision_ms_median']:.2f} / {s['decision_ms_p95']:.2f} / {s['decision_ms_max']:.2f}",
        ),
        ("replay wall time (s)", f"{s['replay_seconds']:.1f}"),
        ("trainer on a busy node (must be 0)", f"{s['busy_node_conflicts']}"),
    ]
    if "main_jobs" in s:
        rows.append(
            ("main schedule unchanged", f"{'yes' if s['main_schedule_unchanged'] else 'NO'} ({s['main_jobs']:,} jobs)")
        )
    for k, v in rows:
        table.add_row(k, v)
    out_console.print(table)
    for path in written:
        out_console.print(f"wrote {path}")


data_app = typer.Typer(
    no_args_is_help=True, help="Measured datasets that schedlab reads but does not ship (no licence of their own)."
)
app.add_typer(data_app, name="data")


@data_app.command("fetch")
def data_fetch(
    name: str = typer.Argument(
        ...,
        help="Dataset to fetch: bftrainer (BFTrainer's node-state trace and trainer tables), "
        "ecosched (EcoSched's multi-GPU app profiles and evaluation logs), open_a100 (OPEN's "
        "CPU-cap x GPU-cap performance matrix on A100).",
    ),
    dest: Path | None = typer.Option(
        None,
        "--dest",
        help="Folder to write into (default: the user cache, ~/.cache/schedlab/data, where schedlab looks).",
    ),
    convert_only: Path | None = typer.Option(
        None,
        "--convert-only",
        help="Do not download: convert originals already in this folder (the pinned upstream files, laid out as in their repository).",
    ),
):
    """Download a public dataset at a pinned commit and convert it into the CSV layout schedlab reads."""
    from schedlab.datasets import cache_dir
    from schedlab.fetchers import FETCHERS

    if name not in FETCHERS:
        _fail(f"unknown dataset {name!r}; available: {', '.join(FETCHERS)}")
    fetch, convert, label = FETCHERS[name]()
    try:
        if convert_only is not None:
            target = (dest or cache_dir()) / name
            files = convert(convert_only, target)
        else:
            target = fetch(dest, progress=lambda m: err_console.print(f"[dim]{m}[/]"))
            files = sorted(target.glob("*.csv*"))
    except (OSError, ValueError) as exc:
        _fail(f"fetch failed: {exc}")
    for f in files:
        out_console.print(f"wrote {f}")
    out_console.print(f"{label} data ready in {target}")


energy_app = typer.Typer(
    no_args_is_help=True,
    help="Energy- and power-aware GPU scheduling on measured data: EcoSched "
    "(GPU counts and co-scheduling on one multi-GPU node), OPEN (performance under CPU/GPU power "
    "caps from a little profiling) and EcoShift (sharing a cluster power cap).",
)
app.add_typer(energy_app, name="energy")


def _register_subcommands() -> None:
    """Commands that live beside their library code (each module's ``register(app)`` adds them)."""
    import importlib

    for module, target in (
        ("schedlab.energy.cli_ecosched", energy_app),
        ("schedlab.energy.cli_power", energy_app),
        ("schedlab.analytics.cli", app),
    ):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        mod.register(target)


_register_subcommands()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
