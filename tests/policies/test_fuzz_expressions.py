"""Fuzzed ``expr:`` expressions: random token soups and random syntax trees (attribute access,
subscripts, lambdas, comprehensions, dunder names, huge powers, deep nesting, long strings,
unknown names, division by zero, NaN-making operations).  Each is a PolicyError (a SchedlabError)
or finite float64 scores, one per job, computed fast.  Derandomized, bounded: reproducible in CI."""

from __future__ import annotations

import time

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schedlab.errors import SchedlabError
from schedlab.policies.expression import COLUMNS, FUNCTIONS, expression_scores

R = np.array([60.0, 3600.0, 7200.0, 100.0, 0.0])
N = np.array([1.0, 8.0, 128.0, 3.0, 1.0])
S = np.array([0.0, 10.0, 86500.0, 90000.0, 5.0])
FUZZ = settings(
    max_examples=300, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)

TOKENS = [
    *COLUMNS, *FUNCTIONS, "np", "np.", "(", ")", "[", "]", "{", "}", ",", ":", ".", "+", "-", "*", "/", "//",
    "%", "**", "<", "<=", "==", "!=", ">", ">=", "not", "and", "or", "if", "else", "lambda", "for", "in",
    "0", "1", "-1", "0.5", "1e308", "1e400", "9", "10", "9**9**9", "10**10**10", "1" + "0" * 400, "nan", "inf",
    "__class__", "__import__", "__builtins__", "os", "open", "eval", "x", "'a'", '"' + "b" * 300 + '"', "True",
    "None", "1j", "...", "@", "~", "^", "&", "|", "<<", ">>", ":=", "\\", "#", "\n", " ",
]  # fmt: skip


def _check(text: str) -> None:
    t = time.perf_counter()
    try:
        out = expression_scores(text, R, N, S)
    except SchedlabError:
        pass
    else:
        assert out.dtype == np.float64 and out.shape == R.shape and np.all(np.isfinite(out)), (text, out)
    assert time.perf_counter() - t < 1.0, text  # no big-integer powers, no runaway recursion


@FUZZ
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=25))
def test_token_soups(tokens):
    _check(" ".join(tokens))
    _check("".join(tokens))


LEAVES = st.one_of(
    st.sampled_from(list(COLUMNS)),
    st.sampled_from(["0", "1", "2", "-1", "0.5", "9", "10", "1e308", "1e-320", "1" + "0" * 330, "(-8)", "(-1)"]),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(["x", "__class__", "np", "open", "'s'", "b'b'", "None", "True", "1j", "...", "f'{r}'"]),
)


def _extend(inner):
    binary = st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "//", "%", "**", "<", ">=", "==", "@"]), inner)
    return st.one_of(
        binary.map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(["-", "+", "~", "not "]), inner).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(
            st.sampled_from([*FUNCTIONS, "np.log", "np.exp", "eval", "getattr", "np.load"]), st.lists(inner, max_size=3)
        ).map(lambda t: f"{t[0]}({', '.join(t[1])})"),
        st.tuples(inner, st.sampled_from(["__class__", "real", "T", "shape"])).map(lambda t: f"({t[0]}).{t[1]}"),
        st.tuples(inner, inner).map(lambda t: f"({t[0]})[{t[1]}]"),
        inner.map(lambda a: f"(lambda q: {a})(1)"),
        inner.map(lambda a: f"[{a} for q in r]"),
        inner.map(lambda a: f"sum({a} for q in n)"),
        st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
        st.tuples(inner, inner, inner).map(lambda t: f"where({t[0]}, {t[1]}, {t[2]})"),
    )


@FUZZ
@given(st.recursive(LEAVES, _extend, max_leaves=12))
def test_random_syntax_trees(text):
    _check(text)


def test_huge_powers_deep_nesting_and_long_strings_are_quick():
    for text in (
        "9**9**9",
        "10**10**10",
        "r**10**10",
        "(-8)**0.5",
        "(-1)**0.5 + r",
        "2**1023 * 2",
        "1" + "0" * 400 + " * r",
        "(" * 300 + "r" + ")" * 300,
        "(" * 5000 + "r" + ")" * 5000,
        "-" * 990 + "r",
        "+".join(["r"] * 400),
        "'" + "a" * 100_000 + "'",
        "r / 0",
        "r % 0",
        "log(-r)",
        "minimum(r, 1) // 0",
    ):
        _check(text)
