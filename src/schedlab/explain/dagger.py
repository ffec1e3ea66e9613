"""IRL-style distillation: DAgger from a teacher policy into a decision tree, pruned on critical
states and on validation performance.

Loop (Ross et al.'s DAgger, as IRL uses it):
  iteration 0: roll the teacher out on training windows; record, at every decision with more
               than one candidate, each candidate's features (``features.FEATURES``) and the
               teacher's score of it;
  iteration i: roll out a mixture (the teacher with probability beta**i, else the current tree),
               have the teacher label every state visited, add them to the data set, refit;
  keep the iterate that schedules best (mean bsld) on the validation windows, then choose its
  cost-complexity pruning level on the same windows (the smallest tree within
  ``prune_tolerance`` of the best).

Student forms: ``regression`` fits the teacher's log-probability of each candidate (its scores
through a softmax over the decision's candidates, floored at -10); ``classification`` fits "is the teacher's
choice".  Either way the tree's highest-scoring candidate is taken.

Critical states (``critical=``): ``all``; ``queue:N`` (IRL's rule: more than N waiting jobs);
``gap:G`` (ours: the teacher's softmax probability of its choice exceeds that of the runner-up
by at least G, i.e. the teacher cares which job runs).  The tree is fitted on critical states
only; it still schedules every state.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from schedlab.errors import SchedlabError
from schedlab.explain.features import FEATURES, candidate_rows, feature_set
from schedlab.explain.tree import Tree
from schedlab.options import TreeForm, choose
from schedlab.rl.env import SchedulingEnv
from schedlab.rl.episodes import run_episode

FORMS = tuple(TreeForm)


# -- teachers -------------------------------------------------------------------------------
class ModelTeacher:
    """A trained schedlab model (``TrainedPolicy``): its logits are the scores."""

    def __init__(self, policy):
        self.policy = policy
        self.name = f"{policy.agent} model"

    def scores(self, env: SchedulingEnv, actions: np.ndarray) -> np.ndarray:
        return self.policy.scores(env.observation(), env.action_masks())[actions]

    def act(self, env: SchedulingEnv) -> int:
        return self.policy.act_env(env)


class HeuristicTeacher:
    """A static heuristic (``sjf``, ``saf``, ``expr:...``): score = -(its priority value); the
    stop action scores below every job, so it stops only when no job can be backfilled."""

    def __init__(self, policy: str = "sjf"):
        self.policy = policy
        self.name = policy

    def scores(self, env: SchedulingEnv, actions: np.ndarray) -> np.ndarray:
        view = env.decision_view()
        s = env.heuristic_scores(self.policy)
        jobs = actions < view.stop_action
        out = np.full(len(actions), -1e300)
        out[jobs] = -s[view.job[np.searchsorted(view.slots, actions[jobs])]]
        return out

    def act(self, env: SchedulingEnv) -> int:
        return env.teacher_action(self.policy)


# -- critical states ------------------------------------------------------------------------
def parse_critical(rule: str) -> tuple[str, float]:
    if rule == "all":
        return "all", 0.0
    kind, _, arg = rule.partition(":")
    try:
        value = float(arg)
    except ValueError:
        value = float("nan")
    if kind not in ("queue", "gap") or not np.isfinite(value):
        raise SchedlabError(
            f"unknown critical-state rule {rule!r}; use all, queue:N (more than N waiting jobs) "
            "or gap:G (teacher's choice ahead of the runner-up by at least G in probability)"
        )
    return kind, value


def log_softmax(scores: np.ndarray, floor: float = -10.0) -> np.ndarray:
    """The teacher's log-probability of each candidate, floored (a candidate it would never take
    is worth ``floor``, however much lower its raw score is)."""
    z = scores - scores.max()
    return np.maximum(z - np.log(np.exp(z).sum()), floor)


def teacher_gap(scores: np.ndarray) -> float:
    """Softmax probability of the best candidate minus that of the second best."""
    z = np.exp(scores - scores.max())
    p = np.sort(z / z.sum())[::-1]
    return float(p[0] - p[1]) if len(p) > 1 else 1.0


# -- data -----------------------------------------------------------------------------------
@dataclass
class Decisions:
    """Aggregated DAgger data: one row per candidate, grouped by decision."""

    X: list = field(default_factory=list)  # [n_candidates, n_features] per decision
    score: list = field(default_factory=list)  # teacher's scores per decision
    queue: list = field(default_factory=list)  # waiting jobs at the decision
    gap: list = field(default_factory=list)  # teacher's probability gap

    def add(self, X, s, queue):
        self.X.append(X)
        self.score.append(s)
        self.queue.append(queue)
        self.gap.append(teacher_gap(s))

    def __len__(self) -> int:
        return len(self.X)

    def select(self, critical: str) -> np.ndarray:
        kind, v = parse_critical(critical)
        q, g = np.asarray(self.queue), np.asarray(self.gap)
        if kind == "all":
            return np.arange(len(self))
        return np.flatnonzero(q > v if kind == "queue" else g >= v)

    def training_set(self, idx: np.ndarray, form: str) -> tuple[np.ndarray, np.ndarray]:
        X = np.concatenate([self.X[i] for i in idx])
        if form == "regression":
            y = np.concatenate([log_softmax(self.score[i]) for i in idx])
        else:
            y = np.concatenate(
                [(np.arange(len(self.score[i])) == np.argmax(self.score[i])).astype(np.int64) for i in idx]
            )
        return X, y

    def fidelity(self, tree: Tree, idx: np.ndarray | None = None) -> float:
        """Share of decisions where the tree takes the teacher's choice."""
        idx = np.arange(len(self)) if idx is None else idx
        if len(idx) == 0:
            return float("nan")
        return float(np.mean([np.argmax(tree.predict(self.X[i])) == np.argmax(self.score[i]) for i in idx]))


def rollout(
    env: SchedulingEnv,
    start: int,
    teacher,
    student: Tree | None,
    beta: float,
    rng: np.random.Generator,
    data: Decisions | None,
    history: bool = False,
) -> dict:
    """One window: the teacher acts with probability ``beta`` (else the student); the teacher labels
    every decision with more than one candidate into ``data`` (rows of FEATURES, or of
    EXTENDED_FEATURES with ``history``).  Returns the window's metrics."""

    def decide(env: SchedulingEnv) -> int:
        view = env.decision_view()
        actions, X = candidate_rows(view, history=history)
        label = data is not None and len(actions) > 1
        use_teacher = student is None or rng.random() < beta
        s = teacher.scores(env, actions) if (label or use_teacher) else None
        if label:
            data.add(X, s, view.queue_length)
        return int(actions[int(np.argmax(s if use_teacher else student.predict(X)))])

    return run_episode(env, decide, start)


def schedule(policy_act, env: SchedulingEnv, starts) -> list[dict]:
    """Metrics of a policy (a function env -> action) on each window."""
    return [run_episode(env, policy_act, s) for s in starts]


def mean_bsld(policy_act, env, starts) -> float:
    return float(np.mean([m["mean_bsld"] for m in schedule(policy_act, env, starts)]))


# -- the estimator ----------------------------------------------------------------------------
@dataclass
class DaggerDistiller:
    """scikit-learn-style: parameters here, ``fit(teacher, env, train_starts, val_starts)``; learned
    attributes end in ``_`` (``tree_``, ``history_``, ``data_``)."""

    iterations: int = 5
    episodes_per_iteration: int = 4
    beta: float = 0.5  # the teacher acts with probability beta ** iteration
    form: TreeForm = TreeForm.REGRESSION
    max_leaves: int = 64
    min_samples_leaf: int = 5
    critical: str = "all"
    prune: bool = True
    prune_candidates: int = 8  # pruning levels tried on validation
    prune_tolerance: float = 0.01  # keep the smallest tree within 1% of the best validation bsld
    history: bool | str = False  # the tree also reads the history features; "submit": submit features only
    seed: int = 0
    rollout_workers: int = 1  # workers rolling out each iteration's windows (1: here; see explain/rollouts.py)
    executor: str = "processes"  # processes | ray (with rollout_workers > 1)

    def _fit_tree(self, X, y, ccp_alpha: float = 0.0):
        from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

        cls = DecisionTreeRegressor if self.form == "regression" else DecisionTreeClassifier
        est = cls(
            max_leaf_nodes=max(2, self.max_leaves),
            min_samples_leaf=self.min_samples_leaf,
            ccp_alpha=ccp_alpha,
            random_state=self.seed,
        )
        return est.fit(X, y)

    def _tree(self, est) -> Tree:
        return Tree.from_sklearn(est, features=feature_set(self.history))

    def fit(self, teacher, env: SchedulingEnv, train_starts, val_starts, progress=None) -> DaggerDistiller:
        from schedlab.explain.rollouts import dagger_rollouts

        with dagger_rollouts(self, teacher, env) as collect:
            return self._fit(collect, teacher, env, train_starts, val_starts, progress)

    def _fit(self, collect, teacher, env: SchedulingEnv, train_starts, val_starts, progress) -> DaggerDistiller:
        if self.history and not env.history:
            raise SchedlabError("a tree over the history features needs an environment that keeps them")
        form = choose(TreeForm, self.form, "student form")
        if self.iterations < 1:
            raise SchedlabError("DAgger needs at least one iteration")
        parse_critical(self.critical)
        rng = np.random.default_rng(self.seed)
        data = Decisions()
        train_starts = list(train_starts)
        tree: Tree | None = None
        best = (np.inf, None, None)
        self.history_ = []
        for it in range(self.iterations):
            beta = 1.0 if it == 0 else self.beta**it
            picks = rng.choice(
                len(train_starts), size=min(self.episodes_per_iteration, len(train_starts)), replace=False
            )
            collect([train_starts[p] for p in picks], tree, beta, rng, data, it)
            idx = data.select(self.critical)
            if len(idx) == 0 and len(data) == 0:
                raise SchedlabError(
                    "the rollouts met no decision with two or more candidate jobs (the queue stayed "
                    "short), so there is nothing to explain; use longer windows (--window-len) or "
                    "a busier trace"
                )
            if len(idx) == 0:
                raise SchedlabError(
                    f"no critical states under rule {self.critical!r} in {len(data)} decisions; "
                    "loosen the rule (e.g. a smaller queue or gap threshold)"
                )
            X, y = data.training_set(idx, form)
            est = self._fit_tree(X, y)
            tree = self._tree(est)
            val = mean_bsld(tree.act, env, val_starts)
            self.history_.append(
                {
                    "iteration": it,
                    "beta": beta,
                    "decisions": len(data),
                    "critical": len(idx),
                    "leaves": tree.n_leaves,
                    "val_bsld": val,
                    "fidelity": data.fidelity(tree),
                }
            )
            if progress:
                progress(self.history_[-1])
            if val < best[0]:
                best = (val, est, idx)
        self.data_ = data
        val, est, idx = best
        chosen, val = self._prune(est, val, *data.training_set(idx, form), env, val_starts)
        self.val_bsld_ = float(val)
        self.tree_ = self._tree(chosen)
        self.n_samples_ = chosen.tree_.n_node_samples.copy()
        return self

    def _prune(self, est, val: float, X, y, env: SchedulingEnv, val_starts):
        """(estimator, its validation bsld): the smallest cost-complexity pruning of ``est`` within
        ``prune_tolerance`` of the best validation bsld (``est`` itself included); the levels
        tried go to ``prune_path_``."""
        self.prune_path_ = []
        if not self.prune:
            return est, val
        alphas = est.cost_complexity_pruning_path(X, y).ccp_alphas
        alphas = (
            np.unique(np.quantile(alphas[:-1], np.linspace(0, 1, self.prune_candidates))) if len(alphas) > 1 else []
        )
        trials = [(val, est)]
        for a in alphas:
            e = self._fit_tree(X, y, ccp_alpha=float(a))
            t = self._tree(e)
            v = mean_bsld(t.act, env, val_starts)
            trials.append((v, e))
            self.prune_path_.append({"ccp_alpha": float(a), "leaves": t.n_leaves, "val_bsld": v})
        best_v = min(v for v, _ in trials)
        ok = [(e.tree_.node_count, v, e) for v, e in trials if v <= best_v * (1 + self.prune_tolerance)]
        _, val, chosen = min(ok, key=lambda r: (r[0], r[1]))
        return chosen, val


def decision_latency(teacher, tree: Tree, env: SchedulingEnv, start: int, repeats: int = 3) -> dict:
    """Median seconds per decision over one window, each policy scheduling it on its own: the
    teacher's greedy action from the environment's observation, and the tree's (its feature
    rows built from the environment's decision view, then the descent).  Environment stepping is
    not timed."""

    def timed(decide) -> tuple[float, int]:
        spent, n = 0.0, 0

        def act(env: SchedulingEnv) -> int:
            nonlocal spent, n
            t0 = time.perf_counter()
            a = decide(env)
            spent += time.perf_counter() - t0
            n += 1
            return a

        run_episode(env, act, start)
        return spent / n, n

    out = {}
    for name, decide in (("teacher", teacher.act), ("tree", tree.act)):
        runs = [timed(decide) for _ in range(repeats)]
        out[name] = float(np.median([r[0] for r in runs]))
        out["decisions"] = runs[0][1]
    return out


__all__ = [
    "FEATURES",
    "DaggerDistiller",
    "Decisions",
    "HeuristicTeacher",
    "ModelTeacher",
    "decision_latency",
    "mean_bsld",
    "parse_critical",
    "rollout",
    "schedule",
]
