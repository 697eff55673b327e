"""The model registry: every table the pipeline builds, found by scanning the model packages.

Each fact about a model is stated once, in the model's own module (see
:mod:`novacrm_spark.model`): its name is the function's, its layer its
package, its inputs its positional parameter names, its run values its
keyword-only ones; its key is its contract's first unique check.

Example::

    >>> models = all_models()
    >>> models["fct_revenue"].layer, models["fct_revenue"].inputs
    ('core', ('stg_accounts', 'stg_invoices'))
    >>> [m.name for m in select_models(models, "all", ["+fct_usage"])]
    ['stg_accounts', 'stg_usage_events', 'fct_usage']

Ordering and selection work on any graph (see :mod:`novacrm_spark.selection`,
which reads the same graph from source without importing pyspark).
"""

from __future__ import annotations

import functools
import importlib
import inspect
from dataclasses import dataclass
from types import ModuleType
from typing import Callable, Iterable, Mapping

from pyspark.sql import DataFrame

from novacrm_spark.model import StagingResult, is_model
from novacrm_spark.selection import LAYER_ORDER, MODELS_PACKAGE, model_modules, resolve
from novacrm_spark.selection import topological_order as topological_order  # callers import it from here
from novacrm_spark.sources import SOURCES

RUN_VALUES = ("as_of_date", "loaded_at", "products")
RAW_INPUTS = {f"raw_{name}" for name in SOURCES}

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


@dataclass(frozen=True)
class Model:
    """One registered table, as read from its function (see :meth:`from_function`)."""

    name: str
    layer: str
    inputs: tuple[str, ...]
    build: Callable[..., DataFrame | StagingResult]
    description: str

    @classmethod
    def from_function(cls, fn: Callable) -> Model:
        """The model a :func:`~novacrm_spark.model.model` function declares.

        Example: ``novacrm_spark.models.core.fct_usage.fct_usage(stg_accounts,
        stg_usage_events, *, as_of_date)`` -> name ``fct_usage``, layer ``core``,
        inputs ``("stg_accounts", "stg_usage_events")``.
        """
        params = inspect.signature(fn).parameters.values()
        odd = [p.name for p in params if p.kind not in (*_POSITIONAL, inspect.Parameter.KEYWORD_ONLY)]
        if odd:
            raise ValueError(f"model {fn.__name__!r}: *args/**kwargs ({', '.join(odd)}) cannot name inputs")
        unknown = [p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name not in RUN_VALUES]
        if unknown:
            raise ValueError(
                f"model {fn.__name__!r}: keyword-only parameter(s) {', '.join(unknown)} are not run values "
                f"({', '.join(RUN_VALUES)})"
            )
        return cls(
            name=fn.__name__,
            layer=layer_of(fn.__module__),
            inputs=tuple(p.name for p in params if p.kind in _POSITIONAL),
            build=fn,
            description=inspect.cleandoc(fn.__doc__ or "").split("\n\n")[0],
        )

    @property
    def key(self) -> tuple[str, ...]:
        """The columns of the first unique check of the model's contract."""
        # Imported here: the contracts' tooling (quality.docs) reads this registry.
        from novacrm_spark.quality.contracts import default_contracts

        return default_contracts().for_model(self.name).key()

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


def layer_of(module: str) -> str:
    """The layer of a model module: the package it sits in.

    Example: ``layer_of("novacrm_spark.models.marts.nrr_summary")`` -> ``'marts'``.
    """
    package, _, layer = module.rpartition(".")[0].rpartition(".")
    if package != MODELS_PACKAGE or layer not in LAYER_ORDER:
        raise ValueError(f"a model must live in {MODELS_PACKAGE}.<{'|'.join(LAYER_ORDER)}>; {module!r} does not")
    return layer


def all_models() -> dict[str, Model]:
    """Every model, by name: the ``@model`` functions of the layer packages' modules."""
    return dict(_discovered())


@functools.lru_cache(maxsize=1)
def _discovered() -> tuple[tuple[str, Model], ...]:
    found: dict[str, Model] = {}
    for layer in LAYER_ORDER:
        for module in layer_modules(layer):
            for fn in models_in(module):
                if fn.__name__ in found:
                    raise ValueError(f"model {fn.__name__!r} is defined twice (second in {module.__name__})")
                found[fn.__name__] = Model.from_function(fn)
    return tuple(found.items())


def layer_modules(layer: str) -> list[ModuleType]:
    """The model modules of one layer package, imported (the same list selection reads without importing)."""
    return [importlib.import_module(name) for name in model_modules(layer)]


def models_in(module: ModuleType) -> list[Callable]:
    """The model functions defined in ``module`` (not those it imports from another)."""
    return [obj for obj in vars(module).values() if is_model(obj) and obj.__module__ == module.__name__]


def table_names(models: Mapping[str, Model]) -> list[tuple[str, str]]:
    """``(layer, table)`` of every table the models publish: each model's, and each staging
    model's quarantine table.

    Example: ``("staging", "stg_accounts")`` and ``("quarantine", "accounts")`` for stg_accounts.
    """
    tables = [(m.layer, m.name) for m in models.values()]
    return tables + [("quarantine", m.quarantine_table) for m in models.values() if m.quarantine_table]


def select_models(
    models: dict[str, Model], layer: str = "all", select: Iterable[str] = (), exclude: Iterable[str] = ()
) -> list[Model]:
    """The models a run builds, in build order.

    ``layer`` is ``staging``, ``core``, ``marts`` or ``all``; ``select`` and
    ``exclude`` hold selectors in dbt's syntax (``NAME``, ``+NAME``, ``NAME+``,
    ``+NAME+``; see :mod:`novacrm_spark.selection`). With a layer and a
    selection, a model must match both.
    """
    return [models[name] for name in resolve(models, layer, list(select), list(exclude))]
