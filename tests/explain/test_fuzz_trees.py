"""Fuzzed tree files through the path the CLI uses (``tree:PATH`` via the policy registry): every
document is either refused with a SchedlabError naming the file, or loads and simulates a short
window without a crash and with finite start times.  Derandomized, bounded: reproducible in CI."""

from __future__ import annotations

import contextlib
import copy
import json
import math
from importlib import resources

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schedlab.errors import SchedlabError
from schedlab.policies import registry
from schedlab.simulator import SimConfig, simulate
from schedlab.workload import load_trace

SHIPPED = json.loads((resources.files("schedlab") / "data" / "trees" / "theta_2022-dras.json").read_text())
ARRAYS = ("feature", "threshold", "left", "right", "value")
FUZZ = settings(
    max_examples=60, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)


@pytest.fixture(scope="module")
def window():
    return load_trace("theta_2022").window(2000, 60)


WEIRD = st.one_of(
    st.integers(-(10**20), 10**20),
    st.sampled_from([-1, 0, 1, 2, 16, 17, 10**6, -(2**63), 2**63, 2**64]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([float("nan"), float("inf"), -float("inf"), 1e308, -1e308, 0.5, 1.0, 2.0]),
    st.booleans(),
    st.none(),
    st.text(max_size=5),
    st.sampled_from(["1", "0", "nan", ""]),
    st.lists(st.integers(-2, 20), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def _mutations():
    """(description, function of a deep copy of the shipped tree) for one random mutation."""
    n = len(SHIPPED["nodes"]["feature"])
    node_set = st.tuples(st.sampled_from(ARRAYS), st.integers(0, n - 1), WEIRD).map(
        lambda t: (f"nodes.{t[0]}[{t[1]}] = {t[2]!r}"[:80], lambda d: d["nodes"][t[0]].__setitem__(t[1], t[2]))
    )
    child_set = st.tuples(st.sampled_from(["left", "right"]), st.integers(0, n - 1), st.integers(-3, n + 3)).map(
        lambda t: (f"nodes.{t[0]}[{t[1]}] = {t[2]}", lambda d: d["nodes"][t[0]].__setitem__(t[1], t[2]))
    )
    array_set = st.tuples(st.sampled_from(ARRAYS), WEIRD).map(
        lambda t: (f"nodes.{t[0]} = {t[1]!r}"[:80], lambda d: d["nodes"].__setitem__(t[0], t[1]))
    )
    reshape = st.tuples(st.sampled_from(ARRAYS), st.sampled_from(["nest", "drop", "extend", "floats", "bools"])).map(
        lambda t: (f"{t[1]} nodes.{t[0]}", lambda d: _reshape(d["nodes"], *t))
    )
    top_set = st.tuples(st.sampled_from(["format", "features", "env_kwargs", "meta", "nodes", "extra"]), WEIRD).map(
        lambda t: (f"{t[0]} = {t[1]!r}"[:80], lambda d: d.__setitem__(t[0], t[1]))
    )
    top_drop = st.sampled_from(["format", "features", "env_kwargs", "meta", "nodes"]).map(
        lambda k: (f"drop {k}", lambda d: d.pop(k))
    )
    env_set = st.tuples(st.sampled_from(["visible", "backfill", "queue_order", "backfill_order", "bogus"]), WEIRD).map(
        lambda t: (f"env_kwargs.{t[0]} = {t[1]!r}"[:80], lambda d: d["env_kwargs"].__setitem__(t[0], t[1]))
    )
    huge_visible = st.integers(1, 10**15).map(
        lambda v: (f"visible = {v}", lambda d: d["env_kwargs"].__setitem__("visible", v))
    )
    return st.one_of(node_set, child_set, array_set, reshape, top_set, top_drop, env_set, huge_visible)


def _reshape(nodes, key, how):
    a = nodes[key]
    if how == "nest":
        nodes[key] = [[x] for x in a]
    elif how == "drop":
        a.pop()
    elif how == "extend":
        a.extend(a[:3])
    elif how == "floats":
        nodes[key] = [x + 0.5 if isinstance(x, int) else x for x in a]
    else:
        nodes[key] = [bool(x) for x in a]


def _check(doc, tmp_path, window, text=None):
    path = tmp_path / "tree.json"
    path.write_text(text if text is not None else json.dumps(doc))
    try:
        policy = registry.resolve(f"tree:{path}")
    except SchedlabError as exc:
        assert str(path) in str(exc) or "tree" in str(exc), str(exc)  # names the file (or the tree field)
        return "refused"
    tree = policy.tree
    assert np.all(np.isfinite(tree.threshold[tree.feature >= 0])) and np.all(np.isfinite(tree.value[tree.feature < 0]))
    try:
        res = simulate(window, SimConfig(policy=policy, backfill="easy"))
    except SchedlabError:
        return "refused at run"  # e.g. options the simulator cannot honour: a clear error
    assert len(res.start) == len(window) and np.all(np.isfinite(res.start))
    assert np.all(res.start >= window.submit)
    return "ran"


@FUZZ
@given(muts=st.lists(_mutations(), min_size=1, max_size=3))
def test_mutated_tree_files_are_refused_or_run(muts, tmp_path_factory, window):
    doc = copy.deepcopy(SHIPPED)
    for _, change in muts:
        with contextlib.suppress(KeyError, TypeError, IndexError, AttributeError):
            change(doc)  # an earlier mutation may have removed what this one changes
    _check(doc, tmp_path_factory.mktemp("t"), window)


@FUZZ
@given(depth=st.integers(1, 200_000), kind=st.sampled_from(["[", '{"a":']))
def test_deeply_nested_json_is_refused(depth, kind, tmp_path_factory, window):
    text = kind * depth + ("]" if kind == "[" else "}") * depth
    assert _check(None, tmp_path_factory.mktemp("t"), window, text=text) == "refused"


@pytest.mark.parametrize("depth", [5, 40])
def test_random_valid_trees_run(depth, tmp_path, window):
    """A chain tree (each split's right child a leaf) of the given depth: loads and simulates."""
    rng = np.random.default_rng(depth)
    feat, thr, left, right, val = [], [], [], [], []
    for i in range(depth):
        feat += [int(rng.integers(17)), -1]
        thr += [float(rng.normal()), 0.0]
        left += [2 * i + 2, -1]
        right += [2 * i + 1, -1]
        val += [0.0, float(rng.normal())]
    feat.append(-1), thr.append(0.0), left.append(-1), right.append(-1), val.append(1.0)
    doc = copy.deepcopy(SHIPPED)
    doc["nodes"] = dict(zip(ARRAYS, (feat, thr, left, right, val), strict=True))
    assert _check(doc, tmp_path, window) == "ran"
    assert not math.isnan(sum(val))
