"""What an RL agent or a distilled tree decided on one window, and a tree drawn as rules.

:func:`window_decisions` replays one window of the trace through the environment the agent (or
tree) schedules in, the agent taking every decision, and records each decision: when, the queue,
the job it picked (its features, the same rows a tree reads, :mod:`schedlab.explain.features`) and
the chosen job's place in the queue by waiting time (0: the longest-waiting job, as FCFS would
take).  :func:`tree_figure` draws a tree's nodes as rules, with the path one feature row takes
through it highlighted.
"""

from __future__ import annotations

import numpy as np

from schedlab.errors import SchedlabError

#: Most decisions recorded from one window.
MAX_DECISIONS = 2000


def window_decisions(actor, env, start: int, history=False, limit: int = MAX_DECISIONS):
    """(decisions table, feature row of each chosen action) of ``actor(env) -> action`` on the
    window at ``start``."""
    import pandas as pd

    from schedlab.explain.features import EXTENDED_FEATURES, FEATURES, SUBMIT_FEATURES, candidate_rows
    from schedlab.rl.episodes import run_episode

    names = SUBMIT_FEATURES if history == "submit" else EXTENDED_FEATURES if history else FEATURES
    records, chosen = [], []

    def act(e):
        action = int(actor(e))
        if len(records) < limit:
            view = e.decision_view()
            actions, X = candidate_rows(view, history=history)
            hit = np.flatnonzero(actions == action)
            row = X[hit[0]] if len(hit) else np.full(X.shape[1], np.nan)
            waits = X[:, 2] if X.shape[1] > 2 else np.zeros(len(X))
            rank = int((waits > row[2]).sum()) if len(hit) and X.shape[1] > 2 else -1
            records.append(
                dict(decision=len(records), time_h=float(view.now) / 3600.0, phase=int(view.phase),
                     queue=int(view.queue_length), candidates=len(actions), action=action, fcfs_place=rank,
                     **{n: float(v) for n, v in zip(names, row, strict=False)})
            )  # fmt: skip
            chosen.append(row)
        return action

    metrics = run_episode(env, act, int(start))
    table = pd.DataFrame(records)
    X = np.array(chosen) if chosen else np.zeros((0, len(names)))
    return table, X, metrics


def tree_of(results):
    """The Tree of an explain folder."""
    from schedlab.explain.tree import Tree

    try:
        return Tree.from_dict(results.extra["tree"])
    except (KeyError, TypeError, ValueError) as exc:
        raise SchedlabError(f"{results.path / 'tree.json'} is not a tree this schedlab reads: {exc}") from None


def tree_decisions(results, limit: int = MAX_DECISIONS):
    """The tree of an explain folder deciding on the first window it was measured on."""
    from schedlab.rl.env import SchedulingEnv
    from schedlab.workload import load_trace

    tree = tree_of(results)
    info = results.extra.get("explain", {})
    trace = tree.meta.get("trace") or info.get("trace")
    starts, length = info.get("window_starts") or [0], int(info.get("window_len") or 256)
    if not trace:
        raise SchedlabError(f"{results.path} names no trace to replay the tree on")
    wl = load_trace(trace)
    env = SchedulingEnv(wl, tree.env.replace(window_len=length, split="all"))
    return window_decisions(tree.act_reference, env, int(starts[0]), history=tree.rows, limit=limit)


def model_decisions(results, limit: int = MAX_DECISIONS):
    """The RL model of an evaluate folder deciding on its first window."""
    from schedlab.explain.run import load_teacher
    from schedlab.rl.env import SchedulingEnv
    from schedlab.workload import load_trace

    s = results.summary
    if not s.get("model") or not s.get("trace"):
        raise SchedlabError(f"{results.path}/summary.json names no model or trace")
    from pathlib import Path

    model = str(s["model"])
    if not Path(model).exists():  # a folder written elsewhere: the shipped model of that name
        model = Path(model).stem
    wl = load_trace(s["trace"])
    teacher, opts = load_teacher(model, wl, any_trace=True)
    starts, length = s.get("window_starts") or [0], int(s.get("window_len") or 256)
    env = SchedulingEnv(wl, opts.replace(window_len=length, split="all"))
    return window_decisions(teacher.act, env, int(starts[0]), limit=limit)


def tree_path(tree, row) -> list[int]:
    """Node indices a feature row passes through, root to leaf."""
    path, i = [0], 0
    while tree.feature[i] >= 0:
        i = int(tree.left[i] if row[tree.feature[i]] <= tree.threshold[i] else tree.right[i])
        path.append(i)
    return path


def _positions(tree) -> tuple[np.ndarray, np.ndarray]:
    """x (leaves in order, inner nodes between their children) and depth of every node."""
    n = len(tree.feature)
    x, depth = np.zeros(n), np.zeros(n)
    leaf = [0]

    def walk(i, d):
        depth[i] = d
        if tree.feature[i] < 0:
            x[i] = leaf[0]
            leaf[0] += 1
            return
        walk(int(tree.left[i]), d + 1)
        walk(int(tree.right[i]), d + 1)
        x[i] = (x[tree.left[i]] + x[tree.right[i]]) / 2

    walk(0, 0)
    return x, depth


def node_label(tree, i: int) -> str:
    if tree.feature[i] < 0:
        return f"score {tree.value[i]:.3g}"
    return f"{tree.features[tree.feature[i]]} ≤ {tree.threshold[i]:.3g}"


def tree_figure(tree, path: list[int] | None = None) -> dict:
    """The tree as a plotly figure: each rule a node (yes to the left), the path highlighted."""
    x, depth = _positions(tree)
    on = set(path or [])
    ex, ey, px, py = [], [], [], []
    for i in range(len(tree.feature)):
        for child in (tree.left[i], tree.right[i]):
            if child >= 0:
                xs, ys = (px, py) if (i in on and child in on) else (ex, ey)
                xs += [x[i], x[child], None]
                ys += [-depth[i], -depth[child], None]
    labels = [node_label(tree, i) for i in range(len(tree.feature))]
    colour = ["#e15759" if i in on else ("#59a14f" if tree.feature[i] < 0 else "#4e79a7") for i in range(len(x))]
    data = [
        dict(type="scatter", mode="lines", x=ex, y=ey, line=dict(color="#bbbbbb", width=1), hoverinfo="skip",
             name="rules"),
        dict(type="scatter", mode="lines", x=px, y=py, line=dict(color="#e15759", width=4), hoverinfo="skip",
             name="path of the selected decision"),
        dict(type="scatter", mode="markers+text", x=x.tolist(), y=(-depth).tolist(), text=labels,
             textposition="bottom center", marker=dict(size=12, color=colour), customdata=list(range(len(x))),
             hovertemplate="%{text}<extra>node %{customdata}</extra>", name="nodes (left: yes)"),
    ]  # fmt: skip
    layout = dict(
        title=dict(text=f"Distilled tree: {tree.n_leaves} leaves, depth {tree.depth} (left branch: the rule holds)"),
        xaxis=dict(visible=False), yaxis=dict(visible=False), margin=dict(l=10, r=10, t=40, b=10),
        plot_bgcolor="white", legend=dict(orientation="h"),
    )  # fmt: skip
    return dict(data=data, layout=layout)


def decisions_figure(table, title: str) -> dict:
    """Each decision's chosen job: its place by waiting time (0 = the longest-waiting), over time."""
    if len(table) == 0:
        return dict(data=[], layout=dict(title=dict(text=title + ": no decisions")))
    pts = dict(
        type="scatter", mode="markers", x=table["time_h"].tolist(), y=table["fcfs_place"].tolist(),
        customdata=table["decision"].tolist(), marker=dict(size=6, color=table["queue"].tolist(), colorscale="Viridis",
        showscale=True, colorbar=dict(title=dict(text="queue"))), hovertemplate="decision %{customdata}<extra></extra>",
        name="decisions",
    )  # fmt: skip
    layout = dict(
        title=dict(text=title), xaxis=dict(title=dict(text="hours into the window")),
        yaxis=dict(title=dict(text="chosen job's place by wait (0 = FCFS's pick)")),
        margin=dict(l=60, r=10, t=40, b=40),
        plot_bgcolor="white",
    )  # fmt: skip
    return dict(data=[pts], layout=layout)


__all__ = ["decisions_figure", "model_decisions", "tree_decisions", "tree_figure", "tree_of", "tree_path"]
