"""``schedlab train``, ``evaluate`` and ``models``: deep-RL schedulers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from schedlab.cli.common import (
    JSON_HELP,
    ClusterOpt,
    CorrectionOpt,
    EstimatesOpt,
    ForceOpt,
    LoadScaleOpt,
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
from schedlab.options import Agent, Backfill, Correction, Curriculum, Estimates, Reward, Split, TrainPreset, ValMetric
from schedlab.workload.bundled import DEFAULT_TRACE


def _none(value: str) -> str | None:
    return None if value == "none" else value


def _scales(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        fail(f"--load-scales must be comma-separated numbers, e.g. 1,1.3,1.6 (got {text!r})")


def _time_budget(value: float | None) -> float | None:
    from schedlab.rl.training import MAX_TIME_BUDGET_MIN

    if value is not None and not 0 < value <= MAX_TIME_BUDGET_MIN:
        fail(f"--time-budget must be in (0, {MAX_TIME_BUDGET_MIN:,}] minutes (got {value:g})")
    return value


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
    rollout_workers: Annotated[
        int,
        typer.Option(
            "--rollout-workers",
            min=1,
            max=1024,
            help="Worker processes that collect each PPO rollout in parallel, each stepping its share of the "
            "--num-envs environments with a copy of the policy (at most --num-envs); the update stays in this "
            "process. 1: everything in this process. The same seed and the same number of workers give the same run.",
        ),
    ] = 1,
    executor: Annotated[
        str,
        typer.Option(
            "--executor",
            help="Where the rollout workers run: processes (started on this machine) or ray (a local Ray started "
            "for the run, or the cluster RAY_ADDRESS names). Same results either way.",
        ),
    ] = "processes",
    time_budget: Annotated[
        float | None,
        typer.Option(
            "--time-budget",
            help=(
                "Stop after this many minutes of wall-clock time, in (0, 10080], checked between PPO updates (the "
                "warm start and one update always run): model.pt is the best validated checkpoint so far, last.pt "
                "the last update, and --resume continues the run (with its own budget, if given)."
            ),
            callback=_time_budget,
        ),
    ] = None,
    estimates: EstimatesOpt = Estimates.REQUESTED,
    correction: CorrectionOpt = Correction.REQTIME,
    history_features: Annotated[
        bool,
        typer.Option(
            "--history-features",
            help="Also show the agent each visible job's requested time and its user's last prediction error "
            "(log2 of runtime / estimate of the user's last finished job): what a good heuristic on predicted "
            "runtimes would want to know.",
        ),
    ] = False,
    cluster: Annotated[
        str | None,
        typer.Option(
            "--cluster",
            help="Train on a machine description (TOML, a site's slurm.conf, or a shipped name such as curie3, "
            "polaris): the agent then also sees each visible job's GPU and memory request and how free its "
            "partition is, and jobs wait for every resource they ask. Jobs the machine would refuse are dropped "
            "and counted; the curriculum is the real trace only. The model keeps the machine's name or path.",
        ),
    ] = None,
):
    """Train an RL scheduling agent with PPO; progress bar with live metrics, CSV log, checkpoints."""
    from schedlab.rl.training import TrainConfig, train_run

    folder = check_out(out, force, resume=resume)
    ppo = {"num_envs": num_envs, "validate_every": validate_every, "learning_rate": lr, "ent_coef": ent_coef,
           "torch_threads": threads, "rollout_workers": rollout_workers, "rollout_executor": executor}  # fmt: skip
    cfg = TrainConfig(
        agent=agent, trace=trace, objective=objective, train_split=train_split, val_fraction=val_fraction,
        steps=steps, seed=seed, window_len=window_len, visible=visible, backfill=backfill,
        backfill_order=backfill_order, imitate=_none(imitate), baseline=_none(baseline), curriculum=curriculum,
        preset=preset, load_scales=_scales(load_scales), val_metric=val_metric, ppo=ppo, time_budget=time_budget,
        estimates=estimates, correction=correction, history_features=history_features, cluster=cluster,
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
    stopped = f" (--time-budget {time_budget:g} min spent; --resume continues)" if stats.get("stopped") else ""
    out_console.print(
        f"trained {stats.get('global_step', 0):,} steps{stopped}; model {out / 'model.pt'}, log {out / 'train_log.csv'}"
    )


def _evaluation_starts(wl, preset, window_starts, windows, window_len, split, seed, train_split) -> list[int]:
    """The windows: given, RLScheduler's 10 published ones (their preset and defaults), or seeded."""
    from schedlab.rl.evaluation import evaluation_windows

    if window_starts is not None:
        starts = parse_ints(window_starts, "window start")
    elif preset == TrainPreset.RLSCHEDULER and windows in (None, 10) and window_len == 1024:
        from schedlab.simulator.parity.rlscheduler import TABLE_WINDOW_STARTS

        starts = list(TABLE_WINDOW_STARTS)
    else:
        starts = evaluation_windows(wl, split, windows or 10, window_len, seed, train_split)
    for s in starts:
        wl.window(s, window_len)  # validates the range
    return starts


def _protocol(protocol: str | None, preset, windows: int | None, window_starts: str | None):
    """--protocol, or the default: windows for --preset rlscheduler or when --windows/--window-starts
    place windows, else consecutive."""
    from schedlab.options import choose
    from schedlab.rl.evaluation import Protocol

    placed = windows is not None or window_starts is not None
    if protocol is None:
        return Protocol.WINDOWS if placed or preset == TrainPreset.RLSCHEDULER else Protocol.CONSECUTIVE
    chosen = choose(Protocol, protocol, "--protocol")
    if chosen is Protocol.CONSECUTIVE and placed:
        fail("--windows and --window-starts place the windows of --protocol windows, not consecutive")
    return chosen


def _render_windows(wl, res, starts, window_len, preset, backfill) -> None:
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


def _render_consecutive(wl, res, split, train_split) -> None:
    """The consecutive protocol's table: the best same-information heuristic in bold green (windows
    and whole period), every row's gap to it, and the agent's gap below."""
    (lo, hi), spans = res["period"], res["windows"]
    where = f"test split: after --train-split {train_split:g}" if split == Split.TEST else f"{split} split"
    table = Table(
        title=f"{wl.name}, jobs {lo:,}..{hi - 1:,} ({where}): {len(spans)} consecutive windows of "
        f"{res['window_len']:,} jobs (last {spans[-1][1]:,}) and the whole period as one run\n{res['preset']}, "
        f"{res['backfill']} backfilling, estimates {res['estimates']}, load scale {res['load_scale']:g}"
    )
    cols = ("policy", "estimates", "bsld (windows)", "bsld (whole)", "wait (windows)", "util", "vs best")
    cols += ("whole vs best",)
    for c in cols:
        table.add_column(c, justify="left" if c in cols[:2] else "right")
    best, whole_best = res["best_heuristic"], res["best_heuristic_whole"]
    for r in res["results"]:
        b, wb = fmt(r["mean_bsld"], "mean_bsld"), fmt(r["whole"]["mean_bsld"], "mean_bsld")
        est = r["config"]["estimates"] + ("" if r["same_information"] else " (own)")
        table.add_row(
            r["policy"], est, f"[bold green]{b}[/]" if r["policy"] == best else b,
            f"[bold green]{wb}[/]" if r["policy"] == whole_best else wb, fmt(r["mean_wait"], "mean_wait"),
            fmt(r["utilization"], "utilization"), f"{r['gap_to_best']:+.1%}", f"{r['whole_gap_to_best']:+.1%}",
        )  # fmt: skip
    out_console.print(table)
    agent = res["results"][0]
    out_console.print(
        f"best same-information heuristic: {best} (mean over windows), {whole_best} (whole period); "
        f"{agent['policy']} vs it: [bold]{res['bsld_vs_best_heuristic']:+.1%}[/] mean bsld over windows, "
        f"[bold]{res['whole_bsld_vs_best_heuristic']:+.1%}[/] whole period; vs fcfs: {res['bsld_vs_fcfs']:+.1%}"
    )
    own = [r["policy"] for r in res["results"] if not r["same_information"]]
    if own:
        out_console.print(f"(own) rows bring their own estimates, not --estimates ({', '.join(own)}): not ranked")


def evaluate(
    model: Annotated[
        str,
        typer.Option("--model", "-m", help=("Model file, run folder, or shipped model name (see `schedlab models`).")),
    ],
    trace: TraceOpt = DEFAULT_TRACE,
    protocol: Annotated[
        str | None,
        typer.Option(
            "--protocol",
            help=(
                "consecutive: the --split (the later period by default) cut into consecutive windows of --window-len "
                "jobs covering it exactly (a tail under half a window joins the last one), each from an empty "
                "machine, plus the whole split as one run; every heuristic, easy++ and random beside the model. "
                "windows: --windows K windows placed by --seed (or --window-starts), six heuristics. Default: "
                "consecutive; windows with --preset rlscheduler or when --windows/--window-starts is given."
            ),
        ),
    ] = None,
    tree: Annotated[
        str | None,
        typer.Option(
            "--tree", help="Also evaluate a distilled tree (tree.json, an explain output folder, or a shipped name)."
        ),
    ] = None,
    split: Annotated[
        Split,
        typer.Option("--split", help=("Where the windows come from: test (jobs after --train-split), train, or all.")),
    ] = Split.TEST,
    train_split: Annotated[
        float, typer.Option("--train-split", help=("Fraction of jobs (by submit time) in the training split."))
    ] = 0.7,
    windows: Annotated[
        int | None,
        typer.Option(
            "--windows",
            min=1,
            help=(
                "--protocol windows: number of windows (default 10; fixed by --seed; non-overlapping when they fit)."
            ),
        ),
    ] = None,
    window_len: Annotated[int, typer.Option("--window-len", min=2, help="Jobs per window.")] = 1024,
    window_starts: Annotated[
        str | None,
        typer.Option(
            "--window-starts",
            help=(
                "--protocol windows: comma-separated job indices where windows start, instead of --windows/--split. "
                "With --preset rlscheduler and neither given: RLScheduler's 10 published windows."
            ),
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="--protocol windows: seed that places the windows.")] = 0,
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
    estimates: EstimatesOpt = Estimates.REQUESTED,
    correction: CorrectionOpt = Correction.REQTIME,
    load_scale: LoadScaleOpt = 1.0,
    tau: TauOpt = 10.0,
    cluster: ClusterOpt = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help=(
                "Write evaluation.csv/.parquet (per window, and the whole period), summary.json and a bar plot here."
            ),
        ),
    ] = None,
    force: ForceOpt = False,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help=JSON_HELP + (" Per policy: mean_bsld, mean_wait, utilization, windows (and whole, config, gaps)."),
        ),
    ] = False,
):
    """Evaluate a trained model against every heuristic on the later period (consecutive windows and the whole
    period as one run), with the same estimates, load and backfilling for every row."""
    from schedlab.policies import resolve
    from schedlab.report.evaluation import write_evaluation
    from schedlab.rl.episodes import split_bounds
    from schedlab.rl.evaluation import Protocol, temporal_evaluation
    from schedlab.rl.evaluation import evaluate as run_eval
    from schedlab.rl.training import on_machine
    from schedlab.simulator.compare import warm_up
    from schedlab.workload import load_trace

    if backfill not in (Backfill.NONE, Backfill.EASY):
        fail(f"--backfill must be none or easy for evaluation (got {backfill!r})")
    chosen = _protocol(protocol, preset, windows, window_starts)
    folder = check_out(out, force)
    policy = resolve("model:" + model.removeprefix("model:"))  # loaded once, here; NAME or model:NAME
    tree_policy = resolve("tree:" + tree.removeprefix("tree:")) if tree else None
    wl = on_machine(load_trace(trace, rules=preset), cluster)
    same = dict(backfill=backfill, preset=preset, estimates=estimates, correction=correction, load_scale=load_scale,
                cluster=cluster)  # fmt: skip
    warm_up()
    if chosen is Protocol.WINDOWS:
        starts = _evaluation_starts(wl, preset, window_starts, windows, window_len, split, seed, train_split)
        res = run_eval(policy, wl, starts, window_len, tau=tau, tree=tree_policy, **same)
    else:
        lo, hi = split_bounds(len(wl), train_split, split)
        res = temporal_evaluation(policy, wl, lo, hi, window_len, tree=tree_policy, tau=tau, **same)
    write_out(folder, lambda d: write_evaluation(d, res))
    if as_json:
        keys = ("mean_bsld", "mean_wait", "utilization", "windows", "whole", "kind", "config", "same_information",
                "gap_to_best", "whole_gap_to_best")  # fmt: skip
        print_json({**res, "results": {r["policy"]: {k: r[k] for k in keys if k in r} for r in res["results"]}})
    elif chosen is Protocol.WINDOWS:
        _render_windows(wl, res, res["window_starts"], window_len, preset, backfill)
    else:
        _render_consecutive(wl, res, split, train_split)


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
