"""Queue-order policies: the heuristics (:mod:`.static`) and the registry that resolves every
policy spelling (:mod:`.registry`)."""

from schedlab.policies.registry import Policy, check_spec, register, resolve, spellings
from schedlab.policies.static import (
    DYNAMIC,
    POLICY_NAMES,
    STATIC,
    is_dynamic,
    priority_ranks,
    static_scores,
)

__all__ = [
    "DYNAMIC",
    "POLICY_NAMES",
    "STATIC",
    "Policy",
    "check_spec",
    "is_dynamic",
    "priority_ranks",
    "register",
    "resolve",
    "spellings",
    "static_scores",
]
