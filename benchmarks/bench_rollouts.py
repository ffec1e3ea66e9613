"""PPO rollouts in this process vs in 2 worker processes, side by side in one run.

    .venv/bin/python benchmarks/bench_rollouts.py    # writes benchmarks/results/rollouts.json

The setting is the shipped theta_2022 DRAS model's (`benchmarks/bench_train.py theta`): the DRAS
agent, 8 environments x 256 decisions per PPO update, windows of 1,024 jobs, agent backfilling,
rewards relative to SJF.  The machine's load average is recorded: other work on its cores takes
them from the workers.

1. Collection: environment steps per second while collecting rollouts (the same network, no
   update), `--rollout-workers 1` (ppo.rollout here) and 2 (two spawned processes), interleaved,
   ``REPEATS`` x ``ROLLOUTS`` rollouts each (median and best of the repeats: other work on the
   machine only slows a repeat down), after one warm-up rollout (the pool is started once);
   also the time each block spends in its worker (the rest is transfer and waiting), and each
   block's time when it runs alone (transfer included), from which 2 free cores would collect a
   rollout in the slower block's time (an estimate; this machine's cores are shared).
2. Training: `schedlab train --window-len 1024 --steps 24576 --validate-every 4 --curriculum none` (its library call,
   run_training) with 1 and 2 rollout workers and the same seed: the validation mean bsld at every
   validated step, and the PPO updates' steps per second (imitation warm start excluded; the same
   in both), also from the median update without a validation in it.
"""

from __future__ import annotations

import csv
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from schedlab.distributed.workers import WorkerPool
from schedlab.rl.ppo import PPOConfig, Rollout, Stage, rollout, set_up
from schedlab.rl.rollouts import ParallelRollouts, _setup
from schedlab.rl.training import run_training
from schedlab.workload import load_trace

ROOT = Path(__file__).resolve().parent.parent
TRACE = "theta_2022"
WINDOW = 1024
ENV = dict(window_len=WINDOW, visible=128, backfill="agent", reward="bsld", baseline="sjf", backfill_order="sjf",
           train_split=0.56)  # fmt: skip
REPEATS, ROLLOUTS = 6, 2
STEPS, VALIDATE_EVERY = 24_576, 4


def collection() -> dict:
    """Steps/s of rollout collection, 1 vs 2 workers (interleaved)."""
    wl = load_trace(TRACE)
    cfg = PPOConfig(agent="dras", seed=0, num_envs=8, num_steps=256, env=ENV, rollout_workers=2)
    stages = [Stage("real", [wl], 1.0)]
    net, _, progress, envs = set_up(cfg, stages, None)
    buf = Rollout.empty(cfg.num_steps, cfg.num_envs, envs[0].observation_space.shape[0], envs[0].action_space.n)
    ep = np.zeros(cfg.num_envs)
    steps = cfg.num_envs * cfg.num_steps * ROLLOUTS
    rates: dict[int, list[float]] = {1: [], 2: []}
    in_worker: list[float] = []
    t0 = time.perf_counter()
    with WorkerPool(_setup, (cfg, stages), 2) as pool:
        parallel = ParallelRollouts(cfg, pool)
        parallel(net, envs, buf, ep, progress)  # starts the workers
        start_s = time.perf_counter() - t0
        rollout(cfg, net, envs, buf, ep)
        for _ in range(REPEATS):
            for n in (1, 2):
                t = time.perf_counter()
                for _ in range(ROLLOUTS):
                    if n == 1:
                        rollout(cfg, net, envs, buf, ep)
                    else:
                        parallel(net, envs, buf, ep, progress)
                        in_worker.append(max(parallel.worker_seconds))
                    progress.update += 1
                rates[n].append(steps / (time.perf_counter() - t))
        alone = block_alone(parallel, net, envs, ep, progress)
    return {
        "steps_per_rollout": cfg.num_envs * cfg.num_steps,
        "steps_per_s": {str(n): r for n, r in rates.items()},
        "median_steps_per_s": {str(n): statistics.median(r) for n, r in rates.items()},
        "best_steps_per_s": {str(n): max(r) for n, r in rates.items()},
        "best_speedup": max(rates[2]) / max(rates[1]),
        "speedup": statistics.median(rates[2]) / statistics.median(rates[1]),
        "median_slowest_block_in_worker_s": statistics.median(in_worker),
        "median_rollout_here_s": cfg.num_envs * cfg.num_steps / statistics.median(rates[1]),
        "pool_start_and_first_rollout_s": start_s,
        "block_alone_s": alone,
        "estimated_steps_per_s_2_free_cores": cfg.num_envs * cfg.num_steps / max(alone),
    }


def block_alone(parallel: ParallelRollouts, net, envs, ep, progress) -> list[float]:
    """Each block's wall time (transfer included) when it is the only job running, best of
    ``REPEATS``: what a rollout takes when each worker has a core of its own."""
    from schedlab.rl.rollouts import blocks, collect_block, weights_of

    weights, out = weights_of(net), []
    for lo, hi in blocks(len(envs), 2):
        job = {"stage": 0, "lo": lo, "hi": hi, "states": [e.get_state() for e in envs[lo:hi]],
               "ep_return": ep[lo:hi].copy(), "seed": 0}  # fmt: skip
        times = []
        for _ in range(REPEATS):
            t = time.perf_counter()
            parallel.pool.map(collect_block, [job], shared=weights)
            times.append(time.perf_counter() - t)
        out.append(min(times))
    return out


def training(workers: int, out: Path) -> dict:
    """One training run; its validation curve and update speed from train_log.csv."""
    ppo = {"rollout_workers": workers, "validate_every": VALIDATE_EVERY, "learning_rate": 1e-4, "ent_coef": 0.001}
    t0 = time.perf_counter()
    run_training("dras", TRACE, "bsld", 0.7, STEPS, 0, out, window_len=WINDOW, curriculum="none", ppo_overrides=ppo)
    wall = time.perf_counter() - t0
    with open(out / "train_log.csv") as f:
        rows = list(csv.DictReader(f))
    el = [float(r["elapsed_s"]) for r in rows]  # row 0: the imitation warm start, validated
    per_update = np.diff(el)
    plain = [d for d, r in zip(per_update, rows[1:], strict=True) if r["val_bsld"] == "nan"]  # no validation in it
    steps = int(rows[-1]["global_step"])
    return {
        "workers": workers,
        "wall_s": wall,
        "warm_start_s": el[0],
        "ppo_steps_per_s": steps / (el[-1] - el[0]),
        "ppo_steps_per_s_without_validation": (steps / len(per_update)) / float(np.median(plain)),
        "val_bsld": {r["global_step"]: float(r["val_bsld"]) for r in rows if r["val_bsld"] != "nan"},
    }


def main() -> None:
    torch.set_num_threads(1)
    res = {"trace": TRACE, "cpus": os.cpu_count(), "env": ENV, "load_average_at_start": os.getloadavg()}
    res["collection"] = collection()
    with tempfile.TemporaryDirectory() as tmp:
        res["training"] = [training(n, Path(tmp) / f"w{n}") for n in (1, 2)]
    res["load_average_at_end"] = os.getloadavg()
    one, two = res["training"]
    res["training_speedup"] = two["ppo_steps_per_s"] / one["ppo_steps_per_s"]
    res["training_speedup_without_validation"] = (
        two["ppo_steps_per_s_without_validation"] / one["ppo_steps_per_s_without_validation"]
    )
    out = ROOT / "benchmarks" / "results" / "rollouts.json"
    out.write_text(json.dumps(res, indent=2) + "\n")
    c, la = res["collection"]["median_steps_per_s"], (res["load_average_at_start"][0], res["load_average_at_end"][0])
    col = res["collection"]
    b = col["best_steps_per_s"]
    print(f"collection (median): {c['1']:,.0f} steps/s in this process, {c['2']:,.0f} with 2 workers "
          f"(x{res['collection']['speedup']:.2f}); best {b['1']:,.0f} and {b['2']:,.0f} "
          f"(x{res['collection']['best_speedup']:.2f}); a rollout here {col['median_rollout_here_s']:.3f} s, "
          f"the slower block in its worker {col['median_slowest_block_in_worker_s']:.3f} s; "
          f"load average {la[0]:.2f} at start, {la[1]:.2f} at end")  # fmt: skip
    print(
        f"each block alone in its worker: {', '.join(f'{x:.3f} s' for x in col['block_alone_s'])}: with a free "
        f"core per worker, about {col['estimated_steps_per_s_2_free_cores']:,.0f} steps/s (an estimate)"
    )
    for t in res["training"]:
        curve = ", ".join(f"{s}: {v:.2f}" for s, v in t["val_bsld"].items())
        print(f"training, {t['workers']} worker(s): {t['ppo_steps_per_s']:,.0f} PPO steps/s "
              f"({t['ppo_steps_per_s_without_validation']:,.0f} without validation); val bsld: {curve}")  # fmt: skip
    print(f"training speed-up x{res['training_speedup']:.2f} (x{res['training_speedup_without_validation']:.2f} "
          f"without validation); written {out}")  # fmt: skip


if __name__ == "__main__":
    main()
