"""A distilled submit tree as the rules Slurm applies: what ``schedlab deploy`` writes and simulates.

A tree over :data:`~schedlab.explain.features.SUBMIT_FEATURES` (``schedlab explain --features
submit``) scores a job from what it shows at submit; a higher score runs earlier.  Each leaf is a
*rule* (``R1``, ``R2``, ... in the tree's left-to-right order) with the conditions on its path and
what it does in Slurm:

* ``nice``: the leaf's score mapped linearly onto ``[0, nice_max]`` (the highest-scoring leaf gets
  0, the lowest ``nice_max``); Slurm subtracts nice from the multifactor priority;
* ``site``: the same score as a ``SiteFactor`` in ``[0, site_max]`` (the highest-scoring leaf gets
  ``site_max``); Slurm 22.05 adds the site factor to the priority unweighted;
* optionally a partition or QOS for the jobs the tree scores at least a threshold
  (:class:`Route`; applied only to a job that named none).

The user's history (``user_accuracy``: log2(runtime / time limit) of the user's last completed
job) comes from a job table the site exports (``sacct``): :func:`user_history` takes each user's
last completed job (by end time).  Users absent from it read 0, as a schedlab episode reads a
key with no completed job.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from schedlab.errors import SchedlabError
from schedlab.explain.features import SUBMIT_FEATURES, submit_values
from schedlab.explain.tree import TREE_PREFIX, Tree, load_tree

#: the most leaves (rules) a deployed tree may have, and its deepest path: Lua's parser refuses
#: deeply nested blocks (about 200 levels), and a site reads its rules
MAX_RULES = 512
MAX_DEPTH = 40
#: Slurm names we write into Lua: partition, QOS and user names (anything else is refused)
SLURM_NAME = re.compile(r"^[A-Za-z0-9_.@+-]{1,64}$")
#: the largest nice or SiteFactor schedlab writes (Slurm allows up to 2^31 - 3)
MAX_FACTOR = 10_000_000


@dataclass(frozen=True)
class Route:
    """Jobs the tree scores at least ``min_score`` go to partition (or QOS) ``name``."""

    name: str
    min_score: float

    @classmethod
    def parse(cls, text: str, what: str) -> Route:
        """``NAME:MIN_SCORE`` (e.g. ``short:-2.5``)."""
        name, sep, score = str(text).rpartition(":")
        try:
            value = float(score)
        except ValueError:
            value = math.nan
        if not sep or not math.isfinite(value):
            raise SchedlabError(f"--{what} takes NAME:MIN_SCORE (e.g. short:-2.5), got {text!r}")
        check_name(name, what)
        return cls(name, value)


def check_name(name: str, what: str) -> str:
    if not SLURM_NAME.match(name or ""):
        raise SchedlabError(f"{what} name {name!r} is not a Slurm name (letters, digits, _ . @ + -; at most 64)")
    return name


@dataclass(frozen=True)
class Rule:
    """One leaf: ``conditions`` ((feature, "<=" or ">", threshold) from the root), its score and
    what it sets."""

    id: int
    node: int
    conditions: tuple
    score: float
    nice: int
    site: int
    partition: str | None = None
    qos: str | None = None

    def text(self) -> str:
        cond = " and ".join(f"{f} {op} {t:.6g}" for f, op, t in self.conditions) or "every job"
        sets = [f"nice {self.nice}", f"site factor {self.site}"]
        sets += [f"partition {self.partition}"] if self.partition else []
        sets += [f"qos {self.qos}"] if self.qos else []
        return f"R{self.id}: if {cond}: score {self.score:.4g} -> {', '.join(sets)}"


@dataclass
class SubmitRules:
    """A submit tree's rules, ready for Lua, the daemon and the simulation."""

    tree: Tree
    name: str
    rules: list[Rule]
    nice_max: int
    site_max: int
    leaf_rule: dict = field(default_factory=dict)  # leaf node -> rule index

    def rule_of(self, X: np.ndarray) -> np.ndarray:
        """Index into ``rules`` of every row of SUBMIT_FEATURES values."""
        leaves = leaf_nodes(self.tree, X)
        return np.array([self.leaf_rule[int(n)] for n in leaves], dtype=np.int64)

    def lines(self) -> list[str]:
        return [r.text() for r in self.rules]


def leaf_nodes(tree: Tree, X: np.ndarray) -> np.ndarray:
    """The leaf each row of ``X`` ends in (the tree's own descent rule: left when ``x <= t``)."""
    node = np.zeros(len(X), dtype=np.int64)
    for _ in range(tree.depth + 1):
        inner = tree.feature[node] >= 0
        if not inner.any():
            break
        i = np.flatnonzero(inner)
        f = tree.feature[node[i]]
        left = X[i, f] <= tree.threshold[node[i]]
        node[i] = np.where(left, tree.left[node[i]], tree.right[node[i]])
    return node


def submit_tree(spec: str | Path) -> tuple[Tree, str]:
    """(tree, name) from a tree.json, an explain folder or a shipped tree's name (``tree:`` prefix
    allowed), refused with one line unless Slurm can compute every feature it reads at submit."""
    spec = str(spec)
    spec = spec[len(TREE_PREFIX) :] if spec.startswith(TREE_PREFIX) else spec
    tree = load_tree(spec)
    if not tree.submit:
        missing = [f for f in tree.features if f not in SUBMIT_FEATURES]
        used = sorted({tree.features[i] for i in tree.feature if i >= 0} - set(SUBMIT_FEATURES))
        raise SchedlabError(
            f"tree {spec!r} reads features Slurm cannot compute when a job is submitted "
            f"({', '.join(used or missing[:6])}); distil one over {', '.join(SUBMIT_FEATURES)} with "
            "`schedlab explain --features submit`"
        )
    if tree.n_leaves > MAX_RULES or tree.depth > MAX_DEPTH:
        raise SchedlabError(
            f"tree {spec!r} has {tree.n_leaves} leaves, depth {tree.depth}: at most {MAX_RULES} rules of depth "
            f"{MAX_DEPTH} are deployed (distil a smaller one: --max-leaves)"
        )
    name = re.sub(r"[^A-Za-z0-9_.+-]", "_", Path(spec).stem if Path(spec).suffix else Path(spec).name)[:64]
    return tree, name or "tree"


def _scaled(v: float, lo: float, hi: float, top: int) -> int:
    return 0 if hi <= lo else round(top * (v - lo) / (hi - lo))


def build_rules(
    tree: Tree, name: str, nice_max: int = 1000, site_max: int = 1000,
    partition: Route | None = None, qos: Route | None = None,
) -> SubmitRules:  # fmt: skip
    """The tree's leaves as rules (see the module docstring for the score -> nice/site maps)."""
    for what, v in (("nice_max", nice_max), ("site_max", site_max)):
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= MAX_FACTOR:
            raise SchedlabError(f"{what} must be a whole number in [0, {MAX_FACTOR:,}], got {v!r}")
    leaves = [n for n in _leaves_in_order(tree)]
    vals = np.array([tree.value[n] for n, _ in leaves])
    lo, hi = float(vals.min()), float(vals.max())
    rules, leaf_rule = [], {}
    for k, (node, cond) in enumerate(leaves):
        v = float(tree.value[node])
        rules.append(
            Rule(
                id=k + 1, node=node, conditions=tuple(cond), score=v,
                nice=nice_max - _scaled(v, lo, hi, nice_max), site=_scaled(v, lo, hi, site_max),
                partition=partition.name if partition and v >= partition.min_score else None,
                qos=qos.name if qos and v >= qos.min_score else None,
            )
        )  # fmt: skip
        leaf_rule[node] = k
    return SubmitRules(tree=tree, name=name, rules=rules, nice_max=nice_max, site_max=site_max, leaf_rule=leaf_rule)


def _leaves_in_order(tree: Tree):
    """(leaf node, conditions) left to right."""
    todo = [(0, [])]
    while todo:
        node, cond = todo.pop()
        f = int(tree.feature[node])
        if f < 0:
            yield node, cond
            continue
        name, t = tree.features[f], float(tree.threshold[node])
        todo.append((int(tree.right[node]), [*cond, (name, ">", t)]))
        todo.append((int(tree.left[node]), [*cond, (name, "<=", t)]))


# -- the users' history -----------------------------------------------------------------------------
def user_history(path: str | Path | None) -> dict[str, float]:
    """user -> log2(runtime / time limit) of the user's last completed job (by end time) in the job
    table at ``path`` (an ``sacct`` export or any table ``schedlab`` reads); {} for None.  Users
    whose name Slurm would not accept are left out (they read 0)."""
    if path is None:
        return {}
    from schedlab.workload.jobtables.source import read_frame

    frame, _, _ = read_frame(path)
    run = (frame["end"] - frame["start"]).astype(float)
    ok = frame["user"].notna() & (frame["state"] == "COMPLETED") & (run > 0) & (frame["time_limit"].astype(float) > 0)
    done = frame[ok].assign(run=run[ok]).sort_values("end", kind="stable")
    out: dict[str, float] = {}
    for user, r, tl in zip(done["user"], done["run"], done["time_limit"].astype(float), strict=True):
        if SLURM_NAME.match(str(user)):
            out[str(user)] = float(np.clip(np.log2(max(r, 1.0) / max(tl, 1.0)), -20.0, 20.0))
    return out


def job_features(request_s, procs, users, history: dict[str, float]) -> np.ndarray:
    """SUBMIT_FEATURES rows for jobs given their time limits (s), sizes and user names."""
    acc = [history.get(str(u), 0.0) for u in users]
    return submit_values(np.asarray(request_s, dtype=np.float64) / 3600.0, procs, acc)


__all__ = [
    "MAX_RULES",
    "Route",
    "Rule",
    "SubmitRules",
    "build_rules",
    "check_name",
    "job_features",
    "leaf_nodes",
    "submit_tree",
    "user_history",
]
