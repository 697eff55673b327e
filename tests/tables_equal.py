"""Two warehouses hold the same tables: every model and quarantine table, row for row (run timestamps aside)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from deltalake import DeltaTable

from novacrm_spark.registry import all_models

RUN_TIMESTAMPS = {"_loaded_at", "scored_at", "assessed_at"}


def read_table(warehouse: Path | str, layer: str, name: str, storage_options: dict | None = None) -> pd.DataFrame:
    """A table as delta-rs reads it (a folder, or an object-store URI), without run timestamps, rows in a fixed order."""
    frame = DeltaTable(f"{warehouse}/{layer}/{name}", storage_options=storage_options).to_pandas()
    frame = frame[[c for c in frame.columns if c not in RUN_TIMESTAMPS]]
    frame = frame.map(lambda v: v.tolist() if isinstance(v, np.ndarray) else v)  # array columns compare as lists
    order = frame.astype(str).sort_values(list(frame.columns)).index  # lists cannot be sorted on directly
    return frame.loc[order].reset_index(drop=True)


def assert_same_tables(expected: Path, actual: Path | str, storage_options: dict | None = None) -> None:
    tables = [(m.layer, name) for name, m in all_models().items()]
    tables += [("quarantine", p.name) for p in sorted((expected / "quarantine").iterdir())]
    for layer, name in tables:
        pd.testing.assert_frame_equal(read_table(expected, layer, name), read_table(actual, layer, name, storage_options),
                                      obj=name)
