"""compress_hostlist: the inverse of expand_hostlist (hand-checked cases and a round-trip property)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schedlab.analytics.jobs.hostlist import compress_hostlist, expand_hostlist
from schedlab.errors import HostlistError


@pytest.mark.parametrize(
    "names, expected",
    [
        (["nid0001", "nid0002", "nid0003", "nid0007"], "nid[0001-0003,0007]"),
        (["nid0007", "nid0001", "nid0003", "nid0002", "nid0001"], "nid[0001-0003,0007]"),  # sorted, once
        (["n8", "n9", "n10"], "n[8-10]"),  # unpadded: the lower bound's width writes 10 back
        (["n098", "n099", "n100"], "n[098-100]"),
        (["n1", "n01"], "n[1,01]"),  # same number, two spellings
        (["node1"], "node1"),  # one host: no brackets
        (["gpu1", "gpu2", "cn01", "cn02", "login"], "gpu[1-2],cn[01-02],login"),  # first-appearance order
        (["n01-ib", "n02-ib", "n03"], "n[01-02]-ib,n03"),  # a suffix is its own group
        ([f"r{r}n{n:02d}" for r in (201, 202, 203) for n in range(1, 21)], "r[201-203]n[01-20]"),
        (["r1n1", "r1n2", "r2n1"], "r1n[1-2],r2n1"),  # not a rectangle: two items
        (["n", "n1", "n2"], "n,n[1-2]"),
        ([], ""),
    ],
)
def test_compress_by_hand(names, expected):
    assert compress_hostlist(names) == expected
    assert sorted(expand_hostlist(expected)) == sorted(set(names))


@pytest.mark.parametrize("bad", ["", "a b", "n[1]", "a,b"])
def test_names_that_cannot_be_written_are_refused(bad):
    with pytest.raises(HostlistError):
        compress_hostlist([bad])


_name = st.builds(
    lambda prefix, number, width, suffix: f"{prefix}{str(number).zfill(width)}{suffix}",
    st.sampled_from(["n", "nid", "gpu-", "r1n", "r2n", "x"]),
    st.integers(0, 120),
    st.integers(1, 4),
    st.sampled_from(["", "", "-ib"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_name, st.sampled_from(["login", "head"])), max_size=60))
def test_round_trip(names):
    text = compress_hostlist(names)
    assert sorted(expand_hostlist(text)) == sorted(set(names))
    assert compress_hostlist(expand_hostlist(text)) == compress_hostlist(sorted(set(names), key=names.index))
