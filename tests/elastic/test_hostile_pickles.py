"""`data fetch bftrainer --convert-only DIR` never unpickles a file that is not trusted."""

from __future__ import annotations

import pickle

from typer.testing import CliRunner

from schedlab.cli import app


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_an_unpinned_pickle_is_refused_and_never_runs(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    marker = tmp_path / "pwned"
    (raw / "ndstat-10sdn6-evt.pkl").write_bytes(pickle.dumps(_Payload(marker)))
    r = CliRunner().invoke(app, ["data", "fetch", "bftrainer", "--convert-only", str(raw), "--dest", str(tmp_path)])
    assert r.exit_code == 2 and "pickle" in r.output and "--allow-unverified" in r.output, r.output
    assert not marker.exists()
