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


@pytest.mark.parametrize(
    "rule, message",
    [
        ("(SELECT count(*) FROM read_csv('/etc/passwd')) > 0", "subquery is not allowed"),
        ("getenv('HOME') = 'x'", "function 'getenv' is not allowed"),
        ("current_setting('threads') > 1", "function 'current_setting' is not allowed"),
        ("gpus > 0; DROP TABLE x", "one expression only"),
        ("gpus > 0 -- rest", "one expression only"),
        ("nosuchcolumn > 1", "unknown column"),
        ("gpus > " + "abs(" * 300 + "1" + ")" * 300, "nested too deeply"),
        ("gpus > " + "abs(" * 790 + "1" + ")" * 790, "nested too deeply"),
        ("gpus > " + "NOT " * 990 + "true", "nested too deeply"),
        ("x" * 5000, "at most 4,000"),
    ],
)
def test_class_rule_is_an_expression_over_job_columns_only(rule, message):
    """--class-rule reaches SQL only after DuckDB's parser and an allow-list checked its tree: no
    subqueries, table functions (file reads), settings or second statements."""
    from schedlab.analytics.characterize import class_expression
    from schedlab.errors import ClassRuleError

    with pytest.raises(ClassRuleError, match=message):
        class_expression(rule)


def test_class_rule_allows_what_sites_write():
    from schedlab.analytics.characterize import class_expression

    for rule in ("gpus > 0", "partition LIKE 'gpu%' AND nodes BETWEEN 1 AND 4", "lower(partition) IN ('gpu', 'ml')"):
        assert rule in class_expression(rule)
