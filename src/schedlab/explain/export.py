"""A tree as a manager reads it: if/else rules, Graphviz DOT, and a standalone Python function."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from schedlab.explain.tree import Tree
from schedlab.report.outputs import atomic_path, write_text


def _walk(tree: Tree, i: int = 0, depth: int = 0):
    """(depth, node, kind) in reading order; kind is 'leaf', 'if' (<= branch) or 'else'."""
    if tree.feature[i] < 0:
        yield depth, i, "leaf"
        return
    yield depth, i, "if"
    yield from _walk(tree, int(tree.left[i]), depth + 1)
    yield depth, i, "else"
    yield from _walk(tree, int(tree.right[i]), depth + 1)


def to_text(tree: Tree) -> str:
    """Indented rules: ``if wait_h <= 2.5:`` ... ``score = 0.83``; the highest score runs first."""
    lines = []
    for depth, i, kind in _walk(tree):
        pad = "  " * depth
        if kind == "leaf":
            lines.append(f"{pad}score = {tree.value[i]:.4g}")
        elif kind == "if":
            lines.append(f"{pad}if {tree.features[tree.feature[i]]} <= {tree.threshold[i]:.4g}:")
        else:
            lines.append(f"{pad}else:  # {tree.features[tree.feature[i]]} > {tree.threshold[i]:.4g}")
    return "\n".join(lines) + "\n"


def to_dot(tree: Tree) -> str:
    out = ["digraph tree {", '  node [shape=box, fontname="Helvetica"];']
    for i in range(tree.n_nodes):
        if tree.feature[i] < 0:
            out.append(f'  n{i} [label="score {tree.value[i]:.4g}", style=filled, fillcolor="#eef5ff"];')
        else:
            out.append(f'  n{i} [label="{tree.features[tree.feature[i]]} <= {tree.threshold[i]:.6g}"];')
            out.append(f'  n{i} -> n{tree.left[i]} [label="yes"];')
            out.append(f'  n{i} -> n{tree.right[i]} [label="no"];')
    out.append("}")
    return "\n".join(out) + "\n"


def to_python(tree: Tree, name: str = "priority") -> str:
    """Source of ``def priority(req_time_h, procs, ...) -> float`` (no imports): the candidate with
    the highest value runs (or is reserved) next."""
    args = ", ".join(tree.features)
    lines = [
        f'"""Priority function distilled by schedlab explain (tree of {tree.n_leaves} leaves).',
        "",
        "Call it for every candidate (waiting job, or the stop action) with the features of",
        "schedlab.explain.features.FEATURES; the candidate with the highest value is taken.",
        '"""',
        "",
        "",
        f"def {name}({args}):",
    ]
    for depth, i, kind in _walk(tree):
        pad = "    " * (depth + 1)
        if kind == "leaf":
            lines.append(f"{pad}return {float(tree.value[i])!r}")
        elif kind == "if":
            lines.append(f"{pad}if {tree.features[tree.feature[i]]} <= {float(tree.threshold[i])!r}:")
        else:
            lines.append(f"{pad}else:")
    return "\n".join(lines) + "\n"


def write_all(tree: Tree, out: Path, stem: str = "tree") -> list[Path]:
    """tree.json, tree.txt, tree.dot, tree_priority.py (and tree.svg when Graphviz's dot is installed)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [tree.save(out / f"{stem}.json")]
    texts = {".txt": to_text(tree), ".dot": to_dot(tree), "_priority.py": to_python(tree)}
    paths += [write_text(out / f"{stem}{suffix}", text) for suffix, text in texts.items()]
    dot = shutil.which("dot")
    if dot:
        svg = out / f"{stem}.svg"
        try:
            with atomic_path(svg) as tmp:
                cmd = [dot, "-Tsvg", str(out / f"{stem}.dot"), "-o", str(tmp)]
                subprocess.run(cmd, capture_output=True, check=True)
            paths.append(svg)
        except subprocess.CalledProcessError:
            pass  # Graphviz could not draw it: the .dot file is there
    return paths


def compare_trees(specs) -> list[dict]:
    """Two or more trees side by side (``schedlab explain --compare``): per tree its teacher, size,
    sample-weighted feature importances and its first three levels as rules.  A spec is what
    ``--policy tree:`` takes, with or without the ``tree:`` prefix (a tree.json, an explain output
    folder or a shipped tree's name)."""
    from schedlab.explain.tree import TREE_PREFIX, load_tree

    sides = []
    for spec in specs:
        spec = str(spec)
        tree = load_tree(spec[len(TREE_PREFIX) :] if spec.startswith(TREE_PREFIX) else spec)
        imp = tree.meta.get("importances") or tree.importances()  # sample-weighted when the tree carries them
        sides.append(
            {
                "path": spec,
                "teacher": tree.meta.get("teacher", ""),
                "leaves": tree.n_leaves,
                "importances": imp,
                "top_splits": "\n".join(to_text(tree.truncated(3)).splitlines()[:24]),
            }
        )
    return sides
