"""A short crafted hostlist cannot exhaust memory: hosts are counted before anything expands."""

from __future__ import annotations

import time

import pytest

from schedlab.analytics.jobs.hostlist import expand_hostlist
from schedlab.errors import HostlistError


@pytest.mark.parametrize(
    "text",
    [
        "n[0-999999]x[0-999999]",  # 23 characters, 10^12 hosts
        "a[1-99999999999999999999]",
        ",".join(["n[0-600000]"] * 3),
        "n[" + ",".join(["0-99"] * 15000) + "]",  # 75,000 characters, 1.5 million hosts
        "x" * 200_000,
    ],
)
def test_hostlists_beyond_the_limit_are_refused_at_once(text):
    t0 = time.perf_counter()
    with pytest.raises(HostlistError, match="at most"):
        expand_hostlist(text)
    assert time.perf_counter() - t0 < 1.0


def test_hostlists_within_the_limit_expand_as_slurm_does():
    assert expand_hostlist("r[1-2]n[08-10]") == ["r1n08", "r1n09", "r1n10", "r2n08", "r2n09", "r2n10"]
    assert len(expand_hostlist("nid[000000-199999]")) == 200_000
