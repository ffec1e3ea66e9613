"""``schedlab bftrainer``: fill idle nodes with elastic DNN trainers (BFTrainer)."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from schedlab.cli.common import (
    ForceOpt,
    JsonOpt,
    above,
    check_out,
    err_console,
    fail,
    out_console,
    print_json,
    print_written,
    write_out,
)
from schedlab.options import CostRate, ElasticObjective, Solver


def check_prediction_options(predict_holes: bool, risk: bool, tfwd_from_holes: float | None, tfwd_learned: bool):
    """The options that only mean something with --predict-holes, and the two learned Tfwds."""
    if risk and not predict_holes:
        fail("--risk needs --predict-holes")
    if tfwd_from_holes is not None and not predict_holes:
        fail("--tfwd-from-holes needs --predict-holes")
    if tfwd_learned and not predict_holes:
        fail("--tfwd-learned needs --predict-holes")
    if tfwd_learned and tfwd_from_holes is not None:
        fail("give --tfwd-learned or --tfwd-from-holes, not both")


@contextmanager
def replay_progress(disable: bool):
    """A bar on stderr, in % of the replayed window; yields ``on_progress(done_s, window_s)``."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("replaying"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}% of the window"),
        TimeElapsedColumn(),
        console=err_console,
        disable=disable or not err_console.is_terminal,
    ) as bar:
        task = bar.add_task("replay", total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def summary_rows(s: dict) -> list[tuple[str, str]]:
    """(metric, value) rows of the summary table."""
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
        unchanged = "yes" if s["main_schedule_unchanged"] else "NO"
        rows.append(("main schedule unchanged", f"{unchanged} ({s['main_jobs']:,} jobs)"))
    return rows


def render_bftrainer(s: dict, solver: str, objective: str) -> None:
    table = Table(
        title=f"BFTrainer on {s['idle_trace']} ({s['nodes']:,} nodes, {s['hours']:g} h), {s['trainers']} "
        f"trainers, {solver} / {objective}"
    )
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in summary_rows(s):
        table.add_row(k, v)
    out_console.print(table)


def bftrainer(
    idle_trace: Annotated[
        str,
        typer.Option(
            "--idle-trace",
            help="Where idle nodes come from: real (the 4,734-node, 15-day node-state trace of the BFTrainer data), "
            "sim:TRACE:POLICY (nodes left idle by a schedlab simulation of TRACE under POLICY with EASY backfilling, "
            "e.g. sim:theta_2022:fcfs) or synthetic (idle/busy renewal process, idle lengths drawn from the measured "
            "fragments).",
        ),
    ] = "real",
    trainers: Annotated[
        str,
        typer.Option(
            "--trainers",
            help="Elastic trainers: imagenet (1,001 trainers, 7 ImageNet models), hps (1,000 identical ShuffleNet "
            "trainers), hps10 (10 of them), or a trainer_jobs CSV in the same format. Submissions are shifted so the "
            "first one is at the window start.",
        ),
    ] = "imagenet",
    objective: Annotated[
        ElasticObjective,
        typer.Option(
            "--objective",
            help="throughput: maximise Tfwd x samples/s minus rescale losses, as BFTrainer; fairness: first maximise "
            "the smallest progress fraction of the running trainers, then throughput.",
        ),
    ] = ElasticObjective.THROUGHPUT,
    solver: Annotated[
        Solver,
        typer.Option(
            "--solver",
            help="dp: exact dynamic program over node counts (fast); milp: BFTrainer's per-node MILP solved with "
            "HiGHS (same optimum, slower); equal: equal share baseline (no optimisation).",
        ),
    ] = Solver.DP,
    nodes: Annotated[
        int | None,
        typer.Option("--nodes", help="Use only the first N nodes of the machine (default: all; synthetic: 1,024)."),
    ] = None,
    hours: Annotated[float, typer.Option("--hours", help="Length of the replayed window, hours.")] = 24.0,
    start_hour: Annotated[
        float | None,
        typer.Option(
            "--start-hour",
            help="Window start on the idle trace's clock, hours. Default: real 20.21 (BFTrainer's replay start, "
            "2021-02-10 20:21:15), sim 168 (one week in, past the empty-machine start), synthetic 0.",
        ),
    ] = None,
    tfwd: Annotated[
        float,
        typer.Option(
            "--tfwd",
            help="BFTrainer's look-ahead Tfwd in seconds (its default, 10): how long a new allocation is assumed to "
            "pay off, against its rescale cost. Small = few rescales.",
        ),
    ] = 10.0,
    cost_rate: Annotated[
        CostRate,
        typer.Option(
            "--cost-rate",
            help="Rate the objective charges a rescale at: current (rate before the change, as BFTrainer) or stall "
            "(rate after it, what the replay actually loses).",
        ),
    ] = CostRate.CURRENT,
    compat: Annotated[
        bool,
        typer.Option(
            "--bftrainer-compat",
            help="Keep the published MILP's big-M = N + 1, which caps every trainer's change at (N+1)/2 nodes per "
            "event.",
        ),
    ] = False,
    max_running: Annotated[
        int,
        typer.Option(
            "--max-running", min=1, help="At most this many trainers admitted at once (FCFS); BFTrainer's maxJ."
        ),
    ] = 10,
    predict_holes: Annotated[
        bool,
        typer.Option(
            "--predict-holes",
            help="Learn each idle hole's remaining life from the --history-hours before the window (node, hour of "
            "day, hole age) and give growing trainers the longest-lived nodes.",
        ),
    ] = False,
    tfwd_from_holes: Annotated[
        float | None,
        typer.Option(
            "--tfwd-from-holes",
            help="With --predict-holes: instead of the fixed --tfwd, set Tfwd at every event to this factor x the "
            "median predicted remaining life of the free idle nodes (e.g. 0.01).",
            callback=above("--tfwd-from-holes", 0),
        ),
    ] = None,
    tfwd_learned: Annotated[
        bool,
        typer.Option(
            "--tfwd-learned",
            help="With --predict-holes: no Tfwd or scale to tune. At every event Tfwd is the predicted time until the "
            "next idle node is taken back (1 / sum of 1 / predicted remaining life over the idle nodes, at least "
            "1 s), i.e. how long the allocation being chosen stands before the pool changes.",
        ),
    ] = False,
    risk: Annotated[
        bool,
        typer.Option(
            "--risk",
            help="With --predict-holes: also take the predicted pre-emption stalls off each allocation's value in the "
            "objective.",
        ),
    ] = False,
    history_hours: Annotated[
        float,
        typer.Option(
            "--history-hours",
            min=0.0,
            help="With --predict-holes: hours of idle trace before the window to learn from.",
        ),
    ] = 168.0,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic idle trace.")] = 0,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Folder with the BFTrainer data (default: $SCHEDLAB_DATA, the `schedlab data fetch` cache, or "
            "shared/data beside a checkout).",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Write summary.json, events/allocations/trainers (Parquet and CSV) and plots (PNG) here.",
        ),
    ] = None,
    force: ForceOpt = False,
    as_json: JsonOpt = False,
):
    """Fill idle nodes with elastic DNN trainers (BFTrainer): replay an idle trace, re-solve the allocation at every event."""  # noqa: E501 (one line: it is the help text)
    from schedlab.elastic.replay import ReplayConfig
    from schedlab.elastic.run import BFTrainerConfig, run_experiment, write_outputs

    check_prediction_options(predict_holes, risk, tfwd_from_holes, tfwd_learned)
    folder = check_out(out, force)
    cfg = BFTrainerConfig(  # validated here, before any data is read
        idle_trace=idle_trace, trainers=trainers, hours=hours, start_hour=start_hour, nodes=nodes, seed=seed,
        data_dir=data_dir, predict_holes=predict_holes, history_hours=history_hours,
        replay=ReplayConfig(
            objective=objective, solver=solver, tfwd=tfwd, cost_rate=cost_rate, compat=compat, max_running=max_running,
            risk=risk, tfwd_scale=tfwd_from_holes, tfwd_learned=tfwd_learned,
        ),
    )  # fmt: skip
    with replay_progress(disable=as_json) as on_progress:
        res = run_experiment(cfg, on_progress=on_progress)
    written = write_out(folder, lambda d: write_outputs(res, d))
    if as_json:
        print_json(res.summary)
        return
    render_bftrainer(res.summary, cfg.replay.solver, cfg.replay.objective)
    print_written(written)
