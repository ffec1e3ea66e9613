"""``schedlab slurm up|status|down|replay``: a real Slurm on loopback and replay parity against it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from schedlab.cli.common import (
    ForceOpt,
    JsonOpt,
    check_out,
    new_app,
    out_console,
    print_json,
    print_written,
    progress_bar,
    write_out,
)
from schedlab.errors import SchedlabError

HELP = (
    "A real Slurm (slurmctld, one slurmd per node, munged) on this host's loopback, started as your own "
    "processes from a machine description, and trace replay into it compared with schedlab's `slurm` preset. "
    "Needs the Debian/Ubuntu packages slurm-wlm and munge."
)
app = new_app(help=HELP)

DirOpt = Annotated[
    Path,
    typer.Option(
        "--dir", "-d", help="The folder that holds this Slurm: its configuration, state, logs and harness.json."
    ),
]


def _scheduler(sched_interval, bf_interval, bf_resolution) -> dict:
    given = {"sched_interval": sched_interval, "bf_interval": bf_interval, "bf_resolution": bf_resolution}
    return {k: v for k, v in given.items() if v is not None}


@app.command("up")
def up(
    cluster: Annotated[
        str,
        typer.Option(
            "--cluster",
            "-c",
            help="The machine: a shipped one's name (polaris, marconi100, ...), a TOML description or a site's "
            "slurm.conf (rewritten for loopback: host names, ports, fake GPU files).",
        ),
    ],
    folder: DirOpt,
    job_submit: Annotated[
        Path | None, typer.Option("--job-submit", help="A job_submit.lua for slurmctld to load (JobSubmitPlugins=lua).")
    ] = None,
    nodes: Annotated[
        int | None, typer.Option("--nodes", "-n", min=1, max=64, help="Run only the first N nodes (at most 64).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            "--port", min=1024, max=65535, help="slurmctld's TCP port, the node daemons' the next ones. Default: free."
        ),
    ] = None,
    sched_interval: Annotated[
        int | None, typer.Option("--sched-interval", min=1, max=3600, help="Main scheduler period, s (default 2).")
    ] = None,
    bf_interval: Annotated[
        int | None, typer.Option("--bf-interval", min=1, max=10800, help="Backfill period, s (default 1).")
    ] = None,
    bf_resolution: Annotated[
        int | None, typer.Option("--bf-resolution", min=1, max=3600, help="Backfill time resolution, s (default 1).")
    ] = None,
    rest: Annotated[
        bool,
        typer.Option(
            "--rest",
            help="Also start slurmrestd (Slurm's REST API, v0.0.38) on a unix socket in --dir, for "
            "`deploy daemon --rest unix:DIR/run/slurmrestd.sock`; `slurm down` stops it too.",
        ),
    ] = False,
    as_json: JsonOpt = False,
):
    """Start a loopback Slurm for the machine in --dir and wait until its nodes are idle. Then
    `SLURM_CONF=DIR/slurm.conf sbatch ...` (or squeue, scontrol, sprio) talks to it."""
    from schedlab.slurm import harness

    state = harness.up(cluster, folder, job_submit, nodes, port, _scheduler(sched_interval, bf_interval, bf_resolution))
    try:
        url = harness.rest_up(state.folder) if rest else None
    except SchedlabError:
        harness.down(state.folder)  # all or nothing: stop the Slurm just started
        raise
    if as_json:
        print_json(harness.status(state.folder) | ({"rest": url} if url else {}))
        return
    ports = state.ports
    out_console.print(
        f"Slurm {escape(state.version)} up in {escape(state.folder)}: {len(state.nodes)} nodes "
        f"({escape(', '.join(state.nodes))}), partitions {escape(', '.join(state.partitions))}; "
        f"slurmctld on 127.0.0.1:{ports['slurmctld']}",
        highlight=False,
    )
    for note in state.notes:
        out_console.print(f"note: {note}", markup=False, highlight=False)
    if url:
        out_console.print(f"slurmrestd on {url}", markup=False, highlight=False)
    out_console.print(f"export SLURM_CONF={state.slurm_conf}", markup=False, highlight=False)


@app.command("status")
def status(folder: DirOpt, as_json: JsonOpt = False):
    """Show what runs in --dir: each daemon alive or not, the nodes' states and the queue."""
    from schedlab.slurm import harness

    st = harness.status(folder)
    if as_json:
        print_json(st)
        return
    out_console.print(
        f"{escape(st['cluster'])} in {escape(st['folder'])}: {'running' if st['running'] else 'NOT running'} "
        f"(Slurm {escape(st['version'])}, started {st['started']})",
        highlight=False,
    )
    t = Table(title="processes")
    for c in ("process", "pid", "alive"):
        t.add_column(c)
    for label, p in st["processes"].items():
        t.add_row(escape(label), str(p["pid"]), "yes" if p["alive"] else "no")
    out_console.print(t)
    if st["nodes"]:
        out_console.print("nodes: " + ", ".join(f"{n} {s}" for n, s in st["nodes"].items()), highlight=False)
        jobs = ", ".join(f"{n} {s}" for s, n in st["jobs"].items()) or "none"
        out_console.print(f"jobs: {jobs}", highlight=False)


@app.command("down")
def down(folder: DirOpt, as_json: JsonOpt = False):
    """Cancel this Slurm's jobs and stop the processes `slurm up` started in --dir (only those)."""
    from schedlab.slurm import harness

    stopped = harness.down(folder)
    if as_json:
        print_json({"folder": str(folder), "stopped": stopped})
        return
    out_console.print(f"stopped: {', '.join(stopped) or 'nothing (not running)'}", highlight=False)


def _render_replay(summary: dict, rows: list[dict]) -> None:
    t = Table(title=f"replay of {escape(summary['trace'])} at time scale {summary['time_scale']:g} (simulated s)")
    for c in ("job", "partition", "nodes x CPUs/GPUs", "begin", "real start", "sim start", "deviation", "real nodes"):
        t.add_column(c, justify="left" if c in ("partition", "real nodes") else "right")
    for r in rows:
        t.add_row(
            str(r["job"]), escape(r["partition"]), f"{r['nodes']} x {r['cpus_per_node']}/{r['gpus_per_node']}",
            f"{r['begin_s']:,.0f}", f"{r['real_start_s']:,.0f}", f"{r['sim_start_s']:,.0f}",
            f"{r['start_dev_s']:+,.0f}", escape(str(r["real_nodes"])),
        )  # fmt: skip
    out_console.print(t)
    out_console.print(
        f"jobs {summary['jobs']}, Kendall tau {summary['kendall_tau']:.3f}, median |start deviation| "
        f"{summary['median_abs_start_dev_s']:,.0f} s (sched_interval {summary['sched_interval_s']:,.0f} s), "
        f"mean {summary['mean_abs_start_dev_s']:,.0f} s, max {summary['max_abs_start_dev_s']:,.0f} s",
        highlight=False,
    )


@app.command("replay")
def replay(
    folder: DirOpt,
    trace: Annotated[
        str,
        typer.Option(
            "--trace",
            "-t",
            help="The jobs: a job table with partitions, nodes, CPUs and GPUs (sacct --parsable2/--json, CSV, ...) or "
            "SWF. Each job is submitted at its submit time with its time limit and sleeps for its runtime.",
        ),
    ],
    time_scale: Annotated[
        float,
        typer.Option(
            "--time-scale",
            min=1e-3,
            max=1e6,
            help="Simulated seconds per real second (60: one simulated minute per second). Slurm counts limits in "
            "whole minutes, so limits shorter than time-scale minutes are rounded up.",
        ),
    ] = 60.0,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder for jobs.csv, slurm_jobs.txt, summary.json.")
    ] = None,
    max_minutes: Annotated[
        float, typer.Option("--max-minutes", min=0.1, max=1440, help="Refuse a replay expected to take longer (real).")
    ] = 60.0,
    force: ForceOpt = False,
    as_json: JsonOpt = False,
):
    """Replay a trace into the loopback Slurm in --dir (time-scaled) and compare the start of each job
    with schedlab's `slurm` preset: Kendall tau of the start order and the median start deviation."""
    from schedlab.slurm import harness
    from schedlab.slurm.replay import replay as run_replay
    from schedlab.slurm.replay import write_replay

    folder_out = check_out(out, force)
    with progress_bar("replay", disable=as_json) as bar:
        task = bar.add_task("replay", total=None)

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=stage)

        result = run_replay(folder, trace, time_scale, max_minutes * 60, progress)
    state = harness.load_state(folder)
    written = write_out(folder_out, lambda tmp: write_replay(tmp, result, state))
    if as_json:
        print_json({**result.summary, "written": written})
        return
    _render_replay(result.summary, result.rows)
    print_written(written)
