"""``schedlab explain``: distil an RL scheduler into a readable decision tree, or compare two trees."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from schedlab.cli.common import (
    JSON_HELP,
    ForceOpt,
    TraceOpt,
    check_out,
    command_line,
    fail,
    fmt,
    fraction,
    out_console,
    print_json,
    print_written,
    spinner,
    write_out,
)
from schedlab.options import Correction, Estimates, TreeForm
from schedlab.workload.bundled import DEFAULT_TRACE


def _render_tree_run(wl, tree, res, windows, window_len) -> None:
    from schedlab.explain.export import to_text

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
            name, fmt(r["mean_bsld"], "mean_bsld"), fmt(r["mean_wait"], "mean_wait"),
            fmt(r["utilization"], "utilization"),
        )  # fmt: skip
    out_console.print(table)
    out_console.print(
        f"tree vs teacher: {res['tree_vs_teacher_bsld']:+.1%} mean bsld; vs best heuristic "
        f"({res['best_heuristic']}): {res['tree_vs_best_heuristic_bsld']:+.1%}"
    )
    if res["speedup"]:
        lat = res["latency_s"]
        out_console.print(
            f"per decision: teacher {lat['teacher'] * 1e6:.1f} us, tree {lat['tree'] * 1e6:.1f} us "
            + (f"({res['speedup']:.0f}x faster)" if res["speedup"] >= 1 else f"({1 / res['speedup']:.0f}x slower)")
        )


def _render_comparison(sides: list[dict]) -> None:
    table = Table(title="feature importances (share of samples routed by splits on the feature)")
    table.add_column("feature")
    for s in sides:
        table.add_column(f"{s['teacher'] or s['path']} ({s['leaves']} leaves)", justify="right")
    first, second = sides[0]["importances"], sides[1]["importances"]
    for f in sorted(first, key=lambda f: -(first[f] + second.get(f, 0))):
        a, b = first[f], second.get(f, 0.0)
        if a or b:
            table.add_row(f, f"{a:.1%}", f"{b:.1%}")
    out_console.print(table)
    splits = Table(title="top splits (first three levels)")
    for s in sides:
        splits.add_column(s["teacher"] or s["path"])
    splits.add_row(*[s["top_splits"] for s in sides])
    out_console.print(splits)


def explain(
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help=(
                "Teacher to explain: a model file, run folder or shipped model name (see "
                "`schedlab models`), or a static heuristic name (sjf, saf, ...) to check the "
                "method on a known rule."
            ),
        ),
    ] = None,
    trace: TraceOpt = DEFAULT_TRACE,
    iterations: Annotated[
        int,
        typer.Option(
            "--iterations",
            min=1,
            help=(
                "DAgger iterations: the first rolls out the teacher, each later one the tree "
                "mixed with the teacher (teacher with probability 0.5^i) and has the teacher "
                "label what the tree visits."
            ),
        ),
    ] = 5,
    max_leaves: Annotated[
        int, typer.Option("--max-leaves", min=2, help=("Most leaves the tree may have (before pruning)."))
    ] = 64,
    critical: Annotated[
        str,
        typer.Option(
            "--critical",
            help=(
                "States the tree is fitted on: all; queue:N (IRL's rule: more than N jobs "
                "waiting); gap:G (the teacher's choice is ahead of its runner-up by at least G in"
                " probability, i.e. the decision matters to it)."
            ),
        ),
    ] = "all",
    form: Annotated[
        TreeForm,
        typer.Option(
            "--form",
            help=(
                "regression: the tree predicts the teacher's log-probability of each job; "
                "classification: whether the teacher picks it. Either way the job with the "
                "highest tree score runs."
            ),
        ),
    ] = TreeForm.REGRESSION,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune/--no-prune",
            help=(
                "Cost-complexity pruning: keep the smallest pruned tree within --prune-tolerance "
                "of the best mean bsld on the validation windows."
            ),
        ),
    ] = True,
    prune_tolerance: Annotated[
        float,
        typer.Option(
            "--prune-tolerance",
            min=0.0,
            help=(
                "How much worse (as a fraction of the best validation mean bsld) a smaller pruned"
                " tree may be and still be preferred; 0.02 = 2%."
            ),
        ),
    ] = 0.01,
    windows: Annotated[
        int,
        typer.Option(
            "--windows", min=1, help=("Held-out windows (test split, placed by --seed as in `schedlab evaluate`).")
        ),
    ] = 10,
    val_windows: Annotated[
        int,
        typer.Option(
            "--val-windows",
            min=1,
            help=(
                "Validation windows (the last 20% of the training split) that choose the DAgger "
                "iterate and the pruning level."
            ),
        ),
    ] = 16,
    window_len: Annotated[
        int, typer.Option("--window-len", min=2, help=("Jobs per window (DAgger, validation and held-out windows)."))
    ] = 1024,
    train_split: Annotated[
        float,
        typer.Option(
            "--train-split",
            help=("Fraction of jobs (by submit time) DAgger and validation may use; the rest is held out."),
            callback=fraction("--train-split"),
        ),
    ] = 0.7,
    seed: Annotated[
        int, typer.Option("--seed", help=("Seed for the DAgger windows, the mixing and the held-out window placement."))
    ] = 0,
    any_trace: Annotated[bool, typer.Option("--any-trace", help="Allow a model trained on another trace.")] = False,
    compare_dirs: Annotated[
        tuple[str, str] | None,
        typer.Option(
            "--compare",
            help=(
                "--compare A B: two trees shown side by side (feature importances and the first "
                "three levels of splits), e.g. of agents trained with different rewards. Each is "
                "a `schedlab explain` output folder, a tree.json file or a shipped tree's name, "
                "with or without the tree: prefix that --policy takes."
            ),
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help=(
                "Write tree.json, tree.txt (rules), tree.dot (Graphviz; tree.svg if dot is "
                "installed), tree_priority.py (a standalone priority function) and explain.json "
                "here."
            ),
        ),
    ] = None,
    force: ForceOpt = False,
    estimates: Annotated[
        Estimates | None,
        typer.Option(
            "--estimates",
            help="Runtime estimates the teacher, the tree and the heuristics schedule with: requested, actual, "
            "predicted:last2 or predicted:ml (default: the teacher's own, as it was trained).",
        ),
    ] = None,
    correction: Annotated[
        Correction | None,
        typer.Option(
            "--correction",
            help="With predicted estimates: reqtime, double or tsafrir (see `schedlab simulate --help`); default: "
            "the teacher's own.",
        ),
    ] = None,
    history_features: Annotated[
        bool | None,
        typer.Option(
            "--history-features/--no-history-features",
            help="Let the tree also split on each job's requested time (request_h, beside req_time_h, which is "
            "the prediction under predicted estimates) and its user's last prediction accuracy (key_accuracy: "
            "log2 of runtime / estimate). Default: when the teacher was trained with --history-features.",
        ),
    ] = None,
    features: Annotated[
        str,
        typer.Option(
            "--features",
            help="What the tree may split on: decision (the queue at each decision: waited time, fits now, ranks, "
            "...) or submit (only what a job shows when submitted: requested time, size, its user's last accuracy "
            "and the predicted runtime; such a tree deploys into Slurm with `schedlab deploy lua` or `deploy "
            "daemon`).",
        ),
    ] = "decision",
    rollout_workers: Annotated[
        int,
        typer.Option(
            "--rollout-workers",
            min=1,
            max=1024,
            help="Worker processes that roll out each DAgger iteration's windows in parallel (teacher labels "
            "included); 1: everything in this process. With more than one, each window mixes teacher and tree "
            "with its own seeded generator: any number of workers gives the same tree.",
        ),
    ] = 1,
    executor: Annotated[
        str,
        typer.Option(
            "--executor",
            help="Where the rollout workers run: processes (on this machine) or ray (a local Ray started for the "
            "run, or the cluster RAY_ADDRESS names). Same tree either way.",
        ),
    ] = "processes",
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help=JSON_HELP + (" Tree size, fidelity, mean bsld/wait of teacher, tree and heuristics, latency."),
        ),
    ] = False,
):
    """Distil an RL scheduler (or any teacher) into a readable decision tree with DAgger (IRL, MASCOTS'23) and
    measure it."""
    from schedlab.explain.export import compare_trees

    if compare_dirs:
        sides = compare_trees(compare_dirs)
        print_json(sides, indent=2) if as_json else _render_comparison(sides)
        return
    if model is None:
        fail("give --model (the teacher to explain), or --compare A B")
    folder = check_out(out, force)
    from schedlab.errors import SchedlabError
    from schedlab.explain.dagger import parse_critical
    from schedlab.explain.run import explain as run_explain
    from schedlab.explain.run import write_outputs
    from schedlab.workload import load_trace

    try:
        parse_critical(critical)
    except SchedlabError as exc:
        fail(f"--critical: {exc}")
    wl = load_trace(trace)
    with spinner("DAgger") as show:

        def progress(h: dict) -> None:
            show(
                f"DAgger iteration {h['iteration'] + 1}/{iterations}: {h['decisions']:,} decisions, "
                f"{h['leaves']} leaves, validation bsld {h['val_bsld']:.2f}"
            )

        tree, res = run_explain(
            model, wl, iterations=iterations, max_leaves=max_leaves, critical=critical, form=form,
            train_split=train_split, window_len=window_len, windows=windows, val_windows=val_windows, eval_seed=seed,
            seed=seed, prune=prune, prune_tolerance=prune_tolerance, progress=progress, any_trace=any_trace,
            command=command_line(), estimates=estimates, correction=correction, history_features=history_features,
            features=features, rollout_workers=rollout_workers, executor=executor,
        )  # fmt: skip
    written = write_out(folder, lambda d: write_outputs(tree, res, d))
    if as_json:
        print_json(res, indent=2)
        return
    _render_tree_run(wl, tree, res, windows, window_len)
    print_written(written)
