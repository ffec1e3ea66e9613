"""``schedlab deploy lua|daemon|simulate``: put a distilled submit tree into a real Slurm, and see
in advance what it changes on the site's own jobs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from schedlab.cli.common import (
    ClusterOpt,
    ForceOpt,
    JsonOpt,
    check_out,
    err_console,
    fail,
    new_app,
    out_console,
    print_json,
    print_written,
    progress_bar,
    spinner,
    write_out,
)

HELP = (
    "Deploy a decision tree distilled over submit features (`schedlab explain --features submit`, or the shipped "
    "lublin_256-f1-submit) into Slurm: as job_submit.lua rules (`lua`) or as a priority daemon writing jobs' "
    "SiteFactor (`daemon`, which also takes a static policy or a trained model); `simulate` shows what either "
    "changes against plain multifactor on your sacct export (with --policy: any daemon policy, models included, "
    "simulated with the daemon in the loop)."
)
app = new_app(help=HELP)

TreeOpt = Annotated[
    str,
    typer.Option(
        "--tree",
        help="The tree: a tree.json, a `schedlab explain --features submit` output folder or a shipped tree's name "
        "(lublin_256-f1-submit); the tree: prefix is accepted. It must read only submit features.",
    ),
]
HistoryOpt = Annotated[
    Path | None,
    typer.Option(
        "--history",
        help="A job table (sacct --parsable2 or --json export) giving each user's last completed job: its "
        "log2(runtime / time limit) is the tree's user_accuracy (a model's key_accuracy, for a model trained with "
        "--history-features, which needs it). Without it every user reads 0.",
    ),
]
UnitOpt = Annotated[
    str,
    typer.Option(
        "--unit", help="What the tree's procs counts in Slurm: cpus (the job's CPUs) or nodes (its node count)."
    ),
]
DefaultTimeOpt = Annotated[
    float,
    typer.Option("--default-time-h", min=0.001, max=8784.0, help="request_h of a job that gives no time limit, hours."),
]
NiceMaxOpt = Annotated[
    int,
    typer.Option(
        "--nice-max",
        min=0,
        max=10_000_000,
        help="Nice of the lowest-scoring rule (the highest gets 0; the others in between, linearly in the tree's "
        "score). Compare it with your PriorityWeight* values: nice is subtracted from the priority.",
    ),
]
SiteMaxOpt = Annotated[
    int,
    typer.Option(
        "--site-max",
        min=0,
        max=10_000_000,
        help="SiteFactor of the best-scored job (the worst gets 0). Slurm 22.05 adds it to the priority unweighted.",
    ),
]


def _routes(partition: str | None, qos: str | None):
    from schedlab.slurm.deploy_rules import Route

    return (Route.parse(partition, "partition") if partition else None, Route.parse(qos, "qos") if qos else None)


@app.command("lua")
def lua(
    tree: TreeOpt,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Where to write job_submit.lua.")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the rules (conditions, score, nice, route) and write nothing.")
    ] = False,
    history: HistoryOpt = None,
    unit: UnitOpt = "cpus",
    default_time_h: DefaultTimeOpt = 24.0,
    nice_max: NiceMaxOpt = 1000,
    partition: Annotated[
        str | None,
        typer.Option(
            "--partition",
            help="NAME:MIN_SCORE: jobs the tree scores at least MIN_SCORE go to partition NAME (only those that "
            "named no partition).",
        ),
    ] = None,
    qos: Annotated[
        str | None, typer.Option("--qos", help="NAME:MIN_SCORE: the same for the QOS (jobs that named none).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an --out file schedlab did not write.")] = False,
):
    """Write a job_submit.lua that applies a submit tree's rules when jobs are submitted: nice, partition or
    QOS, and an admin_comment naming the rule."""
    from schedlab.slurm.deploy_lua import to_lua
    from schedlab.slurm.deploy_rules import build_rules, submit_tree, user_history

    t, name = submit_tree(tree)
    part, q = _routes(partition, qos)
    rules = build_rules(t, name, nice_max=nice_max, partition=part, qos=q)
    if dry_run or out is None:
        out_console.print(f"tree {name}: {len(rules.rules)} rules (a higher score runs earlier)")
        for line in rules.lines():
            out_console.print(escape(line), highlight=False)
        if not dry_run:
            out_console.print("(no --out: nothing written)")
        return
    text = to_lua(rules, user_history(history), unit=unit, default_time_h=default_time_h)
    _write_lua(out, text, force)


def _write_lua(out: Path, text: str, force: bool) -> None:
    from schedlab.report.outputs import write_text

    if out.is_dir() or out.is_symlink():
        fail(f"--out {out}: is a folder or a link; give a file path (job_submit.lua)")
    if out.exists() and not force and not out.read_text(errors="replace").startswith("-- job_submit.lua written by"):
        fail(f"--out {out}: exists and was not written by schedlab; pass --force to replace it")
    print_written([write_text(out, text)])


@app.command("daemon")
def daemon(
    policy: Annotated[
        str,
        typer.Option(
            "--policy",
            "-p",
            help="What scores the pending jobs: a submit tree (tree:PATH or a shipped tree's name; each rule's "
            "SiteFactor), a static schedlab policy (sjf, saf, f1, expr:...; the pending jobs ranked, the first "
            "getting --site-max) or a trained model (model:PATH, a `schedlab train` output or a shipped model's "
            "name such as lublin_256-scorer: every cycle it is shown the queue and the free CPUs or nodes as Slurm "
            "reports them and ranks the pending jobs, its first choice getting --site-max, the last 0).",
        ),
    ],
    once: Annotated[bool, typer.Option("--once", help="One cycle, then exit.")] = False,
    interval: Annotated[
        float, typer.Option("--interval", min=1.0, max=86400.0, help="Seconds between cycles (without --once).")
    ] = 60.0,
    folder: Annotated[
        Path | None,
        typer.Option(
            "--dir", help="The loopback Slurm started by `schedlab slurm up --dir DIR` (default: $SLURM_CONF)."
        ),
    ] = None,
    max_jobs: Annotated[
        int, typer.Option("--max-jobs", min=1, max=1_000_000, help="Most pending jobs scored per cycle (oldest first).")
    ] = 1000,
    site_max: SiteMaxOpt = 1000,
    history: HistoryOpt = None,
    unit: Annotated[
        str | None,
        typer.Option(
            "--unit",
            help="What a job's size counts in Slurm: cpus (the job's CPUs) or nodes (its node count). Default: cpus; "
            "for a model, the unit it was trained with.",
        ),
    ] = None,
    default_time_h: DefaultTimeOpt = 24.0,
    log: Annotated[
        Path | None, typer.Option("--log", help="Append one JSON line per cycle (what was written) to this file.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Score and log, but write nothing (no privilege needed).")
    ] = False,
    rest: Annotated[
        str | None,
        typer.Option(
            "--rest",
            help="Read the queue (and, for a model, the nodes) from slurmrestd instead of squeue/sinfo: "
            "unix:/path/to/slurmrestd.sock (no token needed) or http://host:port (a JWT from $SLURM_JWT or "
            "`scontrol token`). SiteFactor is still written with scontrol.",
        ),
    ] = None,
    as_json: JsonOpt = False,
):
    """Run a priority daemon: every --interval seconds read the queue (squeue --json, or slurmrestd with --rest),
    score each pending job and write its SiteFactor (scontrol update), leaving the other multifactor terms and
    every non-pending job alone. Stops on Ctrl-C or SIGTERM."""
    from schedlab.slurm.daemon import Daemon, check_privilege, scorer
    from schedlab.slurm.deploy_rules import user_history

    environ = _slurm_env(folder)
    if not dry_run:
        check_privilege(environ)
    score = scorer(policy, site_max=site_max, history=user_history(history), unit=unit, default_time_h=default_time_h)
    writer = _log_writer(log, as_json)
    reader = None
    if rest is not None:
        from schedlab.slurm.rest import RestClient

        reader = RestClient(rest, environ)
    d = Daemon(scorer=score, environ=environ, max_jobs=max_jobs, dry_run=dry_run, rest=reader, log=writer)
    if not once:
        err_console.print(f"daemon: {score.spec} every {interval:g} s; Ctrl-C or SIGTERM stops it")
    cycles = d.run(None if once else interval)
    if not once:
        err_console.print(f"daemon stopped after {cycles} cycle(s)")


def _slurm_env(folder: Path | None) -> dict:
    import os

    if folder is not None:
        from schedlab.slurm.harness import env

        return env(folder)
    return dict(os.environ)


def _log_writer(path: Path | None, as_json: bool):
    import json
    import os
    import time

    from schedlab.errors import SchedlabError

    def write(record: dict) -> None:
        line = json.dumps(record)
        if path is not None:
            try:  # appended, never through a symbolic link
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
                with os.fdopen(fd, "a") as f:
                    f.write(line + "\n")
            except OSError as exc:
                raise SchedlabError(f"--log {path}: cannot append to it ({exc.strerror or exc})") from None
        if as_json:
            print(line, flush=True)
            return
        stamp = time.strftime("%H:%M:%S", time.localtime(record["time"]))
        done = ", ".join(f"{u['job']}={u['site_factor']} ({u['rule']})" for u in record["updated"][:20])
        more = f" (+{len(record['updated']) - 20})" if len(record["updated"]) > 20 else ""
        verb = "would set" if record["dry_run"] else "set"
        out_console.print(
            f"{stamp} {record['pending']} pending of {record['queue']}: {verb} SiteFactor of "
            f"{len(record['updated'])}{': ' + done + more if done else ''}"
            + (f"; skipped {len(record['skipped'])}" if record["skipped"] else ""),
            highlight=False,
        )
        sys.stdout.flush()

    return write


@app.command("simulate")
def simulate_deploy(
    trace: Annotated[
        str, typer.Option("--trace", "-t", help="Your jobs: an sacct export (--parsable2 or --json) or any job table.")
    ],
    cluster: ClusterOpt = None,
    tree: Annotated[
        str | None,
        typer.Option(
            "--tree",
            help="A submit tree (a tree.json, a `schedlab explain --features submit` folder or a shipped tree's name "
            "such as lublin_256-f1-submit): its rules' fixed per-job values, simulated on the fast compiled "
            "simulator (any number of jobs). Give --tree or --policy.",
        ),
    ] = None,
    policy: Annotated[
        str | None,
        typer.Option(
            "--policy",
            "-p",
            help="Any policy `deploy daemon --policy` takes (a submit tree, sjf, saf, f1, expr:..., or a trained "
            "model:PATH such as model:lublin_256-scorer), simulated with the daemon in the loop: every --interval "
            "seconds it scores the pending jobs as the real daemon would and their SiteFactor changes. Uses "
            "schedlab's Python model of Slurm (--preset slurm) for both runs, so it takes at most 2,000 jobs "
            "(about a minute for 1,000); implies --mechanism daemon.",
        ),
    ] = None,
    mechanism: Annotated[
        str | None,
        typer.Option(
            "--mechanism",
            help="lua: the rules' nice/partition/QOS set at submit; daemon: the rules' SiteFactor added to the "
            "priority (with --policy: the daemon in the loop). Default: lua with --tree, daemon with --policy.",
        ),
    ] = None,
    interval: Annotated[
        float,
        typer.Option(
            "--interval", min=1.0, max=86400.0, help="With --policy: the daemon's seconds between cycles (simulated)."
        ),
    ] = 60.0,
    max_jobs: Annotated[
        int,
        typer.Option(
            "--max-jobs", min=1, max=1_000_000, help="With --policy: most pending jobs scored per cycle (oldest first)."
        ),
    ] = 1000,
    unit: Annotated[
        str | None,
        typer.Option(
            "--unit",
            help="What a job's size counts: cpus (its CPUs) or nodes (its node count). Default: cpus; for a model, "
            "the unit it was trained with.",
        ),
    ] = None,
    nice_max: NiceMaxOpt = 1000,
    site_max: SiteMaxOpt = 1000,
    partition: Annotated[str | None, typer.Option("--partition", help="NAME:MIN_SCORE, as `deploy lua`.")] = None,
    qos: Annotated[str | None, typer.Option("--qos", help="NAME:MIN_SCORE, as `deploy lua`.")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write deploy.json and jobs.csv (per-job starts) here.")
    ] = None,
    force: ForceOpt = False,
    as_json: JsonOpt = False,
):
    """Simulate your jobs on your machine twice under Slurm's multifactor priority: plain, and with the deployment
    (a tree's lua rules at submit or its daemon's SiteFactor; or, with --policy, the daemon of any policy or model
    in the loop, refreshing SiteFactor every --interval); print what changes."""
    from schedlab.cluster import load_cluster
    from schedlab.workload import load_trace

    if (tree is None) == (policy is None):
        fail("give --tree (a submit tree's fixed values, fast) or --policy (the daemon in the loop), not both")
    if policy is not None and mechanism not in (None, "daemon"):
        fail("--policy simulates the daemon (--mechanism daemon); a job_submit.lua rule set takes --tree")
    if tree is not None and tree.startswith("model:"):
        fail(f"--tree takes a submit tree; for a model use --policy {tree} (the daemon in the loop)")
    folder = check_out(out, force)
    machine = load_cluster(cluster) if cluster else fail("give --cluster (your slurm.conf or a machine description)")
    if policy is not None:
        res = _simulate_daemon(policy, trace, machine, interval, site_max, unit, max_jobs, as_json)
    else:
        from schedlab.slurm.deploy_rules import build_rules, submit_tree
        from schedlab.slurm.deploy_sim import compare_deployment

        t, name = submit_tree(tree)
        part, q = _routes(partition, qos)
        rules = build_rules(t, name, nice_max=nice_max, site_max=site_max, partition=part, qos=q)
        wl = load_trace(trace)
        with spinner("simulating plain Slurm and the deployment"):
            res = compare_deployment(wl, machine, rules, mechanism or "lua", unit=unit or "cpus")
    written = write_out(folder, lambda d: _write_sim(res, d))
    if as_json:
        print_json({"summary": res["summary"], "rules": res["rules"]}, indent=2)
        return
    _render_sim(res)
    print_written(written)


def _simulate_daemon(policy, trace, machine, interval, site_max, unit, max_jobs, quiet) -> dict:
    from schedlab.slurm.deploy_sim_daemon import compare_daemon
    from schedlab.workload import load_trace

    wl = load_trace(trace)
    with progress_bar("simulating", disable=quiet) as bar:
        task = bar.add_task("plain Slurm", total=len(wl))

        def progress(phase: str, done: int, total: int) -> None:
            label = "plain Slurm" if phase == "plain" else f"with the daemon ({policy})"
            bar.update(task, completed=done, total=total, description=escape(label))

        return compare_daemon(wl, machine, policy, interval=interval, site_max=site_max, unit=unit,
                              max_jobs=max_jobs, progress=progress)  # fmt: skip


def _write_sim(res: dict, folder: Path) -> list[Path]:
    from schedlab.report.outputs import write_json, write_text

    return [
        write_json(folder / "deploy.json", {"summary": res["summary"], "rules": res["rules"]}),
        write_text(folder / "jobs.csv", res["jobs"].to_csv(index=False)),
    ]


def _render_sim(res: dict) -> None:
    s = res["summary"]
    if "policy" in s:
        _render_daemon(s)
        return
    table = Table(title=f"{s['jobs']:,} jobs on {s['cluster']}: plain multifactor vs {s['tree']} ({s['mechanism']})")
    for c in ("rule", "jobs", "nice", "site factor", "mean wait plain (s)", "mean wait deployed (s)"):
        table.add_column(c, justify="left" if c == "rule" else "right")
    for r in res["rules"]:
        table.add_row(r["rule"], f"{r['jobs']:,}", str(r["nice"]), str(r["site_factor"]),
                      f"{r['mean_wait_plain_s']:,.0f}", f"{r['mean_wait_deployed_s']:,.0f}")  # fmt: skip
    out_console.print(table)
    out_console.print(
        f"mean wait {s['mean_wait_plain_s']:,.0f} s -> {s['mean_wait_deployed_s']:,.0f} s; mean bsld "
        f"{s['mean_bsld_plain']:.2f} -> {s['mean_bsld_deployed']:.2f}; {s['jobs_started_earlier']:,} jobs start "
        f"earlier, {s['jobs_started_later']:,} later; start order Kendall tau {s['kendall_tau_start_order']:.3f}",
        highlight=False,
    )


def _render_daemon(s: dict) -> None:
    out_console.print(
        f"{s['jobs']:,} jobs on {s['cluster']}: plain Slurm vs daemon {s['policy']} (every {s['interval_s']:g} s, "
        f"SiteFactor 0..{s['site_max']:,})",
        highlight=False,
    )
    table = Table()
    for c in ("", "plain", "with the daemon"):
        table.add_column(c, justify="left" if not c else "right")
    table.add_row("mean wait (s)", f"{s['mean_wait_plain_s']:,.0f}", f"{s['mean_wait_deployed_s']:,.0f}")
    table.add_row("mean bsld", f"{s['mean_bsld_plain']:.2f}", f"{s['mean_bsld_deployed']:.2f}")
    out_console.print(table)
    out_console.print(
        f"{s['daemon_cycles']:,} daemon cycles; {s['jobs_started_earlier']:,} jobs start earlier, "
        f"{s['jobs_started_later']:,} later; start order Kendall tau {s['kendall_tau_start_order']:.3f}",
        highlight=False,
    )
