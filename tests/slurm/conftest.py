"""Fixtures that run a real Slurm on loopback (munged, slurmctld and 4 slurmd) with schedlab's
harness: ``loopback_slurm`` (one for the test module: 4 nodes g1,g2 with 2 GPUs each and c1,c2;
partitions cpu (default, all nodes) and gpu (g1,g2)) and ``start_loopback_slurm`` (a function
``start(job_submit=None, nodes=None, **kw) -> HarnessState`` for a Slurm of one's own, e.g. with a
job_submit.lua; each one started is stopped when the module's tests end).

Skipped, with the reason, only when slurmctld is not installed (Debian: apt-get install slurm-wlm
munge; ``scripts/bootstrap.sh test`` installs them).  Every other failure to start is an error.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from schedlab.slurm import harness

#: the small test machine (4 nodes, 2 with GPUs, two partitions)
LOOP4 = Path(__file__).with_name("loop4.toml")


def _need_slurm() -> None:
    path = os.environ.get("PATH", "") + os.pathsep + os.pathsep.join(harness.SBIN)
    if not shutil.which("slurmctld", path=path):
        pytest.skip("Slurm is not installed (slurmctld not found): apt-get install slurm-wlm munge")


@pytest.fixture(scope="module")
def start_loopback_slurm(tmp_path_factory):
    """``start(job_submit=None, nodes=None, cluster=LOOP4, **kw)``: a loopback Slurm in a new folder."""
    _need_slurm()
    started: list[Path] = []

    def start(job_submit: Path | None = None, nodes: int | None = None, cluster=LOOP4, **kw) -> harness.HarnessState:
        folder = tmp_path_factory.mktemp("slurm")
        started.append(folder)
        return harness.up(cluster, folder, job_submit=job_submit, nodes=nodes, **kw)

    yield start
    for folder in started:
        if (folder / harness.STATE_FILE).exists():
            harness.down(folder)


@pytest.fixture(scope="module")
def loopback_slurm(start_loopback_slurm) -> harness.HarnessState:
    """A 4-node GPU Slurm on loopback for the module (``harness.env(state.folder)`` for commands)."""
    return start_loopback_slurm()
