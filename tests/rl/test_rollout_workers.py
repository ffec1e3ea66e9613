"""PPO rollouts in parallel workers: each block is the rollout this process would collect with the
same generator, a run with N workers and a seed is reproducible bit for bit (processes or Ray),
and it validates like the one-process run at every step."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.distributions import Categorical

from schedlab.distributed.workers import WorkerPool
from schedlab.rl.ppo import PPOConfig, Rollout, Stage, rollout, sample, set_up, train
from schedlab.rl.rollouts import (
    _setup,
    block_seed,
    blocks,
    collect_block,
    learner_threads,
    update_threads,
    weights_of,
)
from schedlab.workload import load_trace

torch.set_num_threads(1)
ENV = dict(window_len=48, visible=16, backfill="agent", reward="bsld", baseline="sjf", backfill_order="sjf")
TIMING = ("steps_per_s", "elapsed_s")


def config(workers: int = 1, executor: str = "processes", **kw) -> PPOConfig:
    base = dict(agent="dras", seed=5, total_steps=4 * 4 * 48, num_envs=4, num_steps=48, bc_updates=2,
                validate_every=1, checkpoint_every=100, env=ENV)  # fmt: skip
    kw.update(rollout_workers=workers, rollout_executor=executor)
    return PPOConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def world():
    """lublin_256's training split, and three validation windows of 96 jobs after it."""
    from schedlab.rl.env import SchedulingEnv

    wl = load_trace("lublin_256")
    val = [(SchedulingEnv(wl, {**ENV, "window_len": 96, "split": "all"}), s) for s in (7000, 7600, 8200)]
    return [Stage("real", [wl], 1.0)], val


def run(world, out: Path, cfg: PPOConfig) -> tuple[list[dict], dict]:
    stages, val = world
    train(cfg, stages, out, validation=val)
    with open(out / "train_log.csv") as f:
        log = [{k: v for k, v in row.items() if k not in TIMING} for row in csv.DictReader(f)]
    return log, torch.load(out / "last.pt", weights_only=False)["model"]


def test_blocks_cover_the_environments_and_seeds_depend_on_nothing_else():
    assert blocks(8, 2) == [(0, 4), (4, 8)] and blocks(5, 3) == [(0, 1), (1, 3), (3, 5)]
    assert blocks(2, 2) == [(0, 1), (1, 2)]
    seeds = {block_seed(s, u, b) for s in (0, 1) for u in (0, 1) for b in (0, 1)}
    assert len(seeds) == 8 and block_seed(3, 7, 1) == block_seed(3, 7, 1) and block_seed(-1, 0, 0) >= 0


def test_a_workers_sampling_draws_what_the_one_process_sampling_draws():
    """ppo.sample(logits, generator) takes the action and log-probability that
    Categorical(logits).sample() and .log_prob() give from a global RNG in the same state."""
    logits = torch.randn(6, 9)
    logits[:, 4:] = -1e9  # masked slots, as masked_logits writes them
    torch.manual_seed(7)
    idx = Categorical(logits=logits).sample()
    idx_w, logp_w = sample(logits, torch.Generator().manual_seed(7))
    assert torch.equal(idx, idx_w) and torch.equal(Categorical(logits=logits).log_prob(idx), logp_w)
    assert (idx < 4).all()


def test_a_block_is_the_rollout_this_process_collects_with_the_same_generator(world):
    """collect_block (what a worker runs) on environments rebuilt from the learner's states gives the
    learner's own rollout of those environments, to the bit, and leaves them in the same state."""
    stages, _ = world
    cfg = config(workers=2)
    net, _, _, envs = set_up(cfg, stages, None)
    states = [e.get_state() for e in envs[2:]]
    ep = np.zeros(2)
    job = {"stage": 0, "lo": 2, "hi": 4, "states": states, "ep_return": ep, "seed": 11}
    got = collect_block(_setup((cfg, stages)), weights_of(net), job)
    buf = Rollout.empty(cfg.num_steps, 2, envs[0].observation_space.shape[0], envs[0].action_space.n)
    finished, returns = rollout(cfg, net, envs[2:], buf, ep.copy(), generator=torch.Generator().manual_seed(11))
    for name in ("obs", "mask", "act", "logp", "rew", "done", "val"):
        assert torch.equal(torch.from_numpy(got["buf"][name]), getattr(buf, name)), name
    assert got["finished"] == finished and got["returns"] == [float(r) for r in returns]
    for a, b in zip(got["states"], [e.get_state() for e in envs[2:]], strict=True):
        assert np.array_equal(a["q"], b["q"]) and np.array_equal(a["fst"], b["fst"]) and a["rng"] == b["rng"]


def test_the_learner_updates_on_the_cores_its_waiting_workers_leave_free():
    """With N workers the learner's update runs at N torch threads (at most the machine's cores, at
    least --threads), and the learner is back to its own setting after (validation runs there)."""
    cores = len(os.sched_getaffinity(0))
    assert learner_threads(config(workers=2)) == min(2, cores)
    assert learner_threads(config(workers=4)) == min(4, cores)
    assert learner_threads(config(workers=2, torch_threads=3)) == 3
    before = torch.get_num_threads()
    with update_threads(config(workers=2)):
        assert torch.get_num_threads() == min(2, cores)
    assert torch.get_num_threads() == before
    with update_threads(config(workers=1)):
        assert torch.get_num_threads() == before


def test_openmp_threads_wait_passively_in_training():
    """schedlab.rl.ppo sets OMP_WAIT_POLICY=PASSIVE before torch (and its OpenMP) is first imported
    by a training run (spinning threads made a 2-thread update ten times slower on a shared machine)."""
    code = (
        "import os, sys\n"
        "seen = []\n"
        "class Spy:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'torch' and not seen:\n"
        "            seen.append(os.environ.get('OMP_WAIT_POLICY'))\n"
        "sys.meta_path.insert(0, Spy())\n"
        "import schedlab.cli.rl, schedlab.rl.training\n"
        "print(seen)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert r.returncode == 0 and r.stdout.strip() == "['PASSIVE']", r.stdout + r.stderr


@pytest.fixture(scope="module")
def two_workers(world, tmp_path_factory):
    """A run with 2 worker processes: its log (without timings) and last weights."""
    return run(world, tmp_path_factory.mktemp("two") / "run", config(workers=2))


def test_same_seed_same_workers_same_run(world, two_workers, tmp_path):
    """Another run with 2 worker processes and the same seed: the same log and weights, bit for bit."""
    log, weights = run(world, tmp_path / "again", config(workers=2))
    assert log == two_workers[0]
    assert all(torch.equal(weights[k], two_workers[1][k]) for k in weights)


def test_a_run_stopped_and_resumed_with_workers_ends_as_the_uninterrupted_one(world, two_workers, tmp_path):
    """The environments' states live in the learner (and last.pt), the block seeds depend on the
    update: stopping after 2 updates and resuming gives the uninterrupted run's weights."""
    stages, val = world
    train(config(workers=2, checkpoint_every=2), stages, tmp_path, validation=val, stop_after_updates=2)
    train(config(workers=2, checkpoint_every=2), stages, tmp_path, validation=val, resume=True)
    weights = torch.load(tmp_path / "last.pt", weights_only=False)["model"]
    assert all(torch.equal(weights[k], two_workers[1][k]) for k in weights)


def test_workers_validate_like_one_process_at_every_step(world, two_workers, tmp_path):
    """The one-process run (same algorithm, other samples) reaches the same validation result at
    every step: the imitation warm start (identical: no rollout yet), then each PPO update."""
    log_1, w_1 = run(world, tmp_path / "one", config(workers=1))
    log_2, w_2 = two_workers
    assert not all(torch.equal(w_1[k], w_2[k]) for k in w_1)  # another run
    assert [r["global_step"] for r in log_1] == [r["global_step"] for r in log_2] == ["0", "192", "384", "576", "768"]
    assert log_1[0]["val_bsld"] == log_2[0]["val_bsld"]
    for one, two in zip(log_1, log_2, strict=True):
        a, b = float(one["val_bsld"]), float(two["val_bsld"])
        assert abs(a - b) <= 0.1 * a, (one["global_step"], a, b)


@pytest.mark.slow
def test_ray_workers_give_the_processes_run_and_stop_their_ray(world, two_workers, tmp_path):
    ray = pytest.importorskip("ray")
    log, weights = run(world, tmp_path / "ray", config(workers=2, executor="ray"))
    assert log == two_workers[0]
    assert all(torch.equal(weights[k], two_workers[1][k]) for k in weights)
    assert not ray.is_initialized()


def _die_once(kept, shared, job):
    """A job whose worker process dies the first time it runs (a real death, not an exception)."""
    marker = Path(job) if job else None
    if marker and not marker.exists():
        marker.touch()
        os._exit(3)
    return kept + shared


def _keep(payload):
    return payload


def test_a_job_whose_worker_dies_is_run_again_in_a_new_worker(tmp_path):
    with WorkerPool(_keep, 10, workers=2) as pool:
        assert pool.map(_die_once, [str(tmp_path / "dies"), ""], shared=5) == [15, 15]
    assert (tmp_path / "dies").exists()  # it did die once


@pytest.mark.parametrize(
    "args, message",
    [
        (["--num-envs", "2", "--rollout-workers", "3"], "rollout workers (3) must be between 1 and"),
        (["--rollout-workers", "2", "--executor", "threads"], "unknown rollout executor 'threads'"),
    ],
)
def test_bad_worker_options_fail_in_one_line(tmp_path, args, message):
    cmd = [sys.executable, "-m", "schedlab.cli", "train", "--trace", "lublin_256", "--steps", "512", "--out"]
    r = subprocess.run([*cmd, str(tmp_path / "o"), *args], capture_output=True, text=True)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, r.stderr
