"""``expr:`` policy expressions, parsed into a small expression tree and evaluated over numpy
columns.  Nothing is passed to ``eval``: only the constructs below are accepted, so an expression
can compute but never reach an object, a module or the file system.

Grammar (Python syntax, a subset)::

    expression := number | column | expression OP expression | -expression | +expression
                | expression CMP expression | FUNCTION(expression, ...) | (expression)
    column     := r | n | s | req_time | procs | submit       (requested time, processors, submit)
    OP         := + - * / // % **
    CMP        := < <= > >= == !=                                (1.0 where true, else 0.0)
    FUNCTION   := log log2 log10 sqrt exp abs minimum maximum where   (also written np.NAME)

Limits: at most 1,000 characters and 200 tree nodes; numbers are finite.  Anything else is a
:class:`~schedlab.errors.PolicyError` that names what was refused.

Arithmetic is float64 only: constants become ``numpy.float64`` and columns float64 arrays, so
no Python integer or complex arithmetic ever runs (``10**10**10`` is ``inf`` at once, never a
minutes-long big-integer power; ``(-8)**0.5`` is NaN, never a complex number cast to its real
part), and a result that is not finite everywhere is refused.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable

import numpy as np

from schedlab.errors import PolicyError

MAX_CHARS = 1000
MAX_NODES = 200
COLUMNS = {"r": "r", "n": "n", "s": "s", "req_time": "r", "procs": "n", "submit": "s"}
FUNCTIONS: dict[str, tuple[Callable, int]] = {  # name -> (numpy function, number of arguments)
    "log": (np.log, 1),
    "log2": (np.log2, 1),
    "log10": (np.log10, 1),
    "sqrt": (np.sqrt, 1),
    "exp": (np.exp, 1),
    "abs": (np.abs, 1),
    "minimum": (np.minimum, 2),
    "maximum": (np.maximum, 2),
    "where": (np.where, 3),
}
BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
COMPARE = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}

Evaluator = Callable[[dict], object]


def _refuse(text: str, what: str) -> PolicyError:
    return PolicyError(f"cannot evaluate policy expression {text!r}: {what} is not allowed")


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}...({len(text)} digits)"


def _function_name(node: ast.expr) -> str | None:
    """``log`` or ``np.log`` (the alias, not an attribute lookup: the name is read off the syntax)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "np":
        return node.attr
    return None


def _compile(node: ast.expr, text: str) -> Evaluator:
    """The expression tree under ``node`` as nested closures over the columns dict."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise _refuse(text, f"the constant {node.value!r}")
        try:
            value = np.float64(node.value)  # float64 arithmetic only: no big-int or complex powers
        except OverflowError:
            value = np.float64(np.inf)
        if not math.isfinite(value):
            raise _refuse(text, f"the constant {_short(node.value)} (beyond float64)")
        return lambda cols: value
    if isinstance(node, ast.Name):
        if node.id not in COLUMNS:
            raise PolicyError(
                f"cannot evaluate policy expression {text!r}: unknown name {node.id!r} "
                f"(columns: {', '.join(COLUMNS)}; functions: {', '.join(FUNCTIONS)})"
            )
        key = COLUMNS[node.id]
        return lambda cols: cols[key]
    if isinstance(node, ast.BinOp) and type(node.op) in BINARY:
        op, a, b = BINARY[type(node.op)], _compile(node.left, text), _compile(node.right, text)
        return lambda cols: op(a(cols), b(cols))
    if isinstance(node, ast.UnaryOp) and type(node.op) in UNARY:
        op, a = UNARY[type(node.op)], _compile(node.operand, text)
        return lambda cols: op(a(cols))
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in COMPARE:
        op, a, b = COMPARE[type(node.ops[0])], _compile(node.left, text), _compile(node.comparators[0], text)
        return lambda cols: op(a(cols), b(cols))
    if isinstance(node, ast.Call):
        name = _function_name(node.func)
        if name not in FUNCTIONS or node.keywords:
            raise _refuse(text, f"the call {ast.unparse(node.func)}(...)" if name is None else f"the function {name}")
        fn, arity = FUNCTIONS[name]
        if len(node.args) != arity:
            raise PolicyError(f"cannot evaluate policy expression {text!r}: {name} takes {arity} argument(s)")
        args = [_compile(a, text) for a in node.args]
        return lambda cols: fn(*(a(cols) for a in args))
    raise _refuse(text, type(node).__name__)


def parse_expression(text: str) -> Evaluator:
    """``text`` as an evaluator ``f({"r": ..., "n": ..., "s": ...}) -> scores``; a PolicyError
    for anything outside the grammar above."""
    if len(text) > MAX_CHARS:
        raise PolicyError(f"policy expression is {len(text):,} characters; at most {MAX_CHARS:,}")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise PolicyError(f"cannot evaluate policy expression {text!r}: {exc}") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise PolicyError(f"policy expression {text!r} has more than {MAX_NODES} parts")
    return _compile(tree.body, text)


def expression_scores(text: str, r: np.ndarray, n: np.ndarray, s: np.ndarray) -> np.ndarray:
    """The scores ``text`` gives each job (float64, one per job, all finite)."""
    evaluate = parse_expression(text)
    cols = {k: np.asarray(v, dtype=np.float64) for k, v in (("r", r), ("n", n), ("s", s))}
    with np.errstate(all="ignore"):
        try:
            out = evaluate(cols)
        except (ArithmeticError, ValueError, TypeError) as exc:  # kept as a guard: float64 math raises none
            raise PolicyError(f"cannot evaluate policy expression {text!r}: {exc}") from None
    if np.iscomplexobj(out):
        raise PolicyError(f"cannot evaluate policy expression {text!r}: it gives complex scores")
    out = np.broadcast_to(np.asarray(out, dtype=np.float64), cols["r"].shape).copy()
    if not np.all(np.isfinite(out)):
        raise PolicyError(f"cannot evaluate policy expression {text!r}: it gives non-finite scores")
    return out


__all__ = ["COLUMNS", "FUNCTIONS", "expression_scores", "parse_expression"]
