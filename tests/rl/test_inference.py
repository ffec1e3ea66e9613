"""The compiled greedy forward pass (schedlab.rl.inference) computes the same logits as the
PyTorch networks, for both agents, with and without a stop action and history features."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from schedlab.rl.agents import TrainedPolicy, build_agent, masked_logits, to_action
from schedlab.rl.env import SchedulingEnv
from schedlab.rl.episodes import run_episode
from schedlab.rl.policy import model_policy
from schedlab.simulator.config import SimConfig
from schedlab.simulator.stepper import N_CLUSTER_FEATURES, N_HISTORY_FEATURES, N_JOB_FEATURES
from schedlab.workload import load_trace


def torch_logits(net, obs, mask):
    with torch.no_grad():
        lg, _, k = masked_logits(net, torch.as_tensor(obs, dtype=torch.float32)[None], torch.as_tensor(mask)[None])
    lg = lg[0].numpy().astype(np.float64)
    out = np.full(len(mask), -np.inf)
    out[:k] = lg[:k]
    if net.stop_action and len(mask) > net.W:
        out[net.W] = lg[k]
    out[~mask] = -np.inf
    return out, int(to_action(torch.as_tensor(lg).argmax()[None], k, net.W)[0])


@pytest.mark.parametrize("agent", ["scorer", "dras"])
@pytest.mark.parametrize("stop", [False, True])
@pytest.mark.parametrize("history", [False, True])
def test_fast_logits_match_torch_on_random_observations(agent, stop, history):
    torch.manual_seed(3)
    W = 16
    net = build_agent(agent, W, stop, history)
    for p in net.parameters():  # trained-like weights, not the tiny output init
        p.data.normal_(0.0, 0.5)
    meta = {"agent": agent, "env_kwargs": {"visible": W}}
    pol = TrainedPolicy(net, meta)
    rng = np.random.default_rng(0)
    n_obs = W * N_JOB_FEATURES + N_CLUSTER_FEATURES + (W * N_HISTORY_FEATURES if history else 0)
    for trial in range(50):
        obs = rng.random(n_obs)
        n_valid = int(rng.integers(1, W + 1))
        obs[: W * N_JOB_FEATURES].reshape(W, N_JOB_FEATURES)[:, 0] = np.arange(W) < n_valid
        obs[W * N_JOB_FEATURES + 2] = trial % 2  # both phases
        mask = np.zeros(W + 1 if stop else W, dtype=bool)
        mask[:n_valid] = rng.random(n_valid) < 0.7
        mask[0] = True
        if stop:
            mask[W] = bool(trial % 3)
        want, _ = torch_logits(net, obs, mask)
        got = pol.scores(obs, mask)
        assert np.array_equal(np.isinf(got), np.isinf(want))
        fin = np.isfinite(want)
        np.testing.assert_allclose(got[fin], want[fin], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    ("model", "trace", "windows"), [("theta_2022-dras", "theta_2022", 2), ("lublin_256-scorer", "lublin_256", 2)]
)
def test_shipped_models_take_torchs_action_except_at_near_ties(model, trace, windows):
    """Along the greedy episode of the torch network, the compiled pass picks the same action at
    every decision whose best two torch logits are more than 1e-4 apart (float32 against float64
    can only reorder near-ties)."""
    pol = model_policy(model)
    net = pol.model.net
    env = SchedulingEnv(load_trace(trace), pol.env_options(SimConfig()).replace(window_len=512, split="all"))
    checked = 0

    def act(env):
        nonlocal checked
        obs, mask = env.observation(), env.action_masks()
        want, a_torch = torch_logits(net, obs, mask)
        top = np.sort(want[np.isfinite(want)])[-2:]
        if len(top) < 2 or top[1] - top[0] > 1e-4:
            assert pol.model.act(obs, mask) == a_torch
            checked += 1
        return a_torch

    for start in range(windows):
        run_episode(env, act, 2000 * start)
    assert checked > 500
