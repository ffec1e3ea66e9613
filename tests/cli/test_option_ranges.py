"""Every numeric option is checked while the command line is parsed, before any data is read:
a float must be finite, a seed must be in numpy's range, and options with a meaningful range say it."""

from __future__ import annotations

import pytest
import typer.main
from typer.testing import CliRunner

from schedlab.cli import app
from tests.cli.test_help import _commands

runner = CliRunner()


def _numeric_options():
    for path, cmd in _commands(typer.main.get_command(app)):
        for p in cmd.params:
            kind = getattr(getattr(p, "type_descriptor", None), "annotation", None)
            if kind in (int, float):
                yield " ".join(path), p, kind


def test_every_numeric_option_is_guarded():
    options = list(_numeric_options())
    assert len(options) > 40
    for where, p, kind in options:
        assert getattr(p.callback, "_guarded", False), f"{where} {p.opts[0]}"
        if kind is float:
            for bad in (float("nan"), float("inf"), float("-inf")):
                with pytest.raises(typer.Exit):
                    p.callback(None, p, bad)


@pytest.mark.parametrize(
    "args, message",
    [
        (["simulate", "--tau", "nan"], "--tau must be a finite number"),
        (["simulate", "--load-scale", "inf"], "--load-scale must be a finite number"),
        (["simulate", "--load-scale", "1e308"], "--load-scale must be at most 1000"),
        (["simulate", "--tau", "0"], "--tau must be > 0"),
        (["compare", "--seed", "-1"], "--seed must be in [0, 4294967295]"),
        (["energy", "ecosched", "--idle-weight", "nan"], "--idle-weight"),
        (["train", "--lr", "-1"], "--lr"),
        (["energy", "ecosched", "--workers", "0"], "--workers"),
        (["bftrainer", "--history-hours", "-1"], "--history-hours"),
    ],
)
def test_bad_values_are_refused_with_their_range(args, message):
    res = runner.invoke(app, args)
    assert res.exit_code == 2, res.output
    assert message in " ".join(res.output.split()), res.output
