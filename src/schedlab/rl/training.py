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
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from schedlab.errors import OptionError, SchedlabError
from schedlab.options import (
    Agent,
    Correction,
    Curriculum,
    EnvBackfill,
    Estimates,
    Reward,
    Split,
    TrainPreset,
    ValMetric,
    choose,
)
from schedlab.report.outputs import dumps, write_json
from schedlab.rl.episodes import split_bounds
from schedlab.rl.multires_env import make_env
from schedlab.rl.options import EnvOptions
from schedlab.rl.ppo import PPOConfig, Stage, train
from schedlab.workload import load_trace
from schedlab.workload.synthetic import resample
from schedlab.workload.table import Workload

DRAS_JOBSETS = Path(__file__).resolve().parents[3].parent / "shared" / "traces" / "theta_jobsets_dras"
VALIDATION_WINDOWS = 16
VALIDATION_WINDOWS_PER_SCALE = 8  # with several --load-scales
VALIDATION_LEN = 1024
MAX_TIME_BUDGET_MIN = 10_080  # --time-budget: at most a week, in minutes


def preset_options(preset: str) -> dict:
    """Environment options and loading rules that match a simulator preset."""
    if preset == TrainPreset.RLSCHEDULER:  # RLScheduler: whole nodes, jobs never killed at the request
        return {"rules": "rlscheduler", "capacity_unit": "nodes", "kill_at_request": False}
    if preset == TrainPreset.TEXTBOOK:
        return {"rules": "textbook"}
    raise SchedlabError(f"training supports the textbook and rlscheduler presets, not {preset!r}")


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
    real = Stage("real", scaled(workload, load_scales), 1.0, split=Split.TRAIN)
    if choose(Curriculum, curriculum, "curriculum") is Curriculum.NONE:
        return [real]
    train_part = workload.subset(slice(lo, hi))
    sampled = [resample(train_part, max(4 * window_len, 2048), seed=seed + i).scale_load(1.5) for i in range(4)]
    stages = [Stage("sampled", sampled, 0.15, split=Split.ALL)]
    sets = dras_jobsets(workload, train_split, rules, jobsets_dir)
    if sets:
        stages.append(Stage("dras-jobsets", sets, 0.25, split=Split.ALL))
    real.fraction = 1.0 - sum(s.fraction for s in stages)
    return [*stages, real]


def validation_set(
    workload: Workload,
    env_options: EnvOptions | dict,
    lo: int,
    hi: int,
    n: int = VALIDATION_WINDOWS,
    seed: int = 12345,
    load_scales: tuple[float, ...] = (1.0,),
):
    """Fixed windows of jobs [lo, hi) (the held-back end of the training split; never the test
    split) to pick the best checkpoint: ``n`` windows of max(training window, 1,024) jobs, as
    long as evaluation windows usually are, at each load scale (the same windows at every scale)."""
    env_options = EnvOptions.coerce(env_options)
    length = min(max(env_options.window_len, VALIDATION_LEN), hi - lo)
    starts = np.random.default_rng(seed).integers(lo, hi - length + 1, size=n)
    options = env_options.replace(split=Split.ALL, window_len=length)
    out = []
    for wl in scaled(workload, load_scales):
        out += list(zip([make_env(wl, options) for _ in range(n)], starts, strict=False))
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


def _env_options(
    opts,
    window_len,
    visible,
    backfill,
    objective,
    backfill_order,
    train_split,
    baseline,
    estimates,
    correction,
    history=False,
    cluster=None,
) -> dict:
    """The environment options as given (run.json records them so; a resumed run must give the same)."""
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
    # recorded only when not the default, so that runs from before these options still resume
    if str(estimates) != "requested":
        env_options["estimates"] = str(estimates)
    if str(correction) != "reqtime":
        env_options["correction"] = str(correction)
    if history:
        env_options["history_features"] = True
    if cluster is not None:
        env_options["cluster"] = str(cluster)
    return env_options


def on_machine(workload: Workload, cluster: str | None) -> Workload:
    """``workload`` as ``cluster`` accepts it (None: as it is): jobs the machine would refuse are
    dropped here, once, and counted in its cleaning report, so that window positions (training,
    validation and test splits) count the jobs every run schedules."""
    if cluster is None:
        return workload
    from schedlab.cluster import load_cluster
    from schedlab.simulator.multires.prepare import prepare

    return prepare(workload, load_cluster(cluster)).workload


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
    time_budget: float | None = None,
    estimates: str = "requested",
    correction: str = "reqtime",
    history_features: bool = False,
    cluster: str | None = None,
) -> dict:
    """Train (see the module docstring); ``time_budget``: minutes of wall-clock time, from here, after
    which the run stops between two PPO updates (:func:`budgeted`).  Returns the last update's statistics."""
    started = time.perf_counter()
    choose(Reward, objective, "objective")
    opts = preset_options(preset)
    rules = opts.pop("rules")
    workload = on_machine(load_trace(trace, rules=rules), cluster)
    curriculum = "none" if cluster is not None else curriculum  # its resampled and DRAS job sets: single-resource
    backfill = backfill or ("agent" if agent == "dras" else "easy")
    env_options = _env_options(opts, window_len, visible, backfill, objective, backfill_order, train_split, baseline,
                               estimates, correction, history_features, cluster)  # fmt: skip
    if not 0 <= val_fraction < 1:
        raise SchedlabError(f"the validation fraction must be in [0, 1), got {val_fraction}")
    load_scales = tuple(float(f) for f in load_scales)
    if not load_scales or not all(f > 0 for f in load_scales):
        raise SchedlabError(f"load scales must be positive numbers, got {load_scales}")
    val_metric = choose(ValMetric, val_metric, "validation metric")
    # the last val_fraction of the training split is held back to pick the best checkpoint;
    # agents train on the jobs before it (and on job sets that end before it)
    fit_split = train_split * (1.0 - val_fraction)
    env_options["train_split"] = fit_split
    stages = build_stages(workload, fit_split, window_len, curriculum, rules, seed, load_scales=load_scales)
    ppo_overrides = {**(ppo_overrides or {}), **({"checkpoint_every": 1} if time_budget else {})}
    cfg = PPOConfig(agent=agent, seed=seed, total_steps=steps, env=EnvOptions(**env_options), **ppo_overrides)
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
        "time_budget_min": time_budget,
        "seed": seed,
        "preset": preset,
        "curriculum": [f"{s.name}:{s.fraction:.2f}" for s in stages],
        "env": env_options,
        "ppo": {**cfg.__dict__, "env": env_options},
    }
    record_run(out / "run.json", run_info, resume)
    # val_fraction 0: in-sample selection on windows anywhere in the training split (as
    # RLScheduler's protocol, whose published windows lie in the trace it trains on)
    val_lo = split_bounds(len(workload), fit_split, "test")[0] if val_fraction > 0 else 0
    validation = validation_set(
        workload,
        cfg.env,
        val_lo,
        split_bounds(len(workload), train_split, "test")[0],
        n=VALIDATION_WINDOWS if len(load_scales) == 1 else VALIDATION_WINDOWS_PER_SCALE,
        load_scales=load_scales,
    )
    reference = validation_reference(validation, baseline or "sjf") if val_metric is ValMetric.RELATIVE else None
    if not resume:
        run_info["validation"] = {
            "starts": [int(st) for _, st in validation],
            "window_len": validation[0][0].L,
            "heuristics_mean_bsld": validation_heuristics(validation),
        }
        write_json(out / "run.json", run_info, default=str)
    run = partial(
        train, cfg, stages, out, validation=validation, validation_reference=reference, resume=resume,
        stop_after_updates=stop_after_updates,
        meta_extra={"trace": trace, "objective": objective, "preset": preset, "command": command},
    )  # fmt: skip
    if time_budget is None:
        return run(on_update=on_update)
    last_update = max(1, cfg.total_steps // (cfg.num_envs * cfg.num_steps))
    with budgeted(out, _BudgetHook(on_update, started, time_budget, last_update)) as hook:
        return run(on_update=hook)
    return hook.stats


class _BudgetSpent(Exception):
    """Raised between two PPO updates when the time budget is spent (caught by :func:`budgeted`)."""


class _BudgetHook:
    """``on_update`` for a budgeted run: the caller's callback, then the clock."""

    def __init__(self, on_update, started: float, minutes: float, last_update: int):
        self.on_update, self.deadline, self.last_update, self.stats = on_update, started + 60 * minutes, last_update, {}

    def __call__(self, stats: dict) -> None:
        if self.on_update:
            self.on_update(stats)
        if stats["update"] < self.last_update and time.perf_counter() >= self.deadline:
            self.stats = {**stats, "stopped": "time budget"}
            raise _BudgetSpent


@contextmanager
def budgeted(out: Path, hook: _BudgetHook):
    """Training whose ``on_update`` is ``hook``: it stops once the budget is spent, checked after
    every PPO update (the imitation warm start and the first update always run).  The run then
    ends as a finished one: ``last.pt`` is current (a budgeted run checkpoints after every update,
    so ``--resume`` continues from the update it stopped at), ``model.pt`` is the best validated
    checkpoint so far (updates since the last validation are not scored), or the last weights when
    none was validated; ``train_log.csv`` has a whole row per update done."""
    try:
        yield hook
    except _BudgetSpent:
        if not (out / "model.pt").exists():
            _last_as_model(out)


def _last_as_model(out: Path) -> None:
    """``model.pt`` from ``last.pt``'s weights (as training saves its last model when none was validated)."""
    from types import SimpleNamespace

    from schedlab.rl.checkpoint import read_training_state, save_checkpoint

    ck, progress = read_training_state(out / "last.pt")
    weights = SimpleNamespace(state_dict=lambda: ck["model"])
    save_checkpoint(out / "model.pt", weights, {**ck["meta"], "global_step": progress.global_step})


#: run.json entries a resumed run must repeat, and their value in runs saved before the option existed
RESUME_KEYS = ("agent", "trace", "objective", "train_split", "val_fraction", "steps", "seed", "preset", "env")
RESUME_KEYS_ADDED = {"load_scales": [1.0], "val_metric": "bsld"}


def record_run(info_path: Path, run_info: dict, resume: bool) -> None:
    """Write ``run.json`` for a new run (never over another run's); for ``resume``, check that the
    options are those of the run saved there.  Every file of a run folder is written atomically
    (run.json here, checkpoints by :mod:`schedlab.rl.checkpoint`; train_log.csv is append-only), and
    ``schedlab train`` writes the folder's completion marker (``.schedlab-run.json``) last, when the
    run has finished (:meth:`schedlab.report.outputs.OutputFolder.progressive`)."""
    out = info_path.parent
    if not resume and info_path.exists():  # never overwrite a run (its model, log and checkpoints) silently
        raise SchedlabError(
            f"{out} already holds a training run; continue it with --resume, or give another --out "
            f"(or delete that folder)"
        )
    if not resume:
        write_json(info_path, run_info, default=str)
        return
    if not info_path.exists():
        raise SchedlabError(f"{out} holds no training run to resume (no run.json)")
    saved = json.loads(info_path.read_text())
    for key in (*RESUME_KEYS, *RESUME_KEYS_ADDED):
        if saved.get(key, RESUME_KEYS_ADDED.get(key)) != json.loads(dumps(run_info[key], default=str)):
            raise SchedlabError(f"--resume: {key} differs from the run in {out} ({saved.get(key)!r})")


@dataclass(frozen=True)
class TrainConfig:
    """Everything ``schedlab train`` asks for, validated once here (the CLI only parses).

    Fields are those of :func:`run_training`; ``imitate`` is the behaviour-cloning teacher (a
    static heuristic or None) and ``ppo`` holds PPO overrides (:class:`~schedlab.rl.ppo.PPOConfig`
    fields).  Messages name the command-line option of each field.
    """

    agent: Agent = Agent.DRAS
    trace: str = "theta_2022"
    objective: Reward = Reward.BSLD
    train_split: float = 0.7
    val_fraction: float = 0.2
    steps: int = 500_000
    seed: int = 0
    window_len: int = 256
    visible: int = 128
    backfill: EnvBackfill | None = None  # None: agent for dras, easy for scorer
    backfill_order: str = "sjf"
    imitate: str | None = "sjf"
    baseline: str | None = "sjf"
    curriculum: Curriculum = Curriculum.DRAS
    preset: TrainPreset = TrainPreset.TEXTBOOK
    load_scales: tuple[float, ...] = (1.0,)
    val_metric: ValMetric = ValMetric.BSLD
    ppo: dict = field(default_factory=dict)
    time_budget: float | None = None  # minutes of wall-clock time (None: until --steps)
    estimates: Estimates = Estimates.REQUESTED
    correction: Correction = Correction.REQTIME
    history_features: bool = False
    cluster: str | None = None  # a machine description (None: the trace's own machine)

    def __post_init__(self) -> None:
        from schedlab.policies import POLICY_NAMES, STATIC

        for name, enum, what in (
            ("agent", Agent, "--agent"),
            ("objective", Reward, "--objective"),
            ("curriculum", Curriculum, "--curriculum"),
            ("preset", TrainPreset, "--preset"),
            ("val_metric", ValMetric, "--val-metric"),
            ("estimates", Estimates, "--estimates"),
            ("correction", Correction, "--correction"),
        ):
            object.__setattr__(self, name, choose(enum, getattr(self, name), what))
        if self.backfill is not None:
            object.__setattr__(self, "backfill", choose(EnvBackfill, self.backfill, "--backfill"))
        if not 0 < self.train_split < 1:
            raise OptionError(f"--train-split must be between 0 and 1 (got {self.train_split})")
        if not 0 <= self.val_fraction < 1:
            raise OptionError(f"--val-fraction must be in [0, 1) (got {self.val_fraction})")
        if self.baseline is not None and self.baseline not in POLICY_NAMES:
            raise OptionError(
                f"unknown --baseline {self.baseline!r}; choose a heuristic ({', '.join(POLICY_NAMES)}) or none"
            )
        if self.backfill_order not in STATIC:
            raise OptionError(f"unknown --backfill-order {self.backfill_order!r}; choose one of {', '.join(STATIC)}")
        if self.imitate is not None and self.imitate not in STATIC:
            raise OptionError(
                f"unknown --imitate {self.imitate!r}; choose a static heuristic ({', '.join(STATIC)}) or none"
            )
        if not self.load_scales or not all(f > 0 for f in self.load_scales):
            raise OptionError(f"--load-scales must be positive numbers (got {','.join(map(str, self.load_scales))})")
        if self.time_budget is not None and not 0 < self.time_budget <= MAX_TIME_BUDGET_MIN:
            raise OptionError(
                f"--time-budget must be in (0, {MAX_TIME_BUDGET_MIN:,}] minutes (got {self.time_budget:g})"
            )
        if self.val_metric is ValMetric.RELATIVE and self.baseline is None:
            raise OptionError(
                "--val-metric relative compares with the --baseline heuristic; give one (e.g. --baseline sjf)"
            )


def train_run(
    config: TrainConfig,
    out: Path,
    *,
    resume: bool = False,
    on_update: Callable[[dict], None] | None = None,
    command: str = "",
) -> dict:
    """``schedlab train``: :func:`run_training` with ``config``; returns the training statistics
    (``stopped: "time budget"`` when ``config.time_budget`` ended the run before ``steps``)."""
    out = Path(out)
    if resume and not (out / "last.pt").exists():
        raise OptionError(f"--resume: {out} has no checkpoint (last.pt) to continue from")
    c = config
    ppo = {**c.ppo, "bc_teacher": c.imitate}
    return run_training(
        c.agent, c.trace, c.objective, c.train_split, c.steps, c.seed, out, window_len=c.window_len,
        visible=c.visible, backfill=c.backfill, baseline=c.baseline, curriculum=c.curriculum, preset=c.preset,
        backfill_order=c.backfill_order, resume=resume, ppo_overrides=ppo, on_update=on_update, command=command,
        val_fraction=c.val_fraction, load_scales=c.load_scales, val_metric=c.val_metric, time_budget=c.time_budget,
        estimates=c.estimates, correction=c.correction, history_features=c.history_features, cluster=c.cluster,
    )  # fmt: skip
