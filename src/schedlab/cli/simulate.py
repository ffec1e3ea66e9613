"""``schedlab simulate``, ``compare`` and ``traces``: policies on a trace."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from schedlab.cli.common import (
    AllocationOpt,
    BackfillOrderOpt,
    ClusterOpt,
    CorrectionOpt,
    EstimatesOpt,
    ForceOpt,
    JsonOpt,
    LenientOpt,
    LoadScaleOpt,
    OverrunOpt,
    PresetOpt,
    SelectOpt,
    TauOpt,
    TraceOpt,
    UnitOpt,
    check_out,
    err_console,
    fail,
    fmt,
    out_console,
    parse_ints,
    parse_list,
    print_json,
    print_written,
    progress_bar,
    write_out,
)
from schedlab.options import Backfill, BackfillOrder, CapacityUnit, Correction, Estimates, Overrun, Preset
from schedlab.workload.bundled import DEFAULT_TRACE

POLICY_HELP = (
    "Queue order: fcfs, sjf, ljf, saf, laf, largest, smallest, f1, f2, f3, f4, wfp3, unicep (with --estimates "
    "predicted:* the heuristics that read the runtime use the prediction), random (a seeded random order), easy++ "
    "(FCFS, EASY trying the shortest predicted job first, predicted:last2 runtimes: sets --estimates and "
    "--backfill-order itself), or expr:<numpy "
    "expression in r (requested time), n (processors), s (submit time)>; lower score runs first; or model:PATH, a "
    "trained RL agent (a model.pt file or a `schedlab train` output folder; `model:theta_2022-dras` etc. name a "
    "shipped one); or tree:PATH, a decision tree distilled by `schedlab explain` (tree.json or its folder; "
    "`tree:theta_2022-dras` names the shipped one)."
)
PolicyOpt = Annotated[str, typer.Option("--policy", "-p", help=POLICY_HELP)]
BackfillOpt = Annotated[
    Backfill,
    typer.Option(
        "--backfill", "-b", help="Backfilling: none, easy (EASY, head reservation), conservative (every job reserved)."
    ),
]


def load_workload(trace: str, preset: Preset, lenient: bool = False, load_scale: float = 1.0):
    """The trace, cleaned by the preset's rules and load-scaled."""
    from schedlab.workload import load_trace

    wl = load_trace(trace, rules="textbook" if preset == Preset.SLURM else preset, lenient=lenient)
    return wl.scale_load(load_scale) if load_scale != 1.0 else wl


def sim_options(
    preset: Preset,
    unit: CapacityUnit,
    estimates: Estimates,
    overrun: Overrun,
    correction: Correction = Correction.REQTIME,
    backfill_order: BackfillOrder = BackfillOrder.QUEUE,
    cluster: str | None = None,
    allocation=None,
    select=None,
) -> dict:
    """The SimConfig fields the simulate/compare options share (the machine loaded once, here)."""
    machine = None
    if cluster is not None:
        from schedlab.cluster import load_cluster

        machine = load_cluster(cluster)
    elif allocation is not None or select is not None:
        fail("--allocation and --select apply to a machine given with --cluster")
    return dict(
        preset=preset, capacity_unit=unit, estimates=estimates, kill_at_request=overrun == Overrun.KILL,
        correction=correction, backfill_order=backfill_order, cluster=machine, allocation=allocation,
        node_select=select,
    )  # fmt: skip


def print_cleaning(wl, notes: bool = True) -> None:
    err_console.print(f"[dim]{wl.cleaning.summary()}[/]")
    for note in wl.cleaning.notes if notes else ():
        err_console.print(f"[dim]note: {note}[/]")


def simulate(
    trace: TraceOpt = DEFAULT_TRACE,
    policy: PolicyOpt = "fcfs",
    backfill: BackfillOpt = Backfill.EASY,
    preset: PresetOpt = Preset.TEXTBOOK,
    capacity_unit: UnitOpt = CapacityUnit.PROCS,
    estimates: EstimatesOpt = Estimates.REQUESTED,
    correction: CorrectionOpt = Correction.REQTIME,
    backfill_order: BackfillOrderOpt = BackfillOrder.QUEUE,
    overrun: OverrunOpt = Overrun.KILL,
    cluster: ClusterOpt = None,
    allocation: AllocationOpt = None,
    select: SelectOpt = None,
    load_scale: LoadScaleOpt = 1.0,
    tau: TauOpt = 10.0,
    lenient: LenientOpt = False,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Write jobs.parquet/jobs.csv (per job; with --cluster also partition, nodelist, nodes, cpus/gpus/"
            "mem_per_node, qos, account), summary.json and plots (PNG) here; with predicted "
            "estimates also prediction_by_user.parquet/.csv and predicted_vs_actual.png.",
        ),
    ] = None,
    force: ForceOpt = False,
    as_json: JsonOpt = False,
):
    """Simulate one policy on one trace and print its metrics."""
    from schedlab.policies import resolve
    from schedlab.report.simulation import write_simulation
    from schedlab.simulator import SimConfig
    from schedlab.simulator.compare import simulate_summary

    folder = check_out(out, force)  # before the work: a bad --out never loses a run
    pol = resolve(policy)  # before the trace: a bad policy fails fast, a model is loaded once
    opts = sim_options(
        preset, capacity_unit, estimates, overrun, correction, backfill_order, cluster, allocation, select
    )
    wl = load_workload(trace, preset, lenient, load_scale)
    cfg = SimConfig(policy=pol, backfill=backfill, **opts)
    summary, res = simulate_summary(wl, cfg, tau)
    written = write_out(folder, lambda d: write_simulation(d, summary, res))
    if as_json:
        print_json(summary)
        return
    print_cleaning(res.workload)
    machine = f" on {cfg.cluster.name}" if cfg.cluster is not None else ""
    table = Table(title=f"{wl.name}{machine}: {cfg.policy_label} + {cfg.backfill} ({cfg.preset})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in summary.items():
        if k not in ("trace", "config", "tau", "cleaning") and not isinstance(v, dict):
            table.add_row(k, fmt(v, k))
    out_console.print(table)
    for k in ("per_partition", "per_qos", "per_account"):
        if len(summary.get(k, {})) > 1 or (k == "per_partition" and summary.get(k)):
            out_console.print(group_table(k.removeprefix("per_"), summary[k]))
    print_written(written)


def group_table(what: str, groups: dict) -> Table:
    """One row per partition / QOS / account of a multi-resource run."""
    table = Table(title=f"per {what}")
    table.add_column(what)
    cols = list(next(iter(groups.values())))
    for c in cols:
        table.add_column(c, justify="right")
    for name, row in groups.items():
        table.add_row(name, *[fmt(row[c], c) for c in cols])
    return table


COMPARE_COLUMNS = ("mean_wait", "median_wait", "p95_wait", "mean_bsld", "utilization", "mean_queue_length")


def render_comparison(wl, preset, rows, starts, window_len) -> None:
    """The comparison table (best value per column in green) and, for windows, bsld per window."""
    scope = f"{len(starts)} windows of {window_len} jobs" if starts else f"whole trace, {len(wl):,} jobs"
    suffix = "; mean over windows" if starts else ""
    table = Table(title=f"{wl.name} ({preset}): {scope}{suffix}")
    table.add_column("policy")
    table.add_column("backfill")
    for c in COMPARE_COLUMNS:
        table.add_column(c, justify="right")
    best = {c: min(r.mean[c] for r in rows) for c in COMPARE_COLUMNS if c != "utilization"}
    for r in rows:
        cells = [fmt(r.mean[c], c) for c in COMPARE_COLUMNS]
        cells = [
            f"[bold green]{t}[/]" if best.get(c) == r.mean[c] else t
            for c, t in zip(COMPARE_COLUMNS, cells, strict=True)
        ]
        table.add_row(r.policy, r.backfill, *cells)
    out_console.print(table)
    if starts and len(starts) > 1:
        wt = Table(title="mean bounded slowdown per window")
        wt.add_column("policy+backfill")
        for s in starts:
            wt.add_column(str(s), justify="right")
        for r in rows:
            wt.add_row(f"{r.policy}+{r.backfill}", *[fmt(w["mean_bsld"], "mean_bsld") for w in r.windows])
        out_console.print(wt)


def compare(
    trace: TraceOpt = DEFAULT_TRACE,
    policies: Annotated[
        str, typer.Option("--policies", help="Comma-separated policies. " + POLICY_HELP)
    ] = "fcfs,sjf,wfp3,f1",
    backfill: Annotated[
        str, typer.Option("--backfill", "-b", help="Comma-separated backfill modes: none, easy, conservative.")
    ] = "none,easy",
    preset: PresetOpt = Preset.TEXTBOOK,
    capacity_unit: UnitOpt = CapacityUnit.PROCS,
    estimates: EstimatesOpt = Estimates.REQUESTED,
    correction: CorrectionOpt = Correction.REQTIME,
    backfill_order: BackfillOrderOpt = BackfillOrder.QUEUE,
    overrun: OverrunOpt = Overrun.KILL,
    cluster: ClusterOpt = None,
    allocation: AllocationOpt = None,
    select: SelectOpt = None,
    windows: Annotated[
        int | None,
        typer.Option(
            "--windows",
            min=1,
            help="Simulate K windows of --window-len consecutive jobs at seeded random starts, each from an empty "
            "cluster.",
        ),
    ] = None,
    window_len: Annotated[int | None, typer.Option("--window-len", min=1, help="Jobs per window.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed for the window starts.")] = 0,
    window_starts: Annotated[
        str | None,
        typer.Option(
            "--window-starts",
            help="Comma-separated job indices (after cleaning) where windows start; instead of --windows.",
        ),
    ] = None,
    load_scale: LoadScaleOpt = 1.0,
    tau: TauOpt = 10.0,
    lenient: LenientOpt = False,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Write comparison.csv/.parquet (per window), summary.json and plots (metrics.png, wait_cdf.png, "
            "over_time.png) here.",
        ),
    ] = None,
    force: ForceOpt = False,
    as_json: JsonOpt = False,
):
    """Compare policies x backfill modes on a trace (whole trace or windows) in one table."""
    from schedlab.options import choose
    from schedlab.policies import resolve
    from schedlab.report.simulation import write_comparison
    from schedlab.simulator.compare import compare as run_compare
    from schedlab.simulator.compare import comparison_windows, warm_up

    folder = check_out(out, force)
    pols = [resolve(p) for p in parse_list(policies, "policy")]  # fail fast; each model loaded once
    bfs = [choose(Backfill, b, "backfill mode") for b in parse_list(backfill, "backfill mode")]
    if (window_starts is not None or windows is not None) and window_len is None:
        fail("--window-len is required with --windows or --window-starts")
    if window_starts is not None and windows is not None:
        fail("give either --windows or --window-starts, not both")
    given = parse_ints(window_starts, "window start") if window_starts is not None else None
    opts = sim_options(
        preset, capacity_unit, estimates, overrun, correction, backfill_order, cluster, allocation, select
    )
    wl = load_workload(trace, preset, lenient, load_scale)
    starts = comparison_windows(wl, window_len, windows, seed, given) if window_len is not None else None
    warm_up()
    with progress_bar("simulating", transient=True, disable=as_json) as prog:
        task = prog.add_task("sim", total=len(pols) * len(bfs) * (len(starts) if starts else 1))
        rows = run_compare(
            wl, pols, bfs, window_starts=starts, window_len=window_len, tau=tau,
            keep_results=out is not None and starts is None, on_step=lambda: prog.advance(task), **opts,
        )  # fmt: skip
    summary = {
        "trace": wl.name, "preset": preset, "capacity_unit": capacity_unit, "estimates": estimates,
        "correction": correction, "backfill_order": backfill_order,
        "overrun": overrun, "tau": tau, "window_len": window_len, "window_starts": starts,
        **({"cluster": opts["cluster"].name} if opts["cluster"] is not None else {}),
        "results": [r.to_dict() for r in rows], "cleaning": wl.cleaning.to_dict(),
    }  # fmt: skip
    written = write_out(folder, lambda d: write_comparison(d, summary, rows, starts))
    if as_json:
        print_json(summary)
        return
    print_cleaning(wl, notes=False)
    render_comparison(wl, preset, rows, starts, window_len)
    print_written(written)


def traces(as_json: JsonOpt = False):
    """List the bundled traces with their statistics (after textbook cleaning)."""
    from schedlab.workload import BUNDLED, load_trace

    rows = []
    for name, (fname, desc) in BUNDLED.items():
        wl = load_trace(name)
        rows.append({"name": name, "file": fname, "description": desc, **wl.stats(), "cleaning": wl.cleaning.summary()})
    if as_json:
        print_json(rows)
        return
    table = Table(title="bundled traces (use the name with --trace; any SWF path works too)")
    for c in ("name", "jobs", "procs", "nodes", "days", "load", "mean run (h)", "description"):
        table.add_column(c, justify="left" if c in ("name", "description") else "right")
    for r in rows:
        table.add_row(
            r["name"], f"{r['jobs']:,}", f"{r['max_procs']:,}", f"{r['max_nodes']:,}", f"{r['span_days']:.1f}",
            f"{r['offered_load']:.2f}", f"{r['mean_runtime_s'] / 3600:.2f}", r["description"],
        )  # fmt: skip
    out_console.print(table)
