"""Loading a model never runs code from the file: checkpoints are read with weights_only=True."""

from __future__ import annotations

import torch
from typer.testing import CliRunner

from schedlab.cli import app


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):  # what a hostile checkpoint would carry: a call made at unpickling time
        return (open, (str(self.marker), "w"))


def test_a_checkpoint_that_would_run_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.pt"
    torch.save({"format": "schedlab-rl/1", "meta": {"agent": "scorer"}, "model": {}, "x": _Payload(marker)}, path)
    r = CliRunner().invoke(app, ["simulate", "--trace", "cqsim_test", "--policy", f"model:{path}"])
    assert r.exit_code == 2 and "not a readable schedlab model" in r.output, r.output
    assert "Traceback" not in r.output
    assert not marker.exists()  # the payload never ran
