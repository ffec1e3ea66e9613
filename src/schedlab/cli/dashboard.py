"""``schedlab dashboard``: the web app over saved results and new runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from schedlab.cli.common import err_console, fail, out_console


def dashboard(
    results: Annotated[
        list[Path] | None,
        typer.Option(
            "--results",
            "-r",
            help="A results folder to show: the --out folder of simulate, compare, evaluate, explain, bftrainer, "
            "energy or analyze. Repeat for more; more can be loaded from the page.",
        ),
    ] = None,
    host: Annotated[
        str,
        typer.Option(
            "--host",
            help="Address to listen on. The default serves this machine only; 0.0.0.0 would serve anyone "
            "who can reach it (the page can start runs and read folders: keep it local).",
        ),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8050,
    runs_dir: Annotated[
        Path,
        typer.Option(
            "--runs-dir", help="Where runs started from the page write their results folders (and uploaded traces)."
        ),
    ] = Path("dashboard-runs"),
):
    """Open a web dashboard: the schedule as a Gantt, utilisation and queues over time, policies side
    by side, an RL agent's decisions, a distilled tree, BFTrainer, energy and analytics; start new runs."""
    from schedlab.errors import SchedlabError

    try:
        from schedlab.dashboard import create_app, make_server, serve
    except ImportError as exc:
        fail(f"the dashboard needs its extra ({exc.name} is missing): pip install -e '.[dashboard]'")

    try:
        app, state = create_app(results or [], runs_dir)
        server = make_server(app, host, port)
    except SchedlabError as exc:
        fail(str(exc))
    n = len(state.results)

    def ready(url: str) -> None:
        out_console.print(f"schedlab dashboard: {n} results folder(s) at {url}  (Ctrl-C stops it)", highlight=False)
        err_console.print(f"[dim]new runs are written under {state.runs_dir.resolve()}[/]")

    try:
        serve(server, ready)
    except KeyboardInterrupt:
        err_console.print("stopped")
