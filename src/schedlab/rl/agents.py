"""The two agents (PyTorch) and their checkpoint format.

Both read the environment's observation (W rows of per-job features, then cluster features; see
:mod:`schedlab.simulator.stepper`) and give one logit per action (W slots, plus ``stop`` when the
agent chooses backfill jobs), masked to the valid ones, and a state value for PPO.

* ``scorer`` — RLScheduler's "kernel" idea: one small MLP scores each visible job from its own
  features and the cluster state; the same weights for every slot, so the policy is permutation-
  invariant and does not care how many jobs are visible.  The value head reads the mean of the
  visible jobs' features and the cluster state.
* ``dras`` — DRAS's two-level decision: level 1 picks the job to run now or to reserve, level 2
  (environment ``backfill="agent"``) picks backfill jobs among those that fit without delaying the
  reservation, or stops.  A shared per-job encoder, a pooled queue context (mean and max of the
  encodings, with the cluster state), one head per level and a ``stop`` head on the context.

Only the slots up to the longest queue in the batch are computed (valid slots are always a
prefix of the window), which is what makes W = 128 cheap when queues are short.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import torch
from torch import nn

from schedlab.errors import ModelFormatError, SchedlabError
from schedlab.options import Agent, choose
from schedlab.rl.checkpoint import CHECKPOINT_FORMAT, read_checkpoint, save_checkpoint
from schedlab.rl.inference import FastForward
from schedlab.rl.options import CHECKPOINT_FIELDS, EnvOptions
from schedlab.simulator.stepper import N_CLUSTER_FEATURES, N_HISTORY_FEATURES, N_JOB_FEATURES

AGENTS = tuple(Agent)
PHASE = 2  # index of the "phase" cluster feature
NEG = -1e9
F32_MAX = float(np.finfo(np.float32).max)


def mlp(sizes: list[int], out_gain: float = 1.0) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        lin = nn.Linear(sizes[i], sizes[i + 1])
        last = i == len(sizes) - 2
        nn.init.orthogonal_(lin.weight, out_gain if last else np.sqrt(2))
        nn.init.zeros_(lin.bias)
        layers.append(lin)
        if not last:
            layers.append(nn.Tanh())
    return nn.Sequential(*layers)


def split_obs(obs: torch.Tensor, W: int, k: int, extra: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(jobs [B, k, F + extra], cluster [B, G]) from flat observations, keeping the first k slots.

    The observation is W rows of per-job features, the cluster features, then (with
    ``EnvOptions.history_features``) W rows of ``extra`` history features, joined to each job here.
    """
    F, G = N_JOB_FEATURES, N_CLUSTER_FEATURES
    jobs = obs[:, : W * F].reshape(-1, W, F)[:, :k]
    cl = obs[:, W * F : W * F + G]
    if extra:
        hist = obs[:, W * F + G : W * F + G + W * extra].reshape(-1, W, extra)[:, :k]
        jobs = torch.cat([jobs, hist], dim=-1)
    return jobs, cl


class ScorerAgent(nn.Module):
    def __init__(self, visible: int, stop_action: bool = False, hidden: tuple[int, ...] = (32, 16, 8), extra: int = 0):
        super().__init__()
        self.W, self.stop_action, self.extra = visible, stop_action, extra
        F, G = N_JOB_FEATURES + extra, N_CLUSTER_FEATURES
        self.score = mlp([F + G, *hidden, 1], out_gain=0.01)
        self.value = mlp([F + G, 64, 64, 1])
        self.stop = mlp([F + G, 32, 1], out_gain=0.01) if stop_action else None

    def forward(self, obs: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        jobs, cl = split_obs(obs, self.W, k, self.extra)
        x = torch.cat([jobs, cl[:, None, :].expand(-1, k, -1)], dim=-1)
        logits = self.score(x).squeeze(-1)
        valid = jobs[:, :, 0:1]
        pooled = torch.cat([(jobs * valid).sum(1) / valid.sum(1).clamp(min=1.0), cl], dim=-1)
        if self.stop is not None:
            logits = torch.cat([logits, self.stop(pooled)], dim=-1)
        return logits, self.value(pooled).squeeze(-1)


class DrasAgent(nn.Module):
    def __init__(self, visible: int, stop_action: bool = True, hidden: int = 64, extra: int = 0):
        super().__init__()
        self.W, self.stop_action, self.extra = visible, stop_action, extra
        F, G = N_JOB_FEATURES + extra, N_CLUSTER_FEATURES
        self.encode = nn.Sequential(mlp([F + G, hidden, hidden]), nn.Tanh())
        self.context = nn.Sequential(mlp([2 * hidden + G, hidden]), nn.Tanh())
        self.run_head = mlp([2 * hidden, hidden // 2, 1], out_gain=0.01)
        self.backfill_head = mlp([2 * hidden, hidden // 2, 1], out_gain=0.01)
        self.stop = mlp([hidden, hidden // 2, 1], out_gain=0.01) if stop_action else None
        self.value = mlp([hidden, hidden, 1])

    def forward(self, obs: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        jobs, cl = split_obs(obs, self.W, k, self.extra)
        e = self.encode(torch.cat([jobs, cl[:, None, :].expand(-1, k, -1)], dim=-1))
        valid = jobs[:, :, 0:1]
        mean = (e * valid).sum(1) / valid.sum(1).clamp(min=1.0)
        mx = (e + (valid - 1.0) * 4.0).amax(1)  # encodings are in [-1, 1]: padding never wins
        ctx = self.context(torch.cat([mean, mx, cl], dim=-1))
        pair = torch.cat([e, ctx[:, None, :].expand(-1, k, -1)], dim=-1)
        backfilling = cl[:, PHASE : PHASE + 1] > 0.5
        logits = torch.where(backfilling, self.backfill_head(pair).squeeze(-1), self.run_head(pair).squeeze(-1))
        if self.stop is not None:
            logits = torch.cat([logits, self.stop(ctx)], dim=-1)
        return logits, self.value(ctx).squeeze(-1)


def build_agent(
    agent: str, visible: int, stop_action: bool, history: bool = False, multires: bool = False
) -> nn.Module:
    """The network of ``agent``; ``history``: it also reads the per-job history features;
    ``multires``: the per-job rows of a multi-resource machine
    (:data:`~schedlab.rl.multires_env.MULTI_FEATURES`)."""
    from schedlab.rl.multires_env import N_MULTI_FEATURES

    agent = choose(Agent, agent, "agent")
    extra = (N_HISTORY_FEATURES if history else 0) + (N_MULTI_FEATURES if multires else 0)
    if agent is Agent.DRAS:
        return DrasAgent(visible, stop_action, extra=extra)
    return ScorerAgent(visible, stop_action, extra=extra)


def slots_needed(mask: np.ndarray | torch.Tensor, W: int) -> int:
    """How many leading slots hold every valid job of the batch (at least 1)."""
    m = mask[:, :W]
    cols = m.any(0)
    idx = np.flatnonzero(cols) if isinstance(cols, np.ndarray) else torch.nonzero(cols).flatten()
    return int(idx.max()) + 1 if len(idx) else 1


def masked_logits(net: nn.Module, obs: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Logits over the computed slots (+ stop), invalid ones at -1e9; value; slot count k."""
    W = net.W
    k = slots_needed(mask, W)
    logits, value = net(obs, k)
    m = mask[:, :k]
    if net.stop_action:  # an environment without agent backfilling has no stop action
        stop = mask[:, W:] if mask.shape[1] > W else torch.zeros_like(mask[:, :1])
        m = torch.cat([m, stop], dim=-1)
    return torch.where(m, logits, torch.full_like(logits, NEG)), value, k


def to_action(index: torch.Tensor, k: int, W: int) -> torch.Tensor:
    """Map an index over (k slots [+ stop]) back to the environment's action (stop = W)."""
    return torch.where(index >= k, torch.full_like(index, W), index)


def to_index(action: torch.Tensor, k: int, W: int) -> torch.Tensor:
    return torch.where(action >= W, torch.full_like(action, k), action)


def checkpoint_options(meta: dict) -> EnvOptions:
    """The environment options a checkpoint's ``meta["env_kwargs"]`` records.

    Legacy rule: checkpoints written before :class:`EnvOptions` hold only the options that were
    given at training; every missing one takes EnvOptions' default, which is what these files
    were always run with (in particular ``backfill_order`` fcfs and ``queue_order`` fcfs).
    New checkpoints record every option of :data:`CHECKPOINT_FIELDS`.
    """
    return EnvOptions.from_dict(meta["env_kwargs"])


class TrainedPolicy:
    """A loaded checkpoint that acts greedily: the scheduling policy behind ``model:PATH``.

    ``env`` is the options it was trained with (:func:`checkpoint_options`); ``env_kwargs`` the
    same as the plain dict a checkpoint stores (what :mod:`schedlab.rl.rlscheduler_protocol`
    reads from any agent)."""

    def __init__(self, net: nn.Module, meta: dict, path: str | Path | None = None):
        self.net = net.eval()
        self.meta = meta
        self.agent = meta["agent"]
        self.env = checkpoint_options(meta)
        self.path = path
        self.fast = FastForward(net, N_JOB_FEATURES, N_CLUSTER_FEATURES, PHASE)

    def _logits(self, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Masked logits of one decision (W slots, then stop; NEG where invalid), from the compiled
        forward pass (:mod:`schedlab.rl.inference`); a ModelFormatError when the network scores a
        valid action NaN or infinite, or every valid action at or below the mask value NEG: the
        argmax would be an arbitrary, possibly invalid, action (finite weights of absurd size do that)."""
        logits = self.fast.logits(obs, mask)
        # beyond float32's range the network (float32) would score inf: the same refusal
        if not (np.abs(logits) <= F32_MAX).all() or logits.max() <= NEG:  # invalid actions hold NEG
            raise ModelFormatError(
                f"{self.path or 'the model'}: the network scores jobs as NaN, infinite or below {NEG:g} "
                "(weights out of range)"
            )
        return logits

    @property
    def env_kwargs(self) -> dict:
        return self.env.to_dict(CHECKPOINT_FIELDS)

    def act(self, obs: np.ndarray, mask: np.ndarray) -> int:
        """The greedy action (the first of equal best scores; stop, W, comes after every slot)."""
        return int(self._logits(obs, mask).argmax())

    def act_env(self, env) -> int:
        """The greedy action at the decision ``env`` (a SchedulingEnv) has due."""
        return self.act(env.observation(), env.action_masks())

    def scores(self, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The network's logit for every action of the environment (-inf where invalid); the
        greedy action is their argmax.  What ``schedlab explain`` distils into a tree."""
        lg = self._logits(obs, mask)
        mask = np.asarray(mask, dtype=bool)
        out = np.full(len(mask), -np.inf)
        n = min(len(mask), len(lg))
        out[:n] = lg[:n]
        out[~mask] = -np.inf
        return out


def _names(names: list[str]) -> str:
    shown = ", ".join(n if len(n) <= 40 else n[:37] + "..." for n in names[:4])
    return shown + (f" and {len(names) - 4} more" if len(names) > 4 else "")


def _shape(t: torch.Size) -> str:
    text = "x".join(str(d) for d in t) or "scalar"
    return text if len(text) <= 40 else text[:37] + "..."


@cache
def _weight_names(agent: Agent, stop_action: bool) -> frozenset[str]:
    """The names in the state dict of an agent of kind ``agent`` (they do not depend on W)."""
    with torch.random.fork_rng():  # building initialises weights: leave the caller's RNG as it was
        return frozenset(build_agent(agent, 1, stop_action).state_dict())


def _check_keys(where: str, agent: Agent, options: EnvOptions, want: dict, state: dict) -> None:
    """The state dict names exactly the weights of the network; else say what it looks like."""
    missing = [k for k in want if k not in state]
    extra = [k for k in state if k not in want]
    if not missing and not extra:
        return
    for other in AGENTS:
        for stop in (False, True):
            if _weight_names(other, stop) != frozenset(state):
                continue
            if other is not agent:
                raise ModelFormatError(f"{where}: weights do not match a {agent} agent: they are a {other} agent's")
            have = "have a" if stop else "have no"
            raise ModelFormatError(
                f"{where}: weights do not match its options: they {have} stop head, but with backfill "
                f"{options.backfill} the agent {'does not pick' if stop else 'picks'} its own backfill jobs"
            )
    parts = [
        f"missing weight(s) {_names(missing)}" if missing else "",
        f"unknown weight(s) {_names(extra)}" if extra else "",
    ]
    raise ModelFormatError(f"{where}: weights do not match a {agent} agent: {'; '.join(p for p in parts if p)}")


def model_network(where: str | Path, agent, options: EnvOptions, state: dict) -> nn.Module:
    """The network a checkpoint's agent and options build, with ``state``'s weights, after checking
    that ``state`` names exactly its weights, each with the same shape and dtype (checked before
    anything reads a tensor's values: a file may declare a huge view over a tiny storage), dense
    and finite (a NaN weight scores every job NaN: an arbitrary order).  ``where`` names the file."""
    agent = choose(Agent, agent, "agent")
    net = build_agent(
        agent, options.visible, options.stop_action, options.history_features, options.cluster is not None
    )
    want = net.state_dict()
    _check_keys(str(where), agent, options, want, state)
    for name, p in want.items():
        t = state[name]
        if not isinstance(t, torch.Tensor) or t.layout != torch.strided or t.is_quantized:
            raise ModelFormatError(f"{where}: weight {name} is not a dense tensor")
        if t.shape != p.shape:
            raise ModelFormatError(
                f"{where}: weight {name} has shape {_shape(t.shape)}, but a {agent} agent needs {_shape(p.shape)}"
            )
        if t.dtype != p.dtype:
            raise ModelFormatError(f"{where}: weight {name} is {t.dtype}, but a {agent} agent's weights are {p.dtype}")
    for name in want:
        if not torch.isfinite(state[name]).all():
            raise ModelFormatError(f"{where}: weight {name} holds NaN or infinite values")
    try:
        net.load_state_dict({k: state[k] for k in want}, strict=True)
    except (RuntimeError, TypeError, ValueError) as exc:  # not expected after the checks above
        raise ModelFormatError(
            f"{where}: weights do not load into a {agent} agent ({str(exc).splitlines()[0]})"
        ) from None
    return net


def saved_options(where: str | Path, meta: dict) -> EnvOptions:
    """:func:`checkpoint_options` for a file: plain types only, every value in range; errors name ``where``."""
    try:
        choose(Agent, meta["agent"], "agent")
        return EnvOptions.from_saved(meta["env_kwargs"])
    except SchedlabError as exc:
        raise ModelFormatError(f"{where}: {exc}") from None


def load_policy(path: str | Path) -> TrainedPolicy:
    """The model in ``path`` (a checkpoint file or a run folder), read once and checked: its options
    (:meth:`EnvOptions.from_saved`) and its weights against the network they build
    (:func:`model_network`).  Anything wrong is a one-line :class:`ModelFormatError`."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.pt"
    ck = read_checkpoint(path)
    meta = ck["meta"]
    options = saved_options(path, meta)
    net = model_network(path, meta["agent"], options, ck["model"])
    return TrainedPolicy(net, meta, path)


__all__ = [
    "AGENTS",
    "CHECKPOINT_FORMAT",
    "DrasAgent",
    "ScorerAgent",
    "TrainedPolicy",
    "build_agent",
    "checkpoint_options",
    "load_policy",
    "masked_logits",
    "model_network",
    "read_checkpoint",
    "save_checkpoint",
    "saved_options",
    "to_action",
    "to_index",
]
