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


@pytest.mark.parametrize("tz", ["UTC'); DROP TABLE jobs; --", "Europe/Nowhere", "../../etc/passwd"])
def test_timezones_outside_the_iana_list_are_refused_before_sql(tz, tmp_path):
    from schedlab.analytics.jobs import read_jobs
    from schedlab.errors import JobFormatError

    f = tmp_path / "jobs.csv"
    f.write_text("job_id,submit,start,end\n1,2024-01-01 00:00,2024-01-01 00:01,2024-01-01 01:00\n")
    with pytest.raises(JobFormatError, match="unknown time zone"):
        read_jobs(f, timezone=tz)


@pytest.mark.parametrize("spec", ["data:surf_lisa/../../etc/passwd", "data:../x/y", "data:surf_lisa//etc/passwd"])
def test_data_specs_stay_inside_their_dataset(spec):
    from schedlab.analytics.inputs import resolve_input
    from schedlab.errors import OptionError

    with pytest.raises(OptionError, match=r"inside its dataset|data:DATASET/PATH"):
        resolve_input(spec)
