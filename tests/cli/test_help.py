"""`schedlab --help` and every subcommand's help explain every option."""

from __future__ import annotations

import typer.main

from schedlab.cli import app


def _commands(cmd, path=()):
    if hasattr(cmd, "commands"):
        for name, sub in cmd.commands.items():
            yield from _commands(sub, (*path, name))
    else:
        yield path, cmd


def test_every_command_and_option_has_help():
    missing = []
    commands = list(_commands(typer.main.get_command(app)))
    # simulate, compare, traces, sweep, train, evaluate, models, explain, bftrainer, analyze,
    # data fetch, energy ecosched|open|ecoshift, cluster show, dashboard, slurm up|status|down|replay,
    # deploy lua|daemon|simulate
    assert len(commands) == 23
    for path, cmd in commands:
        if not (cmd.help or "").strip():
            missing.append(" ".join(path))
        for p in cmd.params:
            if "Argument" not in type(p).__name__ and p.name != "help" and not (p.help or "").strip():
                missing.append(f"{' '.join(path)} {p.opts}")
    assert not missing, missing
