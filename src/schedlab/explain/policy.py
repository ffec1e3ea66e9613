"""A distilled tree as a scheduling policy: ``tree:NAME|PATH`` in the policy registry.

``tree_policy(argument)`` (the registry's factory for the ``tree`` prefix, declared as an entry
point in pyproject.toml) loads the tree once: a tree.json file, a ``schedlab explain`` output
folder, or a shipped tree's name (``theta_2022-dras``, from ``src/schedlab/data/trees``).  The
simulator hands a whole workload to :meth:`TreePolicy.simulate`, which runs it as one episode of
the environment, the tree taking every decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from schedlab.errors import PolicyError, SchedlabError
from schedlab.explain.tree import TREE_PREFIX, Tree, load_tree
from schedlab.options import Backfill, PolicyKind, Preset
from schedlab.policies.registry import Policy
from schedlab.rl.options import EnvOptions
from schedlab.rl.policy import simulate_agent
from schedlab.simulator.config import SimConfig
from schedlab.simulator.result import SimResult
from schedlab.workload.table import Workload


@dataclass(frozen=True, eq=False)
class TreePolicy(Policy):
    """A loaded tree; ``spec`` is ``tree:`` + the argument it was loaded from."""

    kind: PolicyKind = PolicyKind.AGENT
    source: str = ""
    tree: Tree = field(default=None, repr=False)

    def env_options(self, config: SimConfig) -> EnvOptions:
        """How the tree schedules under ``config``: its own backfill mode when it picks backfill
        jobs (distilled from a DRAS agent), else the configured one."""
        if config.preset != Preset.TEXTBOOK:
            raise SchedlabError(f"a distilled tree runs under the textbook preset, not {str(config.preset)!r}")
        if config.backfill == Backfill.CONSERVATIVE:
            raise SchedlabError("a distilled tree schedules with backfill none or easy (or its own), not conservative")
        return self.tree.env.run_under(config)

    def simulate(self, workload: Workload, config: SimConfig) -> SimResult:
        """The whole workload scheduled by the tree under ``config``."""
        extra = {"tree": self.source, "leaves": self.tree.n_leaves}
        return simulate_agent(workload, config, self.env_options(config), self.tree.act, extra)


def tree_policy(argument: str) -> TreePolicy:
    """``tree:ARGUMENT``: a tree.json file, its folder, or a shipped tree's name; loaded here, once."""
    try:
        tree = load_tree(argument)
    except SchedlabError as exc:
        raise PolicyError(str(exc)) from None
    return TreePolicy(spec=f"{TREE_PREFIX}{argument}", source=argument, tree=tree)


__all__ = ["TreePolicy", "tree_policy"]
