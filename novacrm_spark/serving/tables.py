"""Which tables a warehouse publishes, their SQL names (``<layer>.<table>``) and descriptions.

Example::

    >>> sorted(registry_tables(all_models()))[:2]
    [TableRef(layer='core', name='dim_account'), TableRef(layer='core', name='dim_date')]
    >>> str(TableRef("marts", "churn_risk_view")), TableRef("marts", "churn_risk_view").sql_name
    ('marts.churn_risk_view', '`marts`.`churn_risk_view`')
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from novacrm_spark.paths import is_local, local_path
from novacrm_spark.registry import Model, table_names
from novacrm_spark.serving.sqltext import one_line, qualified_name
from novacrm_spark.store import TableStore
from novacrm_spark.store.base import LAYERS

LAYER_COMMENTS = {
    "staging": "NovaCRM staging: one row per accepted source record, cleaned and typed.",
    "core": "NovaCRM core: dimensions and facts (accounts, products, dates, MRR ledger, usage, tickets).",
    "marts": "NovaCRM marts: health scores, churn risk, NRR, revenue cohorts, SLA adherence.",
    "quarantine": "NovaCRM quarantine: raw rows rejected by staging, with the reason.",
}


@dataclass(frozen=True, order=True)
class TableRef:
    """One table of the warehouse; its SQL name is ``layer.name``."""

    layer: str
    name: str

    def __str__(self) -> str:
        return f"{self.layer}.{self.name}"

    @property
    def sql_name(self) -> str:
        return qualified_name(self.layer, self.name)


def registry_tables(models: Mapping[str, Model]) -> set[TableRef]:
    """The tables the pipeline publishes: every model, plus each staging model's quarantine table."""
    return {TableRef(layer, name) for layer, name in table_names(models)}


def folder_tables(warehouse: str) -> set[TableRef]:
    """Delta tables found under a local warehouse's layer folders (none for remote URIs)."""
    if not is_local(warehouse):
        return set()
    root = Path(local_path(warehouse))
    found = set()
    for layer in LAYERS:
        folder = root / layer
        if folder.is_dir():
            found |= {TableRef(layer, p.name) for p in folder.iterdir() if (p / "_delta_log").is_dir()}
    return found


def published_tables(store: TableStore, models: Mapping[str, Model]) -> list[TableRef]:
    """The tables of ``store`` that have at least one committed version, sorted by layer, then name."""
    tables = registry_tables(models) | folder_tables(store.warehouse)
    return sorted(t for t in tables if store.exists(t.layer, t.name))


def table_comment(table: TableRef, models: Mapping[str, Model]) -> str:
    """The contract's one-line description of a table (from its model's docstring)."""
    model = models.get(table.name)
    if model is not None and model.layer == table.layer:
        return one_line(model.description)
    if table.layer == "quarantine":
        owner = next((m.name for m in models.values() if m.quarantine_table == table.name), None)
        if owner:
            return f"Rows of raw_{table.name}.csv rejected by {owner}, with the reason; not in any other table."
    return ""
