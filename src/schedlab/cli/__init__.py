"""The ``schedlab`` command: one module per command group, each command a thin layer that parses
options, builds a config object, calls one library function and renders its result.

Nothing in the library imports this package.  Scripts rely on the flags and the ``--json`` keys;
keep them stable.
"""

from __future__ import annotations

import sys

from schedlab.cli import analyze as _analyze
from schedlab.cli import cluster as _cluster
from schedlab.cli import dashboard as _dashboard
from schedlab.cli import data as _data
from schedlab.cli import deploy as _deploy
from schedlab.cli import elastic as _elastic
from schedlab.cli import energy as _energy
from schedlab.cli import explain as _explain
from schedlab.cli import rl as _rl
from schedlab.cli import simulate as _simulate
from schedlab.cli import slurm as _slurm
from schedlab.cli import sweep as _sweep
from schedlab.cli.common import err_console, fail, new_app, out_console

app = new_app(
    help="schedlab: replay batch-job traces against a simulated supercomputer, compare "
    "scheduling policies (on requested, true or online-predicted runtimes: --estimates predicted:last2|predicted:ml, "
    "--policy easy++), train and evaluate deep-RL schedulers, and distil them into readable decision "
    "trees (`explain`; use a tree with --policy tree:PATH), and fill idle nodes with elastic DNN "
    "training (`bftrainer`), schedule GPU nodes for energy and share power caps (`energy ecosched|open|ecoshift`), "
    "and characterise a workload and its energy (`analyze`).  `data fetch NAME` gets the measured datasets "
    "these read.  Run `schedlab COMMAND --help` for each command's options.",
)
app.command()(_simulate.simulate)
app.command()(_simulate.compare)
app.command()(_simulate.traces)
app.command()(_sweep.sweep)


app.command()(_rl.train)
app.command()(_rl.evaluate)
app.command()(_rl.models)
app.command()(_explain.explain)
app.command()(_elastic.bftrainer)
app.command()(_analyze.analyze)
app.command()(_dashboard.dashboard)
app.add_typer(_data.app, name="data")
app.add_typer(_cluster.app, name="cluster")
app.add_typer(_slurm.app, name="slurm")
app.add_typer(_deploy.app, name="deploy")

energy_app = new_app(help=_energy.HELP)
energy_app.command("ecosched")(_energy.ecosched)
energy_app.command("open")(_energy.open_caps)
energy_app.command("ecoshift")(_energy.ecoshift)
app.add_typer(energy_app, name="energy")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)


__all__ = ["app", "err_console", "fail", "main", "out_console"]
