"""The shape of the code, checked: the import graph, and module and function sizes.

* no library module imports ``schedlab.cli`` (the CLI sits on top);
* ``schedlab.simulator`` imports neither ``schedlab.rl`` nor ``schedlab.explain`` (they register
  their policies with the registry instead);
* the graph of subpackages has no cycle, counting every import, also those inside functions;
* no module is over 600 lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "schedlab"
MAX_MODULE_LINES = 600


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(path: Path, name: str) -> set[str]:
    """Every schedlab module ``path`` imports, anywhere in the file (relative imports resolved)."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("schedlab")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            if base.startswith("schedlab"):
                found.add(base)
    return found


def _unit(module: str) -> str:
    """The part of schedlab a module belongs to: ``schedlab.rl.env`` -> ``rl``; top-level modules are their own."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "schedlab"


GRAPH = {name: _imports(path, name) for name, path in _modules().items()}


def test_no_library_module_imports_the_cli():
    bad = [(m, i) for m, imps in GRAPH.items() if _unit(m) != "cli" for i in imps if _unit(i) == "cli"]
    assert not bad, bad


def test_simulator_does_not_import_rl_or_explain():
    bad = [
        (m, i) for m, imps in GRAPH.items() if _unit(m) == "simulator" for i in imps if _unit(i) in ("rl", "explain")
    ]
    assert not bad, bad


def test_no_cycles_between_subpackages():
    edges: dict[str, set[str]] = {}
    for m, imps in GRAPH.items():
        for i in imps:
            a, b = _unit(m), _unit(i)
            if a != b and "schedlab" not in (a, b):
                edges.setdefault(a, set()).add(b)
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                pytest.fail("import cycle: " + " -> ".join([*path[path.index(nxt) :], nxt]))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)


def test_module_sizes():
    big = {m: n for m, p in _modules().items() if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not big, big


MAX_FUNCTION_LINES = 80  # body lines (signature and docstring excluded)
# numba event loops are exempt: their state lives in locals, and split into per-pass functions the
# engine ran 1.3-1.8x slower (see simulate_kernel's docstring)
MAX_COMMAND_LINES = 60  # a CLI command parses, builds a config, calls the library, renders


def _compiled(node) -> bool:
    names = {getattr(d.func if isinstance(d, ast.Call) else d, "id", "") for d in node.decorator_list}
    return "njit" in names


def _long_functions(limit_for) -> list[tuple[str, str, int]]:
    out = []
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not _compiled(node):
                body = node.body[1:] if ast.get_docstring(node) and len(node.body) > 1 else node.body
                n = node.end_lineno - body[0].lineno + 1
                if n > limit_for(name):
                    out.append((name, node.name, n))
    return out


def test_function_sizes():
    limit = lambda module: MAX_COMMAND_LINES if _unit(module) == "cli" else MAX_FUNCTION_LINES
    assert not _long_functions(limit), _long_functions(limit)
