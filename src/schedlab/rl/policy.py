"""A trained model as a scheduling policy: ``model:NAME|PATH`` in the policy registry.

``model_policy(argument)`` (the registry's factory for the ``model`` prefix, declared as an entry
point in pyproject.toml) finds the model (a shipped model's name, a model file, or a ``schedlab
train`` run folder) and loads it, once.  The simulator hands a whole workload to
:meth:`ModelPolicy.simulate`, which runs it as one episode of the environment (textbook preset) or
in RLScheduler's own loop (rlscheduler preset).  :func:`simulate_agent` is that episode, shared
with distilled trees (:mod:`schedlab.explain.policy`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from schedlab.errors import PolicyError, SchedlabError
from schedlab.options import Backfill, PolicyKind, Preset
from schedlab.policies.registry import Policy
from schedlab.rl.agents import TrainedPolicy, load_policy
from schedlab.rl.env import SchedulingEnv
from schedlab.rl.episodes import run_episode
from schedlab.rl.models import find_model
from schedlab.rl.multires_env import make_env
from schedlab.rl.options import EnvOptions
from schedlab.simulator.config import SimConfig
from schedlab.simulator.result import SimResult
from schedlab.workload.table import Workload

MODEL_PREFIX = "model:"


@dataclass(frozen=True, eq=False)
class ModelPolicy(Policy):
    """A loaded model; ``spec`` is ``model:`` + the file it was loaded from."""

    kind: PolicyKind = PolicyKind.AGENT
    path: Path = field(default=None, repr=False)
    model: TrainedPolicy = field(default=None, repr=False)

    def env_options(self, config: SimConfig) -> EnvOptions:
        """How the model schedules under ``config`` (textbook preset).  A DRAS model trained to
        pick its own backfill jobs keeps doing so; other models backfill as ``config.backfill`` says."""
        if config.backfill == Backfill.CONSERVATIVE:
            raise SchedlabError(
                "an RL model schedules with backfill none or easy (or its own, for DRAS models), not conservative"
            )
        return self.model.env.run_under(config)

    def simulate(self, workload: Workload, config: SimConfig) -> SimResult:
        """The whole workload scheduled by the model under ``config``."""
        if config.preset == Preset.RLSCHEDULER:
            from schedlab.rl.rlscheduler_protocol import simulate_rlscheduler_agent

            return simulate_rlscheduler_agent(workload, self.model, backfill=config.backfill != "none", config=config)
        if config.preset != Preset.TEXTBOOK:
            raise SchedlabError(f"RL models run under the textbook or rlscheduler preset, not {str(config.preset)!r}")
        extra = {"model": str(self.path), "agent": self.model.agent}
        return simulate_agent(workload, config, self.env_options(config), self.model.act_env, extra)


def model_policy(argument: str) -> ModelPolicy:
    """``model:ARGUMENT``: a shipped model's name, a model file or a run folder; loaded here, once."""
    try:
        path = find_model(argument)
        model = load_policy(path)
    except SchedlabError as exc:
        raise PolicyError(str(exc)) from None
    return ModelPolicy(spec=f"{MODEL_PREFIX}{path}", path=path, model=model)


def simulate_agent(
    workload: Workload, config: SimConfig, options: EnvOptions, act: Callable[[SchedulingEnv], int], extra: dict
) -> SimResult:
    """``workload`` as one episode of the environment (``options``: window_len None, split all),
    ``act(env)`` taking every decision; the schedule as a SimResult (``extra`` in its ``extra``)."""
    env = make_env(workload, options, cluster=getattr(config, "cluster", None))
    t0 = time.perf_counter()
    run_episode(env, act, 0)
    return episode_result(env, config, time.perf_counter() - t0, extra)


def episode_result(env: SchedulingEnv, config: SimConfig, seconds: float, extra: dict) -> SimResult:
    """The schedule an episode over a whole workload (``window_len=None``) produced, as a SimResult."""
    return SimResult(
        workload=env.workload,
        config=config,
        start=env.start.copy(),
        end=env.start + env.run,
        run=env.run.copy(),
        size=env.size.copy(),
        capacity=env.capacity,
        reservation=np.full(env.L, np.inf),
        sim_seconds=seconds,
        passes=env.decisions,
        extra={**extra, **(env.result_extra() if hasattr(env, "result_extra") else {})},
    )


__all__ = ["MODEL_PREFIX", "ModelPolicy", "episode_result", "model_policy", "simulate_agent"]
