"""The decision view (:class:`schedlab.simulator.stepper.DecisionView`): what a decision sees, in
seconds and units; tree features come from it, and nothing outside ``schedlab.rl`` reads the
environment's private state."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from schedlab.explain.features import FEATURES, candidate_rows
from schedlab.explain.tree import load_tree
from schedlab.rl.env import SchedulingEnv
from schedlab.simulator.stepper import N_JOB_FEATURES, DecisionView, log_minutes_f32

SRC = Path(__file__).resolve().parents[2] / "src" / "schedlab"
F = {name: k for k, name in enumerate(FEATURES)}


def _check_view(env: SchedulingEnv, obs: np.ndarray, info: dict) -> DecisionView:
    v = env.decision_view()
    assert env.decision_view() is v  # one view per decision
    mask = info["action_mask"]
    W = env.W
    assert v.now == info["time"] and v.phase == info["phase"] and v.queue_length == info["queue_length"]
    assert v.capacity == env.capacity and v.stop_action == W and v.stop == (len(mask) > W and bool(mask[W]))
    assert np.array_equal(v.slots, np.flatnonzero(mask[:W]))
    assert np.array_equal(v.submit, env.submit[v.job]) and np.array_equal(v.wait, v.now - v.submit)
    assert np.array_equal(v.req_time, env.est[v.job]) and np.array_equal(v.size, env.size[v.job])
    # free units: capacity minus what the running jobs hold
    running = (env.start >= 0) & (env.start + env.run > v.now)
    assert v.free == env.capacity - env.size[running].sum()
    fits = v.size <= v.free
    assert np.all(v.start_delay[fits] == 0) and np.all(v.start_delay >= 0)
    # the observation carries the same start delay, on its log-minute float32 scale
    assert np.array_equal(log_minutes_f32(v.start_delay), obs[v.slots * N_JOB_FEATURES + 5])
    if v.phase == 1:
        assert np.isfinite(v.shadow) and v.shadow >= v.now and 0 <= v.extra <= v.capacity
    else:
        assert v.shadow == np.inf and v.extra == 0
    return v


@pytest.mark.parametrize("backfill", ["easy", "agent"])
def test_view_matches_the_schedule_and_the_observation(backfill):
    env = SchedulingEnv("theta_2022", window_len=300, visible=32, backfill=backfill, split="all", kill_at_request=False)
    rng = np.random.default_rng(0)
    phases = set()
    obs, info = env.reset(options={"start": 4000})
    done = False
    while not done:
        v = _check_view(env, obs, info)
        phases.add(v.phase)
        actions, X = candidate_rows(v)
        # features in hours and units, from the view
        n = len(v.slots)
        assert np.array_equal(X[:n, F["req_time_h"]], v.req_time / 3600.0)
        assert np.array_equal(X[:n, F["wait_h"]], v.wait / 3600.0)
        assert np.array_equal(X[:, F["free_procs"]], np.full(len(X), v.free))
        np.testing.assert_allclose(X[:n, F["start_delay_h"]], np.minimum(v.start_delay, 7 * 86400) / 3600.0, rtol=2e-5)
        held, slots = v, v.slots.copy()
        obs, _, done, _, info = env.step(int(rng.choice(actions)))
        assert np.array_equal(held.slots, slots)  # a view held on is not changed by stepping
    assert phases == ({0, 1} if backfill == "agent" else {0})
    with pytest.raises(AttributeError):
        held.free = 0


def test_shipped_tree_acts_the_same_through_both_paths():
    tree = load_tree("theta_2022-dras")
    env = SchedulingEnv("theta_2022", window_len=400, visible=128, backfill="agent", backfill_order="sjf", split="all")
    env.reset(options={"start": 9000})
    done, n = False, 0
    while not done:
        a = tree.act(env)
        assert a == tree.act_reference(env)
        _, _, done, _, _ = env.step(a)
        n += 1
    assert n > 400


PRIVATE = re.compile(r"\benv\.(ist|fst|q|_obs|_mask|re|rj|ht|hj)\b|_LOGWEEK|_logmin\b")


def test_no_module_outside_rl_reads_the_environments_private_state():
    bad = []
    for path in sorted(SRC.rglob("*.py")):
        if path.relative_to(SRC).parts[0] == "rl":
            continue
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if PRIVATE.search(line):
                bad.append(f"{path.relative_to(SRC)}:{i}: {line.strip()}")
    assert not bad, "\n".join(bad)


def _history_tree(seed: int = 0):
    """A tree over EXTENDED_FEATURES that splits on the history features (fitted on random rows)."""
    from sklearn.tree import DecisionTreeRegressor

    from schedlab.explain.features import EXTENDED_FEATURES
    from schedlab.explain.tree import Tree

    rng = np.random.default_rng(seed)
    X = rng.random((400, len(EXTENDED_FEATURES))) * [4, 64, 5, 1, 8, 3, 20, 1, 64, 50, 1, 2, 8, 30, 30, 30, 30, 4, 1]
    X[:, -1] = rng.normal(0, 3, 400)  # key_accuracy: log2(runtime / estimate)
    y = -X[:, -2] + 2 * (X[:, -1] > 0) + X[:, 2]
    est = DecisionTreeRegressor(max_leaf_nodes=16, random_state=seed).fit(X, y)
    return Tree.from_sklearn(est, features=EXTENDED_FEATURES)


def test_tree_over_history_features_acts_the_same_through_both_paths_and_round_trips(tmp_path):
    tree = _history_tree()
    names = {tree.features[f] for f in tree.feature[tree.feature >= 0]}
    assert {"request_h", "key_accuracy"} <= names
    assert tree.history and tree.env.history_features  # the episode keeps what the tree reads
    loaded = load_tree(tree.save(tmp_path / "tree.json"))
    assert loaded.features == tree.features and loaded.env.history_features
    env = SchedulingEnv(
        "theta_2022", window_len=400, visible=64, estimates="predicted:ml", history_features=True, split="all"
    )
    env.reset(options={"start": 12000})
    done, n, accuracies = False, 0, set()
    while not done:
        a = loaded.act(env)
        assert a == loaded.act_reference(env)
        accuracies.update(np.round(env.decision_view().accuracy, 3).tolist())
        _, _, done, _, _ = env.step(a)
        n += 1
    assert n > 400 and len(accuracies) > 5  # the accuracy feature varied along the episode


def test_a_tree_with_unknown_features_is_refused(tmp_path):
    import json

    from schedlab.errors import SchedlabError

    d = _history_tree().to_dict()
    d["features"] = [*d["features"][:-1], "secret_feature"]
    path = tmp_path / "tree.json"
    path.write_text(json.dumps(d))
    with pytest.raises(SchedlabError, match="tree reads features"):
        load_tree(path)
