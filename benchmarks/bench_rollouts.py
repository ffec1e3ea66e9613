"""PPO with rollout workers vs in one process, side by side in one run.

    .venv/bin/python benchmarks/bench_rollouts.py    # writes benchmarks/results/rollouts.json

The setting is the shipped theta_2022 DRAS model's (`benchmarks/bench_train.py theta`): the DRAS
agent, 8 environments x 256 decisions per PPO update, windows of 1,024 jobs, agent backfilling,
rewards relative to SJF.  The machine's load average is recorded: other work on its cores takes
them from the workers and from the learner's threads.

1. Collection: environment steps per second while collecting rollouts (the same network, no
   update), `--rollout-workers 1` (ppo.rollout here) and 2 (two spawned processes), interleaved,
   ``REPEATS`` x ``ROLLOUTS`` rollouts each (median and best of the repeats: other work on the
   machine only slows a repeat down), after one warm-up rollout (the pool is started once);
   also the time each block spends in its worker (the rest is transfer and waiting), and each
   block's time when it runs alone (transfer included), from which 2 free cores would collect a
   rollout in the slower block's time (an estimate; this machine's cores are shared).  The torch
   threads of the learner and of each worker are recorded.
2. Training, end to end: `schedlab train --window-len 1024 --steps 24576 --validate-every 4
   --curriculum none` (its library call, run_training) with `--rollout-workers 1`, `--rollout-workers 2`
   and, for comparison, `--rollout-workers 1 --threads 2` (one process whose update also uses both
   cores), the same seed, interleaved, ``TRAIN_REPEATS`` times each: the PPO phase's steps per second
   (the imitation warm start excluded: the same in all), median over the repeats, also from the
   median update without a validation in it, where the time of an update goes (collection,
   advantages, the PPO update: timers around the library's functions, nothing else changed), the
   validation mean bsld at every validated step, and whether every repeat of a setting gave the same
   run (its log without timings, its weights: bit for bit).

OpenMP's threads wait passively (``OMP_WAIT_POLICY=PASSIVE``, set below before torch is imported, as
:mod:`schedlab.rl` sets it for the ``schedlab`` command).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads OpenMP (see schedlab/rl/rollouts.py)

import argparse
import contextlib
import csv
import hashlib
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import schedlab.rl.ppo as ppo
import schedlab.rl.rollouts as rollouts
from schedlab.distributed.workers import WorkerPool
from schedlab.report.outputs import write_json
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
TRAIN_REPEATS = 3
#: (name, --rollout-workers, --threads)
SETTINGS = (("1 worker", 1, 1), ("2 workers", 2, 1), ("1 worker, 2 threads", 1, 2))
TIMING = ("steps_per_s", "elapsed_s")


def _threads(kept, shared, job) -> int:
    return torch.get_num_threads()


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
        worker_threads = pool.map(_threads, [None, None])
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
        "torch_threads_in_workers": worker_threads,
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


@contextlib.contextmanager
def phase_timers():
    """Wall time of each collection, GAE and PPO update inside train(): wrappers around the library's
    functions (train looks them up when it calls them), restored after."""
    times: dict[str, list[float]] = {"collect": [], "advantages": [], "update": [], "learner_threads": []}

    def timed(name, fn):
        def run(*a, **kw):
            if name == "update":
                times["learner_threads"].append(torch.get_num_threads())
            t = time.perf_counter()
            out = fn(*a, **kw)
            times[name].append(time.perf_counter() - t)
            return out

        return run

    saved = ppo.ppo_update, ppo.advantages, rollouts.rollout_workers

    @contextlib.contextmanager
    def workers(cfg, stages):
        with saved[2](cfg, stages) as collect:
            yield timed("collect", collect)

    ppo.ppo_update, ppo.advantages = timed("update", saved[0]), timed("advantages", saved[1])
    rollouts.rollout_workers = workers
    try:
        yield times
    finally:
        ppo.ppo_update, ppo.advantages, rollouts.rollout_workers = saved


def training(workers: int, threads: int, out: Path) -> dict:
    """One training run; its validation curve, update speed and phases from train_log.csv."""
    ppo_kw = {"rollout_workers": workers, "torch_threads": threads, "validate_every": VALIDATE_EVERY,
              "learning_rate": 1e-4, "ent_coef": 0.001}  # fmt: skip
    t0 = time.perf_counter()
    with phase_timers() as phases:
        run_training("dras", TRACE, "bsld", 0.7, STEPS, 0, out, window_len=WINDOW, curriculum="none",
                     ppo_overrides=ppo_kw)  # fmt: skip
    wall = time.perf_counter() - t0
    with open(out / "train_log.csv") as f:
        rows = list(csv.DictReader(f))
    el = [float(r["elapsed_s"]) for r in rows]  # row 0: the imitation warm start, validated
    per_update = np.diff(el)
    plain = [d for d, r in zip(per_update, rows[1:], strict=True) if r["val_bsld"] == "nan"]  # no validation in it
    steps = int(rows[-1]["global_step"])
    weights = torch.load(out / "last.pt", weights_only=False)["model"]
    digest = hashlib.sha256()
    for k in sorted(weights):
        digest.update(weights[k].numpy().tobytes())
    log = [{k: v for k, v in r.items() if k not in TIMING} for r in rows]
    return {
        "workers": workers,
        "threads": threads,
        "wall_s": wall,
        "warm_start_s": el[0],
        "ppo_steps_per_s": steps / (el[-1] - el[0]),
        "ppo_steps_per_s_without_validation": (steps / len(per_update)) / float(np.median(plain)),
        "median_phase_s": {k: float(np.median(v)) for k, v in phases.items() if k != "learner_threads"},
        "learner_threads_in_update": sorted(set(phases["learner_threads"])),
        "val_bsld": {r["global_step"]: float(r["val_bsld"]) for r in rows if r["val_bsld"] != "nan"},
        "run_digest": hashlib.sha256((json.dumps(log) + digest.hexdigest()).encode()).hexdigest(),
    }


def trainings() -> dict:
    """Every setting ``TRAIN_REPEATS`` times, interleaved; per setting the medians and one curve."""
    runs: dict[str, list[dict]] = {name: [] for name, _, _ in SETTINGS}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(TRAIN_REPEATS):
            for name, workers, threads in SETTINGS:
                runs[name].append(training(workers, threads, Path(tmp) / f"{workers}-{threads}-{r}"))
    out = {}
    for name, got in runs.items():
        keys = ("ppo_steps_per_s", "ppo_steps_per_s_without_validation")
        med = {k: statistics.median(g[k] for g in got) for k in keys}
        phases = got[0]["median_phase_s"]
        out[name] = {
            "workers": got[0]["workers"],
            "threads": got[0]["threads"],
            "median_ppo_steps_per_s": med["ppo_steps_per_s"],
            "median_ppo_steps_per_s_without_validation": med["ppo_steps_per_s_without_validation"],
            "median_phase_s": {k: statistics.median(g["median_phase_s"][k] for g in got) for k in phases},
            "learner_threads_in_update": got[0]["learner_threads_in_update"],
            "val_bsld": got[0]["val_bsld"],
            "repeats_identical": len({g["run_digest"] for g in got}) == 1,
            "runs": got,
        }
    return out


def main() -> None:
    global TRAIN_REPEATS
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train-repeats", type=int, default=TRAIN_REPEATS, help="runs of each training setting")
    ap.add_argument("--skip-collection", action="store_true", help="time the end-to-end training only")
    args = ap.parse_args()
    TRAIN_REPEATS = max(1, args.train_repeats)
    torch.set_num_threads(1)
    res = {"trace": TRACE, "cpus": os.cpu_count(), "env": ENV, "load_average_at_start": os.getloadavg(),
           "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY")}  # fmt: skip
    res["collection"] = None if args.skip_collection else collection()
    res["training"] = trainings()
    res["load_average_at_end"] = os.getloadavg()
    tr = res["training"]
    one, two = tr[SETTINGS[0][0]], tr[SETTINGS[1][0]]
    for key in ("median_ppo_steps_per_s", "median_ppo_steps_per_s_without_validation"):
        res[f"training_speedup_{key[7:]}"] = two[key] / one[key]
    out = ROOT / "benchmarks" / "results" / "rollouts.json"
    write_json(out, res)
    report(res, out)
    _speedups(res, out)


def report(res: dict, out: Path) -> None:
    col, la = res["collection"], (res["load_average_at_start"][0], res["load_average_at_end"][0])
    if col is None:
        print(f"load average {la[0]:.2f} at start, {la[1]:.2f} at end")
    else:
        report_collection(col, la)
    for name, t in res["training"].items():
        curve = ", ".join(f"{s}: {v:.2f}" for s, v in t["val_bsld"].items())
        ph = t["median_phase_s"]
        print(f"training, {name}: {t['median_ppo_steps_per_s']:,.0f} PPO steps/s, median of {TRAIN_REPEATS} "
              f"({t['median_ppo_steps_per_s_without_validation']:,.0f} without validation; an update: collection "
              f"{ph['collect']:.2f} s, PPO update {ph['update']:.2f} s at {t['learner_threads_in_update']} "
              f"thread(s)); repeats identical: {t['repeats_identical']}; val bsld: {curve}")  # fmt: skip


def report_collection(col: dict, la: tuple) -> None:
    c, b = col["median_steps_per_s"], col["best_steps_per_s"]
    print(f"collection (median): {c['1']:,.0f} steps/s in this process, {c['2']:,.0f} with 2 workers "
          f"(x{col['speedup']:.2f}); best {b['1']:,.0f} and {b['2']:,.0f} (x{col['best_speedup']:.2f}); "
          f"a rollout here {col['median_rollout_here_s']:.3f} s, the slower block in its worker "
          f"{col['median_slowest_block_in_worker_s']:.3f} s; torch threads in the workers "
          f"{col['torch_threads_in_workers']}; load average {la[0]:.2f} at start, {la[1]:.2f} at end")  # fmt: skip
    print(
        f"each block alone in its worker: {', '.join(f'{x:.3f} s' for x in col['block_alone_s'])}: with a free "
        f"core per worker, about {col['estimated_steps_per_s_2_free_cores']:,.0f} steps/s (an estimate)"
    )


def _speedups(res: dict, out: Path) -> None:
    speed = res["training_speedup_ppo_steps_per_s"], res["training_speedup_ppo_steps_per_s_without_validation"]
    print(f"training speed-up, 2 workers / 1: x{speed[0]:.2f} (x{speed[1]:.2f} without validation); written {out}")


if __name__ == "__main__":
    main()
