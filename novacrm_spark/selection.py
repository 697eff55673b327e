"""Which models a run builds: dbt's selection syntax over the model graph, answered without Spark.

The graph here (each model's name, layer and inputs) is read from the model
modules' source with ``ast``: the same ``@model`` functions and parameter names
:mod:`novacrm_spark.registry` reads from the imported functions (a test holds
the two equal). So ``novacrm ls`` and a bad ``--select`` answer at once,
without importing pyspark.

Selectors, as dbt writes them (NAME is a model, or a layer: every model in it):

- ``NAME``: the model; ``+NAME``: it and everything upstream of it;
  ``NAME+``: it and everything downstream; ``+NAME+``: both;
- ``A,B``: the models both A and B select (a comma intersects, as in dbt);
- several selectors (a repeated option, or separated by spaces) add up;
- ``exclude`` takes the same syntax and removes what it selects.

Example::

    >>> resolve(model_graph(), select=["+fct_usage"])
    ['stg_accounts', 'stg_usage_events', 'fct_usage']
"""

from __future__ import annotations

import ast
import difflib
import functools
import importlib
import importlib.util
import pkgutil
import re
from dataclasses import dataclass
from typing import Iterable, Mapping, Protocol, Sequence, TypeVar

from novacrm_spark.errors import SelectionError

LAYER_ORDER = ("staging", "core", "marts")
MODELS_PACKAGE = "novacrm_spark.models"
RAW_PREFIX = "raw_"  # an input named raw_<source> is a raw export, not a model
SELECTOR = re.compile(r"(?P<up>\+?)(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<down>\+?)")
SYNTAX = "write NAME, +NAME, NAME+ or +NAME+ (NAME a model or a layer; A,B for both)"


class Node(Protocol):
    """What selection needs of a model: :class:`ModelNode` here, ``registry.Model`` at run time."""

    @property
    def name(self) -> str: ...

    @property
    def layer(self) -> str: ...

    @property
    def model_inputs(self) -> tuple[str, ...]: ...


N = TypeVar("N", bound=Node)


@dataclass(frozen=True)
class ModelNode:
    """A model as its source declares it, read without importing it."""

    name: str
    layer: str
    inputs: tuple[str, ...]

    @property
    def model_inputs(self) -> tuple[str, ...]:
        return tuple(i for i in self.inputs if not i.startswith(RAW_PREFIX))


def model_graph() -> dict[str, ModelNode]:
    """Every model, by name, read from the layer packages' module source (``_*`` modules hold helpers)."""
    return dict(_read_graph())


def model_modules(layer: str) -> list[str]:
    """The names of one layer package's model modules; modules named ``_*`` hold shared helpers.

    Example: ``model_modules("marts")[0]`` -> ``'novacrm_spark.models.marts.churn_risk_view'``.
    """
    package = importlib.import_module(f"{MODELS_PACKAGE}.{layer}")  # a docstring only: no model, no pyspark
    names = (info.name for info in pkgutil.iter_modules(package.__path__) if not info.name.startswith("_"))
    return sorted(f"{package.__name__}.{name}" for name in names)


@functools.lru_cache(maxsize=1)
def _read_graph() -> tuple[tuple[str, ModelNode], ...]:
    found: dict[str, ModelNode] = {}
    for layer in LAYER_ORDER:
        for module in model_modules(layer):
            # The loader's get_source also reads a module inside a zip (spark-submit's --py-files).
            tree = ast.parse(importlib.util.find_spec(module).loader.get_source(module))
            for fn in (n for n in tree.body if isinstance(n, ast.FunctionDef) and _is_model(n)):
                if fn.name in found:
                    raise ValueError(f"model {fn.name!r} is defined twice (second in {module})")
                positional = [*fn.args.posonlyargs, *fn.args.args]
                found[fn.name] = ModelNode(fn.name, layer, tuple(a.arg for a in positional))
    return tuple(found.items())


def _is_model(fn: ast.FunctionDef) -> bool:
    """Whether ``fn`` carries the ``@model`` mark (``@model`` or ``@<module>.model``)."""
    return any(
        (isinstance(d, ast.Name) and d.id == "model") or (isinstance(d, ast.Attribute) and d.attr == "model")
        for d in fn.decorator_list
    )


def topological_order(models: Mapping[str, N]) -> list[N]:
    """Models ordered so that inputs come first; ties by layer, then name (deterministic)."""
    order: list[N] = []
    state: dict[str, str] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            raise ValueError(f"model graph has a cycle: {' -> '.join(path + (name,))}")
        if name not in models:
            raise ValueError(f"model {path[-1]!r} reads {name!r}, which is neither a model nor a raw source")
        state[name] = "visiting"
        for upstream_name in sorted(models[name].model_inputs, key=lambda n: _sort_key(models, n)):
            visit(upstream_name, path + (name,))
        state[name] = "done"
        order.append(models[name])

    for name in sorted(models, key=lambda n: _sort_key(models, n)):
        visit(name, ())
    return order


def _sort_key(models: Mapping[str, Node], name: str) -> tuple[int, str]:
    m = models.get(name)
    return (LAYER_ORDER.index(m.layer) if m else -1, name)


def downstream(models: Mapping[str, Node], name: str) -> set[str]:
    """``name`` and every model that reads it, directly or not."""
    found = {name}
    changed = True
    while changed:
        changed = False
        for m in models.values():
            if m.name not in found and found.intersection(m.model_inputs):
                found.add(m.name)
                changed = True
    return found


def upstream(models: Mapping[str, Node], name: str) -> set[str]:
    """``name`` and every model it reads, directly or not."""
    found, todo = set(), [name]
    while todo:
        current = todo.pop()
        if current not in found:
            found.add(current)
            todo.extend(models[current].model_inputs)
    return found


def split_selectors(values: Iterable[str]) -> list[str]:
    """The selectors in option values: each value may hold several, separated by spaces."""
    return [selector for value in values for selector in value.split()]


def check_selectors(models: Mapping[str, Node], flag: str, values: Iterable[str]) -> list[str]:
    """The selectors in ``values``, each checked against the graph; raises :class:`SelectionError` naming ``flag``."""
    values = list(values)
    selectors = split_selectors(values)
    for value in values:
        if not value.split():
            raise SelectionError(f"{flag} {value!r}: no selector; {SYNTAX}")
    for selector in selectors:
        _atoms(models, flag, selector)
    return selectors


def _atoms(models: Mapping[str, Node], flag: str, selector: str) -> list[re.Match]:
    atoms = []
    for part in selector.split(","):
        match = SELECTOR.fullmatch(part)
        if match is None:
            what = f"{part!r} is not a selector" if part != selector else "not a selector"
            raise SelectionError(f"{flag} {selector!r}: {what}; {SYNTAX}")
        name = match["name"]
        if name not in models and name not in LAYER_ORDER:
            close = difflib.get_close_matches(name, [*models, *LAYER_ORDER], n=3)
            hint = f"did you mean {' or '.join(close)}?" if close else "novacrm ls lists the models"
            raise SelectionError(f"{flag} {selector!r}: no model named {name!r}; {hint}")
        atoms.append(match)
    return atoms


def _selected(models: Mapping[str, Node], flag: str, selector: str) -> set[str]:
    """The models one selector picks: the intersection of its comma-separated parts."""
    picked: set[str] | None = None
    for atom in _atoms(models, flag, selector):
        name = atom["name"]
        bases = [n for n, m in models.items() if m.layer == name] if name in LAYER_ORDER else [name]
        names = set(bases)
        for base in bases:
            names |= upstream(models, base) if atom["up"] else set()
            names |= downstream(models, base) if atom["down"] else set()
        picked = names if picked is None else picked & names
    return picked or set()


def resolve(
    models: Mapping[str, Node], layer: str = "all", select: Sequence[str] = (), exclude: Sequence[str] = ()
) -> list[str]:
    """The names of the models a run builds, in build order (may be empty).

    ``layer`` is ``staging``, ``core``, ``marts`` or ``all``; a model must be in
    it and match ``select`` (when given), and must not match ``exclude``.
    """
    if layer != "all" and layer not in LAYER_ORDER:
        raise SelectionError(f"--layer must be one of staging, core, marts, all; got {layer!r}")
    order = topological_order(models)  # first: a broken graph (a cycle, an unknown input) says so
    chosen = {n for n, m in models.items() if layer == "all" or m.layer == layer}
    if select:
        chosen &= set().union(*[_selected(models, "--select", s) for s in check_selectors(models, "--select", select)])
    for selector in check_selectors(models, "--exclude", exclude):
        chosen -= _selected(models, "--exclude", selector)
    return [m.name for m in order if m.name in chosen]
