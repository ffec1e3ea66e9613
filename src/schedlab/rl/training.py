"""What ``schedlab train`` runs: pick the environment options, build DRAS's curriculum and a
validation set from the training split, and call :func:`schedlab.rl.ppo.train`.

Curriculum (``curriculum="dras"``), as DRAS trains: first windows of *sampled* job sets (jobs of
the training split resampled, at 2/3 of its offered load: easier), then, for theta_2022, the
Theta-derived DRAS job sets (``theta_jobsets_dras/real_week_*.swf.gz``; only those whose jobs all
precede the jobs held back for validation, so neither validation nor test periods are seen), then
real windows of the training split.  ``curriculum="none"`` trains on real training windows only.

The last ``val_fraction`` of the training split is held back: checkpoints are chosen on windows
of it, and training windows come from the jobs before it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from schedlab.rl.env import SchedulingEnv
from schedlab.rl.episodes import split_bounds
from schedlab.rl.ppo import PPOConfig, Stage, train
from schedlab.workload import load_trace
from schedlab.workload.synthetic import resample
from schedlab.workload.table import Workload

OBJECTIVES = ("bsld", "bsld-dense", "wait", "util", "dras")
CURRICULA = ("dras", "none")
VAL_METRICS = ("bsld", "relative")  # checkpoint choice: mean bsld, or mean of bsld / the baseline's bsld per window
DRAS_JOBSETS = Path(__file__).resolve().parents[3].parent / "shared" / "traces" / "theta_jobsets_dras"
VALIDATION_WINDOWS = 16
VALIDATION_WINDOWS_PER_SCALE = 8  # with several --load-scales
VALIDATION_LEN = 1024


def preset_options(preset: str) -> dict:
    """Environment options and loading rules that match a simulator preset."""
    if preset == "rlscheduler":  # RLScheduler: whole nodes, jobs never killed at the request
        return {"rules": "rlscheduler", "capacity_unit": "nodes", "kill_at_request": False}
    if preset == "textbook":
        return {"rules": "textbook"}
    raise ValueError(f"training supports the textbook and rlscheduler presets, not {preset!r}")


def dras_jobsets(workload: Workload, train_split: float, rules: str, folder: Path | None = None) -> list[Workload]:
    """The DRAS job sets usable for ``workload``: same machine, every job before the first job
    after the ``train_split`` fraction (the caller passes the fraction training may see)."""
    folder = Path(folder) if folder else DRAS_JOBSETS
    if not folder.is_dir() or not workload.name.startswith("theta"):
        return []
    cut = split_bounds(len(workload), train_split, "test")[0]
    test_begins = workload.raw_submit[cut]
    sets = []
    for path in sorted(folder.glob("real_week_*.swf.gz")):
        wl = load_trace(path, rules=rules)
        if wl.max_procs == workload.max_procs and wl.raw_submit.max() < test_begins:
            sets.append(wl)
    return sets


def scaled(workload: Workload, load_scales: tuple[float, ...]) -> list[Workload]:
    """``workload`` at each load scale (inter-arrival gaps multiplied by the factor; 1 = as is)."""
    return [workload if f == 1.0 else workload.scale_load(f) for f in load_scales]


def build_stages(
    workload: Workload,
    train_split: float,
    window_len: int,
    curriculum: str,
    rules: str,
    seed: int,
    jobsets_dir: Path | None = None,
    load_scales: tuple[float, ...] = (1.0,),
) -> list[Stage]:
    """The curriculum; the real stage draws its windows from the training split at every load scale
    (environment ``i`` of the vector uses scale ``i mod len(load_scales)``)."""
    lo, hi = split_bounds(len(workload), train_split, "train")
    real = Stage("real", scaled(workload, load_scales), 1.0, split="train")
    if curriculum == "none":
        return [real]
    if curriculum != "dras":
        raise ValueError(f"unknown curriculum {curriculum!r}; choose one of {', '.join(CURRICULA)}")
    train_part = workload.subset(slice(lo, hi))
    sampled = [resample(train_part, max(4 * window_len, 2048), seed=seed + i).scale_load(1.5) for i in range(4)]
    stages = [Stage("sampled", sampled, 0.15, split="all")]
    sets = dras_jobsets(workload, train_split, rules, jobsets_dir)
    if sets:
        stages.append(Stage("dras-jobsets", sets, 0.25, split="all"))
    real.fraction = 1.0 - sum(s.fraction for s in stages)
    return [*stages, real]


def validation_set(
    workload: Workload,
    env_options: dict,
    lo: int,
    hi: int,
    n: int = VALIDATION_WINDOWS,
    seed: int = 12345,
    load_scales: tuple[float, ...] = (1.0,),
):
    """Fixed windows of jobs [lo, hi) (the held-back end of the training split; never the test
    split) to pick the best checkpoint: ``n`` windows of max(training window, 1,024) jobs, as
    long as evaluation windows usually are, at each load scale (the same windows at every scale)."""
    length = min(max(env_options["window_len"], VALIDATION_LEN), hi - lo)
    starts = np.random.default_rng(seed).integers(lo, hi - length + 1, size=n)
    out = []
    for wl in scaled(workload, load_scales):
        envs = [SchedulingEnv(wl, **{**env_options, "split": "all", "window_len": length}) for _ in range(n)]
        out += list(zip(envs, starts, strict=False))
    return out


def validation_reference(validation, policy: str) -> list[float]:
    """Mean bsld of ``policy`` on each validation window (the denominator of ``val_metric="relative"``)."""
    out = []
    for env, st in validation:
        saved, env.baseline = env.baseline, policy
        out.append(env._baseline_bsld(st))
        env.baseline = saved
    return out


def validation_heuristics(validation, policies=("fcfs", "sjf", "saf", "f1")) -> dict:
    """Mean bsld of heuristics on the validation windows (same environment semantics)."""
    out = {}
    for h in policies:
        out[h] = float(np.mean(validation_reference(validation, h)))
    return out


def run_training(
    agent: str,
    trace: str,
    objective: str,
    train_split: float,
    steps: int,
    seed: int,
    out: Path,
    window_len: int = 256,
    visible: int = 128,
    backfill: str | None = None,
    baseline: str | None = "sjf",
    curriculum: str = "dras",
    preset: str = "textbook",
    backfill_order: str = "sjf",
    resume: bool = False,
    ppo_overrides: dict | None = None,
    on_update: Callable[[dict], None] | None = None,
    stop_after_updates: int | None = None,
    command: str = "",
    val_fraction: float = 0.2,
    load_scales: tuple[float, ...] = (1.0,),
    val_metric: str = "bsld",
) -> dict:
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}; choose one of {', '.join(OBJECTIVES)}")
    opts = preset_options(preset)
    rules = opts.pop("rules")
    workload = load_trace(trace, rules=rules)
    backfill = backfill or ("agent" if agent == "dras" else "easy")
    env_options = {
        "window_len": window_len,
        "visible": visible,
        "backfill": backfill,
        "reward": objective,
        "backfill_order": backfill_order,
        "train_split": train_split,
        "baseline": baseline if objective != "dras" else None,
        **opts,
    }
    if not 0 <= val_fraction < 1:
        raise ValueError(f"the validation fraction must be in [0, 1), got {val_fraction}")
    load_scales = tuple(float(f) for f in load_scales)
    if not load_scales or not all(f > 0 for f in load_scales):
        raise ValueError(f"load scales must be positive numbers, got {load_scales}")
    if val_metric not in VAL_METRICS:
        raise ValueError(f"unknown validation metric {val_metric!r}; choose one of {', '.join(VAL_METRICS)}")
    # the last val_fraction of the training split is held back to pick the best checkpoint;
    # agents train on the jobs before it (and on job sets that end before it)
    fit_split = train_split * (1.0 - val_fraction)
    env_options["train_split"] = fit_split
    stages = build_stages(workload, fit_split, window_len, curriculum, rules, seed, load_scales=load_scales)
    cfg = PPOConfig(agent=agent, seed=seed, total_steps=steps, env=env_options, **(ppo_overrides or {}))
    out.mkdir(parents=True, exist_ok=True)
    run_info = {
        "agent": agent,
        "trace": trace,
        "objective": objective,
        "train_split": train_split,
        "val_fraction": val_fraction,
        "steps": steps,
        "load_scales": list(load_scales),
        "val_metric": val_metric,
        "seed": seed,
        "preset": preset,
        "curriculum": [f"{s.name}:{s.fraction:.2f}" for s in stages],
        "env": env_options,
        "ppo": cfg.__dict__,
    }
    info_path = out / "run.json"
    if not resume and info_path.exists():  # never overwrite a run (its model, log and checkpoints) silently
        raise ValueError(
            f"{out} already holds a training run; continue it with --resume, or give another --out "
            f"(or delete that folder)"
        )
    if resume:
        if not info_path.exists():
            raise ValueError(f"{out} holds no training run to resume (no run.json)")
        saved = json.loads(info_path.read_text())
        for key in (
            "agent",
            "trace",
            "objective",
            "train_split",
            "val_fraction",
            "steps",
            "seed",
            "preset",
            "env",
            "load_scales",
            "val_metric",
        ):
            before = {"load_scales": [1.0], "val_metric": "bsld"}  # runs saved before these options existed
            if saved.get(key, before.get(key)) != json.loads(json.dumps(run_info[key])):
                raise ValueError(f"--resume: {key} differs from the run in {out} ({saved.get(key)!r})")
    else:
        info_path.write_text(json.dumps(run_info, indent=2, default=str))
    # val_fraction 0: in-sample selection on windows anywhere in the training split (as
    # RLScheduler's protocol, whose published windows lie in the trace it trains on)
    val_lo = split_bounds(len(workload), fit_split, "test")[0] if val_fraction > 0 else 0
    n_val = VALIDATION_WINDOWS if len(load_scales) == 1 else VALIDATION_WINDOWS_PER_SCALE
    validation = validation_set(
        workload,
        env_options,
        val_lo,
        split_bounds(len(workload), train_split, "test")[0],
        n=n_val,
        load_scales=load_scales,
    )
    reference = validation_reference(validation, baseline or "sjf") if val_metric == "relative" else None
    if not resume:
        run_info["validation"] = {
            "starts": [int(st) for _, st in validation],
            "window_len": validation[0][0].L,
            "heuristics_mean_bsld": validation_heuristics(validation),
        }
        info_path.write_text(json.dumps(run_info, indent=2, default=str))
    return train(
        cfg,
        stages,
        out,
        validation=validation,
        validation_reference=reference,
        resume=resume,
        on_update=on_update,
        stop_after_updates=stop_after_updates,
        meta_extra={"trace": trace, "objective": objective, "preset": preset, "command": command},
    )
