"""The one episode runner (``run_episode`` / ``run_episodes``) and loading a model once per command."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from schedlab.policies import resolve
from schedlab.rl import checkpoint
from schedlab.rl.agents import build_agent, save_checkpoint
from schedlab.rl.env import SchedulingEnv
from schedlab.rl.episodes import run_episode, run_episodes
from schedlab.rl.evaluation import evaluate
from schedlab.simulator.compare import compare
from tests.helpers import make_workload

torch.set_num_threads(1)


def _workload(n=300, seed=0):
    rng = np.random.default_rng(seed)
    return make_workload(
        np.sort(rng.uniform(0, 15000, n)), rng.uniform(10, 2000, n), rng.integers(1, 9, n), capacity=16
    )


def _by_hand(env, choose, start):
    obs, info = env.reset(options={"start": start})
    done = False
    while not done:
        obs, _, done, _, info = env.step(choose(obs, info["action_mask"]))
    return info["episode_metrics"], env.start.copy()


@pytest.mark.parametrize("backfill", ["easy", "agent"])
def test_run_episode_equals_the_hand_written_loop(backfill):
    env = SchedulingEnv(_workload(), window_len=100, visible=8, backfill=backfill, split="all")
    picks = np.random.default_rng(3).integers(0, 1000, 5000)

    def chooser():  # the same pseudo-random valid action sequence each time
        it = iter(picks)
        return lambda mask: int(np.flatnonzero(mask)[next(it) % mask.sum()])

    for start in (0, 120):
        pick = chooser()
        expected, starts = _by_hand(env, lambda o, m, pick=pick: pick(m), start)
        pick = chooser()
        got = run_episode(env, lambda e, pick=pick: pick(e.action_masks()), start)
        assert got == expected and np.array_equal(env.start, starts)


def test_run_episodes_in_lock_step_equal_one_at_a_time():
    """The lock-step runner (one batched act over all live environments) gives each episode the
    same result as running it alone.  The chooser is exact (numpy, no network), so any difference
    is the runner's: a batched network forward pass can round differently from a single one and
    flip a near-tie, which is the network's business, not the runner's."""
    wl = _workload()
    envs = [(SchedulingEnv(wl, window_len=100, visible=8, backfill="agent", split="all"), s) for s in (0, 50, 190)]

    def choose(env) -> int:  # a deterministic, state-dependent valid action
        valid = np.flatnonzero(env.action_masks())
        return int(valid[int(env.decision_view().now) % len(valid)])

    batched = run_episodes(envs, lambda live: [choose(e) for e in live])
    for (env, s), m in zip(envs, batched, strict=True):
        assert run_episode(env, choose, s) == m
    assert run_episodes([], lambda envs: []) == []


@pytest.fixture
def count_loads(monkeypatch):
    calls = []
    real = checkpoint.torch.load

    def load(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(checkpoint.torch, "load", load)
    return calls


def test_a_model_is_loaded_once_per_evaluation_and_comparison(tmp_path, count_loads):
    path = tmp_path / "model.pt"
    save_checkpoint(path, build_agent("scorer", 16, False), {"agent": "scorer", "env_kwargs": {"visible": 16}})
    wl = _workload(600)
    count_loads.clear()
    res = evaluate(path, wl, [0, 200, 400], 150, heuristics=("fcfs", "sjf"))
    assert len(count_loads) == 1 and len(res["results"][0]["windows"]) == 3
    count_loads.clear()
    rows = compare(wl, ["fcfs", f"model:{path}"], ["easy", "none"], window_starts=[0, 200, 400], window_len=150)
    assert len(count_loads) == 1 and rows[2].policy == f"model:{path}"
    count_loads.clear()
    policy = resolve(f"model:{tmp_path}")  # a run folder: its model.pt
    assert evaluate(policy, wl, [0], 150, heuristics=("fcfs",))["model"] == str(path)
    assert len(count_loads) == 1
