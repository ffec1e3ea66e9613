"""``schedlab train``, ``evaluate`` and ``models``: deep-RL schedulers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from schedlab.cli.common import (
    JSON_HELP,
    ForceOpt,
    TauOpt,
    TraceOpt,
    check_out,
    fail,
    fmt,
    out_console,
    parse_ints,
    print_json,
    progress_bar,
    write_out,
)
from schedlab.options import Agent, Backfill, Curriculum, Reward, Split, TrainPreset, ValMetric
from schedlab.workload.bundled import DEFAULT_TRACE


def _none(value: str) -> str | None:
    return None if value == "none" else value


def _scales(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        fail(f"--load-scales must be comma-separated numbers, e.g. 1,1.3,1.6 (got {text!r})")


def train(
    agent: Annotated[
        Agent,
        typer.Option(
            "--agent",
            help=(
                "dras: DRAS's two-level agent (picks the job to run or reserve, then its own "
                "backfill jobs); scorer: RLScheduler-style per-job scoring network (EASY "
                "backfilling)."
            ),
        ),
    ] = Agent.DRAS,
    trace: TraceOpt = DEFAULT_TRACE,
    objective: Annotated[
        Reward,
        typer.Option(
            "--objective",
            help=(
                "What the agent optimises: bsld (mean bounded slowdown), wait (mean wait), util "
                "(utilisation), all rewarded at the end of each window; bsld-dense (mean bounded "
                "slowdown paid as it accrues: after each decision, minus the slowdown the waiting"
                " jobs gather until the next one); or dras (DRAS's per-decision reward)."
            ),
        ),
    ] = Reward.BSLD,
    train_split: Annotated[
        float,
        typer.Option(
            "--train-split",
            help=(
                "Fraction of the jobs (by submit time) used for training; the rest is held out for `schedlab evaluate`."
            ),
        ),
    ] = 0.7,
    val_fraction: Annotated[
        float,
        typer.Option(
            "--val-fraction",
            help=(
                "The last part of the training split held back to choose the best checkpoint "
                "(model.pt); agents train on the jobs before it. 0: train on the whole training "
                "split and choose on windows inside it (in-sample)."
            ),
        ),
    ] = 0.2,
    steps: Annotated[
        int,
        typer.Option(
            "--steps",
            min=1,
            max=10**10,
            help=(
                "Scheduling decisions to train for (all environments together), in whole PPO "
                "rollouts of --num-envs x 256 decisions: rounded down, at least one rollout."
            ),
        ),
    ] = 500_000,
    seed: Annotated[
        int, typer.Option("--seed", help=("Seed for the network, the sampling and the windows: same seed, same run."))
    ] = 0,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help=(
                "Run folder: model.pt (best on validation windows of the training split), last.pt"
                " (resumable checkpoint), train_log.csv, run.json, tensorboard/ (if installed), written"
                " as training goes; .schedlab-run.json is written last, when the run has finished. A"
                " folder that already holds a run is refused unless --resume or --force."
            ),
        ),
    ] = Path("out/train"),
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help=(
                "Continue the run in --out from its last checkpoint (same options required), "
                "exactly as if it had not stopped."
            ),
        ),
    ] = False,
    force: ForceOpt = False,
    window_len: Annotated[
        int,
        typer.Option(
            "--window-len",
            min=2,
            help=("Jobs per training episode (a window of consecutive jobs, from an empty machine)."),
        ),
    ] = 256,
    visible: Annotated[
        int,
        typer.Option(
            "--visible",
            min=1,
            help=("W: waiting jobs the agent sees and may pick (the W oldest; the rest wait unseen)."),
        ),
    ] = 128,
    backfill: Annotated[
        str | None,
        typer.Option(
            "--backfill",
            help=(
                "Backfilling during training: none, easy, or agent (the agent picks backfill "
                "jobs). Default: agent for dras, easy for scorer."
            ),
        ),
    ] = None,
    backfill_order: Annotated[
        str,
        typer.Option(
            "--backfill-order",
            help=("Order in which EASY tries backfill candidates (a static policy: fcfs, sjf, saf, ...)."),
        ),
    ] = "sjf",
    imitate: Annotated[
        str,
        typer.Option(
            "--imitate",
            help=(
                "Warm start: first imitate this static heuristic's choices (behaviour cloning), "
                "then PPO; 'none' to start from random."
            ),
        ),
    ] = "sjf",
    baseline: Annotated[
        str,
        typer.Option(
            "--baseline",
            help=(
                "End-of-window rewards are measured relative to this heuristic on the same window"
                " (lower variance); 'none' for the raw metric."
            ),
        ),
    ] = "sjf",
    curriculum: Annotated[
        Curriculum,
        typer.Option(
            "--curriculum",
            help=(
                "dras: sampled easier job sets, then the DRAS Theta job sets (theta traces), then"
                " real training windows; none: real windows only."
            ),
        ),
    ] = Curriculum.DRAS,
    preset: Annotated[
        TrainPreset,
        typer.Option(
            "--preset",
            help=(
                "textbook, or rlscheduler (RLScheduler's loading rules, whole nodes, no kills) to"
                " train for RLScheduler's protocol."
            ),
        ),
    ] = TrainPreset.TEXTBOOK,
    load_scales: Annotated[
        str,
        typer.Option(
            "--load-scales",
            help=(
                "Comma-separated load scales for the real training windows and the validation "
                "windows, e.g. 1,1.3,1.6: inter-arrival gaps are multiplied by each factor (>1 = "
                "lighter load), so the agent sees the lighter and heavier periods a machine goes "
                "through. 1: the trace as it is."
            ),
        ),
    ] = "1",
    val_metric: Annotated[
        ValMetric,
        typer.Option(
            "--val-metric",
            help=(
                "How the best checkpoint is chosen on the validation windows: bsld (lowest mean "
                "bounded slowdown) or relative (lowest mean of bsld / the --baseline heuristic's "
                "bsld per window, so light and heavy windows weigh the same)."
            ),
        ),
    ] = ValMetric.BSLD,
    num_envs: Annotated[
        int,
        typer.Option(
            "--num-envs",
            min=1,
            max=1024,
            help=("Environments stepped together (one process); each PPO update learns from num-envs x 256 decisions."),
        ),
    ] = 8,
    validate_every: Annotated[
        int,
        typer.Option(
            "--validate-every",
            min=0,
            help=(
                "PPO updates between validations (each may replace model.pt); 0: never validate, keep the last model."
            ),
        ),
    ] = 25,
    lr: Annotated[
        float,
        typer.Option("--lr", min=1e-8, max=1.0, help="Adam learning rate (linearly annealed to 0), in [1e-8, 1]."),
    ] = 1e-4,
    ent_coef: Annotated[
        float,
        typer.Option(
            "--ent-coef",
            min=0.0,
            max=10.0,
            help="Entropy bonus weight (exploration), in [0, 10]; small after an imitation warm start.",
        ),
    ] = 0.001,
    threads: Annotated[
        int, typer.Option("--threads", min=1, max=1024, help=("torch threads (1 is fastest on small shared machines)."))
    ] = 1,
):
    """Train an RL scheduling agent with PPO; progress bar with live metrics, CSV log, checkpoints."""
    from schedlab.rl.training import TrainConfig, train_run

    folder = check_out(out, force, resume=resume)
    ppo = {"num_envs": num_envs, "validate_every": validate_every, "learning_rate": lr, "ent_coef": ent_coef,
           "torch_threads": threads}  # fmt: skip
    cfg = TrainConfig(
        agent=agent, trace=trace, objective=objective, train_split=train_split, val_fraction=val_fraction,
        steps=steps, seed=seed, window_len=window_len, visible=visible, backfill=backfill,
        backfill_order=backfill_order, imitate=_none(imitate), baseline=_none(baseline), curriculum=curriculum,
        preset=preset, load_scales=_scales(load_scales), val_metric=val_metric, ppo=ppo,
    )  # fmt: skip
    with progress_bar("training", live=True) as prog, folder.progressive() as run_dir:
        task = prog.add_task("train", total=steps, live="")

        def on_update(st: dict) -> None:
            live = f"{st['stage']} bsld {st['episode_bsld']:.2f} return {st['episode_return']:+.3f}"
            if st["val_bsld"] == st["val_bsld"]:
                live += f" val {st['val_bsld']:.2f}"
            if st.get("val_ratio") == st.get("val_ratio"):
                live += f" (x{st['val_ratio']:.3f} {baseline})"
            prog.update(task, completed=min(st["global_step"], steps), live=live)

        stats = train_run(cfg, run_dir, resume=resume, on_update=on_update, command=folder.command)
    out_console.print(
        f"trained {stats.get('global_step', 0):,} steps; model {out / 'model.pt'}, log {out / 'train_log.csv'}"
    )


def _evaluation_starts(wl, preset, window_starts, windows, window_len, split, seed, train_split) -> list[int]:
    """The windows: given, RLScheduler's 10 published ones (their preset and defaults), or seeded."""
    from schedlab.rl.evaluation import evaluation_windows

    if window_starts is not None:
        starts = parse_ints(window_starts, "window start")
    elif preset == TrainPreset.RLSCHEDULER and windows == 10 and window_len == 1024:
        from schedlab.simulator.parity.rlscheduler import TABLE_WINDOW_STARTS

        starts = list(TABLE_WINDOW_STARTS)
    else:
        starts = evaluation_windows(wl, split, windows, window_len, seed, train_split)
    for s in starts:
        wl.window(s, window_len)  # validates the range
    return starts


def _render_evaluation(wl, res, starts, window_len, preset, backfill) -> None:
    title = f"{wl.name}: {len(starts)} windows of {window_len} jobs ({preset}, {backfill} backfilling)"
    table = Table(title=title)
    for c in ("policy", "mean_bsld", "mean_wait", "utilization"):
        table.add_column(c, justify="left" if c == "policy" else "right")
    best = min(r["mean_bsld"] for r in res["results"])
    for r in res["results"]:
        b = fmt(r["mean_bsld"], "mean_bsld")
        table.add_row(
            r["policy"], f"[bold green]{b}[/]" if r["mean_bsld"] == best else b, fmt(r["mean_wait"], "mean_wait"),
            fmt(r["utilization"], "utilization"),
        )  # fmt: skip
    out_console.print(table)
    out_console.print(
        f"model vs best heuristic ({res['best_heuristic']}): {res['bsld_vs_best_heuristic']:+.1%} mean bsld; "
        f"vs fcfs: {res['bsld_vs_fcfs']:+.1%}"
    )


def evaluate(
    model: Annotated[
        str,
        typer.Option("--model", "-m", help=("Model file, run folder, or shipped model name (see `schedlab models`).")),
    ],
    trace: TraceOpt = DEFAULT_TRACE,
    split: Annotated[
        Split,
        typer.Option("--split", help=("Where the windows come from: test (jobs after --train-split), train, or all.")),
    ] = Split.TEST,
    train_split: Annotated[
        float, typer.Option("--train-split", help=("Fraction of jobs (by submit time) in the training split."))
    ] = 0.7,
    windows: Annotated[
        int,
        typer.Option(
            "--windows",
            min=1,
            help=("Number of windows (fixed by --seed; non-overlapping when they fit in the split)."),
        ),
    ] = 10,
    window_len: Annotated[int, typer.Option("--window-len", min=2, help="Jobs per window.")] = 1024,
    window_starts: Annotated[
        str | None,
        typer.Option(
            "--window-starts",
            help=(
                "Comma-separated job indices where windows start, instead of --windows/--split. "
                "With --preset rlscheduler and neither given: RLScheduler's 10 published windows."
            ),
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed that places the windows.")] = 0,
    backfill: Annotated[
        str,
        typer.Option(
            "--backfill",
            "-b",
            help=(
                "Backfilling for the heuristics and the scorer agent: none or easy (a DRAS model "
                "picks its own backfill jobs among EASY's)."
            ),
        ),
    ] = "easy",
    preset: Annotated[
        TrainPreset,
        typer.Option(
            "--preset",
            help=(
                "textbook, or rlscheduler (RLScheduler's rules and loop; the agent picks the job "
                "their loop takes from the queue head)."
            ),
        ),
    ] = TrainPreset.TEXTBOOK,
    tau: TauOpt = 10.0,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help=("Write evaluation.csv/.parquet (per window), summary.json and a bar plot here.")
        ),
    ] = None,
    force: ForceOpt = False,
    as_json: Annotated[
        bool, typer.Option("--json", help=JSON_HELP + (" Per policy: mean_bsld, mean_wait, utilization, windows."))
    ] = False,
):
    """Evaluate a trained model against every heuristic (FCFS, SJF, SAF, WFP3, UNICEP, F1) on the same windows."""
    from schedlab.policies import resolve
    from schedlab.report.evaluation import write_evaluation
    from schedlab.rl.evaluation import evaluate as run_eval
    from schedlab.simulator.compare import warm_up
    from schedlab.workload import load_trace

    if backfill not in (Backfill.NONE, Backfill.EASY):
        fail(f"--backfill must be none or easy for evaluation (got {backfill!r})")
    folder = check_out(out, force)
    policy = resolve("model:" + model.removeprefix("model:"))  # loaded once, here; NAME or model:NAME
    wl = load_trace(trace, rules=preset)
    starts = _evaluation_starts(wl, preset, window_starts, windows, window_len, split, seed, train_split)
    warm_up()
    res = run_eval(policy, wl, starts, window_len, backfill=backfill, preset=preset, tau=tau)
    write_out(folder, lambda d: write_evaluation(d, res, starts, backfill))
    if as_json:
        keys = ("mean_bsld", "mean_wait", "utilization", "windows")
        print_json({**res, "results": {r["policy"]: {k: r[k] for k in keys} for r in res["results"]}})
        return
    _render_evaluation(wl, res, starts, window_len, preset, backfill)


def models(as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False):
    """List the pretrained models shipped with schedlab (use as --policy model:NAME)."""
    from schedlab.rl.models import shipped_model_rows

    rows = shipped_model_rows()
    if as_json:
        print_json(rows)
        return
    table = Table(title="shipped models (use with --policy model:NAME or --model NAME)")
    for c in ("name", "agent", "trace", "objective", "command"):
        table.add_column(c)
    for r in rows:
        table.add_row(r["name"], r["agent"], r["trace"], r["objective"], r["command"])
    out_console.print(table)
