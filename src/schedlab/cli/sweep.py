"""``schedlab sweep``: a grid of simulations, serially, in processes or on Ray, in one table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from schedlab.cli.common import (
    ForceOpt,
    JsonOpt,
    command_line,
    err_console,
    fail,
    fmt,
    out_console,
    parse_ints,
    parse_list,
    print_json,
    print_written,
    progress_bar,
)
from schedlab.errors import SchedlabError

AXIS_HELP = "Comma-separated; overrides the --config file's list."
SHOWN = ("mean_bsld", "mean_wait", "utilization", "cell_seconds")


def _floats(text: str, what: str) -> list[float]:
    try:
        return [float(x) for x in parse_list(text, what)]
    except ValueError:
        fail(f"{what}s must be comma-separated numbers (got {text!r})")


def sweep(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="A TOML grid: traces, clusters, policies, backfills, estimates, load_scales, "
            "seeds (lists), windows, window_len, tau. The options below override its lists.",
        ),
    ] = None,
    traces: Annotated[
        str | None, typer.Option("--traces", help=f"Traces (names, paths, data:...). {AXIS_HELP}")
    ] = None,
    clusters: Annotated[
        str | None,
        typer.Option("--clusters", help="Machines (files or shipped names; 'trace' = the trace's own). " + AXIS_HELP),
    ] = None,
    policies: Annotated[
        str | None, typer.Option("--policies", help=f"Queue policies, any --policy spelling. {AXIS_HELP}")
    ] = None,
    backfill: Annotated[str | None, typer.Option("--backfill", help=f"none, easy, conservative. {AXIS_HELP}")] = None,
    estimates: Annotated[
        str | None, typer.Option("--estimates", help=f"requested, actual, predicted:last2, predicted:ml. {AXIS_HELP}")
    ] = None,
    load_scales: Annotated[
        str | None, typer.Option("--load-scales", help=f"Inter-arrival multipliers (<1 = more load). {AXIS_HELP}")
    ] = None,
    seeds: Annotated[
        str | None, typer.Option("--seeds", help=f"Seeds placing the windows (needs --windows). {AXIS_HELP}")
    ] = None,
    windows: Annotated[
        int | None, typer.Option("--windows", min=0, max=10_000, help="Windows per cell (0: the whole trace).")
    ] = None,
    window_len: Annotated[int | None, typer.Option("--window-len", min=2, help="Jobs per window.")] = None,
    executor: Annotated[
        str,
        typer.Option(
            "--executor",
            help="serial (one process), processes (a pool on this machine) or ray "
            "(a local Ray, or the cluster at --address / RAY_ADDRESS).",
        ),
    ] = "serial",
    workers: Annotated[
        int | None,
        typer.Option("--workers", min=1, max=4096, help="Worker processes / local Ray CPUs. Default: the CPUs."),
    ] = None,
    address: Annotated[
        str | None, typer.Option("--address", help="A running Ray cluster to join (ray://… or host:port).")
    ] = None,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="The sweep's folder: cells as they finish, then "
            "results.parquet/.csv, summary.json, metrics.png. Run again to continue a "
            "stopped sweep.",
        ),
    ] = ...,
    force: ForceOpt = False,
    as_json: JsonOpt = False,
):
    """Run every combination of traces x machines x policies x backfilling x estimates x load x seeds."""
    from schedlab.distributed import run_sweep
    from schedlab.distributed.grid import SweepGrid, grid_from_dict, grid_from_toml

    try:
        base = grid_from_toml(config).to_dict() if config is not None else {}
        lists = {"traces": traces, "policies": policies, "backfills": backfill, "estimates": estimates}
        for key, text in lists.items():
            if text is not None:
                base[key] = parse_list(text, key[:-1])
        if clusters is not None:
            base["clusters"] = ["" if c == "trace" else c for c in parse_list(clusters, "cluster")]
        if load_scales is not None:
            base["load_scales"] = _floats(load_scales, "load scale")
        if seeds is not None:
            base["seeds"] = parse_ints(seeds, "seed")
        for key, value in (("windows", windows), ("window_len", window_len)):
            if value is not None:
                base[key] = value
        grid: SweepGrid = grid_from_dict(base, "the sweep")
        n = len(grid.cells())
        with progress_bar("cells", disable=as_json) as prog:
            task = prog.add_task("cells", total=n)
            res = run_sweep(grid, out, executor, workers, address, force, command_line(),
                            on_cell=lambda _row: prog.advance(task))  # fmt: skip
    except SchedlabError as exc:
        fail(str(exc))
    if as_json:
        print_json({"cells": len(res.table), "ran_now": res.ran, "wall_seconds": res.wall_seconds,
                    "results": res.table.to_dict(orient="records")})  # fmt: skip
        return
    _render(res.table)
    failed = int((res.table["status"] != "ok").sum())
    err_console.print(f"{len(res.table):,} cells ({res.ran:,} run now, {failed:,} failed) in {res.wall_seconds:.1f} s")
    print_written(res.files)


def _render(table) -> None:
    t = Table(title="sweep")
    axes = [a for a in ("trace", "cluster", "policy", "backfill", "estimates", "load_scale", "seed")
            if table[a].nunique() > 1 or a in ("policy", "backfill")]  # fmt: skip
    for col in [*axes, "status", *[m for m in SHOWN if m in table]]:
        t.add_column(col, justify="right" if col in SHOWN else "left")
    for _, row in table.iterrows():
        vals = [str(row[a]) for a in axes] + [row["status"]]
        vals += [fmt(float(row[m]), m) if row["status"] == "ok" else "-" for m in SHOWN if m in table]
        t.add_row(*vals)
    out_console.print(t)
