"""The environment with predicted estimates (``estimates="predicted:last2|predicted:ml"``).

* parity: a heuristic agent (queue and backfill order = the policy, always slot 0) gives exactly
  ``simulate(window, policy, backfill, estimates=predicted, correction)``'s schedule and
  predictions, on theta_2022 windows (first window included: its history is the trace's own) and
  on a multi-user workload with a single-user stretch (where the fast warm-up is not used)
* the fast warm-up (:class:`schedlab.rl.prediction.WindowPredictor`) equals ``predictor_state``
* the baseline (rewards relative to a heuristic) runs the engine on the same predictions
* causality: runtimes of jobs that had not ended by t do not change any prediction made by t
* history features: finite, in [0, 1], only with ``history_features``; default shapes unchanged;
  the decision view and the tree's feature rows carry request and accuracy
* save/restore mid-episode; a model runs under a predicted SimConfig
* a short PPO run on predicted estimates saves a model that loads back via ``model:PATH``
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from schedlab.explain.features import EXTENDED_FEATURES, FEATURES, candidate_rows
from schedlab.policies import resolve
from schedlab.predict.online import PRED_LAST2, PRED_ML, predict, predictor_state
from schedlab.rl import SchedulingEnv
from schedlab.rl import prediction as rl_prediction
from schedlab.rl.episodes import cached_trace
from schedlab.rl.options import EnvOptions
from schedlab.rl.ppo import PPOConfig, Stage, train
from schedlab.simulator import simulate
from schedlab.simulator.config import SimConfig
from schedlab.simulator.stepper import HISTORY_FEATURES, N_CLUSTER_FEATURES, N_HISTORY_FEATURES, N_JOB_FEATURES
from tests.helpers import make_workload

PREDICTED = ("predicted:last2", "predicted:ml")


@pytest.fixture(scope="module")
def theta():
    return cached_trace("theta_2022", "textbook")


def users_workload(n=3000, seed=1, capacity=64):
    rng = np.random.default_rng(seed)
    submit = np.cumsum(rng.exponential(30, n))
    run = np.ceil(rng.lognormal(5, 1.5, n))
    req = np.maximum(run, np.ceil(run * rng.uniform(0.5, 4, n)))
    procs = rng.integers(1, capacity + 1, n)
    user = rng.integers(0, 40, n)
    user[1000:1300] = 7  # a single-user stretch: windows inside it group by request without their history
    return make_workload(submit, run, procs, req_time=req, capacity=capacity, user=user, name="users")


def play(env, start, choose=lambda env: 0):
    _, info = env.reset(options={"start": int(start)})
    done = False
    while not done:
        _, _, done, _, info = env.step(choose(env))
    return info


def heuristic_env(wl, policy, backfill, L, **kw):
    opts = dict(window_len=L, visible=L or len(wl), backfill=backfill, queue_order=policy, backfill_order=policy)
    return SchedulingEnv(wl, split="all", **opts, **kw)


@pytest.mark.parametrize("estimates", PREDICTED)
@pytest.mark.parametrize(("policy", "backfill", "correction"), [
    ("fcfs", "easy", "reqtime"), ("sjf", "easy", "double"), ("sjf", "none", "tsafrir"), ("f1", "easy", "tsafrir"),
])  # fmt: skip
def test_heuristic_agent_equals_engine_with_predictions(theta, estimates, policy, backfill, correction):
    opts = dict(estimates=estimates, correction=correction)
    env = heuristic_env("theta_2022", policy, backfill, 800, **opts)
    for s in (0, 5000, 17000):
        info = play(env, s)
        assert info["invalid_actions"] == 0
        ref = simulate(theta.window(s, 800), policy=policy, backfill=backfill, **opts)
        assert np.array_equal(env.start, ref.start), (s, policy)
        assert np.array_equal(env.est, ref.extra["predicted"])
        assert not np.array_equal(env.est, env.req)  # the predictions are not the requests


@pytest.mark.parametrize("estimates", PREDICTED)
def test_parity_on_a_multi_user_trace(estimates):
    wl = users_workload()
    for policy in ("fcfs", "sjf"):
        env = heuristic_env(wl, policy, "easy", 400, estimates=estimates, correction="double")
        for s in (0, 400, 1050, 2200):
            play(env, s)
            ref = simulate(wl.window(s, 400), policy=policy, backfill="easy", estimates=estimates, correction="double")
            assert np.array_equal(env.start, ref.start), (policy, s)
            assert np.array_equal(env.est, ref.extra["predicted"])


@pytest.mark.parametrize("code", [PRED_LAST2, PRED_ML])
def test_fast_warm_up_equals_predictor_state(code, monkeypatch):
    monkeypatch.setattr(rl_prediction, "MIN_STRIDE", 64)  # several snapshots on a small trace
    wl = users_workload()
    wp = rl_prediction.WindowPredictor(wl, code)
    for s in (0, 1, 100, 777, 1010, 1100, 2500):
        a, by_a = wp.state(s, 300)
        b, by_b = predictor_state(wl.window(s, 300), code)
        assert by_a == by_b
        assert np.array_equal(a[1], b[1]) and np.array_equal(a[2], b[2])
        assert np.array_equal(a[5], b[5]) and np.array_equal(a[6], b[6]) and a[7][0] == b[7][0]
        for j in range(300):  # same prediction for every job (keys may be numbered differently)
            assert predict(code, a[0][j], a[1][j], a[2][j], *a[3:]) == predict(code, b[0][j], b[1][j], b[2][j], *b[3:])


def test_baseline_runs_on_the_same_predictions(theta):
    env = SchedulingEnv(
        "theta_2022", window_len=600, visible=600, split="all", estimates="predicted:ml", baseline="sjf"
    )
    env.reset(options={"start": 9000})
    ref = simulate(theta.window(9000, 600), policy="sjf", backfill="easy", estimates="predicted:ml")
    wait = ref.start - ref.workload.submit
    assert env.baseline_metrics["mean_wait"] == pytest.approx(float(wait.mean()), rel=1e-12)


def test_predictions_are_causal():
    """Change the runtime of every job still running (or not started) at t: no prediction made
    by t, and no start before t, changes."""
    wl = users_workload(n=1500, seed=3)
    env = heuristic_env(wl, "sjf", "easy", None, estimates="predicted:ml")
    play(env, 0)
    est_a, start_a = env.est.copy(), env.start.copy()
    t = float(np.median(start_a))
    later = start_a + env.run > t
    run = wl.run.copy()
    run[later] = np.minimum(run[later] * 3.0, wl.req_time[later])
    wl_b = make_workload(wl.submit, run, wl.procs, req_time=wl.req_time, capacity=wl.max_procs, user=wl.user)
    env_b = heuristic_env(wl_b, "sjf", "easy", None, estimates="predicted:ml")
    play(env_b, 0)
    known = wl.submit <= t
    assert np.array_equal(env_b.est[known], est_a[known])
    assert np.array_equal(env_b.start[start_a < t], start_a[start_a < t])
    assert not np.array_equal(env_b.est, est_a)  # later predictions did learn the new runtimes


@pytest.mark.parametrize("estimates", ["requested", "predicted:last2"])
def test_history_features_only_when_enabled(estimates):
    wl = users_workload(n=800)
    W = 16
    plain = SchedulingEnv(wl, window_len=300, visible=W, estimates=estimates)
    rich = SchedulingEnv(wl, window_len=300, visible=W, estimates=estimates, history_features=True)
    base = W * N_JOB_FEATURES + N_CLUSTER_FEATURES
    assert plain.observation_space.shape == (base,)
    assert rich.observation_space.shape == (base + W * N_HISTORY_FEATURES,)
    assert rich.feature_names[0][-N_HISTORY_FEATURES:] == HISTORY_FEATURES
    rng = np.random.default_rng(0)
    for env in (plain, rich):
        obs, info = env.reset(seed=1)
        seen_accuracy = False
        done = False
        while not done:
            assert np.all(np.isfinite(obs)) and obs.min() >= 0.0 and obs.max() <= 1.0
            if env is rich:
                assert np.array_equal(obs[:base], plain_obs_of(env))
                tail = obs[base:].reshape(W, N_HISTORY_FEATURES)
                nv = min(int(info["queue_length"]), W)
                assert np.all(tail[nv:] == 0.0)
                assert np.all(tail[:nv, 0] > 0.0)  # the request, log-minutes
                seen_accuracy |= bool(np.any(tail[:nv, 1] != 0.5))
                view = env.decision_view()
                assert np.array_equal(view.request, env.req[view.job])
                assert np.all(np.isfinite(view.accuracy))
                _, X = candidate_rows(view, history=True)
                assert X.shape[1] == len(EXTENDED_FEATURES) and np.all(np.isfinite(X))
                _, X0 = candidate_rows(view)
                assert X0.shape[1] == len(FEATURES) and np.array_equal(X[:, : len(FEATURES)], X0)
            obs, _, done, _, info = env.step(int(rng.choice(np.flatnonzero(info["action_mask"]))))
        if env is rich:
            assert seen_accuracy


def plain_obs_of(env):
    """The default observation of the decision ``env`` has due (an env without history features)."""
    from schedlab.simulator.stepper import step_observe

    obs = np.zeros(env.W * N_JOB_FEATURES + N_CLUSTER_FEATURES, dtype=np.float32)
    mask = np.zeros(len(env._mask), dtype=np.bool_)
    step_observe(*env._state(), obs, mask)
    return obs


def test_state_round_trip_mid_episode():
    wl = users_workload(n=1200)
    env = SchedulingEnv(wl, window_len=400, visible=32, estimates="predicted:ml", history_features=True)
    env.reset(seed=4)
    for _ in range(150):
        env.step(0)
    saved = env.get_state()
    rest = [env.step(0)[0] for _ in range(100)]
    env.set_state(saved)
    again = [env.step(0)[0] for _ in range(100)]
    assert all(np.array_equal(a, b) for a, b in zip(rest, again, strict=True))


def test_options_round_trip_and_run_under():
    opts = EnvOptions(estimates="predicted:ml", correction="double", history_features=True)
    assert EnvOptions.from_saved(opts.to_dict()) == opts
    runs = opts.run_under(SimConfig(estimates="predicted:last2", correction="tsafrir"))
    assert (runs.estimates, runs.correction, runs.history_features) == ("predicted:last2", "tsafrir", True)
    with pytest.raises(Exception, match="history features"):
        EnvOptions(history_features="yes")


def test_shipped_model_schedules_on_predictions(theta):
    wl = theta.window(4000, 400)
    res = simulate(wl, policy="model:theta_2022-dras", estimates="predicted:last2")
    assert np.all(res.start >= wl.submit)
    assert np.array_equal(res.start, simulate(wl, policy="model:theta_2022-dras", estimates="predicted:last2").start)


def test_ppo_smoke_on_predicted_estimates(tmp_path):
    torch.set_num_threads(1)
    wl = users_workload(n=1500, seed=5)
    env_kw = dict(window_len=64, visible=16, backfill="easy", estimates="predicted:last2", correction="double")
    cfg = PPOConfig(
        agent="scorer", seed=0, total_steps=512, num_envs=2, num_steps=128, bc_teacher="sjf", bc_updates=1,
        validate_every=0, checkpoint_every=1000, env=env_kw,
    )  # fmt: skip
    train(cfg, [Stage("train", [wl], 1.0)], tmp_path)
    policy = resolve(f"model:{tmp_path / 'model.pt'}")
    assert policy.model.env.estimates == "predicted:last2" and policy.model.env.correction == "double"
    res = simulate(wl.window(900, 200), policy=policy, estimates="predicted:last2", correction="double")
    assert np.all(np.isfinite(res.start)) and np.all(res.start >= res.workload.submit)


@pytest.mark.parametrize("agent", ["scorer", "dras"])
def test_agents_read_the_history_features(tmp_path, agent):
    """With history_features the networks take each job's features and its two history features
    together; a trained model records the option and schedules with it after loading."""
    from schedlab.rl.agents import build_agent
    from schedlab.simulator.stepper import N_CLUSTER_FEATURES, N_HISTORY_FEATURES, N_JOB_FEATURES

    W = 16
    net = build_agent(agent, W, agent == "dras", history=True)
    obs = torch.zeros(3, W * (N_JOB_FEATURES + N_HISTORY_FEATURES) + N_CLUSTER_FEATURES)
    logits, value = net(obs, 4)
    assert logits.shape[0] == 3 and value.shape == (3,)
    torch.set_num_threads(1)
    wl = users_workload(n=1500, seed=5)
    backfill = "agent" if agent == "dras" else "easy"
    env_kw = dict(window_len=64, visible=W, backfill=backfill, estimates="predicted:ml", history_features=True)
    cfg = PPOConfig(
        agent=agent, seed=0, total_steps=256, num_envs=2, num_steps=128, bc_teacher="sjf", bc_updates=1,
        validate_every=0, checkpoint_every=1000, env=env_kw,
    )  # fmt: skip
    train(cfg, [Stage("train", [wl], 1.0)], tmp_path)
    policy = resolve(f"model:{tmp_path / 'model.pt'}")
    assert policy.model.env.history_features is True
    res = simulate(wl.window(900, 200), policy=policy, estimates="predicted:ml")
    assert np.all(res.start >= res.workload.submit)
