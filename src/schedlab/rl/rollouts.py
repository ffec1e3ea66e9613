"""PPO rollouts in parallel workers (``schedlab train --rollout-workers N``); the update stays here.

With ``cfg.rollout_workers`` = 1 (the default) :func:`rollout_workers` hands back
:func:`schedlab.rl.ppo.rollout` itself: one process, as always.  With N > 1 the ``num_envs``
environments are cut into N contiguous blocks, one per worker (:class:`~schedlab.distributed.workers.WorkerPool`:
spawned processes, or Ray actors).  Each PPO iteration, every worker receives

* the policy's weights (its state dict as plain numpy arrays),
* the exact state of each environment of its block (:meth:`SchedulingEnv.get_state`: the window,
  the machine, the environment's RNG) and their running episode returns,
* a sampling seed derived from (``cfg.seed``, the update, the block),

runs :func:`~schedlab.rl.ppo.rollout` on its block with its own torch generator, and sends back the
rollout arrays, the episodes that ended, and the environments' new states.  The learner writes the
blocks into its rollout buffer in block order and sets its own environments to the returned states,
so checkpoints, exact resume, curriculum stages and the GAE bootstrap work on them as before.  The
result depends on the seed and N only (never on timing, nor on processes vs Ray): a run with N
workers and the same seed is reproducible bit for bit.  It is not the run of another N (each block
samples from its own generator), but the same algorithm on the same data.

Each worker receives the curriculum's workloads once, when it starts, and builds its environments
once per stage.

Threads: the workers step their blocks at one torch thread each; the learner then runs the update
(the same code as with one process) at :func:`learner_threads` threads (:func:`update_threads`; the
validation stays at the run's own threads): as many as there are
workers, at most this machine's cores (never fewer than ``cfg.torch_threads``).  The workers wait
while the update runs, so their cores are free (unless other work holds them): the update is about
three quarters of a PPO iteration in the shipped DRAS setting.  OpenMP's threads must then *sleep*
while they wait for each other (``OMP_WAIT_POLICY=PASSIVE``, which :mod:`schedlab.rl.ppo` sets
before it imports torch, unless already set): spinning, they made a 2-thread update more than ten
times slower when another process held one of a 2-core machine's cores.  The thread count is part
of the run: a run depends on the seed and N (and, on a machine with fewer cores than N, on its
cores).
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from dataclasses import fields
from itertools import pairwise

import numpy as np
import torch

from schedlab.rl.agents import build_agent
from schedlab.rl.env import SchedulingEnv
from schedlab.rl.multires_env import make_env
from schedlab.rl.ppo import PPOConfig, Rollout, Stage, rollout

BUFFERS = tuple(f.name for f in fields(Rollout))


def blocks(n_envs: int, workers: int) -> list[tuple[int, int]]:
    """The environments [lo, hi) of each worker: contiguous, sizes differing by at most one."""
    cut = [n_envs * w // workers for w in range(workers + 1)]
    return list(pairwise(cut))


def block_seed(seed: int, update: int, block: int) -> int:
    """The sampling seed of a block in an update (a function of the three, nothing else)."""
    return int(np.random.SeedSequence([seed % 2**63, update, block]).generate_state(1, np.uint64)[0] >> 1)


def weights_of(net: torch.nn.Module) -> dict[str, np.ndarray]:
    """The network's state dict as plain numpy arrays (copies)."""
    return {k: v.detach().cpu().numpy().copy() for k, v in net.state_dict().items()}


# -- the worker side ---------------------------------------------------------------------------
def _setup(payload: tuple[PPOConfig, list[Stage]]) -> dict:
    cfg, stages = payload
    net = build_agent(
        cfg.agent, cfg.env.visible, cfg.env.stop_action, cfg.env.history_features, cfg.env.cluster is not None
    )
    return {"cfg": cfg, "stages": stages, "net": net, "envs": {}}


def _env(kept: dict, stage: int, i: int) -> SchedulingEnv:
    """Environment ``i`` of ``stage``, built as :func:`schedlab.rl.ppo.make_envs` builds it (its state
    comes with every job)."""
    key = (stage, i)
    if key not in kept["envs"]:
        s = kept["stages"][stage]
        kept["envs"][key] = make_env(s.workloads[i % len(s.workloads)], kept["cfg"].env.replace(split=s.split))
    return kept["envs"][key]


def collect_block(kept: dict, weights: dict, job: dict) -> dict:
    """One worker's part of a rollout: its environments from the states given, ``num_steps``
    decisions each, sampled with the job's seed."""
    t0 = time.perf_counter()
    cfg, net = kept["cfg"], kept["net"]
    net.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
    envs = [_env(kept, job["stage"], i) for i in range(job["lo"], job["hi"])]
    for e, st in zip(envs, job["states"], strict=True):
        e.set_state(st)
    buf = Rollout.empty(cfg.num_steps, len(envs), envs[0].observation_space.shape[0], envs[0].action_space.n)
    ep_return = job["ep_return"].copy()
    generator = torch.Generator().manual_seed(job["seed"])
    finished, returns = rollout(cfg, net, envs, buf, ep_return, generator=generator)
    return {
        "buf": {name: getattr(buf, name).numpy() for name in BUFFERS},
        "finished": finished,
        "returns": [float(r) for r in returns],
        "states": [e.get_state() for e in envs],
        "ep_return": ep_return,
        "seconds": time.perf_counter() - t0,  # in the worker (the rest of a rollout's time is transfer)
    }


# -- the learner side --------------------------------------------------------------------------
class ParallelRollouts:
    """``collect(net, envs, buf, ep_return, progress)``: :func:`~schedlab.rl.ppo.rollout`'s contract,
    done by the pool's workers (see the module docstring)."""

    def __init__(self, cfg: PPOConfig, pool) -> None:
        self.cfg, self.pool = cfg, pool
        self.worker_seconds: list[float] = []  # each block's time in its worker, last rollout

    def __call__(self, net, envs: list[SchedulingEnv], buf: Rollout, ep_return: np.ndarray, progress):
        parts = blocks(len(envs), self.pool.workers)
        jobs = [
            {
                "stage": progress.stage,
                "lo": lo,
                "hi": hi,
                "states": [envs[i].get_state() for i in range(lo, hi)],
                "ep_return": ep_return[lo:hi].copy(),
                "seed": block_seed(self.cfg.seed, progress.update, b),
            }
            for b, (lo, hi) in enumerate(parts)
        ]
        finished: list[dict] = []
        returns_done: list[float] = []
        results = self.pool.map(collect_block, jobs, shared=weights_of(net))
        self.worker_seconds = [got["seconds"] for got in results]
        for (lo, hi), got in zip(parts, results, strict=True):
            for name in BUFFERS:
                getattr(buf, name)[:, lo:hi] = torch.from_numpy(np.array(got["buf"][name]))  # (Ray's are read-only)
            for e, st in zip(envs[lo:hi], got["states"], strict=True):
                e.set_state(st)
            ep_return[lo:hi] = got["ep_return"]
            finished += got["finished"]
            returns_done += got["returns"]
        return finished, returns_done


def learner_threads(cfg: PPOConfig) -> int:
    """The learner's torch threads with ``cfg.rollout_workers`` > 1: one per worker (their cores are
    free while it updates), at most this machine's cores, at least ``cfg.torch_threads``."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(cfg.torch_threads, min(cfg.rollout_workers, cores))


@contextmanager
def rollout_workers(cfg: PPOConfig, stages: list[Stage]):
    """The rollout function of a training run: :func:`~schedlab.rl.ppo.rollout` in this process
    (``cfg.rollout_workers`` = 1), or :class:`ParallelRollouts` on a pool that lives as long as
    the ``with`` block (the learner's update threads: :func:`update_threads`)."""
    if cfg.rollout_workers <= 1:
        yield lambda net, envs, buf, ep_return, progress: rollout(cfg, net, envs, buf, ep_return)
        return
    from schedlab.distributed.workers import WorkerPool

    with WorkerPool(_setup, (cfg, stages), cfg.rollout_workers, cfg.rollout_executor) as pool:
        yield ParallelRollouts(cfg, pool)


@contextmanager
def update_threads(cfg: PPOConfig):
    """Around the learner's PPO update: :func:`learner_threads` torch threads with rollout workers
    (their cores are idle then), back to the run's own after.  Only the update: validation and
    the imitation warm start step one decision at a time, where a second thread only adds
    synchronisation (it made validation about twice as slow)."""
    if cfg.rollout_workers <= 1:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(learner_threads(cfg))
    try:
        yield
    finally:
        torch.set_num_threads(before)


__all__ = [
    "ParallelRollouts",
    "block_seed",
    "blocks",
    "collect_block",
    "learner_threads",
    "rollout_workers",
    "update_threads",
    "weights_of",
]
