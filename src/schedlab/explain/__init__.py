"""IRL: distil a black-box scheduling agent into a decision tree a system manager can read.

``DaggerDistiller`` (dagger.py) runs DAgger with critical-state selection and cost-complexity
pruning; ``Tree`` (tree.py) is the result as plain data and a scheduling policy
(``--policy tree:PATH``); export.py writes it as rules, JSON, DOT and a standalone Python function.
"""

from schedlab.explain.dagger import DaggerDistiller, HeuristicTeacher, ModelTeacher
from schedlab.explain.features import FEATURES
from schedlab.explain.tree import Tree, load_tree

__all__ = ["FEATURES", "DaggerDistiller", "HeuristicTeacher", "ModelTeacher", "Tree", "load_tree"]
