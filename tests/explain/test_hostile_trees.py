"""Tree files are validated before compiled code walks them: a crafted tree is a clear error
naming the file, never a segfault, an endless walk or a silently different schedule."""

from __future__ import annotations

import copy
import json
from importlib import resources

import pytest

from schedlab.errors import SchedlabError
from schedlab.explain.tree import load_tree

SHIPPED = json.loads((resources.files("schedlab") / "data" / "trees" / "theta_2022-dras.json").read_text())


def _mutate(change):
    d = copy.deepcopy(SHIPPED)
    change(d)
    return d


def _inner(d):
    return next(i for i, f in enumerate(d["nodes"]["feature"]) if f >= 0)


def _leaf(d):
    return next(i for i, f in enumerate(d["nodes"]["feature"]) if f < 0)


CASES = {
    "child out of range": lambda d: d["nodes"]["left"].__setitem__(_inner(d), 10**6),
    "child before parent (cycle)": lambda d: d["nodes"]["right"].__setitem__(_inner(d), 0),
    "negative child": lambda d: d["nodes"]["left"].__setitem__(_inner(d), -3),
    "two parents": lambda d: d["nodes"]["right"].__setitem__(_inner(d), d["nodes"]["left"][_inner(d)]),
    "feature out of range": lambda d: d["nodes"]["feature"].__setitem__(_inner(d), 99),
    "feature below -1": lambda d: d["nodes"]["feature"].__setitem__(_leaf(d), -7),
    "NaN threshold": lambda d: d["nodes"]["threshold"].__setitem__(_inner(d), float("nan")),
    "infinite leaf": lambda d: d["nodes"]["value"].__setitem__(_leaf(d), float("inf")),
    "ragged arrays": lambda d: d["nodes"]["value"].pop(),
    "2-D array": lambda d: d["nodes"].__setitem__("threshold", [[t] for t in d["nodes"]["threshold"]]),
    "int beyond int64": lambda d: d["nodes"]["left"].__setitem__(_inner(d), 10**30),
    "text where numbers go": lambda d: d["nodes"]["value"].__setitem__(_leaf(d), "x"),
    "huge visible": lambda d: d["env_kwargs"].__setitem__("visible", 10**12),
    "fractional visible": lambda d: d["env_kwargs"].__setitem__("visible", 2.5),
    "missing nodes": lambda d: d.pop("nodes"),
    "not a tree": lambda d: d.__setitem__("format", "pickle"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_crafted_trees_are_refused_with_the_file_named(case, tmp_path):
    path = tmp_path / "tree.json"
    path.write_text(json.dumps(_mutate(CASES[case])))
    with pytest.raises(SchedlabError) as info:
        load_tree(path)
    assert str(path) in str(info.value)  # the message names the file


def test_the_shipped_tree_passes_the_checks():
    assert load_tree("theta_2022-dras").n_leaves >= 2
