"""``expr:`` expressions are parsed into an expression tree; no eval, nothing outside the grammar."""

from __future__ import annotations

import numpy as np
import pytest

from schedlab.errors import PolicyError
from schedlab.policies.expression import expression_scores

R = np.array([60.0, 3600.0, 7200.0, 100.0])
N = np.array([1.0, 8.0, 128.0, 3.0])
S = np.array([0.0, 10.0, 86500.0, 90000.0])


@pytest.mark.parametrize(
    "text, expected",
    [
        ("n * r", N * R),
        ("r*n**0.5", R * np.sqrt(N)),
        ("log2(n) + sqrt(r)", np.log2(N) + np.sqrt(R)),
        ("np.log(r + 1) * n", np.log(R + 1) * N),
        ("-procs", -N),
        ("maximum(req_time, 600) * n ** 3", np.maximum(R, 600) * N**3),
        ("(r > 3600) * 1000 + submit // 86400", (R > 3600) * 1000 + S // 86400),
        ("where(n > 4, r, -r)", np.where(N > 4, R, -R)),
        ("7", np.full(4, 7.0)),
    ],
)
def test_expressions_compute_what_numpy_computes(text, expected):
    np.testing.assert_array_equal(expression_scores(text, R, N, S), expected)


@pytest.mark.parametrize(
    "text, message",
    [
        ("().__class__.__bases__[0].__subclasses__()", "not allowed"),
        ("np.__class__", "not allowed"),
        ("__import__('os').system('true')", "not allowed"),
        ("__import__('os')", "__import__ is not allowed"),
        ("open('/etc/passwd')", "open is not allowed"),
        ("np.load('x.npy')", "load is not allowed"),
        ("r.__class__", "not allowed"),
        ("r[0]", "Subscript"),
        ("[r, n]", "List"),
        ("lambda: r", "Lambda"),
        ("x + 1", "unknown name 'x'"),
        ("log(r, 2)", "takes 1 argument"),
        ("sqrt(r=1)", "not allowed"),
        ("1e400 * r", "the constant inf"),
        ("'a' * 3", "the constant 'a'"),
        ("9**9**9**9", "cannot evaluate"),
        ("n *", "cannot evaluate policy expression"),
        ("r / 0", "non-finite"),
        ("(" * 600 + "r" + ")" * 600, "at most 1,000"),
        ("+".join(["r"] * 150), "more than 200 parts"),
    ],
)
def test_hostile_or_broken_expressions_are_policy_errors(text, message):
    with pytest.raises(PolicyError) as info:
        expression_scores(text, R, N, S)
    assert message in str(info.value)
