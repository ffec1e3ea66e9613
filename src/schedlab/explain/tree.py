"""A distilled decision tree as plain data, and the scheduling policy it defines.

The tree is stored as arrays (scikit-learn's layout, without scikit-learn): node ``i`` sends a row
left when ``x[feature[i]] <= threshold[i]``; a leaf (``feature == -1``) holds the score.  The
policy takes the candidate with the highest score (ties: the earliest slot, i.e. the oldest job).
Saved as JSON (``schedlab-tree/1``), exported as text rules, Graphviz DOT and a standalone Python
priority function.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numba import njit

from schedlab.errors import SchedlabError
from schedlab.explain.features import EXTENDED_FEATURES, FEATURES, SUBMIT_FEATURES, candidate_rows
from schedlab.rl.options import TREE_FIELDS, EnvOptions
from schedlab.simulator.stepper import LOG_WEEK, DecisionView, log_minutes, view_values

TREE_FORMAT = "schedlab-tree/1"
TREE_PREFIX = "tree:"


#: the most nodes a tree file may hold (the shipped one has 17; DAgger's trees have at most ~2 x 64)
MAX_TREE_NODES = 100_000


@dataclass
class Tree:
    feature: np.ndarray  # int, -1 at leaves
    threshold: np.ndarray  # float
    left: np.ndarray  # int child index, -1 at leaves
    right: np.ndarray
    value: np.ndarray  # float score at every node (leaves are used)
    features: tuple[str, ...] = FEATURES
    env: EnvOptions = field(default_factory=EnvOptions)  # how it schedules (visible, backfill, orders)
    meta: dict = field(default_factory=dict)  # where it came from (teacher, trace, command, ...)

    def __post_init__(self) -> None:
        if self.features not in (FEATURES, EXTENDED_FEATURES, SUBMIT_FEATURES):
            more = EXTENDED_FEATURES[len(FEATURES) :]
            raise SchedlabError(
                f"tree reads features {self.features}, this schedlab computes {FEATURES} (+ {more}) "
                f"or {SUBMIT_FEATURES}"
            )
        if (
            self.history or self.submit
        ) and not self.env.history_features:  # the episode must keep the history it reads
            self.env = self.env.replace(history_features=True)
        #: the node arrays as one (n_nodes, 5) float array for the compiled path
        self.packed = np.ascontiguousarray(
            np.column_stack([self.feature, self.threshold, self.left, self.right, self.value]).astype(np.float64)
        )

    # -- shape --------------------------------------------------------------------------
    @property
    def history(self) -> bool:
        """Whether it reads the history features (requested time, the key's last accuracy) too."""
        return self.features == EXTENDED_FEATURES

    @property
    def submit(self) -> bool:
        """Whether it reads only what a job shows at submit (:data:`SUBMIT_FEATURES`): deployable
        into Slurm as job_submit.lua rules or SiteFactor values."""
        return self.features == SUBMIT_FEATURES

    @property
    def rows(self) -> bool | str:
        """What ``candidate_rows(view, history=...)`` takes to build this tree's rows."""
        return "submit" if self.submit else self.history

    @property
    def n_nodes(self) -> int:
        return len(self.feature)

    @property
    def n_leaves(self) -> int:
        return int(np.sum(self.feature < 0))

    @property
    def depth(self) -> int:
        d = np.zeros(self.n_nodes, dtype=np.int64)
        for i in range(self.n_nodes):  # parents come before children in this layout
            if self.feature[i] >= 0:
                d[self.left[i]] = d[self.right[i]] = d[i] + 1
        return int(d.max()) if self.n_nodes else 0

    # -- scoring ------------------------------------------------------------------------
    def predict(self, X: np.ndarray) -> np.ndarray:
        """Score of every row (vectorised descent: at most depth steps over all rows)."""
        node = np.zeros(len(X), dtype=np.int64)
        rows = np.arange(len(X))
        for _ in range(self.n_nodes):
            f = self.feature[node]
            inner = f >= 0
            if not inner.any():
                break
            i = rows[inner]
            go_left = X[i, f[inner]] <= self.threshold[node[inner]]
            node[i] = np.where(go_left, self.left[node[inner]], self.right[node[inner]])
        return self.value[node]

    def act(self, env) -> int:
        """The tree's action at the decision ``env`` (a SchedulingEnv) has due: features and descent
        in one compiled call over the decision's view values (:func:`fast_act` on the same view,
        without building the Python value; a tree reading history features goes through the view)."""
        if self.submit:
            return self.act_reference(env)
        if self.history:
            return fast_act(self, env.decision_view())
        return int(env.compiled_decision(_act_on_view, self.packed))

    def act_reference(self, env) -> int:
        """The same choice through ``candidate_rows`` and ``predict`` (plain numpy; for tests)."""
        actions, X = candidate_rows(env.decision_view(), history=self.rows)
        return int(actions[int(np.argmax(self.predict(X)))])

    def importances(self, n_samples: np.ndarray | None = None) -> dict[str, float]:
        """Share of split nodes per feature, weighted by the samples they saw when known."""
        w = np.ones(self.n_nodes) if n_samples is None else np.asarray(n_samples, dtype=np.float64)
        imp = np.zeros(len(self.features))
        for i in np.flatnonzero(self.feature >= 0):
            imp[self.feature[i]] += w[i]
        total = imp.sum()
        return {f: float(v / total) if total else 0.0 for f, v in zip(self.features, imp, strict=False)}

    # -- conversions --------------------------------------------------------------------
    @classmethod
    def from_sklearn(cls, est, **kw) -> Tree:
        """From a fitted DecisionTreeRegressor (score = the leaf mean) or DecisionTreeClassifier
        (score = the leaf's share of the positive class)."""
        t = est.tree_
        v = t.value[:, 0, :]
        value = v[:, 0] if v.shape[1] == 1 else v[:, -1] / np.maximum(v.sum(1), 1e-12)
        feature = np.where(t.children_left < 0, -1, t.feature).astype(np.int64)
        return cls(
            feature=feature,
            threshold=t.threshold.astype(np.float64),
            left=t.children_left.astype(np.int64),
            right=t.children_right.astype(np.int64),
            value=value.astype(np.float64),
            **kw,
        )

    def truncated(self, depth: int) -> Tree:
        """The tree cut at ``depth``: deeper subtrees become leaves holding their root's value (for
        display; inner nodes carry the mean score of the samples they saw)."""
        keep, new_id, d, todo = [], {}, {0: 0}, [0]
        while todo:  # breadth first, so children still follow their parents
            i = todo.pop(0)
            new_id[i] = len(keep)
            keep.append(i)
            if self.feature[i] >= 0 and d[i] < depth:
                for c in (int(self.left[i]), int(self.right[i])):
                    d[c] = d[i] + 1
                    todo.append(c)
        inner = [self.feature[i] >= 0 and d[i] < depth for i in keep]
        return Tree(
            feature=np.array([self.feature[i] if x else -1 for i, x in zip(keep, inner, strict=False)]),
            threshold=self.threshold[keep],
            value=self.value[keep],
            features=self.features,
            left=np.array([new_id[int(self.left[i])] if x else -1 for i, x in zip(keep, inner, strict=False)]),
            right=np.array([new_id[int(self.right[i])] if x else -1 for i, x in zip(keep, inner, strict=False)]),
        )

    def to_dict(self) -> dict:
        return {
            "format": TREE_FORMAT,
            "features": list(self.features),
            "env_kwargs": self.env.to_dict(TREE_FIELDS),
            "meta": self.meta,
            "nodes": {
                "feature": self.feature.tolist(),
                "threshold": self.threshold.tolist(),
                "left": self.left.tolist(),
                "right": self.right.tolist(),
                "value": self.value.tolist(),
            },
        }

    @classmethod
    def from_dict(cls, d: dict) -> Tree:
        """The tree a ``to_dict`` (tree.json) holds.

        Legacy rule for its ``env_kwargs``: tree files written before
        :class:`~schedlab.rl.options.EnvOptions` may lack ``backfill_order``; they were scheduled
        with sjf (the tree loader's default then), so a missing ``backfill_order`` reads as sjf.
        Any other missing option takes EnvOptions' default (as it did).
        """
        if not isinstance(d, dict) or d.get("format") != TREE_FORMAT:
            raise SchedlabError(f"not a schedlab tree (expected format {TREE_FORMAT})")
        nd = d["nodes"]
        if not isinstance(nd, dict):
            raise SchedlabError(f"tree field 'nodes' must be an object of node arrays, got {type(nd).__name__}")
        for key, kind in (("features", list), ("env_kwargs", dict), ("meta", dict)):
            if key in d and not isinstance(d[key], kind):
                raise SchedlabError(f"tree field {key!r} must be a JSON {kind.__name__}, got {type(d[key]).__name__}")
        if not all(isinstance(f, str) for f in d["features"]):
            raise SchedlabError("tree field 'features' must list feature names (strings)")
        tree = cls(
            feature=_node_array(nd, "feature", np.int64),
            threshold=_node_array(nd, "threshold", np.float64),
            left=_node_array(nd, "left", np.int64),
            right=_node_array(nd, "right", np.int64),
            value=_node_array(nd, "value", np.float64),
            features=tuple(d["features"]),
            env=EnvOptions.from_dict(d.get("env_kwargs", {}), backfill_order="sjf"),
            meta=d.get("meta", {}),
        )
        tree._check_nodes()
        return tree

    def _check_nodes(self) -> None:
        """Before any compiled code walks it: 1-D node arrays of one length (at most
        ``MAX_TREE_NODES``), features in range, children after their parent and inside the tree
        (so every walk ends: no cycle, no index out of range), each node the child of at most
        one parent, finite thresholds at splits and finite values at leaves."""
        arrays = (self.feature, self.threshold, self.left, self.right, self.value)
        n = self.n_nodes
        if any(a.ndim != 1 for a in arrays) or not all(len(a) == n for a in arrays) or n == 0:
            raise SchedlabError("tree node arrays are empty, not flat, or of different lengths")
        if n > MAX_TREE_NODES:
            raise SchedlabError(f"tree has {n:,} nodes; at most {MAX_TREE_NODES:,}")
        if np.any(self.feature < -1) or np.any(self.feature >= len(self.features)):
            raise SchedlabError(f"tree node features must be -1 (a leaf) or 0..{len(self.features) - 1}")
        inner = np.flatnonzero(self.feature >= 0)
        left, right = self.left[inner], self.right[inner]
        if np.any(left <= inner) or np.any(right <= inner) or np.any(left >= n) or np.any(right >= n):
            raise SchedlabError("tree nodes do not form a tree (children must follow their parent, inside the tree)")
        children = np.concatenate([left, right])
        if len(np.unique(children)) != len(children):
            raise SchedlabError("tree nodes do not form a tree (a node has two parents)")
        if not np.all(np.isfinite(self.threshold[inner])) or not np.all(np.isfinite(self.value[self.feature < 0])):
            raise SchedlabError("tree thresholds and leaf values must be finite numbers")

    def save(self, path: str | Path) -> Path:
        """The tree as JSON at ``path``, written atomically (never through a symbolic link)."""
        from schedlab.report.outputs import write_json

        return write_json(Path(path), self.to_dict(), indent=1)


def _brief(x) -> str:
    text = repr(x)
    return text if len(text) <= 40 else text[:37] + "..."


def _node_array(nodes: dict, key: str, dtype) -> np.ndarray:
    """``nodes[key]`` as a flat array of ``dtype``: a JSON list of numbers (not booleans, not
    strings; whole numbers where ``dtype`` is an integer type, in its range); else an error naming
    the field."""
    a = nodes[key]
    if not isinstance(a, list):
        raise SchedlabError(f"tree field 'nodes.{key}' must be a list of numbers, got {type(a).__name__}")
    bad = [i for i, x in enumerate(a) if isinstance(x, bool) or not isinstance(x, int | float)]
    if bad:
        raise SchedlabError(f"tree field 'nodes.{key}' must hold numbers only, found {_brief(a[bad[0]])} at {bad[0]}")
    if np.issubdtype(dtype, np.integer):
        if any(isinstance(x, float) and not x.is_integer() for x in a):
            raise SchedlabError(f"tree field 'nodes.{key}' must hold whole numbers (node or feature indices)")
        if any(not -(2**62) < x < 2**62 for x in a):
            raise SchedlabError(f"tree field 'nodes.{key}' holds an index beyond any tree")
    return np.asarray(a, dtype=dtype)


TREES_DIR = Path(__file__).resolve().parents[1] / "data" / "trees"


def shipped_trees() -> dict[str, Path]:
    return {p.stem: p for p in sorted(TREES_DIR.glob("*.json"))}


def load_tree(path: str | Path) -> Tree:
    """A tree from its JSON file, an explain output folder (``tree.json``) or a shipped tree's name
    (e.g. ``theta_2022-dras``), with clear errors."""
    shipped = shipped_trees()
    path = shipped.get(str(path), Path(path))
    if path.is_dir():
        path = path / "tree.json"
    if not path.exists():
        raise SchedlabError(f"no tree file {str(path)!r} (shipped trees: {', '.join(shipped) or 'none'})")
    try:
        d = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SchedlabError(f"{path} is not a readable tree ({exc})") from None
    except RecursionError:  # JSON nested thousands deep
        raise SchedlabError(f"{path} is not a readable tree (JSON nested too deeply)") from None
    try:
        return Tree.from_dict(d)
    except KeyError as exc:
        raise SchedlabError(f"{path} is not a schedlab tree (missing {exc})") from None
    except (TypeError, ValueError, OverflowError) as exc:  # wrong types or numbers beyond int64/float64
        if isinstance(exc, SchedlabError):
            raise SchedlabError(f"{path}: {exc}") from None
        raise SchedlabError(f"{path} is not a schedlab tree ({exc})") from None


# -- the compiled decision path: features and tree descent in one numba call ----------------------


@njit(cache=True)
def _pick(
    slots, req, sz_int, wait, delay, now, free_int, nq, phase, shadow, extra, has_stop, stop_action, packed, hist, acc
):
    """The action the tree takes (candidate_rows + predict + argmax over a view, compiled: same
    result); ``hist``/``acc``: the candidates' requested times and key accuracies (read by trees
    over EXTENDED_FEATURES; empty arrays otherwise)."""
    free = float(free_int)
    n = slots.shape[0]
    sz = np.empty(n)
    for c in range(n):
        sz[c] = sz_int[c]
    x = np.zeros(19)
    with_history = hist.shape[0] == n
    best, best_a = -np.inf, -1
    for c in range(n + (1 if has_stop else 0)):
        x[:] = 0.0
        x[8] = free
        x[9] = nq
        x[10] = phase
        if phase == 1:
            x[11] = max(shadow - now, 0.0) / 3600.0
            x[12] = extra
        if c < n:
            r, s, w = req[c], sz[c], wait[c]
            x[0] = r / 3600.0
            x[1] = s
            x[2] = w / 3600.0
            x[3] = 1.0 if s <= free else 0.0
            x[4] = max(0.0, s - free)
            x[5] = np.expm1(np.float32(log_minutes(delay[c])) * LOG_WEEK) / 60.0  # as features.observed_delay_h
            x[6] = (w + r) / max(r, 10.0)
            rr = rp = ra = rw = 0
            for o in range(n):
                if req[o] < r:
                    rr += 1
                if sz[o] < s:
                    rp += 1
                if sz[o] * req[o] < s * r:
                    ra += 1
                if -wait[o] < -w:
                    rw += 1
            x[13], x[14], x[15], x[16] = rr, rp, ra, rw
            if with_history:
                x[17] = hist[c] / 3600.0
                x[18] = acc[c]
            a = slots[c]
        else:
            x[7] = 1.0
            x[13] = x[14] = x[15] = x[16] = n
            a = stop_action
        node = 0  # packed rows: feature, threshold, left, right, value
        while packed[node, 0] >= 0:
            node = int(packed[node, 2]) if x[int(packed[node, 0])] <= packed[node, 1] else int(packed[node, 3])
        if packed[node, 4] > best:
            best, best_a = packed[node, 4], a
    return best_a


@njit(cache=True)
def _act_on_view(W, capacity, submit, est, size, re, rj, q, ist, fst, mask, packed):
    """:func:`fast_act` with the view built in compiled code (``view_values``): same action."""
    now, phase, _, free, nq, shadow, extra, ints, floats, stop = view_values(
        W, capacity, submit, est, size, re, rj, q, ist, fst, mask
    )
    no = np.empty(0)
    return _pick(
        ints[0], floats[1], ints[2], floats[2], floats[3], now, free, nq, phase, shadow, extra, stop, W, packed, no, no
    )


def fast_act(tree: Tree, view: DecisionView) -> int:
    """The tree's action at the decision ``view`` shows, through the compiled path (what
    ``tree:PATH`` policies use)."""
    if tree.submit:  # its rows are not the compiled path's
        actions, X = candidate_rows(view, history="submit")
        return int(actions[int(np.argmax(tree.predict(X)))])
    return int(
        _pick(
            view.slots,
            view.req_time,
            view.size,
            view.wait,
            view.start_delay,
            view.now,
            view.free,
            view.queue_length,
            view.phase,
            view.shadow,
            view.extra,
            view.stop,
            view.stop_action,
            tree.packed,
            np.asarray(view.request, dtype=np.float64) if tree.history else np.empty(0),
            np.asarray(view.accuracy, dtype=np.float64) if tree.history else np.empty(0),
        )
    )
