"""Table contracts: the description, columns and checks of every table, read from YAML beside its model.

Each model has one contract file next to its code, named like it
(``models/staging/stg_accounts.yml`` beside ``stg_accounts.py``, as dbt keeps
a model's YAML); the table's name is the file's, its layer the folder's. A
contract describes the table and every column (these become the Delta table
and column comments), gives each column's Spark type, and lists checks::

    description: One row per accepted account.
    columns:
      account_id:
        type: string
        description: The account's id.
        checks: [not_null, unique]        # the first unique check is the model's key
      plan_tier:
        type: string
        description: starter, growth or enterprise.
        checks:
          - accepted_values: {domain: plan_tiers}   # novacrm_spark.domains.PLAN_TIERS
      _loaded_at: shared                  # described once, in models/shared_columns.yml
    checks:                               # table-level checks
      - expression: {name: tier_known, sql: "plan_tier IS NOT NULL", severity: warn}
    freshness:                            # staging only, optional: the source's freshness limit
      column: signup_date                 # a date or timestamp column of the table
      max_staleness_days: 3               # newest record at most 3 days before the run's as-of date
      severity: error                     # error (the run stops; --allow-stale builds anyway) or warn
      description: Why this limit.
    quarantine:                           # staging only: quarantine.<source> (stg_<source>.yml)
      description: ...
      columns: ...
      checks: ...

Check kinds: ``not_null``, ``unique`` (a column, or ``{columns: [...]}`` at
table level), ``accepted_values`` (``{domain: <name>}``: a named domain of
:mod:`novacrm_spark.domains`, or a list of values, or ``{values: [...]}``;
optionally with ``patterns: [...]``, Java regular expressions a whole value
may match instead), ``relationships`` (``{to: <model>, field: <column>}``),
``range`` (``{min: 0, max: 100}``, inclusive, nulls pass) and ``expression``
(``{name:, sql:}``: a Spark SQL boolean that must hold on every row; a null
result fails unless ``null_passes: true``). Every check takes ``severity:
error`` (the default: blocks publishing) or ``warn`` (reported only). Core and
mart expressions may use ``{as_of_date}`` and ``{as_of_month}``. A source's
``freshness`` is judged once per run, against its as-of date (see
:mod:`novacrm_spark.freshness`).

Example::

    >>> contracts = default_contracts()
    >>> contracts.for_model("stg_accounts").column_comments()["account_id"]
    'Account identifier from the CRM export (ACC-nnnn).'
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

import yaml

from novacrm_spark.quality.parsing import parse_check, parse_table
from novacrm_spark.quality.tables import (
    CHECK_KINDS,
    PLACEHOLDER,
    PLACEHOLDERS,
    ROW_KINDS,
    SEVERITIES,
    Check,
    ColumnContract,
    ContractError,
    Contracts,
    Freshness,
    TableContract,
)

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

__all__ = [
    "CHECK_KINDS", "CONTRACT_LAYERS", "PLACEHOLDER", "PLACEHOLDERS", "ROW_KINDS", "SEVERITIES",
    "Check", "ColumnContract", "ContractError", "Contracts", "Freshness", "TableContract",
    "contract_files", "default_contracts", "load_contracts", "parse_check", "parse_table", "validate_against_models",
]

CONTRACT_LAYERS = ("staging", "core", "marts")
MODELS_PACKAGE = "novacrm_spark.models"
SHARED_COLUMNS = "shared_columns.yml"
QUARANTINE = "quarantine"
# libyaml's safe loader when PyYAML was built with it: the contracts load several times faster.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def contract_files() -> dict[str, list[Traversable]]:
    """Every layer's contract files: the ``*.yml`` of its package, by name.

    Read as package data, so it works from a wheel or a zip on ``spark-submit --py-files`` too.
    """
    files = {}
    for layer in CONTRACT_LAYERS:
        package = resources.files(f"{MODELS_PACKAGE}.{layer}")
        files[layer] = sorted((f for f in package.iterdir() if f.name.endswith(".yml")), key=lambda f: f.name)
    return files


@functools.lru_cache(maxsize=1)
def default_contracts() -> Contracts:
    """The packaged contracts of all three layers (parsed once per process)."""
    return load_contracts(contract_files(), _read(resources.files(MODELS_PACKAGE) / SHARED_COLUMNS))


def load_contracts(
    files: Mapping[str, Iterable[str | Path | Traversable]], shared: Mapping[str, Any] | None = None
) -> Contracts:
    """Parse each layer's files (``{"core": [".../fct_revenue.yml", ...], ...}``) into :class:`Contracts`.

    A file holds the contract of the model it is named after; a staging file's
    ``quarantine`` section is the contract of ``quarantine.<source>`` (the
    model's name without ``stg_``). ``shared`` is the shared columns' mapping.
    """
    tables: dict[tuple[str, str], TableContract] = {}
    for layer, paths in files.items():
        for path in paths:
            path = Path(path) if isinstance(path, str) else path
            name = path.name.removesuffix(".yml")
            document = dict(_read(path))
            quarantine = document.pop(QUARANTINE, None)
            tables[(layer, name)] = parse_table(layer, name, document, str(path), shared)
            if quarantine is not None:
                source = _quarantine_source(layer, name, path)
                tables[(QUARANTINE, source)] = parse_table(QUARANTINE, source, quarantine, str(path), shared)
    return Contracts(tables)


def _read(path: Path | Traversable) -> Mapping[str, Any]:
    if not path.is_file():
        raise ContractError(f"{path}: contract file not found")
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER) or {}
    except yaml.YAMLError as exc:
        raise ContractError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(document, Mapping):
        raise ContractError(f"{path}: a contract file is a mapping; got {type(document).__name__}")
    return document


def _quarantine_source(layer: str, name: str, path: Path | Traversable) -> str:
    if layer != "staging" or not name.startswith("stg_"):
        raise ContractError(f"{path}: only a staging model stg_<source> has a quarantine table")
    return name.removeprefix("stg_")


# --- contracts vs. models -----------------------------------------------------------


def validate_against_models(contracts: Contracts, models: Mapping[str, Any], build_order: Iterable[str]) -> None:
    """Every model has a contract with a key (its first unique check, every column not_null); every
    staging model a quarantine contract; relationships point to parents built earlier; every contract
    describes a model.

    ``models`` maps names to objects with ``layer`` and ``quarantine_table``;
    ``build_order`` is every model name in build order.
    """
    order = {name: index for index, name in enumerate(build_order)}
    problems: list[str] = []
    for name, model in models.items():
        contract = contracts.get(model.layer, name)
        if contract is None:
            problems.append(f"model {model.layer}.{name} has no contract (models/{model.layer}/{name}.yml)")
            continue
        problems.extend(_key_problems(contract))
        if model.quarantine_table and contracts.get(QUARANTINE, model.quarantine_table) is None:
            problems.append(f"quarantine.{model.quarantine_table} has no contract (quarantine: in {name}.yml)")
        problems.extend(_relationship_problems(contracts, contract, models, order))
    quarantined = {m.quarantine_table for m in models.values()}
    for (layer, table) in contracts.tables:
        if table not in (quarantined if layer == QUARANTINE else models):
            problems.append(f"contract {layer}.{table} describes no model's table")
    if problems:
        raise ContractError("contracts disagree with the models: " + "; ".join(problems))


def _key_problems(contract: TableContract) -> list[str]:
    key = contract.key()
    if not key:
        return [f"{contract.qualified_name}: no unique check, so the table has no key"]
    not_null = {c.columns for c in contract.checks if c.kind == "not_null"}
    return [
        f"{contract.qualified_name}: key column {column} lacks a not_null check"
        for column in key
        if (column,) not in not_null
    ]


def _relationship_problems(
    contracts: Contracts, contract: TableContract, models: Mapping[str, Any], order: Mapping[str, int]
) -> list[str]:
    problems = []
    for check in contract.checks:
        if check.kind != "relationships":
            continue
        parent = models.get(check.to)
        parent_contract = contracts.get(parent.layer, check.to) if parent else None
        if parent_contract is None or check.field not in parent_contract.column_names:
            problems.append(f"{contract.qualified_name}: {check.name}: no such parent table or column")
        elif order.get(check.to, 0) >= order.get(contract.name, 0):
            problems.append(f"{contract.qualified_name}: {check.name}: the parent is built after the child")
    return problems
