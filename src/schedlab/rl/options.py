"""The scheduling environment's options, typed and validated once.

:class:`EnvOptions` is every option of :class:`schedlab.rl.env.SchedulingEnv` except the trace
itself.  It travels unchanged from ``schedlab train`` through :class:`schedlab.rl.ppo.PPOConfig`
into every environment, and a trained model (checkpoint ``meta["env_kwargs"]``) or a distilled tree
(``env_kwargs`` of tree.json) records the part that defines its decisions, as a plain dict
(:meth:`EnvOptions.to_dict`).  Files written before this class hold only the options that were
given; they are read with :meth:`EnvOptions.from_dict`, and each reader states its legacy rule
for a missing option (see :func:`schedlab.rl.agents.checkpoint_options` and
:meth:`schedlab.explain.tree.Tree.from_dict`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from enum import StrEnum

import numpy as np

from schedlab.errors import SchedlabError
from schedlab.options import CapacityUnit, Correction, EnvBackfill, Estimates, Reward, Split, choose
from schedlab.policies import POLICY_NAMES, STATIC

#: What a checkpoint records: the options that define the agent's decision problem.
CHECKPOINT_FIELDS = (
    "visible",
    "backfill",
    "queue_order",
    "backfill_order",
    "capacity_unit",
    "estimates",
    "kill_at_request",
    "reward",
    "baseline",
    "correction",
    "history_features",
    "cluster",
)
#: What a tree file records: how the tree schedules (the rest comes from the simulation's config).
#: the most waiting jobs an agent may see (observation rows are allocated per visible slot)
MAX_VISIBLE = 4096
TREE_FIELDS = ("visible", "backfill", "queue_order", "backfill_order", "history_features")
#: the plain types a saved option may have (:meth:`EnvOptions.from_saved`); the others are strings
SAVED_TYPES = {
    "visible": (int,),
    "window_len": (int, type(None)),
    "train_split": (float, int),
    "kill_at_request": (bool,),
    "eval_windows": (int,),
    "eval_seed": (int,),
    "baseline": (str, type(None)),
    "history_features": (bool,),
    "cluster": (str, type(None)),
}
#: the longest a saved string option may be (a machine's path is longer than any option value)
MAX_SAVED_STR = {"cluster": 4096}


@dataclass(frozen=True)
class EnvOptions:
    """Options of one scheduling environment (see :mod:`schedlab.rl.env` for their meaning).

    window_len     jobs per episode (None: the whole split as one episode)
    visible        W, waiting jobs the agent sees and may pick (the first W in queue order)
    backfill       none | easy | agent (the agent picks backfill jobs; adds a ``stop`` action)
    reward         bsld | bsld-dense | wait | util | dras
    split          train | test | all;  train_split: fraction of jobs in the training split
    queue_order    static policy ordering the queue: the first W are visible
    backfill_order static policy giving the order EASY tries backfill candidates in
    capacity_unit  procs | nodes;  estimates: requested | actual | predicted:last2 | predicted:ml
                   (an online prediction made when the job arrives, as the simulator's);
                   kill_at_request: bool
    eval_windows, eval_seed  test-split windows (fixed, non-overlapping)
    baseline       a heuristic the episode-end reward is relative to (None: absolute rewards)
    correction     reqtime | double | tsafrir: with predicted estimates, the new estimate of a running
                   job that outlived its prediction (as the simulator's ``--correction``)
    history_features  add the per-job :data:`~schedlab.simulator.stepper.HISTORY_FEATURES`
                   (requested time, the key's recent prediction accuracy) after the cluster
                   features; off: the observation of models trained before they existed
    cluster        None: the trace's own single-resource machine; else a machine description
                   (a shipped name, a TOML file or a slurm.conf) and the environment is
                   :class:`~schedlab.rl.multires_env.MultiSchedulingEnv` (GPUs, memory,
                   partitions; its observation adds per-job GPU/memory and pool-free rows)

    Values are checked here, once: a bad one raises :class:`~schedlab.errors.OptionError` (or
    :class:`~schedlab.errors.SchedlabError`) naming the option and the allowed values.
    """

    window_len: int | None = 256
    visible: int = 128
    backfill: EnvBackfill = EnvBackfill.EASY
    reward: Reward = Reward.BSLD
    split: Split = Split.TRAIN
    train_split: float = 0.7
    queue_order: str = "fcfs"
    backfill_order: str = "fcfs"
    capacity_unit: CapacityUnit = CapacityUnit.PROCS
    estimates: Estimates = Estimates.REQUESTED
    kill_at_request: bool = True
    eval_windows: int = 10
    eval_seed: int = 0
    baseline: str | None = None
    correction: Correction = Correction.REQTIME
    history_features: bool = False
    cluster: str | None = None

    def __post_init__(self) -> None:
        set_ = lambda name, value: object.__setattr__(self, name, value)
        set_("backfill", choose(EnvBackfill, self.backfill, "backfill mode"))
        set_("reward", choose(Reward, self.reward, "reward"))
        set_("split", choose(Split, self.split, "split"))
        for name, what in (("queue_order", "queue order"), ("backfill_order", "backfill order")):
            if not isinstance(getattr(self, name), str) or getattr(self, name) not in STATIC:
                raise SchedlabError(f"unknown {what} {getattr(self, name)!r}; choose one of {', '.join(STATIC)}")
        set_("capacity_unit", choose(CapacityUnit, self.capacity_unit, "capacity unit"))
        set_("estimates", choose(Estimates, self.estimates, "estimate source"))
        set_("correction", choose(Correction, self.correction, "correction rule"))
        if not isinstance(self.history_features, bool | np.bool_):
            raise SchedlabError(f"history features must be true or false, got {self.history_features!r}")
        set_("history_features", bool(self.history_features))
        if self.cluster is not None:
            if hasattr(self.cluster, "partitions"):  # a loaded machine: keep its name
                set_("cluster", self.cluster.name)
            if not isinstance(self.cluster, str) or not self.cluster.strip() or "\x00" in self.cluster:
                raise SchedlabError(f"cluster must be a machine's name or file, got {self.cluster!r}")
        if self.baseline is not None and (not isinstance(self.baseline, str) or self.baseline not in POLICY_NAMES):
            raise SchedlabError(f"unknown baseline policy {self.baseline!r}; choose one of {', '.join(POLICY_NAMES)}")
        visible = self.visible
        if isinstance(visible, str) and visible.strip().isdigit():
            visible = int(visible)
        if isinstance(visible, bool) or not isinstance(visible, int | np.integer):
            raise SchedlabError(f"visible must be a whole number, got {self.visible!r}")
        if int(visible) < 1:
            raise SchedlabError(f"visible must be >= 1, got {visible}")
        if int(visible) > MAX_VISIBLE:
            raise SchedlabError(f"visible must be at most {MAX_VISIBLE:,}, got {visible}")
        set_("visible", visible)
        for name in ("train_split", "window_len", "eval_windows", "eval_seed"):
            value = getattr(self, name)
            if value is None and name == "window_len":
                continue
            if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
                raise SchedlabError(f"{name.replace('_', ' ')} must be a number, got {value!r}")
        if not 0.0 < self.train_split < 1.0:
            raise SchedlabError(f"train split must be between 0 and 1, got {self.train_split}")
        if self.window_len and not 1 <= self.window_len < 2**62:
            raise SchedlabError(f"window length must be a positive number of jobs, got {self.window_len}")
        set_("visible", int(self.visible))
        set_("window_len", int(self.window_len) if self.window_len else None)
        set_("train_split", float(self.train_split))
        set_("kill_at_request", bool(self.kill_at_request))
        set_("eval_windows", int(self.eval_windows))
        set_("eval_seed", int(self.eval_seed))

    @classmethod
    def coerce(cls, options: EnvOptions | dict | None) -> EnvOptions:
        """``options`` as EnvOptions (a dict is keyword arguments; None the defaults)."""
        return options if isinstance(options, EnvOptions) else cls(**(options or {}))

    def replace(self, **changes) -> EnvOptions:
        return replace(self, **changes)

    @property
    def stop_action(self) -> bool:
        """Whether the agent has a ``stop`` action (it picks its own backfill jobs)."""
        return self.backfill is EnvBackfill.AGENT

    def to_dict(self, names: tuple[str, ...] | None = None) -> dict:
        """The options (or the ``names`` ones) as plain JSON values: enums become their strings."""
        out = {}
        for name in names or [f.name for f in fields(self)]:
            value = getattr(self, name)
            out[name] = value.value if isinstance(value, StrEnum) else value
        return out

    @classmethod
    def from_dict(cls, saved: dict, **missing) -> EnvOptions:
        """Options a file recorded.  A key the file lacks takes ``missing[key]`` when the caller
        gives one (its legacy rule), else the default above; an unknown key is an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(saved) - known)
        if unknown:
            raise SchedlabError(f"unknown environment option(s) {', '.join(unknown)}")
        return cls(**{**{k: v for k, v in missing.items() if k not in saved}, **saved})

    @classmethod
    def from_saved(cls, saved: dict) -> EnvOptions:
        """Options a model file recorded (:data:`CHECKPOINT_FIELDS`, or any field for older files),
        each of exactly the plain type :meth:`to_dict` writes: a file is not coerced the way a
        command line is (``"no"`` is not a boolean, ``"12"`` not a window).  Missing ones take the
        defaults; an unknown one, a wrong type or a value out of range is a SchedlabError."""
        if not isinstance(saved, dict):
            raise SchedlabError(f"the options are a {type(saved).__name__}, not a dict")
        known = {f.name for f in fields(cls)}
        for name, value in saved.items():
            if name not in known:
                shown = repr(name) if isinstance(name, str) and len(name) <= 40 else "a non-option key"
                raise SchedlabError(f"unknown environment option {shown}")
            want = SAVED_TYPES.get(name, (str,))
            ok = isinstance(value, want) and not (isinstance(value, bool) and bool not in want)
            if ok and isinstance(value, str) and len(value) > MAX_SAVED_STR.get(name, 64):
                raise SchedlabError(f"option {name} is a string of {len(value):,} characters, not a known value")
            if not ok:
                shown = repr(value) if isinstance(value, str | bool | float) and len(repr(value)) <= 40 else None
                shown = shown or (repr(value) if isinstance(value, int) and abs(value) < 2**62 else None)
                got = shown or f"a value of type {type(value).__name__}"
                names = " or ".join("null" if t is type(None) else t.__name__ for t in want)
                raise SchedlabError(f"option {name} must be {names}, got {got}")
        return cls.from_dict(saved)

    def run_under(self, config) -> EnvOptions:
        """How an agent trained (or a tree distilled) with these options schedules a whole workload
        under the simulator's ``config``: its window W, queue order and backfill order, its own
        backfill choices if it learnt them (backfill ``agent``), else ``config.backfill``; machine
        semantics (capacity unit, estimates and their correction, kills) from ``config``; the
        observation it was trained on (``history_features``) kept.  The caller rejects
        conservative backfilling first."""
        backfill = EnvBackfill.AGENT if self.backfill is EnvBackfill.AGENT else choose(EnvBackfill, config.backfill)
        machine = getattr(config, "cluster", None)
        if machine is not None and self.cluster is None:
            raise SchedlabError(
                "this model or tree was made on a single-resource machine: its observation has no GPU or memory "
                "rows, so it cannot schedule a --cluster machine (train it with --cluster)"
            )
        return EnvOptions(
            window_len=None,
            split=Split.ALL,
            visible=self.visible,
            backfill=backfill,
            queue_order=self.queue_order,
            backfill_order=self.backfill_order,
            capacity_unit=config.capacity_unit,
            estimates=config.estimates,
            kill_at_request=config.kill_at_request,
            correction=config.correction,
            history_features=self.history_features,
            cluster=machine.name if machine is not None else self.cluster,
        )


__all__ = ["CHECKPOINT_FIELDS", "TREE_FIELDS", "EnvOptions"]
