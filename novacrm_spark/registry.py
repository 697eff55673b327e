"""The model registry: every table the pipeline builds, its layer, inputs and key.

A model is a pure function registered with :func:`model`. Its positional
parameters receive its inputs, in the declared order, as DataFrames (raw
sources are named ``raw_<source>``, tables by their model name). Keyword-only
parameters receive run values by name: ``as_of_date``, ``loaded_at`` and
``products`` (the configured product catalog).

Example::

    @model(layer="core", inputs=["stg_accounts"], key=["account_id"])
    def dim_account(stg_accounts: DataFrame, *, as_of_date: date) -> DataFrame:
        ...
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Callable, Iterable, NamedTuple

from pyspark.sql import DataFrame

from novacrm_spark.errors import SelectionError
from novacrm_spark.sources import SOURCES

LAYER_ORDER = ("staging", "core", "marts")
RUN_VALUES = ("as_of_date", "loaded_at", "products")


# How many accepted rows share a row's key: a column a staging model may add for the
# writer's unique check (counted in its dedupe window, which already groups rows by key).
ROWS_PER_KEY = "_rows_per_key"
# How many identical copies of a source row staging collapsed into it (on one row per key, else 0):
# the runner sums it while writing, so every row of a raw file is accounted for.
COLLAPSED = "_collapsed_copies"
# Columns a staging model's frames carry for the runner's counts, never written.
BOOKKEEPING = (ROWS_PER_KEY, COLLAPSED)


class StagingResult(NamedTuple):
    """What every staging model returns: the accepted rows and the quarantined ones.

    ``validated`` is the frame both are filtered from; the runner holds it (cached
    or checkpointed) while it stages the two, so the raw file is parsed and
    validated once. ``accepted_counted`` is ``accepted`` plus :data:`ROWS_PER_KEY`
    and :data:`COLLAPSED`, ``quarantined_counted`` is ``quarantined`` plus
    :data:`COLLAPSED`: the runner's writes turn them into the unique check's count
    and the collapsed copies' count (and do not write them). ``derive`` filters
    the outputs from a validated frame: :meth:`from_validated` uses it to re-base
    them on a checkpoint.
    """

    accepted: DataFrame
    quarantined: DataFrame
    validated: DataFrame | None = None
    accepted_counted: DataFrame | None = None
    derive: Callable[[DataFrame], StagingResult] | None = None
    quarantined_counted: DataFrame | None = None

    def from_validated(self, validated: DataFrame) -> StagingResult:
        """The same outputs, filtered from ``validated`` (e.g. a checkpoint of this result's)."""
        if self.derive is None:
            raise ValueError("this staging result cannot be re-based: it has no derive function")
        return self.derive(validated)


@dataclass(frozen=True)
class Model:
    name: str
    layer: str
    inputs: tuple[str, ...]
    key: tuple[str, ...]
    build: Callable[..., DataFrame | StagingResult]
    description: str

    @property
    def run_values(self) -> tuple[str, ...]:
        """The run values (as_of_date, loaded_at, products) the function asks for."""
        params = inspect.signature(self.build).parameters.values()
        return tuple(p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY)

    @property
    def raw_inputs(self) -> tuple[str, ...]:
        return tuple(i for i in self.inputs if i in RAW_INPUTS)

    @property
    def model_inputs(self) -> tuple[str, ...]:
        return tuple(i for i in self.inputs if i not in RAW_INPUTS)

    @property
    def quarantine_table(self) -> str | None:
        """Staging models publish their rejected rows to ``quarantine/<source>``."""
        return self.raw_inputs[0][len("raw_"):] if self.layer == "staging" else None


RAW_INPUTS = {f"raw_{name}" for name in SOURCES}
REGISTRY: dict[str, Model] = {}


def model(
    *, layer: str, inputs: Iterable[str], key: Iterable[str], name: str | None = None
) -> Callable[[Callable], Callable]:
    """Register a model function; the table name defaults to the function name."""
    if layer not in LAYER_ORDER:
        raise ValueError(f"layer must be one of {LAYER_ORDER}; got {layer!r}")

    def register(fn: Callable) -> Callable:
        table = name or fn.__name__
        if table in REGISTRY:
            raise ValueError(f"model {table!r} is registered twice")
        REGISTRY[table] = Model(
            name=table,
            layer=layer,
            inputs=tuple(inputs),
            key=tuple(key),
            build=fn,
            description=inspect.cleandoc(fn.__doc__ or "").split("\n\n")[0],
        )
        return fn

    return register


def all_models() -> dict[str, Model]:
    """Every registered model (importing the model packages registers them)."""
    import novacrm_spark.models  # noqa: F401 - registers the models

    return REGISTRY


def topological_order(models: dict[str, Model]) -> list[Model]:
    """Models ordered so that inputs come first; ties by layer, then name (deterministic)."""
    order: list[Model] = []
    state: dict[str, str] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            raise ValueError(f"model graph has a cycle: {' -> '.join(path + (name,))}")
        if name not in models:
            raise ValueError(f"model {path[-1]!r} reads {name!r}, which is neither a model nor a raw source")
        state[name] = "visiting"
        for upstream in sorted(models[name].model_inputs, key=lambda n: _sort_key(models, n)):
            visit(upstream, path + (name,))
        state[name] = "done"
        order.append(models[name])

    for name in sorted(models, key=lambda n: _sort_key(models, n)):
        visit(name, ())
    return order


def _sort_key(models: dict[str, Model], name: str) -> tuple[int, str]:
    m = models.get(name)
    return (LAYER_ORDER.index(m.layer) if m else -1, name)


def downstream(models: dict[str, Model], name: str) -> set[str]:
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


def select_models(
    models: dict[str, Model], layer: str = "all", select: Iterable[str] = ()
) -> list[Model]:
    """The models a run builds, in build order.

    ``layer`` is ``staging``, ``core``, ``marts`` or ``all``; ``select`` holds model
    names, where ``NAME+`` adds everything downstream of NAME. With both, a model
    must match both.
    """
    if layer != "all" and layer not in LAYER_ORDER:
        raise SelectionError(f"--layer must be one of staging, core, marts, all; got {layer!r}")
    chosen = {n for n, m in models.items() if layer == "all" or m.layer == layer}
    selectors = list(select)
    if selectors:
        picked: set[str] = set()
        for selector in selectors:
            base = selector.rstrip("+")
            if base not in models:
                raise SelectionError(f"--select {selector!r}: no model named {base!r}; known: {', '.join(sorted(models))}")
            picked |= downstream(models, base) if selector.endswith("+") else {base}
        chosen &= picked
    return [m for m in topological_order(models) if m.name in chosen]
