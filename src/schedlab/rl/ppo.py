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
  state, at an update boundary; :func:`train` with ``resume=`` continues as if never stopped.
"""

from __future__ import annotations

import csv
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.distributions import Categorical

from schedlab.rl.agents import build_agent, masked_logits, read_checkpoint, save_checkpoint, to_action, to_index
from schedlab.rl.env import SchedulingEnv


@dataclass
class PPOConfig:
    agent: str = "dras"  # dras | scorer
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
    env: dict = field(default_factory=dict)  # SchedulingEnv options (visible, backfill, reward, baseline, ...)


@dataclass
class Stage:
    """One curriculum stage: windows drawn from ``workloads`` for ``fraction`` of the steps."""

    name: str
    workloads: list
    fraction: float
    split: str = "train"  # split of each workload to draw windows from


def stage_at(stages: list[Stage], progress: float) -> int:
    acc = 0.0
    for i, s in enumerate(stages):
        acc += s.fraction
        if progress < acc - 1e-12:
            return i
    return len(stages) - 1


def make_envs(cfg: PPOConfig, stage: Stage, seed: int) -> list[SchedulingEnv]:
    envs = []
    for i in range(cfg.num_envs):
        wl = stage.workloads[i % len(stage.workloads)]
        env = SchedulingEnv(wl, **{**cfg.env, "split": stage.split})
        env.reset(seed=seed + i)
        envs.append(env)
    return envs


def stack_obs(envs):
    return (np.stack([e._obs for e in envs]), np.stack([e._mask for e in envs]))


@torch.no_grad()
def greedy_episodes(net, envs_starts: list[tuple[SchedulingEnv, int]]) -> list[dict]:
    """Run one greedy episode per (env, window start), batched across them; their metrics."""
    envs = [e for e, _ in envs_starts]
    for e, s in envs_starts:
        e.reset(options={"start": int(s)})
    out: list[dict | None] = [None] * len(envs)
    live = list(range(len(envs)))
    W = net.W
    while live:
        obs = torch.as_tensor(np.stack([envs[i]._obs for i in live]))
        mask = torch.as_tensor(np.stack([envs[i]._mask for i in live]))
        logits, _, k = masked_logits(net, obs, mask)
        acts = to_action(logits.argmax(-1), k, W).numpy()
        keep = []
        for i, a in zip(live, acts, strict=False):
            _, _, done, _, info = envs[i].step(int(a))
            if done:
                out[i] = info["episode_metrics"]
            else:
                keep.append(i)
        live = keep
    return out  # type: ignore[return-value]


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
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()  # elapsed time includes the imitation warm start
    torch.set_num_threads(cfg.torch_threads)
    batch_size = cfg.num_envs * cfg.num_steps
    minibatch = batch_size // cfg.num_minibatches
    n_updates = max(1, cfg.total_steps // batch_size)
    W = int(cfg.env.get("visible", 128))
    stop_action = cfg.env.get("backfill", "easy") == "agent"
    env_kwargs = {
        "visible": W,
        "backfill": cfg.env.get("backfill", "easy"),
        **{
            k: v
            for k, v in cfg.env.items()
            if k
            in ("queue_order", "backfill_order", "capacity_unit", "estimates", "kill_at_request", "reward", "baseline")
        },
    }
    meta = {
        "agent": cfg.agent,
        "env_kwargs": env_kwargs,
        "ppo": asdict(cfg),
        "stages": [s.name for s in stages],
        **(meta_extra or {}),
    }

    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    net = build_agent(cfg.agent, W, stop_action)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.learning_rate, eps=1e-5)
    update, global_step, best, episodes_done = 0, 0, -np.inf, 0
    stage_i = stage_at(stages, 0.0)
    envs = make_envs(cfg, stages[stage_i], cfg.seed * 1000)
    if resume:
        ck = read_checkpoint(out / "last.pt")
        if ck["meta"]["agent"] != cfg.agent or ck["meta"]["env_kwargs"] != env_kwargs:
            raise ValueError(f"{out / 'last.pt'} was trained with different options; resume with the same ones")
        net.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        update, global_step, best, episodes_done = ck["update"], ck["global_step"], ck["best"], ck["episodes"]
        stage_i = ck["stage"]
        envs = make_envs(cfg, stages[stage_i], cfg.seed * 1000)
        for e, st in zip(envs, ck["envs"], strict=False):
            e.set_state(st)
        random.setstate(ck["rng"]["python"])
        np.random.set_state(ck["rng"]["numpy"])
        torch.set_rng_state(ck["rng"]["torch"])

    def validate() -> tuple[float, float, float]:
        """(mean bsld, mean bsld / reference or nan, the score that picks model.pt: lower is better)."""
        vals = np.array([mm["mean_bsld"] for mm in greedy_episodes(net, validation)])
        ratio = (
            float(np.mean(vals / np.asarray(validation_reference)))
            if validation_reference is not None
            else float("nan")
        )
        return float(vals.mean()), ratio, ratio if validation_reference is not None else float(vals.mean())

    warm_start: dict = {}
    if not resume and cfg.bc_teacher:
        imitate(cfg, net, envs, W)
        for e in envs:
            e.reset()
        note = {"global_step": 0, "note": f"imitation of {cfg.bc_teacher}"}
        if validation and cfg.validate_every:  # the warm start is a candidate for model.pt too
            v_bsld, v_ratio, score = validate()
            best = -score
            note.update(val_bsld=v_bsld, val_ratio=v_ratio)
        warm_start = note
        save_checkpoint(out / "model.pt", net, {**meta, **note})

    dim = envs[0].observation_space.shape[0]
    n_act = envs[0].action_space.n
    obs_b = torch.zeros((cfg.num_steps, cfg.num_envs, dim))
    mask_b = torch.zeros((cfg.num_steps, cfg.num_envs, n_act), dtype=torch.bool)
    act_b = torch.zeros((cfg.num_steps, cfg.num_envs), dtype=torch.long)
    logp_b, rew_b, done_b, val_b = (torch.zeros((cfg.num_steps, cfg.num_envs)) for _ in range(4))
    log_path = out / "train_log.csv"
    fields = [
        "update",
        "global_step",
        "stage",
        "episodes",
        "episode_bsld",
        "episode_wait",
        "episode_util",
        "episode_return",
        "policy_loss",
        "value_loss",
        "entropy",
        "approx_kl",
        "clipfrac",
        "lr",
        "val_bsld",
        "val_ratio",
        "steps_per_s",
        "elapsed_s",
    ]
    if resume and log_path.exists():  # drop rows logged after the checkpoint: they are redone
        with open(log_path, newline="") as f:
            kept = [r for r in csv.DictReader(f) if int(r["update"]) <= update]
        with open(log_path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=fields)
            w.writeheader()
            w.writerows(kept)
    else:
        with open(log_path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=fields)
            w.writeheader()
            if "val_bsld" in warm_start:  # update 0: the imitation warm start's validation
                w.writerow(
                    {
                        "update": 0,
                        "global_step": 0,
                        "stage": "imitation",
                        "val_bsld": warm_start["val_bsld"],
                        "val_ratio": warm_start["val_ratio"],
                        "elapsed_s": time.perf_counter() - t_start,
                    }
                )
    writer = _tensorboard(out)
    stats: dict = {}
    ep_return = np.zeros(cfg.num_envs)
    steps_at_start = global_step
    elapsed_before = ck.get("elapsed_s", 0.0) if resume else 0.0

    while update < n_updates:
        if stop_after_updates is not None and update >= stop_after_updates:
            break
        frac = 1.0 - update / n_updates
        lr = cfg.learning_rate * (frac if cfg.anneal_lr else 1.0)
        for g in opt.param_groups:
            g["lr"] = lr
        # ---- rollout
        finished: list[dict] = []
        returns_done: list[float] = []
        for step in range(cfg.num_steps):
            o, m = stack_obs(envs)
            obs_t, mask_t = torch.from_numpy(o), torch.from_numpy(m)
            with torch.no_grad():
                logits, value, k = masked_logits(net, obs_t, mask_t)
                idx = Categorical(logits=logits).sample()
                logp = Categorical(logits=logits).log_prob(idx)
            action = to_action(idx, k, W)
            obs_b[step], mask_b[step], act_b[step], logp_b[step], val_b[step] = obs_t, mask_t, action, logp, value
            for i, e in enumerate(envs):
                _, r, done, _, info = e.step(int(action[i]))
                rew_b[step, i] = r
                done_b[step, i] = float(done)
                ep_return[i] += r
                if done:
                    finished.append(info["episode_metrics"])
                    returns_done.append(ep_return[i])
                    ep_return[i] = 0.0
                    e.reset()
            global_step += cfg.num_envs
        # ---- GAE (an episode's last step has done = 1: nothing is bootstrapped past it)
        with torch.no_grad():
            o, m = stack_obs(envs)
            _, next_value, _ = masked_logits(net, torch.from_numpy(o), torch.from_numpy(m))
        adv = torch.zeros_like(rew_b)
        last = torch.zeros(cfg.num_envs)
        for t in reversed(range(cfg.num_steps)):
            nv = next_value if t == cfg.num_steps - 1 else val_b[t + 1]
            nonterminal = 1.0 - done_b[t]
            delta = rew_b[t] + cfg.gamma * nv * nonterminal - val_b[t]
            last = delta + cfg.gamma * cfg.gae_lambda * nonterminal * last
            adv[t] = last
        ret = adv + val_b
        # ---- PPO update
        b_obs, b_mask = obs_b.reshape(batch_size, dim), mask_b.reshape(batch_size, n_act)
        b_act, b_logp = act_b.reshape(-1), logp_b.reshape(-1)
        b_adv, b_ret, b_val = adv.reshape(-1), ret.reshape(-1), val_b.reshape(-1)
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
        update += 1
        episodes_done += len(finished)
        # ---- bookkeeping: validation, curriculum, log, checkpoint
        val_bsld = val_ratio = float("nan")
        if validation and cfg.validate_every and (update % cfg.validate_every == 0 or update == n_updates):
            val_bsld, val_ratio, score = validate()
            if -score > best:
                best = -score
                save_checkpoint(
                    out / "model.pt",
                    net,
                    {
                        **meta,
                        "val_bsld": val_bsld,
                        "val_ratio": val_ratio,
                        "global_step": global_step,
                        "elapsed_s": elapsed_before + time.perf_counter() - t_start,
                    },
                )
        new_stage = stage_at(stages, update / n_updates)
        if new_stage != stage_i:
            stage_i = new_stage
            envs = make_envs(cfg, stages[stage_i], cfg.seed * 1000 + update)
            ep_return[:] = 0.0
        elapsed = time.perf_counter() - t_start
        stats = {
            "update": update,
            "global_step": global_step,
            "stage": stages[stage_i].name,
            "episodes": episodes_done,
            "episode_bsld": _mean(finished, "mean_bsld"),
            "episode_wait": _mean(finished, "mean_wait"),
            "episode_util": _mean(finished, "utilization"),
            "episode_return": float(np.mean(returns_done)) if returns_done else float("nan"),
            "policy_loss": pg_loss.item(),
            "value_loss": v_loss.item(),
            "entropy": entropy.mean().item(),
            "approx_kl": float(approx_kl),
            "clipfrac": float(np.mean(clipfracs)),
            "lr": lr,
            "val_bsld": val_bsld,
            "val_ratio": val_ratio,
            "steps_per_s": (global_step - steps_at_start) / max(elapsed, 1e-9),
            "elapsed_s": elapsed_before + elapsed,
        }
        with open(log_path, "a", newline="") as f:
            csv.DictWriter(f, fieldnames=fields).writerow(stats)
        if writer is not None:
            for key, v in stats.items():
                if isinstance(v, float) and np.isfinite(v):
                    writer.add_scalar(key, v, global_step)
        if update % cfg.checkpoint_every == 0 or update == n_updates:
            save_checkpoint(
                out / "last.pt",
                net,
                meta,
                {
                    "optimizer": opt.state_dict(),
                    "update": update,
                    "global_step": global_step,
                    "best": best,
                    "episodes": episodes_done,
                    "stage": stage_i,
                    "envs": [e.get_state() for e in envs],
                    "elapsed_s": stats["elapsed_s"],
                    "rng": {
                        "python": random.getstate(),
                        "numpy": np.random.get_state(),
                        "torch": torch.get_rng_state(),
                    },
                },
            )
        if on_update:
            on_update(stats)
    if not validation or not (out / "model.pt").exists():
        save_checkpoint(out / "model.pt", net, {**meta, "global_step": global_step})
    if writer is not None:
        writer.close()
    return stats


def _mean(rows: list[dict], key: str) -> float:
    return float(np.mean([r[key] for r in rows])) if rows else float("nan")


def _tensorboard(out: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except Exception:  # tensorboard is optional (pip install 'schedlab[tensorboard]')
        return None
    return SummaryWriter(str(out / "tensorboard"))
