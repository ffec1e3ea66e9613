"""RL environment throughput: ``schedlab/Scheduling-v0`` steps per second on one core.

    .venv/bin/python benchmarks/bench_env.py              # 5 repeats x 20,000 steps per setting
    .venv/bin/python benchmarks/bench_env.py --steps 50000 --repeats 7
    .venv/bin/python benchmarks/bench_env.py --estimates requested   # requested estimates only

The env is made with ``gymnasium.make`` (so gymnasium's default wrappers, order enforcing and the
passive env checker, are included) on theta_2022 with the default settings (windows of 256 jobs,
128 visible, training split), for backfill easy / agent x reward bsld / dras, each with every
estimate source of ``--estimates`` (default: requested, predicted:last2, predicted:ml; predicted
ones warm a predictor at every reset, predict at arrivals, learn at completions, correct overdue
running jobs with the default reqtime rule).  The agent takes
random valid actions drawn uniformly from the mask in ``info["action_mask"]``; drawing them is
inside the timed loop, and so are the resets between episodes (each repeat runs exactly
``--steps`` steps, resetting whenever an episode ends).  The process is pinned to one CPU and
numba / BLAS / torch use one thread.  Reports the median of the repeats; writes
benchmarks/results/env.txt and env.json.
"""

from __future__ import annotations

import os

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

import schedlab.rl  # noqa: F401  (registers the env)
from schedlab.rl import ENV_ID

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = [("easy", "bsld"), ("easy", "dras"), ("agent", "bsld"), ("agent", "dras")]
TARGET = 100_000  # issue 18: with predictions, without the agent


def pin_one_core(cpu: int | None) -> int | None:
    """Pin this process to one CPU (the first allowed one unless given); None where unsupported."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    allowed = sorted(os.sched_getaffinity(0))
    cpu = allowed[0] if cpu is None else cpu
    os.sched_setaffinity(0, {cpu})
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    return cpu


def run_steps(env, n_steps: int, seed: int) -> tuple[float, int, int]:
    """Time exactly ``n_steps`` env steps with random valid actions; (seconds, episodes, invalid)."""
    u = np.random.default_rng(seed).random(n_steps)
    episodes, invalid = 0, 0
    t0 = time.perf_counter()
    _, info = env.reset(seed=seed)
    for i in range(n_steps):
        valid = np.flatnonzero(info["action_mask"])
        _, _, done, trunc, info = env.step(int(valid[int(u[i] * len(valid))]))
        if done or trunc:
            episodes += 1
            invalid += info["invalid_actions"]
            _, info = env.reset()
    elapsed = time.perf_counter() - t0
    return elapsed, episodes, invalid


def measure(
    backfill: str,
    reward: str,
    steps: int,
    repeats: int,
    window_len: int,
    visible: int,
    estimates: str = "requested",
    history: bool = False,
) -> dict:
    env = gym.make(
        ENV_ID,
        trace="theta_2022",
        window_len=window_len,
        visible=visible,
        backfill=backfill,
        reward=reward,
        estimates=estimates,
        history_features=history,
    )
    run_steps(env, 2_000, seed=12345)  # warm up (numba cache load, first-call paths)
    times, episodes, invalid = [], 0, 0
    for r in range(repeats):
        s, e, bad = run_steps(env, steps, seed=r)
        times.append(s)
        episodes += e
        invalid += bad
    env.close()
    med = statistics.median(times)
    return {
        "trace": "theta_2022",
        "backfill": backfill,
        "reward": reward,
        "estimates": estimates,
        "history_features": history,
        "window_len": window_len,
        "visible": visible,
        "steps": steps,
        "repeats": repeats,
        "median_s": med,
        "steps_per_s": steps / med,
        "min_steps_per_s": steps / max(times),
        "max_steps_per_s": steps / min(times),
        "episodes": episodes,
        "steps_per_episode": repeats * steps / max(episodes, 1),
        "invalid_actions": invalid,
        "times_s": times,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=20_000, help="env steps per repeat (default 20,000)")
    ap.add_argument("--repeats", type=int, default=5, help="repeats per setting; the median is reported (default 5)")
    ap.add_argument("--window-len", type=int, default=256)
    ap.add_argument("--visible", type=int, default=128)
    ap.add_argument("--cpu", type=int, default=None, help="CPU to pin to (default: the first allowed one)")
    ap.add_argument(
        "--estimates",
        default="requested,predicted:last2,predicted:ml",
        help="comma-separated estimate sources, each measured for every setting (default: all three)",
    )
    ap.add_argument(
        "--history",
        choices=("off", "on", "both"),
        default="both",
        help="the per-job history features in the observation: off, on, or both (on only with predicted estimates)",
    )
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "env.json"))
    args = ap.parse_args()
    cpu = pin_one_core(args.cpu)
    lines = [
        f"{'trace':<12} {'backfill':<8} {'reward':<6} {'estimates':<15} {'hist':<4} "
        f"{'window':>6} {'W':>4} {'steps':>7} "
        f"{'median s':>9} {'steps/s':>9} {'min..max steps/s':>19} {'steps/ep':>9}"
    ]
    print(lines[0], flush=True)
    rows = []
    sources = [e.strip() for e in args.estimates.split(",") if e.strip()]
    hist = {"off": (False,), "on": (True,), "both": (False, True)}[args.history]
    cases = [
        (s, e, h)
        for s in SETTINGS
        for e in sources
        for h in hist
        if not (h and args.history == "both" and e == "requested")
    ]
    for (backfill, reward), estimates, history in cases:
        r = measure(backfill, reward, args.steps, args.repeats, args.window_len, args.visible, estimates, history)
        rows.append(r)
        line = (
            f"{r['trace']:<12} {backfill:<8} {reward:<6} {estimates:<15} {'on' if history else 'off':<4} "
            f"{r['window_len']:>6} {r['visible']:>4} "
            f"{r['steps']:>7,} "
            f"{r['median_s']:>9.3f} {r['steps_per_s']:>9,.0f} "
            f"{r['min_steps_per_s']:>9,.0f}..{r['max_steps_per_s']:<9,.0f} {r['steps_per_episode']:>9.1f}"
        )
        lines.append(line)
        print(line, flush=True)
        assert r["invalid_actions"] == 0, "random valid actions were counted invalid"
    worst = min(r["steps_per_s"] for r in rows)
    note = (
        f"\nmedian of {args.repeats} repeats of {args.steps:,} steps each, one core (cpu {cpu}), through "
        f"gymnasium.make; random valid actions and resets inside the timed loop.\n"
        f"slowest setting {worst:,.0f} steps/s; target >= {TARGET:,}: {'met' if worst >= TARGET else 'NOT met'}"
    )
    lines.append(note)
    print(note)
    out = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpu": cpu,
        "target_steps_per_s": TARGET,
        "target_met": worst >= TARGET,
        "throughput": rows,
        "command": " ".join(["benchmarks/bench_env.py", *sys.argv[1:]]),
    }
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2))
    path.with_suffix(".txt").write_text("\n".join(lines) + "\n")
    print(f"\nwrote {path} and {path.with_suffix('.txt')}")


if __name__ == "__main__":
    main()
