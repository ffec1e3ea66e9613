"""PPO for the scheduling environment, in one file (CleanRL style): every hyper-parameter is a
field of :class:`PPOConfig`, and :func:`train` reads top to bottom.

What is particular to scheduling:
* Action masking: invalid slots get a logit of -1e9, so they are never sampled and carry no
  gradient; the entropy is over valid actions only.
* Only the slots up to the longest queue of a (mini)batch are computed (see ``agents.py``).
* Episode-level objectives are sparse (one reward at the end of a window) and windows differ
  wildly in difficulty, so by default the reward is *relative to a heuristic on the same window*
  (``baseline``): (baseline's mean bsld - agent's) / baseline's.  gamma = 1 and GAE lambda close
  to 1 carry it back to every decision of the episode.
* Curriculum (DRAS): training moves through ``stages``, each a list of workloads to draw windows
  from and the fraction of the steps it lasts; e.g. resampled easier job sets, then the
  Theta-derived DRAS job sets, then real windows of the training split.
* Exact resume: a checkpoint holds the model, the optimiser, every RNG and every environment's
  state, at an update boundary; :func:`train` with ``resume=`` continues as if never stopped
  (the files: :mod:`schedlab.rl.checkpoint`; the CSV/TensorBoard log: :mod:`schedlab.rl.train_log`).

:func:`train` reads top to bottom: set up (seed, network, environments, or the resumed state), the
imitation warm start, then per update: :func:`rollout`, :func:`advantages` (GAE),
:func:`ppo_update`, and the bookkeeping (validation, curriculum stage, log, checkpoint).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path

# Before torch loads OpenMP (it reads this once): threads waiting at a barrier sleep instead of
# spinning, so a learner running its update on 2 threads (rollout workers, see rl/rollouts.py) is not
# slowed tenfold when another process takes one of its cores.  The user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import torch
from torch.distributions import Categorical

from schedlab.errors import OptionError, SchedlabError
from schedlab.options import Agent, Split, choose
from schedlab.rl.agents import build_agent, checkpoint_options, masked_logits, to_action, to_index
from schedlab.rl.checkpoint import (
    Progress,
    read_training_state,
    restore_training_state,
    save_checkpoint,
    save_training_state,
)
from schedlab.rl.env import SchedulingEnv
from schedlab.rl.episodes import run_episodes
from schedlab.rl.multires_env import make_env
from schedlab.rl.options import CHECKPOINT_FIELDS, EnvOptions
from schedlab.rl.train_log import TrainLog


@dataclass
class PPOConfig:
    agent: Agent = Agent.DRAS  # dras | scorer
    seed: int = 0
    total_steps: int = 500_000  # environment decisions over the whole run
    num_envs: int = 8  # environments stepped in lock-step (one process)
    num_steps: int = 256  # decisions per environment per rollout
    learning_rate: float = 3e-4
    anneal_lr: bool = True  # linear decay to 0 over the run
    gamma: float = 1.0  # no discounting inside a window
    gae_lambda: float = 0.99
    num_minibatches: int = 8
    update_epochs: int = 4
    norm_adv: bool = True
    clip_coef: float = 0.2
    clip_vloss: bool = True
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    target_kl: float | None = 0.05  # stop an update's epochs early past this KL
    checkpoint_every: int = 10  # updates between checkpoints
    validate_every: int = 25  # updates between validations (0: never)
    torch_threads: int = 1
    bc_teacher: str | None = "sjf"  # warm start: imitate this heuristic first (None: from scratch)
    bc_updates: int = 30  # imitation rounds, each num_envs x num_steps teacher decisions
    bc_epochs: int = 4
    bc_learning_rate: float = 1e-3
    rollout_workers: int = 1  # worker processes collecting each rollout (1: this process; see rl/rollouts.py)
    rollout_executor: str = "processes"  # processes | ray (with rollout_workers > 1)
    env: EnvOptions = field(default_factory=EnvOptions)  # the environments' options (a dict is converted)

    def __post_init__(self) -> None:
        self.agent = choose(Agent, self.agent, "agent")
        self.env = EnvOptions.coerce(self.env)
        if not 1 <= self.rollout_workers <= self.num_envs:
            raise OptionError(
                f"rollout workers ({self.rollout_workers}) must be between 1 and the number of environments "
                f"({self.num_envs})"
            )
        if self.rollout_executor not in ("processes", "ray"):
            raise OptionError(f"unknown rollout executor {self.rollout_executor!r} (known: processes, ray)")

    def to_dict(self) -> dict:
        """Plain data (enums as strings, the options as a dict), as checkpoints record it."""
        return {**asdict(self), "agent": self.agent.value, "env": self.env.to_dict()}


@dataclass
class Stage:
    """One curriculum stage: windows drawn from ``workloads`` for ``fraction`` of the steps."""

    name: str
    workloads: list
    fraction: float
    split: Split = Split.TRAIN  # split of each workload to draw windows from


def stage_at(stages: list[Stage], progress: float) -> int:
    acc = 0.0
    for i, s in enumerate(stages):
        acc += s.fraction
        if progress < acc - 1e-12:
            return i
    return len(stages) - 1


def make_envs(cfg: PPOConfig, stage: Stage, seed: int) -> list[SchedulingEnv]:
    envs = []
    options = cfg.env.replace(split=stage.split)
    for i in range(cfg.num_envs):
        env = make_env(stage.workloads[i % len(stage.workloads)], options)
        env.reset(seed=seed + i)
        envs.append(env)
    return envs


def stack_obs(envs):
    return (np.stack([e._obs for e in envs]), np.stack([e._mask for e in envs]))


@torch.no_grad()
def greedy_episodes(net, envs_starts: list[tuple[SchedulingEnv, int]]) -> list[dict]:
    """Run one greedy episode per (env, window start), batched across them; their metrics."""

    def act_all(envs: list[SchedulingEnv]):
        obs, mask = (torch.as_tensor(a) for a in stack_obs(envs))
        logits, _, k = masked_logits(net, obs, mask)
        return to_action(logits.argmax(-1), k, net.W).numpy()

    return run_episodes(envs_starts, act_all)


def imitate(cfg: PPOConfig, net, envs: list[SchedulingEnv], W: int) -> None:
    """Behaviour cloning of ``cfg.bc_teacher``: roll the teacher out, fit the policy head to its
    choices by cross-entropy.  PPO then starts from the heuristic instead of from random."""
    opt = torch.optim.Adam(net.parameters(), lr=cfg.bc_learning_rate)
    for _ in range(cfg.bc_updates):
        obs, masks, acts = [], [], []
        for _step in range(cfg.num_steps):
            for e in envs:
                a = e.teacher_action(cfg.bc_teacher)
                obs.append(e._obs.copy())
                masks.append(e._mask.copy())
                acts.append(a)
                if e.step(a)[2]:
                    e.reset()
        o, m, a = torch.from_numpy(np.stack(obs)), torch.from_numpy(np.stack(masks)), torch.tensor(acts)
        n = len(a)
        size = max(1, n // cfg.num_minibatches)
        for _epoch in range(cfg.bc_epochs):
            perm = torch.randperm(n)
            for s in range(0, n, size):
                mb = perm[s : s + size]
                logits, _, k = masked_logits(net, o[mb], m[mb])
                loss = torch.nn.functional.cross_entropy(logits, to_index(a[mb], k, W))
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.max_grad_norm)
                opt.step()


@dataclass
class Rollout:
    """One rollout's tensors, [num_steps, num_envs, ...]."""

    obs: torch.Tensor
    mask: torch.Tensor
    act: torch.Tensor
    logp: torch.Tensor
    rew: torch.Tensor
    done: torch.Tensor
    val: torch.Tensor

    @classmethod
    def empty(cls, steps: int, n_envs: int, dim: int, n_act: int) -> Rollout:
        logp, rew, done, val = (torch.zeros((steps, n_envs)) for _ in range(4))
        return cls(
            obs=torch.zeros((steps, n_envs, dim)),
            mask=torch.zeros((steps, n_envs, n_act), dtype=torch.bool),
            act=torch.zeros((steps, n_envs), dtype=torch.long),
            logp=logp,
            rew=rew,
            done=done,
            val=val,
        )


def train(
    cfg: PPOConfig,
    stages: list[Stage],
    out_dir: str | Path,
    validation: list[tuple[SchedulingEnv, int]] | None = None,
    validation_reference: list[float] | None = None,
    resume: bool = False,
    on_update: Callable[[dict], None] | None = None,
    stop_after_updates: int | None = None,
    meta_extra: dict | None = None,
) -> dict:
    """Train; writes ``model.pt`` (best on validation, else last), ``last.pt`` (the resumable
    checkpoint) and ``train_log.csv`` into ``out_dir``.  Returns the last stats.

    The best checkpoint is the lowest mean bsld over the validation windows or, with
    ``validation_reference`` (a reference heuristic's bsld per window), the lowest mean ratio
    bsld / reference: windows at different loads then weigh the same."""
    from schedlab.rl.rollouts import rollout_workers, update_threads

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()  # elapsed time includes the imitation warm start
    torch.set_num_threads(cfg.torch_threads)
    n_updates = max(1, cfg.total_steps // (cfg.num_envs * cfg.num_steps))
    meta = {"agent": cfg.agent.value, "env_kwargs": cfg.env.to_dict(CHECKPOINT_FIELDS), "ppo": cfg.to_dict()}
    meta.update(stages=[s.name for s in stages], **(meta_extra or {}))
    net, opt, progress, envs = set_up(cfg, stages, out / "last.pt" if resume else None)
    validating = bool(validation and cfg.validate_every)
    validate = partial(validation_scores, net, validation, validation_reference)

    # ---- warm start: imitate a heuristic (its validation makes it a candidate for model.pt)
    warm_start = None  # train_log's row 0: the warm start's validation
    if not resume and cfg.bc_teacher:
        note, warm_start = warm_start_by_imitation(cfg, net, envs, progress, validate if validating else None, t_start)
        save_checkpoint(out / "model.pt", net, {**meta, **note})

    buf = Rollout.empty(cfg.num_steps, cfg.num_envs, envs[0].observation_space.shape[0], envs[0].action_space.n)
    log = TrainLog(out, progress.update if resume else None, warm_start)
    stats: dict = {}
    ep_return = np.zeros(cfg.num_envs)
    steps_at_start = progress.global_step
    with rollout_workers(cfg, stages) as collect:  # this process, or parallel workers
        while progress.update < n_updates:
            if stop_after_updates is not None and progress.update >= stop_after_updates:
                break
            lr = cfg.learning_rate * ((1.0 - progress.update / n_updates) if cfg.anneal_lr else 1.0)
            for g in opt.param_groups:
                g["lr"] = lr
            finished, returns_done = collect(net, envs, buf, ep_return, progress)
            progress.global_step += cfg.num_steps * cfg.num_envs
            adv, ret = advantages(cfg, net, envs, buf)
            with update_threads(cfg):  # more threads only with rollout workers, whose cores are idle now
                losses = ppo_update(cfg, net, opt, buf, adv, ret)
            progress.update += 1
            progress.episodes += len(finished)

            # ---- bookkeeping: validation (a better model replaces model.pt), curriculum, log, checkpoint
            val_bsld = val_ratio = float("nan")
            if validating and (progress.update % cfg.validate_every == 0 or progress.update == n_updates):
                val_bsld, val_ratio, score = validate()
                if -score > progress.best:
                    progress.best = -score
                    elapsed = progress.elapsed_s + time.perf_counter() - t_start
                    scores = {"val_bsld": val_bsld, "val_ratio": val_ratio, "global_step": progress.global_step}
                    save_checkpoint(out / "model.pt", net, {**meta, **scores, "elapsed_s": elapsed})
            new_stage = stage_at(stages, progress.update / n_updates)
            if new_stage != progress.stage:
                progress.stage = new_stage
                envs = make_envs(cfg, stages[progress.stage], cfg.seed * 1000 + progress.update)
                ep_return[:] = 0.0
            elapsed = time.perf_counter() - t_start
            stats = {
                "update": progress.update,
                "global_step": progress.global_step,
                "stage": stages[progress.stage].name,
                "episodes": progress.episodes,
                **episode_stats(finished, returns_done),
                **losses,
                "lr": lr,
                "val_bsld": val_bsld,
                "val_ratio": val_ratio,
                "steps_per_s": (progress.global_step - steps_at_start) / max(elapsed, 1e-9),
                "elapsed_s": progress.elapsed_s + elapsed,
            }
            log.write(stats)
            if progress.update % cfg.checkpoint_every == 0 or progress.update == n_updates:
                save_training_state(
                    out / "last.pt", net, meta, opt, replace(progress, elapsed_s=stats["elapsed_s"]), envs
                )
            if on_update:
                on_update(stats)
    if not validation or not (out / "model.pt").exists():
        save_checkpoint(out / "model.pt", net, {**meta, "global_step": progress.global_step})
    log.close()
    return stats


def set_up(cfg: PPOConfig, stages: list[Stage], resume_from: Path | None):
    """(network, optimiser, progress, environments): seeded from ``cfg.seed``, or continuing the run
    whose ``last.pt`` is ``resume_from`` (same options required) exactly where it stopped."""
    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    net = build_agent(
        cfg.agent, cfg.env.visible, cfg.env.stop_action, cfg.env.history_features, cfg.env.cluster is not None
    )
    opt = torch.optim.Adam(net.parameters(), lr=cfg.learning_rate, eps=1e-5)
    progress = Progress(stage=stage_at(stages, 0.0))
    envs = make_envs(cfg, stages[progress.stage], cfg.seed * 1000)
    if resume_from is not None:
        ck, progress = read_training_state(resume_from)
        saved = checkpoint_options(ck["meta"]).to_dict(CHECKPOINT_FIELDS)
        if ck["meta"]["agent"] != cfg.agent or saved != cfg.env.to_dict(CHECKPOINT_FIELDS):
            raise SchedlabError(f"{resume_from} was trained with different options; resume with the same ones")
        envs = make_envs(cfg, stages[progress.stage], cfg.seed * 1000)
        restore_training_state(ck, net, opt, envs)
    return net, opt, progress, envs


def warm_start_by_imitation(cfg: PPOConfig, net, envs, progress: Progress, validate, t_start: float):
    """Imitate ``cfg.bc_teacher`` (:func:`imitate`), restart the episodes and, with ``validate``,
    score the result (it becomes the best so far).  Returns (what model.pt's meta records of the
    warm start, its train_log row 0 or None when not validated)."""
    imitate(cfg, net, envs, cfg.env.visible)
    for e in envs:
        e.reset()
    note = {"global_step": 0, "note": f"imitation of {cfg.bc_teacher}"}
    if validate is None:
        return note, None
    v_bsld, v_ratio, score = validate()
    progress.best = -score
    note.update(val_bsld=v_bsld, val_ratio=v_ratio)
    row = {"update": 0, "global_step": 0, "stage": "imitation", "val_bsld": v_bsld, "val_ratio": v_ratio}
    return note, {**row, "elapsed_s": time.perf_counter() - t_start}


def rollout(cfg: PPOConfig, net, envs: list[SchedulingEnv], buf: Rollout, ep_return: np.ndarray, generator=None):
    """``cfg.num_steps`` decisions of every environment, sampled from the policy, into ``buf``;
    an environment whose episode ends is reset.  Returns (metrics, returns) of the episodes ended.
    Actions are sampled with torch's global RNG, or with ``generator`` (a rollout worker's own)."""
    finished: list[dict] = []
    returns_done: list[float] = []
    for step in range(cfg.num_steps):
        o, m = stack_obs(envs)
        obs_t, mask_t = torch.from_numpy(o), torch.from_numpy(m)
        with torch.no_grad():
            logits, value, k = masked_logits(net, obs_t, mask_t)
            if generator is None:
                idx = Categorical(logits=logits).sample()
                logp = Categorical(logits=logits).log_prob(idx)
            else:
                idx, logp = sample(logits, generator)
        action = to_action(idx, k, net.W)
        buf.obs[step], buf.mask[step], buf.act[step], buf.logp[step], buf.val[step] = obs_t, mask_t, action, logp, value
        for i, e in enumerate(envs):
            _, r, done, _, info = e.step(int(action[i]))
            buf.rew[step, i] = r
            buf.done[step, i] = float(done)
            ep_return[i] += r
            if done:
                finished.append(info["episode_metrics"])
                returns_done.append(ep_return[i])
                ep_return[i] = 0.0
                e.reset()
    return finished, returns_done


def sample(logits: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(what ``Categorical(logits=logits).sample()`` draws, from ``generator``; its log-probability),
    from one distribution object (its argument checks skipped: the logits come from masked_logits)."""
    dist = Categorical(logits=logits, validate_args=False)
    idx = torch.multinomial(dist.probs, 1, True, generator=generator)[:, 0]
    return idx, dist.log_prob(idx)


def advantages(cfg: PPOConfig, net, envs: list[SchedulingEnv], buf: Rollout) -> tuple[torch.Tensor, torch.Tensor]:
    """GAE advantages and returns (an episode's last step has done = 1: nothing is bootstrapped past it)."""
    with torch.no_grad():
        o, m = stack_obs(envs)
        _, next_value, _ = masked_logits(net, torch.from_numpy(o), torch.from_numpy(m))
    adv = torch.zeros_like(buf.rew)
    last = torch.zeros(cfg.num_envs)
    for t in reversed(range(cfg.num_steps)):
        nv = next_value if t == cfg.num_steps - 1 else buf.val[t + 1]
        nonterminal = 1.0 - buf.done[t]
        delta = buf.rew[t] + cfg.gamma * nv * nonterminal - buf.val[t]
        last = delta + cfg.gamma * cfg.gae_lambda * nonterminal * last
        adv[t] = last
    return adv, adv + buf.val


def ppo_update(cfg: PPOConfig, net, opt, buf: Rollout, adv: torch.Tensor, ret: torch.Tensor) -> dict:
    """The clipped PPO update over minibatches of the rollout; the last minibatch's losses."""
    batch_size = cfg.num_envs * cfg.num_steps
    minibatch = batch_size // cfg.num_minibatches
    W = net.W
    b_obs, b_mask = buf.obs.reshape(batch_size, -1), buf.mask.reshape(batch_size, -1)
    b_act, b_logp = buf.act.reshape(-1), buf.logp.reshape(-1)
    b_adv, b_ret, b_val = adv.reshape(-1), ret.reshape(-1), buf.val.reshape(-1)
    clipfracs, approx_kl = [], torch.tensor(0.0)
    for _epoch in range(cfg.update_epochs):
        perm = torch.randperm(batch_size)
        for s in range(0, batch_size, minibatch):
            mb = perm[s : s + minibatch]
            logits, value, k = masked_logits(net, b_obs[mb], b_mask[mb])
            dist = Categorical(logits=logits)
            new_logp = dist.log_prob(to_index(b_act[mb], k, W))
            p = dist.probs
            entropy = -(p * torch.where(p > 0, dist.logits, torch.zeros_like(p))).sum(-1)
            ratio = (new_logp - b_logp[mb]).exp()
            with torch.no_grad():
                approx_kl = ((ratio - 1) - (new_logp - b_logp[mb])).mean()
                clipfracs.append(((ratio - 1.0).abs() > cfg.clip_coef).float().mean().item())
            a = b_adv[mb]
            if cfg.norm_adv and len(mb) > 1:
                a = (a - a.mean()) / (a.std() + 1e-8)
            pg_loss = torch.max(-a * ratio, -a * ratio.clamp(1 - cfg.clip_coef, 1 + cfg.clip_coef)).mean()
            if cfg.clip_vloss:
                v_clipped = b_val[mb] + (value - b_val[mb]).clamp(-cfg.clip_coef, cfg.clip_coef)
                v_loss = 0.5 * torch.max((value - b_ret[mb]) ** 2, (v_clipped - b_ret[mb]) ** 2).mean()
            else:
                v_loss = 0.5 * ((value - b_ret[mb]) ** 2).mean()
            loss = pg_loss - cfg.ent_coef * entropy.mean() + cfg.vf_coef * v_loss
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.max_grad_norm)
            opt.step()
        if cfg.target_kl is not None and approx_kl > cfg.target_kl:
            break
    return {
        "policy_loss": pg_loss.item(),
        "value_loss": v_loss.item(),
        "entropy": entropy.mean().item(),
        "approx_kl": float(approx_kl),
        "clipfrac": float(np.mean(clipfracs)),
    }


def validation_scores(net, validation, reference: list[float] | None) -> tuple[float, float, float]:
    """(mean bsld, mean bsld / reference or nan, the score that picks model.pt: lower is better)."""
    vals = np.array([m["mean_bsld"] for m in greedy_episodes(net, validation)])
    ratio = float(np.mean(vals / np.asarray(reference))) if reference is not None else float("nan")
    return float(vals.mean()), ratio, ratio if reference is not None else float(vals.mean())


def episode_stats(finished: list[dict], returns: list[float]) -> dict:
    """Means over the episodes that ended in a rollout (nan when none did)."""
    mean = lambda key: float(np.mean([r[key] for r in finished])) if finished else float("nan")
    return {
        "episode_bsld": mean("mean_bsld"),
        "episode_wait": mean("mean_wait"),
        "episode_util": mean("utilization"),
        "episode_return": float(np.mean(returns)) if returns else float("nan"),
    }


__all__ = ["PPOConfig", "Rollout", "Stage", "greedy_episodes", "imitate", "make_envs", "stage_at", "train"]
