"""The policy registry: a policy spec is resolved here, once, into a policy object.

Spellings (``resolve(spec)``)::

    fcfs, sjf, ..., wfp3, unicep   a named heuristic (see :mod:`schedlab.policies.static`)
    expr:<expression>              a static score over r, n, s (lower runs first)
    model:NAME|PATH                a trained RL agent (registered by ``schedlab.rl``)
    tree:NAME|PATH                 a distilled decision tree (registered by ``schedlab.explain``)

A prefix (the part before ``:``) maps to a factory ``factory(argument) -> Policy``.  Factories are
registered by string id with a lazy ``"module:attr"`` entry point, as Gymnasium registers its
environments, so that ``schedlab --help`` imports neither torch nor the tree code.  ``model`` and
``tree`` are declared by their packages as entry points in the ``schedlab.policies`` group
(``pyproject.toml``); any installed package can add a prefix the same way, or a caller can
``register(prefix, factory)`` at run time.

The contract every policy keeps (checked over every registered policy by one common test):

* ``spec``   the canonical spelling; ``resolve(policy.spec)`` gives an equivalent policy;
* ``label``  a short name for tables and plots;
* ``kind``   :class:`~schedlab.options.PolicyKind`:
  - ``static``: ``scores(req_time, procs, submit, workload)`` gives one finite score per job,
    fixed at submit, lower first (ties: earlier submit);
  - ``dynamic``: the engine's kernel re-sorts by the named formula at every pass;
  - ``agent``: ``simulate(workload, config) -> SimResult`` drives the decision stepper itself
    (the simulator hands over to it and never imports the package behind it);
  - ``priority``: ``multifactor``, Slurm's multifactor priority, computed by the multi-resource
    engine (:mod:`schedlab.simulator.multires`) from the machine's priority settings.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata

import numpy as np

from schedlab.errors import PolicyError
from schedlab.options import PolicyKind
from schedlab.policies import static as _static

ENTRY_POINT_GROUP = "schedlab.policies"


@dataclass(frozen=True, eq=False)
class Policy:
    """A resolved policy.  Subclasses fill in ``scores`` (static) or ``simulate`` (agent)."""

    spec: str
    kind: PolicyKind = PolicyKind.STATIC

    @property
    def label(self) -> str:
        return self.spec

    def scores(self, req_time, procs, submit, workload=None) -> np.ndarray:
        raise PolicyError(f"policy {self.spec!r} ({self.kind}) has no static scores")

    def simulate(self, workload, config):
        raise PolicyError(f"policy {self.spec!r} ({self.kind}) does not drive the simulator itself")

    def __str__(self) -> str:
        return self.spec


@dataclass(frozen=True, eq=False)
class Heuristic(Policy):
    """A named heuristic of :mod:`schedlab.policies.static` (static or dynamic)."""

    def scores(self, req_time, procs, submit, workload=None) -> np.ndarray:
        if self.kind is not PolicyKind.STATIC:
            return super().scores(req_time, procs, submit, workload)
        return _static.static_scores(self.spec, req_time, procs, submit, workload)


@dataclass(frozen=True, eq=False)
class Expression(Policy):
    """``expr:<expression>``: a static score computed from r, n, s."""

    expression: str = ""

    def scores(self, req_time, procs, submit, workload=None) -> np.ndarray:
        return _static.static_scores(self.spec, req_time, procs, submit, workload)


@dataclass(frozen=True, eq=False)
class Function(Policy):
    """A Python callable ``f(workload) -> scores`` (static), given from Python."""

    fn: Callable = field(default=None, repr=False)

    @property
    def label(self) -> str:
        return getattr(self.fn, "__name__", "user")

    def scores(self, req_time, procs, submit, workload=None) -> np.ndarray:
        return _static.static_scores(self.fn, req_time, procs, submit, workload)


@dataclass(frozen=True, eq=False)
class Recipe(Heuristic):
    """A named published combination: a queue heuristic (``base``) plus the simulation choices it
    comes with (``overrides``: :class:`~schedlab.simulator.SimConfig` fields the simulator applies)."""

    base: str = "fcfs"
    overrides: tuple = ()

    def scores(self, req_time, procs, submit, workload=None) -> np.ndarray:
        return _static.static_scores(self.base, req_time, procs, submit, workload)


#: easy++ (Tsafrir, Etsion & Feitelson 2007; Gaussier et al. SC'15): FCFS queue, EASY with the
#: waiting jobs tried shortest-predicted first, runtimes predicted by the user's last two jobs,
#: an under-prediction corrected to the request
RECIPES = {
    "easy++": Recipe(
        spec="easy++",
        base="fcfs",
        overrides=(("estimates", "predicted:last2"), ("backfill_order", "shortest"), ("correction", "reqtime")),
    )
}


def _expression(argument: str) -> Expression:
    if not argument.strip():
        raise PolicyError("expr: needs an expression over r, n, s, e.g. expr:n*r")
    pol = Expression(spec=f"expr:{argument}", expression=argument)
    # evaluate once on a tiny input so that a bad expression fails here, not mid-run
    one = np.ones(2)
    _static.static_scores(pol.spec, one, one, one)
    return pol


_HEURISTICS: dict[str, Heuristic] = {
    **{name: Heuristic(spec=name, kind=PolicyKind.STATIC) for name in _static.STATIC},
    **{name: Heuristic(spec=name, kind=PolicyKind.DYNAMIC) for name in _static.DYNAMIC},
    **RECIPES,
    # Slurm's multifactor priority: weights, decay and QOS from the machine description
    "multifactor": Heuristic(spec="multifactor", kind=PolicyKind.PRIORITY),
}
# prefix -> factory(argument) -> Policy, or a lazy "module:attr" entry point
_PREFIXES: dict[str, Callable[[str], Policy] | str] = {"expr": _expression}
_entry_points_loaded = False


def register(prefix: str, factory: Callable[[str], Policy] | str) -> None:
    """Register ``prefix:`` policies: ``factory(argument)`` or a lazy ``"module:attr"`` path to it."""
    if not prefix.isidentifier() or prefix in _HEURISTICS:
        raise PolicyError(f"cannot register policy prefix {prefix!r}")
    _PREFIXES[prefix] = factory


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        _PREFIXES.setdefault(ep.name, ep.value)


def _factory(prefix: str) -> Callable[[str], Policy] | None:
    if prefix not in _PREFIXES:
        _load_entry_points()
    factory = _PREFIXES.get(prefix)
    if isinstance(factory, str):
        module, _, attr = factory.partition(":")
        obj = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
        factory = _PREFIXES[prefix] = obj
    return factory


def prefixes() -> list[str]:
    """Every registered prefix (``expr``, ``model``, ``tree``, ...)."""
    _load_entry_points()
    return sorted(_PREFIXES)


def spellings() -> str:
    """The known spellings, for error messages and help texts."""
    return ", ".join(_HEURISTICS) + ", " + ", ".join(f"{p}:..." for p in prefixes())


def resolve(spec) -> Policy:
    """``spec`` (a spelling above, a :class:`Policy`, or a callable) as a policy object.

    Raises :class:`~schedlab.errors.PolicyError` with the known spellings when it does not resolve.
    Resolving loads what the spec names (a model or tree file) once; pass the returned object on
    (``SimConfig(policy=obj)``) instead of the string to avoid loading it again.
    """
    if isinstance(spec, Policy):
        return spec
    if callable(spec):
        return Function(spec=f"python:{getattr(spec, '__name__', 'user')}", fn=spec)
    if not isinstance(spec, str):
        raise PolicyError(f"a policy is a name or spec string, not {type(spec).__name__}")
    spec = spec.strip()
    if spec in _HEURISTICS:
        return _HEURISTICS[spec]
    prefix, sep, argument = spec.partition(":")
    factory = _factory(prefix) if sep else None
    if factory is None:
        raise PolicyError(f"unknown policy {spec!r}; choose one of {spellings()}")
    return factory(argument)


def check_spec(spec) -> None:
    """Cheap syntax check without loading files: a heuristic name, a callable, a Policy, an
    ``expr:`` that evaluates, or a registered prefix."""
    if isinstance(spec, Policy) or callable(spec):
        return
    if isinstance(spec, str) and spec.strip() in _HEURISTICS:
        return
    prefix, sep, _ = str(spec).partition(":")
    if prefix == "expr" and sep:
        resolve(spec)
        return
    if not sep or _factory(prefix) is None:
        raise PolicyError(f"unknown policy {spec!r}; choose one of {spellings()}")


def heuristics(kind: PolicyKind | None = None) -> list[str]:
    """Names of the built-in heuristics (of one kind)."""
    return [n for n, p in _HEURISTICS.items() if kind is None or p.kind is kind]


__all__ = [
    "ENTRY_POINT_GROUP",
    "Expression",
    "Function",
    "Heuristic",
    "Policy",
    "check_spec",
    "heuristics",
    "prefixes",
    "register",
    "resolve",
    "spellings",
]
