"""The gymnasium environment ``schedlab/Scheduling-v0`` (:mod:`schedlab.rl.env`) over the step-wise
engine (:mod:`schedlab.simulator.stepper`).

  * gymnasium's ``check_env`` passes (every backfill mode, theta_2022 and a synthetic workload)
  * sb3-contrib's MaskablePPO trains on it and, greedy with the mask, never takes an invalid action
  * one copy of the rules: a heuristic agent (queue order = policy, always slot 0) reproduces
    ``simulate(window, policy, backfill)`` exactly, on theta_2022 windows and random workloads
  * masks: phase 0 = the first min(queue, W) slots; phase 1 (agent backfill) = EASY's test around
    the reserved job (recomputed here from the schedule), plus ``stop``; padding rows are zero;
    invalid actions are replaced by the first valid one and counted
  * rewards: DRAS's per-decision reward by hand; episode rewards = the window's metrics
    (cross-checked with :func:`schedlab.metrics.summarize`); a baseline equal to the agent gives 0
  * invariants under random actions: no overcommit, no start before submit, every job starts
    exactly once, at the decision time; observations stay in the observation space
  * determinism of windows and schedules; test windows are fixed, inside the test split, disjoint
  * bad options raise ValueError with a clear message
"""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schedlab.metrics import bounded_slowdown, summarize
from schedlab.rl import ENV_ID, SchedulingEnv
from schedlab.rl.episodes import cached_trace, eval_window_starts, split_bounds
from schedlab.simulator import simulate
from schedlab.simulator.stepper import (
    F_SHADOW,
    F_T,
    I_EXTRA,
    I_FREE,
    I_NQ,
    I_RESV,
    N_CLUSTER_FEATURES,
    N_JOB_FEATURES,
)
from tests.helpers import make_workload

F = N_JOB_FEATURES
BACKFILLS = ("easy", "none", "agent")
HOUR = 3600.0


@pytest.fixture(scope="module")
def theta():
    return cached_trace("theta_2022", "textbook")  # the copy every env of this process shares


def small_workload(seed=0, n=40, capacity=16):
    rng = np.random.default_rng(seed)
    submit = np.cumsum(rng.integers(0, 40, n)).astype(float)
    run = rng.integers(1, 200, n).astype(float)
    req = run + rng.integers(0, 100, n)
    procs = rng.integers(1, capacity + 1, n)
    return make_workload(submit, run, procs, req_time=req, capacity=capacity, nodes=capacity // 2)


def random_valid(rng):
    return lambda env, obs, info: int(rng.choice(np.flatnonzero(info["action_mask"])))


def always(a):
    return lambda env, obs, info: a


def play(env, choose, seed=None, options=None):
    """One episode; returns (observations, infos, rewards) of every decision (infos[-1] is final)."""
    obs, info = env.reset(seed=seed, options=options)
    observations, infos, rewards = [obs], [info], []
    done = False
    while not done:
        obs, r, done, trunc, info = env.step(choose(env, obs, info))
        assert not trunc
        observations.append(obs)
        infos.append(info)
        rewards.append(r)
    return observations, infos, rewards


def max_usage(start, end, size):
    times = np.concatenate([end, start])
    delta = np.concatenate([-size, size])
    order = np.lexsort((delta, times))  # at equal times, ends before starts
    return np.cumsum(delta[order]).max()


# ------------------------------------------------------------------------------ gymnasium API
@pytest.mark.parametrize("backfill", BACKFILLS)
@pytest.mark.parametrize("split,reward", [("train", "bsld"), ("test", "dras")])
def test_check_env_theta(backfill, split, reward):
    env = gym.make(ENV_ID, trace="theta_2022", window_len=64, visible=16, backfill=backfill, split=split, reward=reward)
    assert isinstance(env.unwrapped, SchedulingEnv)
    assert env.action_space.n == 16 + (backfill == "agent")
    assert env.observation_space.shape == (16 * F + N_CLUSTER_FEATURES,)
    check_env(env.unwrapped)
    env.close()


@pytest.mark.filterwarnings("ignore:.*alternative render modes")  # made directly, so no spec: expected
@pytest.mark.parametrize("backfill", BACKFILLS)
@pytest.mark.parametrize("window_len", [None, 10])
def test_check_env_synthetic(backfill, window_len):
    env = SchedulingEnv(
        small_workload(),
        window_len=window_len,
        visible=4,
        backfill=backfill,
        split="all",
        capacity_unit="nodes",
        reward="dras",
    )
    check_env(env)
    # reset(seed) is deterministic also where episodes cycle through fixed windows
    assert env.reset(seed=5)[1]["window_start"] == env.reset(seed=5)[1]["window_start"]


def test_maskable_ppo_learns_and_respects_the_mask():
    torch = pytest.importorskip("torch")
    sb3_contrib = pytest.importorskip("sb3_contrib")
    torch.set_num_threads(1)
    env = gym.make(ENV_ID, trace="theta_2022", window_len=64, visible=16, backfill="agent", reward="dras")
    model = sb3_contrib.MaskablePPO("MlpPolicy", env, n_steps=128, batch_size=64, seed=0, device="cpu")
    model.learn(total_timesteps=300)
    assert model.num_timesteps >= 300
    # greedy with the env's mask: a whole episode with no invalid action
    obs, info = env.reset(seed=1)
    done = False
    while not done:
        action, _ = model.predict(obs, action_masks=env.unwrapped.action_masks(), deterministic=True)
        assert info["action_mask"][int(action)]
        obs, _, done, _, info = env.step(action)
    assert info["invalid_actions"] == 0
    assert np.all(env.unwrapped.start >= env.unwrapped.submit)


# ------------------------------------------------------------------- one copy of the rules
EQUIV_POLICIES = ("fcfs", "sjf", "saf", "f1", "largest")


def heuristic_start(wl, policy, backfill, **options):
    """The env on the whole workload as one episode, queue and EASY's backfill candidates ordered by
    ``policy``, always slot 0."""
    env = SchedulingEnv(
        wl,
        window_len=None,
        visible=len(wl),
        backfill=backfill,
        queue_order=policy,
        backfill_order=policy,
        split="all",
        **options,
    )
    _, infos, _ = play(env, always(0))
    assert infos[-1]["invalid_actions"] == 0
    return env.start


@pytest.mark.parametrize("backfill", ["easy", "none"])
@pytest.mark.parametrize("policy", EQUIV_POLICIES)
def test_heuristic_agent_equals_engine_on_theta_windows(theta, policy, backfill):
    for s in theta.window_starts(2, 1500, seed=0):
        part = theta.window(int(s), 1500)
        ref = simulate(part, policy=policy, backfill=backfill).start
        assert np.array_equal(heuristic_start(part, policy, backfill), ref)


@pytest.mark.parametrize("policy", ("fcfs", "sjf", "saf", "f1", "f3", "f4", "largest"))
def test_windows_of_the_trace_equal_engine_on_the_window(theta, policy):
    # the env on the whole trace, episode = window s: the queue order is the policy on the
    # window's re-based submits, as Workload.window / compare (matters for f1..f4: log10(submit))
    env = SchedulingEnv(
        "theta_2022",
        window_len=1000,
        visible=1000,
        backfill="easy",
        queue_order=policy,
        backfill_order=policy,
        split="all",
    )
    for s in (3000, 20000):
        play(env, always(0), options={"start": s})
        assert np.array_equal(env.start, simulate(theta.window(s, 1000), policy=policy, backfill="easy").start)


@st.composite
def workloads(draw, max_jobs=30):
    nodes = draw(st.integers(1, 6))
    per_node = draw(st.integers(1, 4))
    capacity = nodes * per_node
    n = draw(st.integers(1, max_jobs))
    submit = np.cumsum(draw(st.lists(st.integers(0, 30), min_size=n, max_size=n))).astype(float)
    run = draw(st.lists(st.integers(1, 100), min_size=n, max_size=n))
    req = [max(1, r + draw(st.integers(-20, 80))) for r in run]
    procs = draw(st.lists(st.integers(1, capacity), min_size=n, max_size=n))
    return make_workload(submit, run, procs, req_time=req, capacity=capacity, nodes=nodes)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    wl=workloads(),
    policy=st.sampled_from((*EQUIV_POLICIES, "ljf", "laf", "smallest", "f2")),
    backfill=st.sampled_from(["easy", "none"]),
    capacity_unit=st.sampled_from(["procs", "nodes"]),
    estimates=st.sampled_from(["requested", "actual"]),
    kill=st.booleans(),
)
def test_heuristic_agent_equals_engine_property(wl, policy, backfill, capacity_unit, estimates, kill):
    # an episode is simulated from its first submit (times re-based to 0), as Workload.window
    wl = wl.window(0, len(wl))
    opts = dict(capacity_unit=capacity_unit, estimates=estimates, kill_at_request=kill)
    ref = simulate(wl, policy=policy, backfill=backfill, **opts).start
    assert np.array_equal(heuristic_start(wl, policy, backfill, **opts), ref)


# ----------------------------------------------------------------------------------- masks
def easy_expected_mask(env):
    """Phase-1 mask from the schedule alone: shadow time / extra units of the reserved job from
    the running jobs' estimated ends, then EASY's test for every visible waiting job."""
    t = env.fst[F_T]
    running = (env.start >= 0) & (env.start + env.run > t)
    free = env.capacity - env.size[running].sum()
    assert free == env.ist[I_FREE]
    resv = env.ist[I_RESV]
    need = env.size[resv]
    order = np.argsort(env.est_end[running], kind="stable")
    ends, avail = env.est_end[running][order], free + np.cumsum(env.size[running][order])
    k = np.argmax(avail >= need)
    assert avail[k] >= need
    shadow, extra = max(ends[k], t), avail[k] - need
    assert shadow == env.fst[F_SHADOW] and extra == env.ist[I_EXTRA]
    queue = env.q[: env.ist[I_NQ]]
    waiting = np.flatnonzero(env.start < 0)
    assert sorted(queue.tolist()) == [j for j in waiting if env.submit[j] <= t]
    mask = np.zeros(env.W + 1, dtype=bool)
    for slot, j in enumerate(queue[: env.W]):
        s, e = env.size[j], env.est[j]
        mask[slot] = j != resv and s <= free and (t + e <= shadow or s <= extra)
    mask[env.W] = True  # stop
    return mask, queue


@pytest.mark.parametrize("W", [4, 64])
def test_masks_follow_phase_rules_on_theta(W):
    env = SchedulingEnv("theta_2022", window_len=256, visible=W, backfill="agent", split="train")
    rng = np.random.default_rng(0)
    seen = {0: 0, 1: 0}
    for ep in range(2):
        obs, info = env.reset(seed=ep)
        done = False
        while not done:
            mask, nq = info["action_mask"], info["queue_length"]
            assert np.array_equal(mask, env.action_masks())
            assert mask.any()
            rows = obs[: W * F].reshape(W, F)
            nv = min(nq, W)
            assert np.all(rows[:nv, 0] == 1) and not rows[nv:].any(), "padding rows must be all zero"
            seen[info["phase"]] += 1
            if info["phase"] == 0:
                assert mask[:nv].all() and not mask[nv:].any()
                assert not rows[:, 7:9].any()  # backfillable / reserved only in phase 1
            else:
                expected, queue = easy_expected_mask(env)
                assert np.array_equal(mask, expected)
                reserved = np.flatnonzero(queue[:W] == env.ist[I_RESV])
                assert len(reserved) == 1 and not mask[reserved[0]]  # the reserved job is visible, not valid
                assert np.array_equal(rows[:, 7] == 1, expected[:W])
                assert np.array_equal(np.flatnonzero(rows[:, 8]), reserved)
            # mostly valid actions, sometimes an arbitrary one (replaced by the first valid)
            a = int(rng.integers(0, W + 1)) if rng.random() < 0.1 else int(rng.choice(np.flatnonzero(mask)))
            taken = a if mask[a] else int(np.flatnonzero(mask)[0])
            before, phase, t, free = env.invalid_actions, info["phase"], info["time"], env.ist[I_FREE]
            chosen = env.q[taken] if taken < W else -1
            started_before = env.start >= 0
            obs, _, done, _, info = env.step(a)
            assert info["invalid_actions"] == before + (not mask[a])
            new = np.flatnonzero(~started_before & (env.start >= 0))
            if chosen < 0:  # stop: nothing starts
                assert phase == 1 and len(new) == 0
            elif phase == 1 or env.size[chosen] <= free:  # a backfill pick starts now, alone
                assert new.tolist() == [chosen] and env.start[chosen] == t
            else:  # reserved: it does not start; the agent (phase 1) does the backfilling
                assert len(new) == 0
    assert seen[0] > 100 and seen[1] > 10, seen


# Capacity 10.  J0 holds 6 units for [0, 10).  At 1 arrive J1 (8 units, the one to reserve: shadow
# 10, extra 10 - 8 = 2), J2 (4 units, 5 s: ends by 10, backfillable), J3 (3 units, 50 s: runs past
# 10 and 3 > 2 extra, not), J4 (2 units, 50 s: runs past 10 but fits the 2 extra units,
# backfillable), J5 (5 units, 1 s: 5 > 4 free, not).
PHASE_CASE = dict(submit=[0, 1, 1, 1, 1, 1], run=[10, 10, 5, 50, 50, 1], procs=[6, 8, 4, 3, 2, 5])


def test_agent_backfill_mask_by_hand():
    env = SchedulingEnv(
        make_workload(**PHASE_CASE), window_len=None, visible=8, backfill="agent", split="all", reward="dras"
    )
    obs, info = env.reset()
    assert info["time"] == 0 and info["phase"] == 0
    assert info["action_mask"].tolist() == [True] + [False] * 8
    obs, r, done, _, info = env.step(0)  # J0 starts
    assert info["time"] == 1 and info["phase"] == 0 and info["queue_length"] == 5
    assert info["action_mask"].tolist() == [True] * 5 + [False] * 4  # no stop in phase 0
    obs, r, done, _, info = env.step(0)  # J1 does not fit: reserved
    assert info["phase"] == 1 and info["time"] == 1 and not done
    assert info["action_mask"].tolist() == [False, True, False, True, False, False, False, False, True]
    rows, g = obs[: 8 * F].reshape(8, F), 8 * F
    assert rows[:, 8].tolist() == [1, 0, 0, 0, 0, 0, 0, 0]  # reserved
    assert rows[:, 7].tolist() == [0, 1, 0, 1, 0, 0, 0, 0]  # backfillable
    assert rows[:, 4].tolist() == [0, 1, 1, 1, 0, 0, 0, 0]  # fits now (4 free units)
    assert not rows[5:].any()
    assert obs[g] == pytest.approx(0.4) and obs[g + 2] == 1  # free, phase
    assert obs[-1] == pytest.approx(0.2)  # extra units / capacity
    assert obs[-2] == pytest.approx(np.log1p(9 / 60) / np.log1p(10080))  # shadow 10 - now 1
    state = env.get_state()
    # J3 (slot 2) is not valid: replaced by the first valid slot, J2, which fills the machine
    obs, r, done, _, info = env.step(2)
    assert info["invalid_actions"] == 1 and env.start[2] == 1 and env.start[3] < 0
    assert info["phase"] == 0 and info["time"] == 6  # the pass ended; next event: J2 ends
    # from the same state: J4 uses the 2 extra units; then nothing else passes the test
    env.set_state(state)
    obs, r, done, _, info = env.step(3)
    assert info["invalid_actions"] == 0 and env.start[4] == 1 and env.ist[I_EXTRA] == 0
    assert info["phase"] == 0 and info["time"] == 10
    # or stop: the pass ends at once; DRAS pays the utilisation term only (6 of 10 units busy)
    env.set_state(state)
    obs, r, done, _, info = env.step(8)
    assert r == pytest.approx(0.6 / 3)
    assert info["phase"] == 0 and info["time"] == 10 and np.all(env.start[1:] < 0)
    assert env.start[0] == 0


def logmin(x):
    return min(np.log1p(max(x, 0) / 60) / np.log1p(10080), 1.0)


def test_observation_features_by_hand():
    # Capacity 10, FCFS + EASY, W = 3.  J0 holds the machine for [0, 40000) (estimate = run);
    # J1 (1 unit, 1 s) arrives with it and waits; J2 (4 units, 600 s) arrives at 100.
    wl = make_workload(submit=[0, 0, 100], run=[40000, 1, 600], procs=[10, 1, 4], capacity=10)
    env = SchedulingEnv(wl, window_len=None, visible=3, backfill="easy", split="all")
    obs, info = env.reset()
    obs, _, _, _, info = env.step(0)  # J0 starts
    obs, _, _, _, info = env.step(0)  # J1 reserved at 40000; the pass ends
    assert info["time"] == 100 and info["queue_length"] == 2
    rows, c = obs[: 3 * F].reshape(3, F), obs[3 * F :]
    # valid, wait, req_time, procs, fits_now, start_delay, bsld_if_now, backfillable, reserved
    expected_rows = [
        [1, logmin(100), logmin(1), 0.1, 0, logmin(39900), np.log10(101 / 10) / 3, 0, 0],
        [1, 0, logmin(600), 0.4, 0, logmin(39900), 0, 0, 0],
        [0] * F,
    ]
    np.testing.assert_allclose(rows, expected_rows, rtol=1e-6, atol=1e-7)
    # free, queue_length, phase, free by +10 min .. +48 h (J0 ends at 40000), resv_delay, extra
    expected_cluster = [0, 2 / 5, 0, 0, 0, 0, 0, 1, 1, 0, 0]
    np.testing.assert_allclose(c, expected_cluster, rtol=1e-6, atol=1e-7)
    obs, _, _, _, info = env.step(0)  # J1 again: still blocked
    assert info["time"] == 40000
    rows = obs[: 3 * F].reshape(3, F)
    # J1 waited 40000 s for a 1 s job: bounded slowdown 4000.1, log10 / 3 > 1, clipped to 1
    np.testing.assert_allclose(rows[0], [1, logmin(40000), logmin(1), 0.1, 1, 0, 1, 0, 0], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(
        rows[1], [1, logmin(39900), logmin(600), 0.4, 1, 0, np.log10(40500 / 600) / 3, 0, 0], rtol=1e-6, atol=1e-7
    )
    np.testing.assert_allclose(obs[3 * F : 3 * F + 3], [1, 2 / 5, 0])
    assert env.observation_space.contains(obs)


def test_invalid_actions_in_phase_0_are_replaced_and_counted():
    wl = make_workload(submit=[0, 0, 0], run=[10, 10, 10], procs=[1, 1, 1], capacity=10)
    env = SchedulingEnv(wl, window_len=None, visible=5, backfill="easy", split="all", queue_order="fcfs")
    _, info = env.reset()
    assert info["action_mask"].tolist() == [True, True, True, False, False]
    _, _, _, _, info = env.step(4)  # padding slot -> slot 0 (J0)
    assert info["invalid_actions"] == 1 and env.start.tolist() == [0, -1, -1]
    _, _, _, _, info = env.step(-1)  # out of range -> slot 0 (J1)
    assert info["invalid_actions"] == 2 and env.start.tolist() == [0, 0, -1]
    _, _, done, _, info = env.step(0)
    assert done and info["invalid_actions"] == 2
    assert env.reset()[1]["invalid_actions"] == 0  # per episode


# --------------------------------------------------------------------------------- rewards
def test_dras_reward_by_hand():
    # Capacity 10, no backfilling.  J0 holds the machine for 10 h; J1 (3 units) arrives at 100,
    # J2 (5 units) at 200.  Reward = util after / 3 + wait / max(longest wait, 6 h) / 3 + units / 10 / 3.
    wl = make_workload(submit=[0, 100, 200], run=[36000, 50, 50], procs=[10, 3, 5], capacity=10)
    env = SchedulingEnv(wl, window_len=None, visible=4, backfill="none", split="all", reward="dras")
    _, info = env.reset()
    floor = 6 * HOUR
    steps = [  # (action, time of the decision, expected reward)
        (0, 0, 1 / 3 + 0 + 1 / 3),  # J0 starts: machine full
        (0, 100, 1 / 3 + 0 / floor / 3 + 0.3 / 3),  # J1 reserved (does not start)
        (0, 200, 1 / 3 + 100 / floor / 3 + 0.3 / 3),  # J1 again, waited 100 s (< 6 h floor)
        (1, 36000, 0.5 / 3 + (35800 / 35900) / 3 + 0.5 / 3),  # J2 starts; J1 waited longest
        (0, 36000, 0.8 / 3 + 1 / 3 + 0.3 / 3),  # J1 starts, it is the longest waiter
    ]
    for k, (a, t, expected) in enumerate(steps):
        assert info["time"] == t
        _, r, done, _, info = env.step(a)
        assert r == pytest.approx(expected, rel=1e-12), k
        assert done == (k == len(steps) - 1)
    assert env.start.tolist() == [0, 36000, 36000]


@pytest.mark.parametrize("backfill", BACKFILLS)
def test_episode_rewards_equal_window_metrics(theta, backfill):
    results = {}
    for reward in ("bsld", "wait", "util"):
        env = gym.make(ENV_ID, trace="theta_2022", window_len=128, visible=32, backfill=backfill, reward=reward)
        _, infos, rewards = play(env, random_valid(np.random.default_rng(1)), seed=7)
        assert len(rewards) > 128 and not any(rewards[:-1])
        u = env.unwrapped
        m = u.episode_metrics()
        assert infos[-1]["episode_metrics"] == m
        s = summarize(u.submit, u.start, u.start + u.run, u.run, u.size, u.capacity)
        assert m["mean_bsld"] == pytest.approx(s["mean_bsld"], rel=1e-12)
        assert m["mean_wait"] == pytest.approx(s["mean_wait"], rel=1e-12)
        assert m["utilization"] == pytest.approx(s["utilization"], rel=1e-12)
        # the trace's own jobs: rebased submits, runs clipped at the request, sizes in processors
        sl = slice(u.window_start, u.window_start + 128)
        assert np.array_equal(u.submit, theta.submit[sl] - theta.submit[sl][0])
        assert np.array_equal(u.run, np.minimum(theta.run[sl], theta.req_time[sl]))
        wait = u.start - u.submit
        assert m["mean_bsld"] == pytest.approx(np.mean(np.maximum(1, (wait + u.run) / np.maximum(u.run, 10))))
        assert np.array_equal(bounded_slowdown(wait, u.run), np.maximum(1, (wait + u.run) / np.maximum(u.run, 10)))
        expected = {"bsld": -m["mean_bsld"], "wait": -m["mean_wait"] / HOUR, "util": m["utilization"]}[reward]
        assert rewards[-1] == expected
        results[reward] = (u.window_start, u.start.copy())
    # the reward does not change the dynamics: same seed and actions, same schedule
    (w0, s0), *rest = results.values()
    assert all(w == w0 and np.array_equal(s, s0) for w, s in rest)


@pytest.mark.parametrize("reward", ["bsld", "wait", "util"])
def test_baseline_reward_is_zero_when_agent_is_the_baseline(reward):
    env = SchedulingEnv(
        "theta_2022",
        window_len=200,
        visible=200,
        backfill="easy",
        reward=reward,
        queue_order="sjf",
        backfill_order="sjf",
        baseline="sjf",
    )
    _, _, rewards = play(env, always(0), seed=3)
    assert rewards[-1] == 0.0
    assert env.baseline_metrics["mean_bsld"] == env.episode_metrics()["mean_bsld"]


# ------------------------------------------------------------------------------ invariants
def check_episode(env, choose, seed=None):
    obs, info = env.reset(seed=seed)
    space = env.observation_space
    started_at = env.start.copy()
    assert np.all(started_at < 0)
    done = False
    while True:
        assert space.contains(obs), "observation outside the observation space"
        assert obs.dtype == np.float32
        if done:
            break
        t = info["time"]
        obs, _, done, _, info = env.step(choose(env, obs, info))
        new = (started_at < 0) & (env.start >= 0)
        assert np.all(env.start[started_at >= 0] == started_at[started_at >= 0]), "a job started twice"
        assert np.all(env.start[new] == t), "a job started at another time than the decision's"
        started_at = env.start.copy()
        if not done:
            assert info["time"] >= t
    assert np.all(env.start >= 0), "a job never started"
    assert np.all(env.start >= env.submit), "a job started before its submit"
    assert max_usage(env.start, env.start + env.run, env.size) <= env.capacity, "capacity overcommitted"
    return env.start


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    wl=workloads(max_jobs=40),
    backfill=st.sampled_from(BACKFILLS),
    visible=st.integers(1, 6),
    queue_order=st.sampled_from(("fcfs", "sjf", "largest", "f1")),
    capacity_unit=st.sampled_from(["procs", "nodes"]),
    estimates=st.sampled_from(["requested", "actual"]),
    kill=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_invariants_under_random_actions(wl, backfill, visible, queue_order, capacity_unit, estimates, kill, seed):
    env = SchedulingEnv(
        wl,
        window_len=None,
        visible=visible,
        backfill=backfill,
        queue_order=queue_order,
        split="all",
        capacity_unit=capacity_unit,
        estimates=estimates,
        kill_at_request=kill,
        reward="dras",
    )
    rng = np.random.default_rng(seed)
    # any action at all: invalid ones are replaced, so the invariants must still hold
    check_episode(env, lambda e, o, i: int(rng.integers(-1, e.action_space.n + 1)))


@pytest.mark.parametrize("backfill", BACKFILLS)
def test_invariants_on_theta(backfill):
    env = gym.make(
        ENV_ID, trace="theta_2022", window_len=256, visible=32, backfill=backfill, reward="dras", kill_at_request=False
    )
    rng = np.random.default_rng(2)
    for ep in range(3):
        check_episode(env.unwrapped, random_valid(rng), seed=ep)


# ---------------------------------------------------------------------------- determinism
def test_same_seed_same_windows_and_schedules():
    def run(seed):
        env = gym.make(ENV_ID, trace="theta_2022", window_len=128, visible=16, backfill="agent")
        rng = np.random.default_rng(0)
        out = []
        for ep in range(4):
            _, infos, _ = play(env, random_valid(rng), seed=seed if ep == 0 else None)
            out.append((infos[0]["window_start"], env.unwrapped.start.copy()))
        return out

    a, b, c = run(11), run(11), run(12)
    assert [w for w, _ in a] == [w for w, _ in b]
    assert all(np.array_equal(x, y) for (_, x), (_, y) in zip(a, b, strict=False))
    assert [w for w, _ in a] != [w for w, _ in c]
    lo, hi = split_bounds(23911, 0.7, "train")
    assert all(lo <= w <= hi - 128 for w, _ in a + c), "training windows must lie in the training split"


def test_test_split_windows_are_the_fixed_eval_windows(theta):
    n = len(theta)
    cut = round(n * 0.7)
    env = SchedulingEnv("theta_2022", window_len=300, visible=8, split="test", eval_windows=5, eval_seed=3)
    expected = eval_window_starts(cut, n, 300, 5, 3)
    got = [env.reset(seed=100 if k == 0 else None)[1]["window_start"] for k in range(12)]
    assert got == [int(expected[k % 5]) for k in range(12)]  # cycles through the 5 windows
    assert env.reset(seed=0)[1]["window_start"] == expected[0]  # a seeded reset restarts the cycle
    assert all(s >= cut and s + 300 <= n for s in expected), "test windows must lie in the test split"
    assert np.all(np.diff(expected) >= 300), "test windows overlap"
    other = SchedulingEnv(
        "theta_2022",
        window_len=300,
        visible=8,
        split="test",
        eval_windows=5,
        eval_seed=3,
        backfill="none",
        reward="dras",
    )
    assert [other.reset(seed=k)[1]["window_start"] for k in range(3)] == [int(expected[0])] * 3
    with pytest.raises(ValueError, match="outside the test split"):
        env.reset(options={"start": cut - 1})


@settings(max_examples=200, deadline=None)
@given(
    lo=st.integers(0, 1000),
    span=st.integers(1, 3000),
    length=st.integers(1, 500),
    k=st.integers(1, 12),
    seed=st.integers(0, 2**16),
)
def test_eval_window_starts_property(lo, span, length, k, seed):
    hi = lo + span
    if length > span:
        with pytest.raises(ValueError, match="do not fit"):
            eval_window_starts(lo, hi, length, k, seed)
        return
    s = eval_window_starts(lo, hi, length, k, seed)
    assert len(s) == k and np.all(s >= lo) and np.all(s + length <= hi) and np.all(np.diff(s) >= 0)
    if k * length <= span:
        assert np.all(np.diff(s) >= length), "windows overlap although they fit side by side"
    assert np.array_equal(s, eval_window_starts(lo, hi, length, k, seed))


# ----------------------------------------------------------------------------- bad options
@pytest.mark.parametrize(
    "options,message",
    [
        (dict(reward="makespan"), r"unknown reward 'makespan'; choose one of bsld, bsld-dense, wait, util, dras"),
        (dict(backfill="conservative"), r"unknown backfill mode 'conservative'; choose one of none, easy, agent"),
        (dict(queue_order="wfp3"), r"unknown queue order 'wfp3'"),
        (dict(queue_order="bogus"), r"unknown queue order 'bogus'; choose one of fcfs, sjf"),
        (dict(split="validation"), r"unknown split 'validation'"),
        (dict(capacity_unit="cores"), r"unknown capacity unit 'cores'"),
        (dict(estimates="oracle"), r"unknown estimate source 'oracle'"),
        (dict(baseline="best"), r"unknown baseline policy 'best'"),
        (dict(visible=0), r"visible must be >= 1, got 0"),
        (dict(visible=-3), r"visible must be >= 1, got -3"),
        (dict(window_len=20000), r"a window of 20000 jobs does not fit in the train split \(16738 of 23911 jobs\)"),
        (dict(window_len=8000, split="test"), r"a window of 8000 jobs does not fit in the test split \(7173 of 23911"),
        (dict(train_split=1.5), r"train split must be between 0 and 1, got 1.5"),
    ],
)
def test_bad_options_raise_clear_errors(options, message):
    with pytest.raises(ValueError, match=message):
        SchedulingEnv("theta_2022", **options)
    with pytest.raises(ValueError, match=message):
        gym.make(ENV_ID, trace="theta_2022", **options)


def test_job_larger_than_machine_and_bad_window_start():
    wl = make_workload(submit=[0, 1], run=[5, 5], procs=[4, 12], capacity=10)
    with pytest.raises(ValueError, match="a job needs 12 procs but the machine has 10"):
        SchedulingEnv(wl, window_len=None, split="all")
    env = SchedulingEnv(small_workload(n=20), window_len=8, visible=2, split="all")
    with pytest.raises(ValueError, match=r"window start 13 is outside the all split \[0, 12\]"):
        env.reset(options={"start": 13})


@pytest.mark.parametrize("backfill", ["easy", "agent"])
def test_dense_bsld_rewards_add_up_to_the_episode_bsld(backfill):
    """bsld-dense pays the slowdown as it accrues: over an episode the rewards sum to
    -(mean bsld - mean run/max(run, tau)) exactly when no job is shorter than tau."""
    from schedlab.metrics import TAU

    rng = np.random.default_rng(3)
    n = 300
    submit = np.sort(rng.uniform(0, 40_000, n))
    run = rng.choice([20.0, 600.0, 3600.0, 20_000.0], size=n)
    wl = make_workload(submit, run, rng.integers(1, 9, n), capacity=16)
    for baseline in (None, "sjf"):
        env = SchedulingEnv(
            wl, window_len=200, visible=16, backfill=backfill, reward="bsld-dense", split="all", baseline=baseline
        )
        _obs, info = env.reset(options={"start": 50})
        total, done, rng_a = 0.0, False, np.random.default_rng(0)
        while not done:
            _obs, r, done, _, info = env.step(int(rng_a.choice(np.flatnonzero(info["action_mask"]))))
            assert r <= 0.0
            total += r
        m = info["episode_metrics"]
        scale = env.baseline_metrics["mean_bsld"] if baseline else 1.0
        base = float(np.mean(env.run / np.maximum(env.run, TAU)))
        assert total * scale == pytest.approx(-(m["mean_bsld"] - base), rel=1e-9)
