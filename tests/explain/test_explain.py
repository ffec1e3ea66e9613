"""IRL distillation: DAgger recovers a known rule, the tree is a policy, its exports agree with it,
and bad inputs get clear errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest

from schedlab.explain import DaggerDistiller, HeuristicTeacher, Tree, load_tree
from schedlab.explain.dagger import Decisions, rollout
from schedlab.explain.export import to_dot, to_python, to_text
from schedlab.explain.features import FEATURES
from schedlab.rl.env import SchedulingEnv
from schedlab.rl.episodes import eval_window_starts

SCHEDLAB = [sys.executable, "-m", "schedlab.cli"]


@pytest.fixture(scope="module")
def lublin_env():
    return SchedulingEnv("lublin_256", window_len=256, visible=64, backfill="easy", split="all", backfill_order="sjf")


@pytest.fixture(scope="module")
def sjf_distilled(lublin_env):
    train = eval_window_starts(0, 5000, 256, 6, 0)
    val = eval_window_starts(5000, 7000, 256, 3, 1)
    return DaggerDistiller(iterations=3, episodes_per_iteration=3, max_leaves=16).fit(
        HeuristicTeacher("sjf"), lublin_env, train, val
    )


@pytest.fixture(scope="module")
def held_out(lublin_env):
    """Teacher (SJF) states on windows DAgger never saw."""
    data = Decisions()
    for s in eval_window_starts(7000, 10000, 256, 4, 2):
        rollout(lublin_env, int(s), HeuristicTeacher("sjf"), None, 1.0, np.random.default_rng(0), data)
    return data


def test_dagger_recovers_sjf_as_a_shallow_tree(sjf_distilled, held_out):
    tree = sjf_distilled.tree_
    assert tree.n_leaves <= 4 and tree.depth <= 2
    assert FEATURES[tree.feature[0]] == "req_rank"  # "the shortest request in the queue"
    assert len(held_out) > 1000
    assert held_out.fidelity(tree) >= 0.99
    assert (
        len(sjf_distilled.history_) == 3
        and sjf_distilled.history_[-1]["decisions"] > sjf_distilled.history_[0]["decisions"]
    )


def test_sjf_tree_schedules_exactly_like_the_engines_sjf(sjf_distilled, lublin_env):
    from schedlab.experiments import compare
    from schedlab.explain.dagger import schedule

    starts = [7100, 8300]
    tree_runs = schedule(sjf_distilled.tree_.act, lublin_env, starts)
    engine = compare(lublin_env.workload, ["sjf"], ["easy"], window_starts=starts, window_len=256)[0].windows
    assert [m["mean_bsld"] for m in tree_runs] == pytest.approx([m["mean_bsld"] for m in engine])


def _random_tree(rng, n_inner=12) -> Tree:
    """A random valid tree over the features (children after parents)."""
    feature, threshold, left, right = [], [], [], []
    todo, n = [0], 1
    nodes = {}
    while todo:
        i = todo.pop(0)
        if len(nodes) < n_inner:
            f = int(rng.integers(0, len(FEATURES)))
            nodes[i] = (f, float(rng.choice([0.5, 1.5, 3.0, 10.0, 40.0, 200.0])), n, n + 1)
            todo += [n, n + 1]
            n += 2
        else:
            nodes[i] = (-1, -2.0, -1, -1)
    for i in range(n):
        f, th, lft, rgt = nodes[i]
        feature.append(f)
        threshold.append(th)
        left.append(lft)
        right.append(rgt)
    return Tree(np.array(feature), np.array(threshold), np.array(left), np.array(right), rng.normal(size=n))


@pytest.mark.parametrize("backfill", ["easy", "agent"])
def test_compiled_tree_path_equals_the_numpy_reference(backfill):
    """Tree.act (numba: features + descent in one call) == candidate_rows + predict + argmax."""
    env = SchedulingEnv("theta_2022", window_len=300, visible=32, backfill=backfill, split="all")
    rng = np.random.default_rng(5)
    for k in range(4):
        tree = _random_tree(rng)
        env.reset(options={"start": 2000 + 3000 * k})
        done, n = False, 0
        while not done:
            a = tree.act(env)
            assert a == tree.act_reference(env)
            _, _, done, _, _ = env.step(a)
            n += 1
        assert n > 300


def test_exported_python_function_takes_the_trees_decisions(sjf_distilled, held_out):
    rng = np.random.default_rng(1)
    for tree in (sjf_distilled.tree_, _random_tree(rng, 20)):
        src = to_python(tree)
        assert "import" not in src
        ns: dict = {}
        exec(compile(src, "tree_priority.py", "exec"), ns)
        priority = ns["priority"]
        for X in held_out.X[:300]:
            mine = [priority(*row) for row in X]
            assert np.array_equal(np.argmax(mine), np.argmax(tree.predict(X)))
            assert np.allclose(mine, tree.predict(X))


def test_json_round_trip(tmp_path, sjf_distilled, held_out):
    tree = sjf_distilled.tree_
    tree.meta = {"teacher": "sjf"}
    back = load_tree(tree.save(tmp_path / "t.json"))
    for name in ("feature", "threshold", "left", "right", "value"):
        assert np.array_equal(getattr(tree, name), getattr(back, name))
    X = np.concatenate(held_out.X[:50])
    assert np.array_equal(tree.predict(X), back.predict(X)) and back.meta == {"teacher": "sjf"}


def _from_dot(text: str) -> Tree:
    """Rebuild a tree from our DOT (labels carry feature/threshold or the leaf score)."""
    inner = {int(i): (f, float(t)) for i, f, t in re.findall(r'n(\d+) \[label="(\w+) <= ([^"]+)"\]', text)}
    leaves = {int(i): float(v) for i, v in re.findall(r'n(\d+) \[label="score ([^"]+)"', text)}
    edges = {(int(a), lab): int(b) for a, b, lab in re.findall(r"n(\d+) -> n(\d+) \[label=\"(yes|no)\"\]", text)}
    n = len(inner) + len(leaves)
    feature = np.array([FEATURES.index(inner[i][0]) if i in inner else -1 for i in range(n)])
    threshold = np.array([inner[i][1] if i in inner else -2.0 for i in range(n)])
    left = np.array([edges.get((i, "yes"), -1) for i in range(n)])
    right = np.array([edges.get((i, "no"), -1) for i in range(n)])
    value = np.array([leaves.get(i, 0.0) for i in range(n)])
    return Tree(feature, threshold, left, right, value)


def test_dot_round_trip_and_text_rules(sjf_distilled):
    rng = np.random.default_rng(2)
    for tree in (sjf_distilled.tree_, _random_tree(rng, 15)):
        back = _from_dot(to_dot(tree))
        assert np.array_equal(back.feature, tree.feature)
        assert np.array_equal(back.left, tree.left) and np.array_equal(back.right, tree.right)
        inner = tree.feature >= 0
        assert np.allclose(back.threshold[inner], tree.threshold[inner], rtol=1e-5)
        text = to_text(tree)
        assert text.count("score =") == tree.n_leaves and text.count("if ") == int(inner.sum())


def test_critical_state_rules(lublin_env):
    train = eval_window_starts(0, 5000, 256, 4, 0)
    val = eval_window_starts(5000, 7000, 256, 2, 1)
    d = DaggerDistiller(iterations=1, episodes_per_iteration=2, max_leaves=8, critical="queue:5", prune=False)
    d.fit(HeuristicTeacher("sjf"), lublin_env, train, val)
    assert 0 < d.history_[0]["critical"] < d.history_[0]["decisions"]
    assert all(q > 5 for q in np.asarray(d.data_.queue)[d.data_.select("queue:5")])
    with pytest.raises(ValueError, match="no critical states"):
        DaggerDistiller(iterations=1, episodes_per_iteration=1, critical="queue:100000").fit(
            HeuristicTeacher("sjf"), lublin_env, train, val
        )
    with pytest.raises(ValueError, match="unknown critical-state rule"):
        DaggerDistiller(critical="often").fit(HeuristicTeacher("sjf"), lublin_env, train, val)


def test_tree_policy_in_simulate_compare_and_explain_cli(tmp_path):
    out = tmp_path / "ex"
    r = subprocess.run(
        [
            *SCHEDLAB,
            "explain",
            "--model",
            "sjf",
            "--trace",
            "lublin_256",
            "--window-len",
            "256",
            "--iterations",
            "1",
            "--max-leaves",
            "8",
            "--windows",
            "2",
            "--out",
            str(out),
            "--json",
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["fidelity"] >= 0.99 and res["tree"]["leaves"] <= 8
    assert {"tree.json", "tree.txt", "tree.dot", "tree_priority.py", "explain.json"} <= {p.name for p in out.iterdir()}
    sjf = res["results"]["sjf"]["mean_bsld"]
    assert res["results"][next(k for k in res["results"] if k.startswith("tree"))]["mean_bsld"] == pytest.approx(sjf)
    r = subprocess.run(
        [
            *SCHEDLAB,
            "compare",
            "--trace",
            "lublin_256",
            "--policies",
            f"sjf,tree:{out}",
            "--backfill",
            "easy",
            "--window-starts",
            "7100",
            "--window-len",
            "256",
            "--json",
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)["results"]
    assert rows[0]["mean"]["mean_bsld"] == pytest.approx(rows[1]["mean"]["mean_bsld"])
    r = subprocess.run(
        [*SCHEDLAB, "explain", "--compare", str(out), str(out / "tree.json")], capture_output=True, text=True
    )
    assert r.returncode == 0 and "req_rank" in r.stdout, r.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["explain", "--model", "/nonexistent/model.pt"], "no model file"),
        (["explain", "--model", "lublin_256-scorer", "--trace", "theta_2022"], "trained on lublin_256"),
        (["explain", "--model", "sjf", "--critical", "sometimes"], "unknown critical-state rule"),
        (["explain", "--model", "sjf", "--form", "forest"], "--form"),
        (["explain"], "--model"),
        (["explain", "--compare", "/nonexistent", "/nonexistent2"], "no tree file"),
        (
            [
                "explain",
                "--model",
                "sjf",
                "--trace",
                "lublin_256",
                "--window-len",
                "256",
                "--iterations",
                "1",
                "--critical",
                "queue:100000",
            ],
            "no critical states",
        ),
        (["simulate", "--trace", "cqsim_test", "--policy", "tree:/nonexistent/tree.json"], "no tree file"),
    ],
)
def test_bad_explain_inputs_fail_cleanly(args, message):
    r = subprocess.run(SCHEDLAB + args, capture_output=True, text=True)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and message in r.stderr


def test_corrupt_tree_file_fails_cleanly(tmp_path):
    bad = tmp_path / "tree.json"
    bad.write_text('{"format": "schedlab-tree/1", "features": []}')
    r = subprocess.run(
        [*SCHEDLAB, "simulate", "--trace", "cqsim_test", "--policy", f"tree:{bad}"], capture_output=True, text=True
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr and "tree" in r.stderr
    bad.write_text("not json")
    r = subprocess.run(
        [*SCHEDLAB, "simulate", "--trace", "cqsim_test", "--policy", f"tree:{bad}"], capture_output=True, text=True
    )
    assert r.returncode == 2 and "not a readable tree" in r.stderr


def test_pruning_keeps_the_smallest_tree_within_tolerance():
    """The kept tree is the smallest pruning level whose validation bsld is within the tolerance of
    the best level's (the unpruned iterate included)."""
    env = SchedulingEnv("theta_2022", window_len=256, visible=32, backfill="easy", split="all")
    train = eval_window_starts(0, 12000, 256, 6, 0)
    val = eval_window_starts(12000, 16000, 256, 4, 1)
    d = DaggerDistiller(iterations=1, episodes_per_iteration=3, max_leaves=32, prune_tolerance=0.02)
    d.fit(HeuristicTeacher("saf"), env, train, val)
    levels = [(d.history_[0]["leaves"], d.history_[0]["val_bsld"])] + [
        (p["leaves"], p["val_bsld"]) for p in d.prune_path_
    ]
    best = min(v for _, v in levels)
    ok = [leaves for leaves, v in levels if v <= best * 1.02]
    assert d.tree_.n_leaves == min(ok)
    assert d.val_bsld_ <= best * 1.02


def test_classification_form_recovers_sjf_too(lublin_env, held_out):
    train = eval_window_starts(0, 5000, 256, 4, 0)
    val = eval_window_starts(5000, 7000, 256, 2, 1)
    d = DaggerDistiller(iterations=2, episodes_per_iteration=2, max_leaves=8, form="classification")
    d.fit(HeuristicTeacher("sjf"), lublin_env, train, val)
    assert d.tree_.n_leaves <= 4 and held_out.fidelity(d.tree_) >= 0.99
    assert np.all((d.tree_.value >= 0) & (d.tree_.value <= 1))  # leaf scores are shares of "chosen"


@pytest.mark.skipif(__import__("shutil").which("dot") is None, reason="Graphviz (dot) is not installed")
def test_svg_written_when_graphviz_is_installed(tmp_path, sjf_distilled):
    from schedlab.explain.export import write_all

    paths = write_all(sjf_distilled.tree_, tmp_path)
    svg = tmp_path / "tree.svg"
    assert svg in paths and "<svg" in svg.read_text() and "req_rank" in svg.read_text()
