"""What ``schedlab explain`` runs: distil a teacher on a trace's training split, then measure the
tree against the teacher and the heuristics on the held-out windows of ``schedlab evaluate``.

Splits (jobs by submit time): DAgger rolls out on windows of the first ``train_split x (1 -
val_fraction)`` of the jobs, the iterate and its pruning level are chosen on windows of the rest
of the training split, and every reported number is on the test windows (the last
``1 - train_split``), never seen before.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from schedlab.errors import SchedlabError
from schedlab.explain.dagger import (
    DaggerDistiller,
    Decisions,
    HeuristicTeacher,
    ModelTeacher,
    decision_latency,
    rollout,
    schedule,
)
from schedlab.explain.tree import Tree
from schedlab.policies import STATIC
from schedlab.rl.env import SchedulingEnv
from schedlab.rl.episodes import eval_window_starts, split_bounds
from schedlab.rl.evaluation import HEURISTICS
from schedlab.rl.options import TREE_FIELDS, EnvOptions
from schedlab.simulator.config import SimConfig
from schedlab.workload.table import Workload


def load_teacher(model: str, workload: Workload, any_trace: bool = False) -> tuple[object, EnvOptions]:
    """(teacher, how it schedules): a static heuristic's name, or a trained model (file, folder,
    shipped name; loaded once).  A model trained on another trace is refused unless ``any_trace``.
    The options hold what a tree records (:data:`~schedlab.rl.options.TREE_FIELDS`)."""
    model = model.removeprefix("model:")  # the spelling --policy takes is accepted too
    if model in STATIC:
        return HeuristicTeacher(model), EnvOptions(
            visible=128, backfill="easy", queue_order="fcfs", backfill_order=model
        )
    from schedlab.rl.policy import model_policy
    from schedlab.workload.bundled import trace_key

    policy = model_policy(model)
    trained_on = policy.model.meta.get("trace")
    if trained_on and trace_key(trained_on) != trace_key(workload.name) and not any_trace:
        raise SchedlabError(
            f"model {policy.path.name} was trained on {trained_on}, not {workload.name}: its tree would "
            f"explain it on jobs it never learnt from (pass --any-trace to do it anyway)"
        )
    runs = policy.env_options(SimConfig(policy="fcfs", backfill="easy"))
    return ModelTeacher(policy.model), EnvOptions(**runs.to_dict(TREE_FIELDS))


def explain(
    model: str,
    workload: Workload,
    *,
    iterations: int = 5,
    max_leaves: int = 64,
    critical: str = "all",
    form: str = "regression",
    train_split: float = 0.7,
    val_fraction: float = 0.2,
    window_len: int = 1024,
    windows: int = 10,
    eval_seed: int = 0,
    episodes_per_iteration: int = 4,
    val_windows: int = 16,
    prune: bool = True,
    prune_tolerance: float = 0.01,
    seed: int = 0,
    heuristics=HEURISTICS,
    progress=None,
    command: str = "",
    any_trace: bool = False,
    estimates: str | None = None,
    correction: str | None = None,
    history_features: bool | None = None,
    features: str = "decision",
    rollout_workers: int = 1,
    executor: str = "processes",
) -> tuple[Tree, dict]:
    """Distil ``model`` into a tree on ``workload``; ``estimates``/``correction``: the runtime
    estimates the teacher, the tree and the heuristics schedule with (None: the teacher's own);
    ``history_features``: the tree also reads the requested time and the key's last accuracy
    (None: when the teacher was trained with them); ``features``: ``decision`` (what the queue
    shows at each decision) or ``submit`` (what a job shows at submit: a tree Slurm can run, see
    :mod:`schedlab.slurm.deploy_lua`); ``rollout_workers``/``executor``: DAgger's rollouts in that many
    worker processes or Ray actors (:mod:`schedlab.explain.rollouts`)."""
    teacher, env_opts = load_teacher(model, workload, any_trace)
    history_features = _submit_history(features, teacher, env_opts, history_features)
    changes = {
        k: v
        for k, v in (("estimates", estimates), ("correction", correction), ("history_features", history_features))
        if v is not None
    }
    env_opts = env_opts.replace(**changes) if changes else env_opts
    env = SchedulingEnv(workload, env_opts.replace(window_len=window_len, split="all"))
    rng = np.random.default_rng(seed)
    train_starts, val_starts, test_starts = explain_windows(
        workload,
        train_split,
        val_fraction,
        window_len,
        rng,
        n_train=max(4 * iterations * episodes_per_iteration, 8),
        n_val=val_windows,
        n_test=windows,
        eval_seed=eval_seed,
    )
    d = DaggerDistiller(
        iterations=iterations,
        episodes_per_iteration=episodes_per_iteration,
        form=form,
        max_leaves=max_leaves,
        critical=critical,
        prune=prune,
        prune_tolerance=prune_tolerance,
        history="submit" if features == "submit" else env_opts.history_features,
        seed=seed,
        rollout_workers=rollout_workers,
        executor=executor,
    )
    d.fit(teacher, env, train_starts, val_starts, progress=progress)
    tree = d.tree_
    tree.env = env_opts
    tree.meta = {
        "teacher": str(model),
        "trace": workload.name,
        "form": form,
        "critical": critical,
        "iterations": iterations,
        "max_leaves": max_leaves,
        "seed": seed,
        "command": command,
        "prune_tolerance": prune_tolerance,
        "val_windows": val_windows,
        "importances": tree.importances(d.n_samples_),
        "val_bsld": d.val_bsld_,
        "feature_set": features,
    }
    result = {"teacher": str(model), "trace": workload.name, "form": form, "critical": critical}
    result.update(held_out(teacher, tree, env, test_starts, rng, heuristics))
    result.update(
        {
            "window_starts": [int(s) for s in test_starts],
            "window_len": window_len,
            "dagger": d.history_,
            "pruning": d.prune_path_,
            "val_bsld": d.val_bsld_,
            "importances": tree.importances(d.n_samples_),
        }
    )
    return tree, result


def _submit_history(features: str, teacher, env_opts: EnvOptions, history_features: bool | None) -> bool | None:
    """``history_features`` as the feature set needs it: a submit tree reads the users' last
    accuracy, so its episodes keep it (a model teacher must have been trained with it: its
    observation holds it); submit trees pick no backfill jobs."""
    if features not in ("decision", "submit"):
        raise SchedlabError(f"unknown feature set {features!r}; use decision or submit")
    if features == "decision":
        return history_features
    if history_features is False:
        raise SchedlabError("submit features include the user's history: drop --no-history-features")
    if isinstance(teacher, ModelTeacher) and not env_opts.history_features:
        raise SchedlabError(
            "a submit tree reads the user's history, which this model's observation lacks: distil a model "
            "trained with --history-features, or a heuristic teacher (e.g. --model sjf)"
        )
    if env_opts.backfill == "agent":
        raise SchedlabError("this teacher picks its own backfill jobs: a submit-time priority cannot (stop action)")
    return True


def explain_windows(
    workload: Workload,
    train_split: float,
    val_fraction: float,
    window_len: int,
    rng: np.random.Generator,
    *,
    n_train: int,
    n_val: int,
    n_test: int,
    eval_seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Window starts: DAgger's (the first ``train_split x (1 - val_fraction)`` of the jobs), the
    validation ones (the rest of the training split; both drawn from ``rng``) and the test ones
    (``schedlab evaluate``'s windows of the last ``1 - train_split``)."""
    n = len(workload)
    fit_hi = split_bounds(n, train_split * (1 - val_fraction), "test")[0]
    train_hi = split_bounds(n, train_split, "test")[0]
    if fit_hi < window_len or train_hi - fit_hi < window_len:
        raise SchedlabError(
            f"windows of {window_len} jobs do not fit the training ({fit_hi}) and validation "
            f"({train_hi - fit_hi}) parts of {workload.name}; use a smaller --window-len"
        )
    train_starts = rng.integers(0, fit_hi - window_len + 1, size=n_train)
    val_starts = rng.integers(fit_hi, train_hi - window_len + 1, size=n_val)
    return train_starts, val_starts, eval_window_starts(train_hi, n, window_len, n_test, eval_seed)


def held_out(teacher, tree: Tree, env: SchedulingEnv, test_starts, rng, heuristics) -> dict:
    """The tree against its teacher and the heuristics on the test windows: fidelity on the
    teacher's own states, each policy's mean bsld / wait / utilisation scheduling the windows
    alone, and the decision latency of teacher and tree."""
    from schedlab.simulator.compare import compare

    held = Decisions()
    teacher_runs = [rollout(env, s, teacher, None, 1.0, rng, held, tree.rows) for s in test_starts]
    tree_runs = schedule(tree.act, env, test_starts)
    rows = {f"teacher ({teacher.name})": teacher_runs, f"tree ({tree.n_leaves} leaves)": tree_runs}
    cfg_backfill = "none" if env.backfill == "none" else "easy"
    for r in compare(
        env.workload,
        list(heuristics),
        [cfg_backfill],
        window_starts=[int(s) for s in test_starts],
        window_len=env.L,
        estimates=env.options.estimates,
        correction=env.options.correction,
    ):
        rows[r.policy] = r.windows
    table = {
        k: {
            "mean_bsld": float(np.mean([w["mean_bsld"] for w in v])),
            "mean_wait": float(np.mean([w["mean_wait"] for w in v])),
            "utilization": float(np.mean([w["utilization"] for w in v])),
        }
        for k, v in rows.items()
    }
    latency = decision_latency(teacher, tree, env, int(test_starts[0]))
    t_bsld = table[f"teacher ({teacher.name})"]["mean_bsld"]
    tr_bsld = table[f"tree ({tree.n_leaves} leaves)"]["mean_bsld"]
    best_h = min(heuristics, key=lambda h: table[h]["mean_bsld"])
    return {
        "tree": {"nodes": tree.n_nodes, "leaves": tree.n_leaves, "depth": tree.depth},
        "fidelity": held.fidelity(tree),
        "held_out_decisions": len(held),
        "results": table,
        "tree_vs_teacher_bsld": tr_bsld / t_bsld - 1.0,
        "best_heuristic": best_h,
        "tree_vs_best_heuristic_bsld": tr_bsld / table[best_h]["mean_bsld"] - 1.0,
        "latency_s": {"teacher": latency["teacher"], "tree": latency["tree"]},
        "speedup": latency["teacher"] / latency["tree"] if np.isfinite(latency["teacher"]) else None,
    }


def write_outputs(tree: Tree, result: dict, out: Path) -> list[Path]:
    """The tree's files (:func:`~schedlab.explain.export.write_all`) and, last, explain.json; each
    file atomically (the CLI writes them into a temporary folder that replaces --out when done)."""
    from schedlab.explain.export import write_all
    from schedlab.report.outputs import write_json

    paths = write_all(tree, out)
    return [*paths, write_json(Path(out) / "explain.json", result)]
